"""Re-using the LP handed to HiGHS: what a choice is worth, and the LP written out for reading.

What a choice is worth: the optimal cost with some columns forced to zero, re-solved on one loaded LP.

Used for the ``value`` of each built project (SPEC Part 2): the objective's
increase if the project could not be built,

    value_p = z*(builds of p fixed at 0) − z*,

found by re-solving the LP (or MIP) already handed to HiGHS with the
columns' upper bounds set to 0, one group at a time, the bounds restored in
between (a warm start from the previous basis for LPs).  Nothing is rebuilt.
"""

from __future__ import annotations

import numpy as np

from model.solver.backend import HighsBackend
from model.solver.handoff import StandardForm


def objectives_without(
    form: StandardForm,
    integer: np.ndarray,
    groups: list[np.ndarray],
    method: str = "auto",
    threads: int = 1,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
) -> list[float | None]:
    """The optimal objective with each group of columns fixed at 0 in turn (None where HiGHS found no optimum)."""
    backend = HighsBackend()
    backend.load(form, integer if len(integer) else None)
    backend.set_method(method, threads=threads, time_limit=time_limit, mip_gap=mip_gap)
    out: list[float | None] = []
    for group in groups:
        group = np.asarray(group, dtype=np.int32)
        lower, upper = form.col_lower[group], form.col_upper[group]
        backend.change_column_bounds(group, np.zeros(len(group)), np.zeros(len(group)))
        backend.run()
        out.append(backend.objective() if backend.optimal else None)
        backend.change_column_bounds(group, lower, upper)
    return out


def write_lp(form: StandardForm, integer: np.ndarray, column_names: list[str], row_names: list[str], path) -> None:
    """Write the LP handed to HiGHS to ``path`` (.lp or .mps) with readable column and row names."""
    backend = HighsBackend()
    backend.load(form, integer if len(integer) else None)
    for position, name in enumerate(column_names):
        backend.highs.passColName(position, name)
    for position, name in enumerate(row_names):
        backend.highs.passRowName(position, name)
    backend.highs.writeModel(str(path))
