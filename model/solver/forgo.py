"""Re-using the LP handed to HiGHS: what a choice is worth, a first tonne's cost, the LP written out.

Each question is the optimal cost after changing a few bounds of the LP (or
MIP) already assembled, re-solved on one loaded HiGHS instance with the
bounds restored in between (a warm start from the previous basis for LPs);
nothing is rebuilt.

* ``value`` of a built project (SPEC Part 2): z*(builds of p fixed at 0) − z*.
* cost of the first tonne of a demand row of quantity 0: z*(quantity 1, its
  caps at max_share × 1) − z*, the marginal cost its dual cannot give (at 0
  the dual is degenerate: any value up to that cost is optimal).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model.solver.backend import HighsBackend
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
    """The optimal objective after each change in turn (None where HiGHS found no optimum).

    For a MIP, ``start`` (the optimal point before the change) is offered to HiGHS as a first solution,
    with the changed columns moved inside their new bounds: where it stays feasible, branch and bound starts
    from a good incumbent instead of from nothing.
    """
    backend = HighsBackend()
    backend.load(form, integer if len(integer) else None)
    backend.set_method(method, threads=threads, time_limit=time_limit, mip_gap=mip_gap)
    out: list[float | None] = []
    for change in changes:
        columns = np.asarray(change.columns, dtype=np.int32)
        rows = np.asarray(change.rows, dtype=np.int32)
        if len(columns):
            backend.change_column_bounds(columns, change.column_lower, change.column_upper)
        if len(rows):
            backend.change_row_bounds(rows, change.row_lower, change.row_upper)
        if start is not None and backend.is_mip:
            backend.offer_solution(np.clip(start, backend.col_lower, backend.col_upper))
        backend.run()
        out.append(backend.objective() if backend.optimal else None)
        if len(columns):
            backend.change_column_bounds(columns, form.col_lower[columns], form.col_upper[columns])
        if len(rows):
            backend.change_row_bounds(rows, form.row_lower[rows], form.row_upper[rows])
    return out


def objectives_without(
    form: StandardForm, integer: np.ndarray, groups: list[np.ndarray], **options
) -> list[float | None]:
    """The optimal objective with each group of columns fixed at 0 in turn."""
    changes = [
        BoundChange(columns=np.asarray(group), column_lower=np.zeros(len(group)), column_upper=np.zeros(len(group)))
        for group in groups
    ]
    return objectives_after(form, integer, changes, **options)


def write_lp(form: StandardForm, integer: np.ndarray, column_names: list[str], row_names: list[str], path) -> None:
    """Write the LP handed to HiGHS to ``path`` (.lp or .mps) with readable column and row names."""
    backend = HighsBackend()
    backend.load(form, integer if len(integer) else None)
    for position, name in enumerate(column_names):
        backend.highs.passColName(position, name)
    for position, name in enumerate(row_names):
        backend.highs.passRowName(position, name)
    backend.highs.writeModel(str(path))
