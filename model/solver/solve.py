"""Hand the Pyomo model to HiGHS in memory and solve it.

Route: Pyomo's standard-form compiler turns the model into sparse matrices
(:mod:`model.handoff`, no LP file), which are passed to ``highspy`` directly.
The default method, ``auto``, is dual simplex below 200,000 columns and
interior point with crossover above; both end in a basic solution, so the
duals are exact.  One thread unless the ``threads`` setting says otherwise.

Three solves, lexicographic, on the same HiGHS instance:

1. minimise total cost → the optimal cost z* and the duals reported;
2. on the cost-optimal face (columns with a non-zero reduced cost fixed at
   their bound, rows with a non-zero dual held at their limit), minimise the
   total exposed deliveries Σ_j Σ_t |t| · v_delivery[j, t] (over demand rows
   and stages);
3. on the face optimal for that as well, minimise total relabelling Σ v_relabel.

Phases 2 and 3 only choose among cost-optimal solutions, so reported
exposure is the least consistent with the optimal cost (shares are never
overstated).  Duals always come from phase 1.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from model.errors import SolverError
from model.solver.handoff import standard_form

# Measured on the benchmark networks (docs/performance.md): dual simplex is
# faster up to about 200k columns (1.6-1.9x at 5k-110k, even at 210k);
# interior point with crossover beyond (1.5x at 750k).
SIMPLEX_BELOW_COLUMNS = 200_000
ZERO_OBJECTIVE = 1e-9  # t/yr: a phase whose objective is already this small is skipped
FACE_TOLERANCE = 1e-9  # reduced costs and duals below this × max |objective| count as zero


@dataclass
class SolveResult:
    """What the solver said, with values and duals by column/row position."""

    status: str  # 'optimal', 'time limit reached', ...
    optimal: bool
    objective: float  # USD/yr, phase-1 objective
    column_values: np.ndarray
    row_duals: np.ndarray
    column_position: dict[int, int]  # id(VarData) -> column
    row_position: dict[int, int]  # id(ConstraintData) -> row
    solver_version: str
    method: str
    solve_seconds: float  # phase 1 (the cost-optimal solve)
    handoff_seconds: float = 0.0  # standard-form compile + passModel
    least_exposure_seconds: float = 0.0  # phases 2 and 3
    notes: list[str] = field(default_factory=list)

    def value(self, var) -> float:
        position = self.column_position.get(id(var))
        return 0.0 if position is None else float(self.column_values[position])


@contextlib.contextmanager
def _quiet_stdout():
    """Silence HiGHS' banner, printed from C++ straight to file descriptor 1."""
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def solve_model(
    model: pyo.ConcreteModel,
    exposure_weight: dict[int, float],
    relabel_vars: list,
    method: str = "auto",
    threads: int = 1,
    time_limit: float | None = None,
) -> SolveResult:
    """Solve in three lexicographic phases; see the module docstring.

    ``exposure_weight`` maps id(v_delivery var) → number of exposed stages
    of its tag; ``relabel_vars`` lists the relabelling variables.
    """
    import highspy

    handoff_started = time.perf_counter()
    form = standard_form(model)
    n_cols = len(form.columns)
    column_position = {id(var): i for i, var in enumerate(form.columns)}
    row_position = {id(con): i for i, con in enumerate(form.rows)}
    lower, upper = form.col_lower, form.col_upper
    row_lower, row_upper = form.row_lower, form.row_upper
    cost, offset, matrix = form.cost, form.offset, form.matrix

    if method == "auto":
        method = "simplex" if n_cols < SIMPLEX_BELOW_COLUMNS else "ipm"
    with _quiet_stdout():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", int(threads))
    if time_limit:
        highs.setOptionValue("time_limit", float(time_limit))
    if method == "ipm":
        highs.setOptionValue("solver", "ipm")
        highs.setOptionValue("run_crossover", "on")
    elif method == "pdlp":
        highs.setOptionValue("solver", "pdlp")
    else:
        highs.setOptionValue("solver", "simplex")

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(float)
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = matrix.shape[0]
    highs.passModel(lp)

    started = time.perf_counter()
    handoff_seconds = started - handoff_started
    highs.run()
    status = highs.getModelStatus()
    status_text = highs.modelStatusToString(status)
    optimal = status == highspy.HighsModelStatus.kOptimal
    time_limited = status == highspy.HighsModelStatus.kTimeLimit
    solution = highs.getSolution()
    if time_limited and not solution.value_valid:
        raise SolverError(
            f"HiGHS reached the time limit ({time_limit:g} s, setting solver_time_limit) before it found a "
            "solution; raise the limit or leave it blank"
        )
    if not optimal and not (time_limited and solution.value_valid):
        raise SolverError(
            f"HiGHS could not solve the model (it reported: {status_text}). This should not happen for a valid "
            "workbook, since unmet demand is always allowed; please report it with the input workbook"
        )
    objective = float(highs.getInfo().objective_function_value) + offset
    row_duals = np.array(solution.row_dual, dtype=float) if solution.dual_valid else np.zeros(lp.num_row_)
    values = np.array(solution.col_value, dtype=float)
    notes: list[str] = []
    if time_limited:
        notes.append("the time limit was reached: the best solution found is reported, not proven optimal")

    solve_seconds = time.perf_counter() - started
    if optimal:
        bounds = {"col_lower": lower, "col_upper": upper, "row_lower": row_lower, "row_upper": row_upper}
        values = _least_exposure(highs, cost, bounds, values, column_position, exposure_weight, relabel_vars, notes)

    least_exposure_seconds = time.perf_counter() - started - solve_seconds
    return SolveResult(
        status="optimal" if optimal else ("time limit reached" if time_limited else status_text),
        optimal=optimal,
        objective=objective,
        column_values=values,
        row_duals=row_duals,
        column_position=column_position,
        row_position=row_position,
        solver_version=_highs_version(highs),
        method=method,
        solve_seconds=solve_seconds,
        handoff_seconds=handoff_seconds,
        least_exposure_seconds=least_exposure_seconds,
        notes=notes,
    )


