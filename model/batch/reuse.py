"""Build a model once, re-solve it for variants that change only numbers.

A batch's variants mostly change numbers (costs, capacities, bounds,
caps, tariffs, demand), not the structure (the index sets).  For each
variant the worker compares what the index sets are built from
(:func:`model.formulation.sets.sets_inputs`) with the held model's: equal,
the held sets are the variant's; otherwise it builds the sets.  When they
equal those of the model it holds, it does not build the Pyomo model and
its standard form again (most of a run's preparation) but computes the
variant's LP numbers with the NumPy build of the same LP (:mod:`model.bench.matrix`, tested
entry by entry against the Pyomo build in ``tests/test_matrix.py``),
keeping that build's structure in a :class:`model.bench.matrix.Plan` so a
number-only variant recomputes only its numbers (the plan is used only
while the index sets and the data's structural fields are unchanged,
``tests/test_reuse_plan.py``), and passes HiGHS only the numbers that
differ from those it holds:

    c' ≠ c  → changeColsCost,   bounds' ≠ bounds → changeColsBounds / changeRowsBounds,
    A'_ij ≠ A_ij (same pattern) → changeCoeff,

then solves as :func:`model.solver.solve.solve_model` does (LP; or MIP,
then the LP with the integer choices fixed; then the least-exposure
phases) from the basis it holds (a warm start).

Why this is the same LP: when the model is built, the NumPy build's LP is
compared with Pyomo's standard form of it, column by column (each Pyomo
variable's column in the NumPy build is known from its family and index),
row by row and entry by entry; only if every number is equal is the model
marked reusable, and the column permutation found there maps every later
variant's numbers into the loaded model's order.  A variant whose NumPy LP
has another shape, other row families or another sparsity pattern (a
quota row that appears, a coefficient that becomes 0) is built afresh, as
is every variant of a model whose two builds ever differed.  Every
solution, reused or not (read by the model's
:class:`model.results.extract.SolutionReader`), then passes :func:`model.results.verify.verify_solution`
against the variant's own data (balances, capacities, caps, and the
objective recomputed from the data), so a wrong number could not pass
unnoticed.

Results do not depend on how variants are spread over workers: a batch
sends fixed chunks, and the first variant of each chunk is given to a new
HiGHS instance with exactly its numbers, as a fresh build would be
(:meth:`ModelCache.solve` with ``restart``), so each chunk is solved by the
same sequence of HiGHS calls on whatever worker it lands, whatever that
worker ran before.

That first variant starts from the **reference basis** when there is one
(:meth:`ModelCache.set_reference`): the optimal basis of the batch's own
workbook, unchanged (its LP, or a MIP's LP relaxation), solved from nothing
by every worker once per batch.  It is the same basis on every worker (the
same data, built and solved by the same calls) and is used only where the
variant's model has the reference's structure and shape, a test of the
variant alone (a variant whose model is built afresh gets it too); so a
chunk still starts the same way wherever it runs, but from a basis near
its optimum instead of from nothing (the 11-year base case's LP: 96 ms
warm against 416 ms cold in HiGHS alone).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_array

from model.bench.matrix import Plan, build_matrix, compact
from model.data import ModelData
from model.errors import VerificationError
from model.formulation.build import build_model
from model.formulation.sets import ModelSets, build_sets, sets_inputs
from model.formulation.variables import keyed
from model.results.extract import SolutionReader
from model.results.verify import verify_solution
from model.solver.backend import HighsBackend, interruptible_here
from model.solver.handoff import StandardForm, integer_columns, standard_form
from model.solver.least_exposure import least_exposure, weight_vector
from model.solver.solve import (  # the phases solve_model runs, on a loaded model
    SolveResult,
    cost_optimal_lp,
    cost_optimal_mip,
)


def structure(sets: ModelSets) -> tuple:
    """What the model's variables and rows are indexed by (not the numbers): equal structures, equal models."""
    parts = []
    for item in dataclasses.fields(sets):
        value = getattr(sets, item.name)
        if item.name in ("warnings",) or item.name.startswith("_"):
            continue
        parts.append((item.name, tuple(value) if isinstance(value, dict | list) else value))
    return tuple(parts)


