"""Re-using the LP handed to HiGHS: what a choice is worth, a first tonne's cost, the LP written out.

Each question is the optimal cost after changing a few bounds of the LP (or
MIP) already assembled, re-solved on loaded HiGHS instances with the bounds
restored in between (a warm start from the previous basis for LPs); nothing
is rebuilt.

A MIP is re-solved (:func:`resolve_each`) from two bounds that cost a few
hundred simplex iterations each, before any branch and bound:

* L, the LP relaxation with the change, warm from the relaxation's basis:
  z ≥ L.  If its integer columns are whole, z = L exactly;
* U, the LP with the change and every other integer column kept at the plan
  ``start`` (a forgone project's builds at 0; nothing else needs repair,
  since unmet demand and shortfalls are always allowed), warm from that
  LP's basis: a feasible point, so z ≤ U.  If U − L ≤ mip_gap·|U|, U is z to
  the gap branch and bound would stop at;
* otherwise branch and bound, offered U's point as its first incumbent
  (and, having a plan, without HiGHS' sub-MIP heuristics that search for
  one: :func:`_branch_and_bound`).

* ``value`` of a built project (SPEC Part 2): z*(builds of p fixed at 0) − z*.
* cost of the first tonne of a demand row of quantity 0: z*(quantity 1, its
  caps at max_share × 1) − z*, the marginal cost its dual cannot give (at 0
  the dual is degenerate: any value up to that cost is optimal).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing import current_process, get_context

import numpy as np

from model.solver.backend import HighsBackend, available_cores
from model.solver.handoff import StandardForm


def _empty() -> np.ndarray:
    return np.zeros(0)


@dataclass
class BoundChange:
    """New bounds for some columns and rows (positions in the standard form)."""

    columns: np.ndarray = field(default_factory=_empty)
    column_lower: np.ndarray = field(default_factory=_empty)
    column_upper: np.ndarray = field(default_factory=_empty)
    rows: np.ndarray = field(default_factory=_empty)
    row_lower: np.ndarray = field(default_factory=_empty)
    row_upper: np.ndarray = field(default_factory=_empty)


@dataclass
class Resolved:
    """The optimum after one change: objective (None where HiGHS found none) and how well it is known."""

    objective: float | None
    gap: float = 0.0  # relative: the true optimum lies within gap × |objective| below it
    branch_and_bound: bool = False  # False when the LP bounds settled it


# An integer column counts as whole within this distance (HiGHS' default mip_feasibility_tolerance).
WHOLE = 1e-6


def objectives_after(
    form: StandardForm,
    integer: np.ndarray,
    changes: list[BoundChange],
    method: str = "auto",
    threads: int = 1,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    start: np.ndarray | None = None,
) -> list[float | None]:
    """The optimal objective after each change in turn (None where HiGHS found no optimum); see :func:`resolve_each`."""
    return [
        resolved.objective
        for resolved in resolve_each(form, integer, changes, method, threads, time_limit, mip_gap, start)
    ]


def resolve_each(
    form: StandardForm,
    integer: np.ndarray,
    changes: list[BoundChange],
    method: str = "auto",
    threads: int = 1,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    start: np.ndarray | None = None,
    bases: dict[str, object] | None = None,
) -> list[Resolved]:
    """Each change in turn on the loaded model, bounds restored in between.

    An LP: one instance, warm from the previous basis.  A MIP: the bounds L
    and U of the module docstring first, then branch and bound only where
    they leave more than the gap; ``start`` is the plan before the change
    (its integer values define U; without it U is skipped).  ``bases`` may
    hold the bases phase 1 ended in (:attr:`model.solver.solve.SolveResult.bases`):
    the two LPs then start from them instead of being solved from nothing.
    """
    bases = bases or {}
    if not len(integer):
        backend = HighsBackend()
        backend.load(form)
        backend.set_method(method, threads=threads, time_limit=time_limit)
        out = []
        for change in changes:
            with _changed(backend, change, form.col_lower, form.col_upper):
                backend.run()
                out.append(Resolved(backend.objective() if backend.optimal else None))
        return out
    relaxation = _lp(form, method, threads, time_limit)
    if "relaxation" in bases:
        relaxation.set_basis(bases["relaxation"])
    relaxation.run()
    relaxation_basis = relaxation.get_basis() if relaxation.optimal else None
    fixed = fixed_basis = None
    if start is not None:
        fixed = _lp(form, method, threads, time_limit)
        fixed.fix_columns(integer, np.round(start[integer]))
        if "fixed" in bases:
            fixed.set_basis(bases["fixed"])
        fixed.run()
        fixed_basis = fixed.get_basis() if fixed.optimal else None
    out: list[Resolved | None] = []
    searches: list[tuple[int, BoundChange, np.ndarray | None]] = []  # (position in out, change, first incumbent)
    for change in changes:
        lower = upper = None
        if relaxation_basis is not None:
            with _changed(relaxation, change, form.col_lower, form.col_upper):
                relaxation.set_basis(relaxation_basis)
                relaxation.run()
                if relaxation.optimal:
                    lower = relaxation.objective()
                    values = relaxation.values()[integer]
                    if np.all(np.abs(values - np.round(values)) <= WHOLE):
                        out.append(Resolved(lower))
                        continue
        point = None
        if fixed_basis is not None:
            with _changed(fixed, change, fixed.col_lower.copy(), fixed.col_upper.copy()):
                fixed.set_basis(fixed_basis)
                fixed.run()
                if fixed.optimal:
                    upper, point = fixed.objective(), fixed.values()
        if lower is not None and upper is not None and upper - lower <= mip_gap * abs(upper):
            out.append(Resolved(upper, gap=max(0.0, upper - lower) / max(abs(upper), 1e-9)))
            continue
        if point is None and start is not None:  # the plan, with the changed columns moved inside their new bounds
            point = start.copy()
            moved = np.asarray(change.columns, dtype=np.int64)
            point[moved] = np.clip(point[moved], change.column_lower, change.column_upper)
        searches.append((len(out), change, point))
        out.append(None)
    # A daemonic process (a batch runner's worker) may not start processes of its own.
    workers = 1 if current_process().daemon else min(threads, available_cores(), len(searches))
    plain = replace(form, columns=[], rows=[])  # plain arrays only: Pyomo objects neither pickle nor are needed
    each = 1 if workers > 1 else threads
    tasks = [(plain, integer, change, point, method, each, time_limit, mip_gap) for _, change, point in searches]
    if workers > 1:
        # One process per branch and bound, one thread each (two HiGHS solves never share a process).
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                found = list(pool.map(_search, tasks))
        except BrokenProcessPool:  # e.g. a calling script without `if __name__ == "__main__":`, which spawn re-runs
            found = _search_all([(*task[:5], threads, *task[6:]) for task in tasks])
    else:
        found = _search_all(tasks)
    for (position, _, _), resolved in zip(searches, found, strict=True):
        out[position] = resolved
    return out


def _search_all(tasks: list[tuple]) -> list[Resolved]:
    """Branch and bound for each task in turn, on one loaded MIP (bounds restored in between)."""
    if not tasks:
        return []
    form, integer, _, _, method, threads, time_limit, mip_gap = tasks[0]
    mip = HighsBackend()
    mip.load(form, integer)
    mip.set_method(method, threads=threads, time_limit=time_limit, mip_gap=mip_gap)
    return [_branch_and_bound(mip, form, change, point) for _, _, change, point, *_ in tasks]


def _search(task: tuple) -> Resolved:
    """One branch and bound in a worker process (plain data in and out)."""
    return _search_all([task])[0]


# HiGHS' heuristics that solve a smaller MIP to find plans (relaxation-induced and relaxation-enforced
# neighbourhood search, and the root's reduced-cost fixing one): off for a search offered a plan.
# Their defaults (on) are kept for a search without one.
PLAN_SEARCHES = ("mip_heuristic_run_rins", "mip_heuristic_run_rens", "mip_heuristic_run_root_reduced_cost")


def _branch_and_bound(mip: HighsBackend, form: StandardForm, change: BoundChange, point: np.ndarray | None) -> Resolved:
    """z after ``change``, by branch and bound to the gap, offered ``point`` as its first plan.

    Offered a plan (U's point: the plan before the change with only the
    changed columns moved, the continuous ones re-optimised), the search
    runs without the sub-MIP heuristics of :data:`PLAN_SEARCHES`: they look
    for good plans, which it already has one of, and they were most of its
    time — each solves a smaller MIP over the thousands of continuous
    columns around a few dozen binary ones.  Measured in processor seconds
    on the branch and bound of every project value (nine each): the 20 %
    cap example 46.8 s → 8.8 s; the base case with every exposure capped at
    15 % 116.7 s → 16.2 s, at 30 % 16.6 s → 3.5 s.  The gap proven is the
    same target; within it the plan found may differ (on those cases: the
    same values to the dollar, or values apart by less than the gap).
    """
    for option in PLAN_SEARCHES:
        mip.set_option(option, point is None)
    with _changed(mip, change, form.col_lower, form.col_upper):
        if point is not None:
            mip.offer_solution(point)
        mip.run()
        if mip.optimal:
            return Resolved(mip.objective(), gap=mip.mip_gap() or 0.0, branch_and_bound=True)
        return Resolved(None, branch_and_bound=True)


def _lp(form: StandardForm, method: str, threads: int, time_limit: float | None) -> HighsBackend:
    """``form`` loaded as an LP (every column continuous), solved by simplex for its basis."""
    backend = HighsBackend()
    backend.load(form)
    backend.set_method("simplex" if method == "auto" else method, threads=threads, time_limit=time_limit)
    return backend


@contextmanager
def _changed(backend: HighsBackend, change: BoundChange, col_lower: np.ndarray, col_upper: np.ndarray):
    """Apply ``change`` to ``backend``; afterwards give its columns ``col_lower``/``col_upper`` and its rows back."""
    columns = np.asarray(change.columns, dtype=np.int32)
    rows = np.asarray(change.rows, dtype=np.int32)
    row_lower, row_upper = backend.row_lower[rows].copy(), backend.row_upper[rows].copy()
    if len(columns):
        backend.change_column_bounds(columns, change.column_lower, change.column_upper)
    if len(rows):
        backend.change_row_bounds(rows, change.row_lower, change.row_upper)
    try:
        yield
    finally:
        if len(columns):
            backend.change_column_bounds(columns, col_lower[columns], col_upper[columns])
        if len(rows):
            backend.change_row_bounds(rows, row_lower, row_upper)


def objectives_without(
    form: StandardForm, integer: np.ndarray, groups: list[np.ndarray], **options
) -> list[float | None]:
    """The optimal objective with each group of columns fixed at 0 in turn."""
    return [resolved.objective for resolved in resolved_without(form, integer, groups, **options)]


def resolved_without(form: StandardForm, integer: np.ndarray, groups: list[np.ndarray], **options) -> list[Resolved]:
    """:func:`resolve_each` with each group of columns fixed at 0 in turn."""
    changes = [
        BoundChange(columns=np.asarray(group), column_lower=np.zeros(len(group)), column_upper=np.zeros(len(group)))
        for group in groups
    ]
    return resolve_each(form, integer, changes, **options)


def write_lp(form: StandardForm, integer: np.ndarray, column_names: list[str], row_names: list[str], path) -> None:
    """Write the LP handed to HiGHS to ``path`` (.lp or .mps) with readable column and row names."""
    backend = HighsBackend()
    backend.load(form, integer if len(integer) else None)
    for position, name in enumerate(column_names):
        backend.highs.passColName(position, name)
    for position, name in enumerate(row_names):
        backend.highs.passRowName(position, name)
    backend.highs.writeModel(str(path))
