"""The cost–exposure frontier: the case solved at a list of caps on every demand row's exposure.

Each point is the run ``--exposure-cap SHARE`` makes: every demand row's
``any`` cap set to SHARE (replacing ``default_exposure_cap`` and explicit
``any`` rows; stage caps stay as written), solved as a normal run.  The
``frontier`` sheet has one row per share, loosest first:

* ``exposure_cap`` (share 0..1), ``objective`` (USD, as the summary's),
  ``unmet_total`` (t, as the summary's),
* ``shadow_price_per_pp``: Σ over the binding caps (every stage, every year)
  of their ``shadow_price_per_pp`` as the exposure_caps sheet of that run
  reports it (USD per percentage point, that year's USD),
* ``binding_stage``: the stage whose binding caps carry the largest summed
  shadow price (blank when no cap carries one),
* ``status`` and ``message`` (why a point failed; the others go on).

Tightening a cap shrinks the feasible set, so the optimal cost can only
rise: z*(s') ≥ z*(s) for s' < s.  :func:`check_monotone` checks it after the
points are solved (to the MIP gap where projects are all-or-nothing).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from model.batch import RunSummary, Variant, run_batch
from model.errors import VerificationError
from model.workbook.read import RawWorkbook

DEFAULT_SHARES = tuple(round(1.0 - step / 10, 1) for step in range(11))  # 1, 0.9, ..., 0.1, 0
COLUMNS = ["exposure_cap", "objective", "unmet_total", "shadow_price_per_pp", "binding_stage", "status", "message"]
TOLERANCE = 1e-6  # relative, on top of the MIP gap


def frontier_variants(shares: tuple[float, ...], scenario: str | None = None) -> list[Variant]:
    return [Variant(name=f"exposure_cap={share:g}", scenario=scenario, exposure_cap=share) for share in shares]


def frontier_table(shares: tuple[float, ...], summaries: list[RunSummary]) -> pd.DataFrame:
    """One row per share (see the module docstring)."""
    records = []
    for share, run in zip(shares, summaries, strict=True):
        records.append(
            {
                "exposure_cap": share,
                "objective": run.objective if run.ok else None,
                "unmet_total": run.unmet_total if run.ok else None,
                "shadow_price_per_pp": run.shadow_price_per_pp if run.ok else None,
                "binding_stage": (run.binding_stage or "") if run.ok else "",
                "status": run.status,
                "message": run.message,
            }
        )
    return pd.DataFrame(records, columns=COLUMNS)


def check_monotone(table: pd.DataFrame, mip_gap: float = 0.0) -> None:
    """VerificationError if a tighter cap is cheaper than a looser one beyond the tolerance.

    Tolerance: mip_gap × |z| + 1e-6 × max(1, |z|) (branch and bound stops
    within the gap, so two MIP points may be that far from their optima).
    """
    solved = table.dropna(subset=["objective"]).sort_values("exposure_cap", ascending=False)
    previous = None
    for row in solved.itertuples(index=False):
        if previous is not None:
            scale = max(abs(previous.objective), abs(row.objective))
            slack = mip_gap * scale + TOLERANCE * max(1.0, scale)
            if row.objective < previous.objective - slack:
                raise VerificationError(
                    f"the frontier got cheaper as the cap tightened: {row.objective:,.2f} at {row.exposure_cap:g} "
                    f"against {previous.objective:,.2f} at {previous.exposure_cap:g}"
                )
        previous = row


def solve_frontier(
    raw: RawWorkbook,
    shares: tuple[float, ...] = DEFAULT_SHARES,
    mip_gap: float = 0.0,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    scenario: str | None = None,
) -> pd.DataFrame:
    """The ``frontier`` sheet of ``raw`` at ``shares`` (loosest first), checked to be monotone."""
    summaries = run_batch(
        raw, frontier_variants(shares, scenario), workers=workers, scheduler=scheduler, progress=progress
    )
    table = frontier_table(shares, summaries)
    check_monotone(table, mip_gap)
    return table