@dataclass
class Numbers:
    """An LP's numbers in the loaded model's column order (the matrix as CSC data on the loaded pattern)."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix_data: np.ndarray


@dataclass
class Loaded:
    """One built model held by a worker: Pyomo model, its standard form in HiGHS, and what maps variants onto it."""

    structure: tuple
    sets: ModelSets
    model: object  # pyo.ConcreteModel
    form: StandardForm  # as loaded (matrix in canonical CSC order)
    integer: np.ndarray
    column_position: dict[int, int]
    row_position: dict[int, int]
    exposure: np.ndarray  # least-exposure weights by column
    relabel: np.ndarray
    backend: HighsBackend
    options: dict
    permutation: np.ndarray | None  # Pyomo column -> NumPy-build column (None: the builds differ, never reused)
    row_families: list[tuple[str, tuple[int, int]]] | None
    full_columns: np.ndarray | None = None  # Pyomo column -> NumPy-build column before unused ones are dropped
    inverse: np.ndarray | None = None  # NumPy-build column -> Pyomo column
    column_blocks: dict | None = None
    integer_numpy: np.ndarray | None = None
    indptr: np.ndarray | None = None
    indices: np.ndarray | None = None
    last_values: np.ndarray | None = None  # the last solution, offered as a MIP start
    plan: Plan = dataclasses.field(default_factory=Plan)  # the NumPy build's structure, for number-only variants
    entries: tuple[np.ndarray, np.ndarray] | None = None  # the NumPy LP's (rows, loaded columns) of its entries
    csc_order: np.ndarray | None = None  # entries in CSC order (no duplicates): data = values[csc_order]
    reader: SolutionReader | None = None  # reads this model's solutions (key columns and positions kept)
    inputs: tuple | None = None  # sets_inputs of the data the sets were built from


def _canonical(matrix):
    matrix = matrix.tocsc(copy=True)
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def _csc_order(rows: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
    """The order that sorts COO entries into CSC order (by column, then row); None when two share a place."""
    order = np.lexsort((rows, cols))
    r, c = rows[order], cols[order]
    if len(order) > 1 and ((r[1:] == r[:-1]) & (c[1:] == c[:-1])).any():
        return None  # duplicates are summed by scipy's canonical form: left to it, to stay bit for bit the same
    return order


def _numpy_numbers(data: ModelData, sets: ModelSets, loaded: Loaded) -> Numbers | None:
    """The variant's LP numbers in the loaded column order, or None when its LP is not the same shape and pattern."""
    lp = build_matrix(data, sets, loaded.plan)  # compacted already (compact() of it would return it unchanged)
    if (
        lp.shape != loaded.form.matrix.shape
        or list(lp.row_blocks.items()) != loaded.row_families
        or lp.column_blocks != loaded.column_blocks
    ):
        return None
    permutation = lp.column_index[loaded.full_columns] if lp.column_index is not None else loaded.full_columns
    if not np.array_equal(permutation, loaded.permutation) or not np.array_equal(
        np.sort(lp.integer), loaded.integer_numpy
    ):
        return None
    columns = loaded.inverse[lp.cols]
    if (
        loaded.csc_order is not None
        and np.array_equal(lp.rows, loaded.entries[0])
        and np.array_equal(columns, loaded.entries[1])
    ):
        matrix_data = lp.values[loaded.csc_order]  # same entries in the same places as the loaded matrix
    else:
        matrix = _canonical(coo_array((lp.values, (lp.rows, columns)), shape=lp.shape))
        if not (np.array_equal(matrix.indptr, loaded.indptr) and np.array_equal(matrix.indices, loaded.indices)):
            return None
        matrix_data = matrix.data
    return Numbers(
        cost=lp.cost[permutation],
        col_lower=lp.col_lower[permutation],
        col_upper=lp.col_upper[permutation],
        row_lower=lp.row_lower,
        row_upper=lp.row_upper,
        matrix_data=matrix_data,
    )


