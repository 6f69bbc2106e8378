"""Phases 2 and 3: among the cost-optimal solutions, least exposure, then least relabelling.

After phase 1 (min c·x, optimal cost z*) the backend holds an optimal basic
solution with reduced costs d and row duals y.  By complementary slackness
every optimal solution x' satisfies

* d_j > 0 ⇒ x'_j = col_lower_j,   d_j < 0 ⇒ x'_j = col_upper_j;
* y_i > 0 ⇒ (A x')_i = row_lower_i,   y_i < 0 ⇒ (A x')_i = row_upper_i,

and every feasible x' satisfying them costs z* (c·x' = y·b + d·bounds).
Fixing those bounds therefore leaves exactly the optimal face, with no
tolerance on the cost.  A bound is fixed only where phase 1's point sits at
it, so that point always stays on the face; |d_j| and |y_i| below
FACE_TOLERANCE times the size of the numbers they are computed from count
as 0 (:func:`face_tolerances`).

2. on that face, minimise the exposed deliveries e·x, e_j = |t| for the
   delivery column of demand row j with tag t (the number of restricted
   stages), 0 elsewhere;
3. on the face optimal for e as well (same rule, with e's duals), minimise
   the relabelling r·x, r_j = 1 on relabelling columns.

A phase whose objective is already ≤ ZERO_OBJECTIVE at the best point so
far is skipped (0 is its least value).  Phases 2 and 3 only choose among
cost-optimal solutions: reported exposure is the least consistent with the
optimal cost, and duals reported are phase 1's.

Check: the point a phase finds must keep the cost (and, in phase 3, the
exposure) of the point before it within KEEP_TOLERANCE, relative.  Where
HiGHS' tolerances are large against the costs (an unmet-demand penalty of
1e10 USD/t in a case costing 1e5 USD: a row dual of 1e10 makes a reduced
cost's rounding error larger than the differences between plants), the
phase is re-run on the strict face (every nonzero d, y fixes its bound);
if that too moves the cost, the phase's point is dropped with a note.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.solver.backend import HighsBackend

ZERO_OBJECTIVE = 1e-9  # t/yr: a phase whose objective is already this small is skipped
FACE_TOLERANCE = 1e-9  # reduced costs and duals below this × their magnitude scale count as zero
KEEP_TOLERANCE = 1e-8  # largest change of the cost (exposure) a phase may make, × max(1, |c|·|x|)
AT_BOUND = 1e-7  # a value within this × max(1, |bound|) of a bound sits at it


def weight_vector(n_columns: int, column_position: dict[int, int], weights: dict[int, float]) -> np.ndarray:
    """The objective vector w with w[column_position[id(var)]] = weight for each (id(var), weight)."""
    vector = np.zeros(n_columns)
    for var_id, weight in weights.items():
        position = column_position.get(var_id)
        if position is not None:
            vector[position] = weight
    return vector


@dataclass(frozen=True)
class Optimum:
    """What a run left that defines its optimal face: x, row activities A x, reduced costs d, row duals y."""

    values: np.ndarray
    activity: np.ndarray
    reduced: np.ndarray
    duals: np.ndarray

    @classmethod
    def of(cls, backend: HighsBackend) -> Optimum:
        """The last run's."""
        return cls(backend.values(), backend.row_values(), backend.column_duals(), backend.row_duals())