def _highs_version(highs) -> str:
    try:
        return f"{highs.versionMajor()}.{highs.versionMinor()}.{highs.versionPatch()}"
    except AttributeError:  # pragma: no cover - very old highspy
        return "unknown"


def _restrict_to_optimal_face(highs, objective: np.ndarray, bounds: dict[str, np.ndarray]) -> None:
    """Keep only the solutions optimal for the objective just solved.

    By complementary slackness, every optimal solution keeps a column with a
    non-zero reduced cost at its bound and a row with a non-zero dual at its
    limit; fixing those (bounds of the last solve's basis) leaves exactly the
    optimal face, with no tolerance on the cost.
    """
    solution = highs.getSolution()
    reduced = np.asarray(solution.col_dual, dtype=float)
    duals = np.asarray(solution.row_dual, dtype=float)
    tolerance = FACE_TOLERANCE * max(1.0, float(np.abs(objective).max(initial=0.0)))
    lower, upper = bounds["col_lower"], bounds["col_upper"]
    fix_low = (reduced > tolerance) & np.isfinite(lower)
    fix_high = (reduced < -tolerance) & np.isfinite(upper)
    bounds["col_upper"] = upper = np.where(fix_low, lower, upper)
    bounds["col_lower"] = lower = np.where(fix_high, upper, lower)
    row_lower, row_upper = bounds["row_lower"], bounds["row_upper"]
    at_lower = (duals > tolerance) & np.isfinite(row_lower)
    at_upper = (duals < -tolerance) & np.isfinite(row_upper)
    bounds["row_upper"] = row_upper = np.where(at_lower, row_lower, row_upper)
    bounds["row_lower"] = row_lower = np.where(at_upper, row_upper, row_lower)
    columns = np.arange(len(lower), dtype=np.int32)
    rows = np.arange(len(row_lower), dtype=np.int32)
    highs.changeColsBounds(len(columns), columns, lower, upper)
    highs.changeRowsBounds(len(rows), rows, row_lower, row_upper)


def _least_exposure(
    highs,
    cost: np.ndarray,
    bounds: dict[str, np.ndarray],
    values: np.ndarray,
    column_position: dict[int, int],
    exposure_weight: dict[int, float],
    relabel_vars: list,
    notes: list[str],
) -> np.ndarray:
    """Phases 2 and 3: least exposure, then least relabelling, on the optimal face."""
    import highspy

    n_cols = len(cost)
    exposure = np.zeros(n_cols)
    for var_id, weight in exposure_weight.items():
        position = column_position.get(var_id)
        if position is not None:
            exposure[position] = weight
    relabel = np.zeros(n_cols)
    for var in relabel_vars:
        position = column_position.get(id(var))
        if position is not None:
            relabel[position] = 1.0
    if not exposure.any() and not relabel.any():
        return values
    highs.setOptionValue("solver", "simplex")
    highs.setOptionValue("presolve", "on")
    all_columns = np.arange(n_cols, dtype=np.int32)
    best = values
    previous = cost
    for objective in (exposure, relabel):
        if float(objective @ np.maximum(best, 0.0)) <= ZERO_OBJECTIVE:
            continue  # already at its least possible value, 0: nothing to minimise
        _restrict_to_optimal_face(highs, previous, bounds)
        # Start afresh so that presolve removes the many columns the face
        # fixed: 10x faster than warm-starting simplex on the whole LP
        # (measured on 200k columns: 0.18 s against 1.9 s).
        highs.clearSolver()
        highs.changeColsCost(n_cols, all_columns, objective)
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            notes.append(
                "exposure could not be minimised among cost-optimal solutions "
                f"({highs.modelStatusToString(highs.getModelStatus())}); shares may be overstated"
            )
            return best
        best = np.array(highs.getSolution().col_value, dtype=float)
        previous = objective
    return best