class ModelCache:
    """The model a worker holds (at most one), built on the first variant and re-solved for the next ones."""

    def __init__(self, reuse: bool = True):
        self.reuse = reuse
        self.loaded: Loaded | None = None
        self.builds = 0
        self.resolves = 0
        self.sets_kept = 0  # variants whose index sets were the held model's (not built again)
        self.reference: tuple[tuple, tuple[int, int], object] | None = None  # (structure, shape, basis)
        self.reference_tried = False

    def set_reference(self, data: ModelData) -> None:
        """Solve ``data`` (the batch's workbook) from nothing and keep its optimal basis (module docstring).

        A MIP's LP relaxation is solved: its basis is where the next
        variant's relaxation starts.  Without an optimal basis (infeasible,
        a time limit) there is no reference and chunks start from nothing.
        """
        self.reference_tried = True
        self.prepare(data, restart=True)
        loaded = self.loaded
        backend = loaded.backend
        if len(loaded.integer):
            backend.relax_integrality()
        backend.run()
        if backend.optimal:
            self.reference = (loaded.structure, loaded.form.matrix.shape, backend.get_basis())
        if len(loaded.integer):
            backend.set_integrality(loaded.integer)

    def _build(self, data: ModelData, sets: ModelSets) -> Loaded:
        """Build the Pyomo model, hand it to a new HiGHS instance, and check the NumPy build against it."""
        from model.pipeline import solver_options

        self.builds += 1
        model = build_model(data, sets)
        form = standard_form(model)
        form = dataclasses.replace(form, matrix=_canonical(form.matrix))
        integer = integer_columns(form)
        column_position = {id(var): i for i, var in enumerate(form.columns)}
        row_position = {id(con): i for i, con in enumerate(form.rows)}
        weights = {
            id(var): float(len(sets.tags[key.tag]))
            for key, var in keyed(model, sets, "v_delivery")
            if sets.tags[key.tag]
        }
        n = len(form.columns)
        exposure = weight_vector(n, column_position, weights)
        relabel = weight_vector(n, column_position, {id(var): 1.0 for var in model.v_relabel.values()})
        options = solver_options(data.settings)
        backend = self._new_backend(form, integer, options)
        loaded = Loaded(
            structure=structure(sets),
            sets=sets,
            model=model,
            form=form,
            integer=integer,
            column_position=column_position,
            row_position=row_position,
            exposure=exposure,
            relabel=relabel,
            backend=backend,
            options=options,
            permutation=None,
            row_families=None,
            reader=SolutionReader(model),
        )
        if self.reuse:
            self._check_numpy_build(data, sets, loaded)
        return loaded

    @staticmethod
    def _new_backend(form: StandardForm, integer: np.ndarray, options: dict) -> HighsBackend:
        backend = HighsBackend(interruptible=interruptible_here(len(form.cost)))
        backend.load(form, integer)
        backend.set_method(options["method"], options["threads"], options["time_limit"], options["mip_gap"])
        return backend

    @staticmethod
    def _check_numpy_build(data: ModelData, sets: ModelSets, loaded: Loaded) -> None:
        """Mark ``loaded`` reusable only if the NumPy build gives exactly its LP (see the module docstring)."""
        form = loaded.form
        try:
            lp = compact(build_matrix(data, sets, loaded.plan))
        except (KeyError, ValueError):  # a family the NumPy build does not know: never reused
            return
        if lp.shape != form.matrix.shape or form.offset != 0:
            return
        full = np.array([lp.column_blocks[v.parent_component().name][0] + v.index() for v in form.columns])
        permutation = lp.column_index[full] if lp.column_index is not None else full
        if sorted(permutation.tolist()) != list(range(lp.shape[1])):
            return
        families = [row.parent_component().name for row in form.rows]
        expected = [name for name, (first, last) in lp.row_blocks.items() for _ in range(first, last)]
        if families != expected:
            return
        inverse = np.empty(len(permutation), dtype=np.int64)
        inverse[permutation] = np.arange(len(permutation))
        matrix = _canonical(coo_array((lp.values, (lp.rows, inverse[lp.cols])), shape=lp.shape))
        same = (
            np.array_equal(lp.cost[permutation], form.cost)
            and np.array_equal(lp.col_lower[permutation], form.col_lower)
            and np.array_equal(lp.col_upper[permutation], form.col_upper)
            and np.array_equal(lp.row_lower, form.row_lower)
            and np.array_equal(lp.row_upper, form.row_upper)
            and np.array_equal(matrix.indptr, form.matrix.indptr)
            and np.array_equal(matrix.indices, form.matrix.indices)
            and np.array_equal(matrix.data, form.matrix.data)
            and np.array_equal(np.sort(permutation[loaded.integer]), np.sort(lp.integer))
        )
        if same:
            loaded.permutation = permutation
            loaded.full_columns = full
            loaded.inverse = inverse
            loaded.column_blocks = dict(lp.column_blocks)
            loaded.integer_numpy = np.sort(lp.integer)
            loaded.row_families = list(lp.row_blocks.items())
            loaded.indptr, loaded.indices = matrix.indptr, matrix.indices
            columns = inverse[lp.cols]
            order = _csc_order(lp.rows, columns)
            if (
                order is not None
                and np.array_equal(lp.rows[order], matrix.indices)
                and np.array_equal(lp.values[order], matrix.data)
            ):
                loaded.entries, loaded.csc_order = (lp.rows, columns), order

    def _start_from_reference(self) -> None:
        """Give the new HiGHS instance the reference basis if the held model has the reference's structure and shape.

        Called wherever a variant gets a new instance (a chunk's first
        variant, a build), so that whether it starts from the reference
        depends on the variant alone, not on what the worker held before.
        """
        loaded, reference = self.loaded, self.reference
        if (
            reference is not None
            and reference[1] == loaded.form.matrix.shape
            and (reference[0] is loaded.structure or reference[0] == loaded.structure)
        ):
            loaded.backend.set_basis(reference[2])

    def _apply(self, numbers: Numbers, restart: bool) -> None:
        """Pass HiGHS the numbers that differ from those it holds; ``restart``: from the original numbers, cold."""
        loaded = self.loaded
        if restart:  # a new HiGHS instance given exactly these numbers: as if the model had just been built
            matrix = loaded.form.matrix.copy()
            matrix.data = numbers.matrix_data
            form = dataclasses.replace(
                loaded.form,
                cost=numbers.cost,
                col_lower=numbers.col_lower,
                col_upper=numbers.col_upper,
                row_lower=numbers.row_lower,
                row_upper=numbers.row_upper,
                matrix=matrix,
            )
            loaded.backend = self._new_backend(form, loaded.integer, loaded.options)
            loaded.last_values = None
            self._start_from_reference()
            return
        backend = loaded.backend
        backend.set_integrality(loaded.integer)
        changed = np.flatnonzero(numbers.cost != backend.cost)
        if len(changed):
            backend.change_costs(changed, numbers.cost[changed])
        changed = np.flatnonzero((numbers.col_lower != backend.col_lower) | (numbers.col_upper != backend.col_upper))
        if len(changed):
            backend.change_column_bounds(changed, numbers.col_lower[changed], numbers.col_upper[changed])
        changed = np.flatnonzero((numbers.row_lower != backend.row_lower) | (numbers.row_upper != backend.row_upper))
        if len(changed):
            backend.change_row_bounds(changed, numbers.row_lower[changed], numbers.row_upper[changed])
        changed = np.flatnonzero(numbers.matrix_data != backend.matrix.data)
        if len(changed):
            backend.change_coefficients(changed, numbers.matrix_data[changed])
        if len(loaded.integer) and loaded.last_values is not None:
            backend.offer_solution(loaded.last_values)

    def variant_sets(self, data: ModelData) -> tuple[ModelSets, tuple | None]:
        """``data``'s index sets and their inputs: the held model's sets when ``data`` gives the same.

        ``build_sets`` reads only :func:`model.formulation.sets.sets_inputs`
        of the data, so where they equal those of the held model's data its
        sets are ``data``'s (a variant changing only capacities, unit costs,
        quantities, caps...), and are not built again.
        """
        loaded = self.loaded
        if not self.reuse:
            return build_sets(data), None
        inputs = sets_inputs(data)
        if loaded is not None and loaded.inputs is not None and loaded.inputs == inputs:
            self.sets_kept += 1
            return loaded.sets, inputs
        return build_sets(data), inputs

    def prepare(self, data: ModelData, restart: bool) -> tuple[ModelSets, bool]:
        """Make the held model ``data``'s; returns the variant's sets and whether the model was built."""
        sets, inputs = self.variant_sets(data)
        loaded = self.loaded
        if (
            self.reuse
            and loaded is not None
            and loaded.permutation is not None
            and (sets is loaded.sets or structure(sets) == loaded.structure)
        ):
            numbers = _numpy_numbers(data, sets, loaded)
            if numbers is not None:
                self._apply(numbers, restart)
                self.resolves += 1
                return sets, False
        if loaded is not None:
            loaded.backend = None  # free HiGHS' copy before building the next
        self.loaded = self._build(data, sets)
        self.loaded.inputs = inputs
        self._start_from_reference()
        return sets, True

    def solve(self, data: ModelData, restart: bool = False):
        """Solve ``data`` on the held model (re-solved or built); returns (sets, solution, objective, status, built).

        Raises SolverError as :func:`model.solver.solve.solve_model` does,
        VerificationError when the solution fails the product's checks.
        """
        started = time.perf_counter()
        sets, built = self.prepare(data, restart)
        loaded = self.loaded
        backend = loaded.backend
        notes: list[str] = []
        time_limit = loaded.options["time_limit"]
        prepared = time.perf_counter()
        if len(loaded.integer):
            phase1 = cost_optimal_mip(backend, loaded.integer, time_limit, notes)
        else:
            phase1 = cost_optimal_lp(backend, time_limit)
        values = phase1.values
        if phase1.optimal and phase1.lp_in_backend:
            # restore: the next variant's cost LP starts from this one's cost-optimal basis, not from the last
            # least-exposure phase's (measured: one-year base case 38.8 -> 23.3 ms a run, BLEECAM 18.3 -> 17.1)
            values = least_exposure(backend, values, loaded.exposure, loaded.relabel, notes, restore=True)
        loaded.last_values = values
        solved = time.perf_counter()
        status = "optimal" if phase1.optimal else "time limit reached" if phase1.time_limited else backend.status_text()
        result = SolveResult(
            status=status,
            optimal=phase1.optimal,
            objective=phase1.objective,
            column_values=values,
            row_duals=phase1.row_duals,
            column_position=loaded.column_position,
            row_position=loaded.row_position,
            solver_version=backend.version(),
            method=backend.method,
            solve_seconds=solved - prepared,
            notes=notes,
            is_mip=len(loaded.integer) > 0,
            mip_gap=phase1.mip_gap,
        )
        solution = loaded.reader.read(sets, result)
        verification = verify_solution(data, sets, solution, result.objective)
        if not verification.ok:
            raise VerificationError(
                "the solution failed the product's own checks:\n  " + "\n  ".join(verification.failures)
            )
        return sets, solution, result, built, time.perf_counter() - started