def face_tolerances(backend: HighsBackend, objective: np.ndarray, optimum: Optimum) -> tuple[np.ndarray, np.ndarray]:
    """How small a reduced cost (per column) and a row dual (per row) must be to count as zero.

    FACE_TOLERANCE times the size of the numbers each is computed from:
    d_j = c_j - Σ_i a_ij y_i from |c_j| and Σ_i |a_ij y_i|; y_i, a price per
    unit of row i, from the costs of its columns per unit of the row,
    max_j |c_j| / |a_ij|.  Each at least FACE_TOLERANCE.  Not one tolerance
    scaled by the largest cost: with an unmet-demand penalty of 1e10 USD/t
    that is 10 USD per unit, and reduced costs of cents or dollars (real
    differences between two plants) were taken for ties, so the phases moved
    away from the optimal cost (2,266 USD on the base case at a 50 % cap).
    """
    cost = np.abs(objective)
    matrix = backend.matrix
    if matrix is None or matrix.nnz == 0:
        scale = FACE_TOLERANCE * max(1.0, float(cost.max(initial=0.0)))
        return np.full(backend.num_columns, scale), np.full(backend.num_rows, scale)
    # On the CSC arrays (column j's entries are data[indptr[j]:indptr[j+1]], in rows indices[...]): Σ_i |a_ij y_i|
    # by column adds each column's entries in their stored order, as the sparse product |A|ᵀ|y| does; the
    # largest |c_j| / |a_ij| of a row (0 for a row without entries, as a sparse row maximum counts its zeros).
    magnitude = np.abs(matrix.data)
    rows = matrix.indices
    columns = _entry_columns(matrix.indptr)
    n_rows, n_columns = matrix.shape
    through = np.bincount(columns, weights=magnitude * np.abs(optimum.duals)[rows], minlength=n_columns)
    column_scale = np.maximum(1.0, np.maximum(cost, through))
    with np.errstate(divide="ignore", invalid="ignore"):
        per_unit = cost[columns] / magnitude
    largest = np.zeros(n_rows)
    np.maximum.at(largest, rows, per_unit)
    row_scale = np.maximum(1.0, largest)
    return FACE_TOLERANCE * column_scale, FACE_TOLERANCE * row_scale


_COLUMNS: list[tuple[np.ndarray, np.ndarray]] = []  # the last (indptr, column of each entry), a batch's one matrix


def _entry_columns(indptr: np.ndarray) -> np.ndarray:
    """The column of each stored entry of a CSC matrix with this ``indptr`` (kept for the last pattern seen)."""
    if _COLUMNS and (_COLUMNS[0][0] is indptr or np.array_equal(_COLUMNS[0][0], indptr)):
        return _COLUMNS[0][1]
    columns = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    _COLUMNS[:] = [(indptr.copy(), columns)]
    return columns


def _at(values: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Where ``values`` sit at the finite ``bound``."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(bound) & (np.abs(values - bound) <= AT_BOUND * np.maximum(1.0, np.abs(bound)))


def restrict_to_optimal_face(
    backend: HighsBackend, objective: np.ndarray, strict: bool = False, optimum: Optimum | None = None
) -> None:
    """Fix the bounds that every solution optimal for ``objective`` keeps (module docstring).

    ``optimum`` is the run that minimised ``objective`` (default: the last
    run); ``strict``: every nonzero reduced cost and dual counts, however small.
    """
    optimum = optimum or Optimum.of(backend)
    if strict:
        column_tolerance, row_tolerance = np.zeros(backend.num_columns), np.zeros(backend.num_rows)
    else:
        column_tolerance, row_tolerance = face_tolerances(backend, objective, optimum)
    lower, upper = backend.col_lower, backend.col_upper
    fix_low = (optimum.reduced > column_tolerance) & _at(optimum.values, lower)
    fix_high = (optimum.reduced < -column_tolerance) & _at(optimum.values, upper)
    backend.update_column_bounds(np.where(fix_high, upper, lower), np.where(fix_low, lower, upper))
    row_lower, row_upper = backend.row_lower, backend.row_upper
    at_lower = (optimum.duals > row_tolerance) & _at(optimum.activity, row_lower)
    at_upper = (optimum.duals < -row_tolerance) & _at(optimum.activity, row_upper)
    backend.update_row_bounds(np.where(at_upper, row_upper, row_lower), np.where(at_lower, row_lower, row_upper))


def _bounds(backend: HighsBackend) -> list[np.ndarray]:
    return [array.copy() for array in (backend.col_lower, backend.col_upper, backend.row_lower, backend.row_upper)]


def _set_bounds(backend: HighsBackend, bounds: list[np.ndarray]) -> None:
    backend.change_column_bounds(np.arange(backend.num_columns), bounds[0], bounds[1])
    backend.change_row_bounds(np.arange(backend.num_rows), bounds[2], bounds[3])


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ_j a_j b_j, on this thread.

    Not ``a @ b``: NumPy hands that to OpenBLAS, which splits a long dot
    product over threads; on a busy machine waking them took 2-20 ms for
    the 30,000 columns of the base case (0.02 ms here), several times a run.
    """
    return float(np.einsum("i,i->", a, b))


def _kept(kept: list[tuple[np.ndarray, float, float]], values: np.ndarray) -> bool:
    """True if ``values`` keeps each (objective, value, allowed change) of the phases before."""
    return all(abs(dot(objective, values) - value) <= allowed for objective, value, allowed in kept)


def _keep(objective: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``objective``, its value at ``values`` and the change a later phase may make to it."""
    size = max(1.0, dot(np.abs(objective), np.abs(values)))
    return objective, dot(objective, values), KEEP_TOLERANCE * size


def least_exposure(
    backend: HighsBackend,
    values: np.ndarray,
    exposure: np.ndarray,
    relabel: np.ndarray,
    notes: list[str],
    restore: bool = True,
) -> np.ndarray:
    """Phases 2 and 3 on ``backend`` right after an optimal phase-1 LP run; returns the chosen x.

    ``values`` is phase 1's x.  If a phase does not end optimal, or cannot
    keep the cost even on the strict faces (module docstring), a note is
    added and the best x so far is returned.  With ``restore`` the backend
    gets back its costs, bounds, method and phase 1's basis afterwards (the
    values and duals it reports are then the last phase's), so that it can
    be re-solved for another scenario from the cost-optimal basis.
    """
    if not exposure.any() and not relabel.any():
        return values
    cost = backend.cost.copy()
    bounds = _bounds(backend)
    if restore:
        basis = backend.get_basis()
    phase1 = Optimum.of(backend)
    method = backend.method
    backend.set_method("simplex", time_limit=backend.time_limit)
    backend.set_option("presolve", "on")
    try:
        best, problem = _phases(backend, cost, phase1, exposure, relabel, strict=False)
        if problem == "moved":  # the faces were too loose for the solver's accuracy: again on the strict ones
            _set_bounds(backend, bounds)
            best, problem = _phases(backend, cost, phase1, exposure, relabel, strict=True)
        if problem == "moved":
            notes.append(
                "exposure could not be minimised among cost-optimal solutions to the solver's accuracy "
                "(costs of very different sizes, such as a large unmet-demand penalty); shares may be overstated"
            )
        elif problem:
            notes.append(
                f"exposure could not be minimised among cost-optimal solutions ({problem}); shares may be overstated"
            )
        return best
    finally:
        backend.set_option("presolve", "choose")
        backend.set_method(method, time_limit=backend.time_limit)
        if restore:
            backend.set_costs(cost)
            _set_bounds(backend, bounds)
            if basis.valid:  # a run stopped early may leave none
                backend.set_basis(basis)


def _phases(
    backend: HighsBackend,
    cost: np.ndarray,
    phase1: Optimum,
    exposure: np.ndarray,
    relabel: np.ndarray,
    strict: bool,
) -> tuple[np.ndarray, str | None]:
    """Phases 2 and 3 from phase 1's optimum; the best x found and what stopped them (None, 'moved' or a status)."""
    best, previous, optimum = phase1.values, cost, phase1
    kept = [_keep(cost, best)]
    for objective in (exposure, relabel):
        if dot(objective, np.maximum(best, 0.0)) <= ZERO_OBJECTIVE:
            continue  # already at its least possible value, 0: nothing to minimise
        restrict_to_optimal_face(backend, previous, strict=strict, optimum=optimum)
        # Start afresh so that presolve removes the many columns the face
        # fixed: 10x faster than warm-starting simplex on the whole LP
        # (measured on 200k columns: 0.18 s against 1.9 s).
        backend.clear_solver()
        backend.update_costs(objective)  # HiGHS is given only the costs that change
        backend.run()
        if not backend.optimal:
            return best, backend.status_text()
        optimum = Optimum.of(backend)
        if not _kept(kept, optimum.values):
            return best, "moved"
        best, previous = optimum.values, objective
        kept.append(_keep(objective, best))
    return best, None
