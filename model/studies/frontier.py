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

How the points are solved (cheap by construction).  The points differ only
in the right-hand side of the ``any`` cap rows, Σ exposed ≤ s × quantity
(every share below 1 gives the same rows; a share of 1 gives none, as
``--exposure-cap 1`` does).  So the points are cut into :func:`chains` that
depend on the shares only, each solved loosest first on one model
(:class:`FrontierCache`, the batch's :class:`~model.batch.reuse.ModelCache`):
built once, and each next point passes HiGHS only its new row bounds and
re-solves from the basis HiGHS holds from the previous point (its LP
relaxation, fixed LP and least-exposure phases start warm; branch and
bound, where needed, starts from a cleared solver as in a normal run).  Each
chain starts from a fresh HiGHS instance given exactly its first point's
numbers, so a chain's results do not depend on where it runs: in this
process by default (the chains one after the other, with no Dask: starting
a cluster costs more than the points), on Dask worker processes with
``workers`` > 1 or ``scheduler``, one task per chain.

Where projects are all-or-nothing a point whose LP relaxation is fractional
needs branch and bound, which dominated the frontier's time: on the base
case, HiGHS spent 14 of 17 s at cap 0.2 in its sub-MIP heuristics (RINS,
RENS and the root reduced-cost sub-MIP) at the root node.  The frontier's
branch and bound runs without those three (:data:`SUB_MIP_HEURISTICS`); it
still proves every point to the same relative gap ``mip_gap``, so each
point is an independent run's optimum to within that gap, as SPEC asks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from model.batch import RunSummary, Variant
from model.batch.reuse import ModelCache
from model.batch.run import dask_client, run_variant
from model.batch.variants import failed
from model.data import ModelData
from model.errors import VerificationError
from model.solver.backend import HighsBackend
from model.solver.handoff import StandardForm
from model.workbook.read import RawWorkbook
from model.workbook.schema import ANY_STAGE

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


def frontier_lines(table: pd.DataFrame, over_years: bool) -> list[str]:
    """The frontier sheet as console lines: cost at each cap, its rise over the loosest cap, unmet demand."""
    unit = "t over the years" if over_years else "t/yr"
    cost = "USD, present value" if over_years else "USD/yr"
    solved = table.dropna(subset=["objective"])
    loosest = solved.loc[solved["exposure_cap"].idxmax()] if len(solved) else None
    rise = f"vs {loosest['exposure_cap']:.0%}" if loosest is not None else "rise"
    lines = [
        f"Cost–exposure frontier (every demand row's exposure at any stage capped at each share; {cost}):",
        f"  {'cap':>5}  {'total cost':>20}  {rise:>20}  {'unmet (' + unit + ')':>24}  binding stage",
    ]
    for row in table.itertuples(index=False):
        if row.status == "failed" or row.objective is None or pd.isna(row.objective):
            lines.append(f"  {row.exposure_cap:>5.0%}  failed: {row.message}")
            continue
        lines.append(
            f"  {row.exposure_cap:>5.0%}  {row.objective:>20,.0f}  {row.objective - loosest['objective']:>+20,.0f}  "
            f"{row.unmet_total:>24,.1f}  {row.binding_stage or '-'}"
        )
    return lines


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


CHAIN_POINTS = 6  # points per chain at most: a chain is one task, solved on one model
# HiGHS' sub-MIP heuristics, off in the frontier's branch and bound (see the module docstring)
SUB_MIP_HEURISTICS = ("mip_heuristic_run_rins", "mip_heuristic_run_rens", "mip_heuristic_run_root_reduced_cost")
Progress = Callable[[int, int, int], None]  # (points done, points failed, points in all)


class FrontierCache(ModelCache):
    """The batch's model cache, with branch and bound run without HiGHS' sub-MIP heuristics."""

    @staticmethod
    def _new_backend(form: StandardForm, integer: np.ndarray, options: dict) -> HighsBackend:
        backend = ModelCache._new_backend(form, integer, options)
        for name in SUB_MIP_HEURISTICS:
            backend.set_option(name, False)
        return backend


def chains(shares: Sequence[float]) -> list[list[int]]:
    """The points (positions in ``shares``) each chain solves, loosest first.

    ⌈n / CHAIN_POINTS⌉ chains take the points sorted loosest first in turn
    (chain k: the k-th, (k + chains)-th, ... loosest), so that the tight
    points, where branch and bound may run, are spread over the chains.  It
    depends on the shares only, never on the workers.
    """
    order = sorted(range(len(shares)), key=lambda position: (-shares[position], position))
    count = max(1, math.ceil(len(order) / CHAIN_POINTS))
    return [order[first::count] for first in range(count)]


def solve_chain(
    raw: RawWorkbook,
    shares: Sequence[float],
    scenario: str | None = None,
    cache: FrontierCache | None = None,
    done: Callable[[RunSummary], None] | None = None,
) -> list[RunSummary]:
    """One chain's points in order on one model (a fresh HiGHS instance for the first; see the module docstring).

    ``cache`` may hold a model from another chain of the same batch: the
    first point then re-uses its build but not its HiGHS instance.
    """
    cache = cache or FrontierCache()
    summaries = []
    for index, variant in enumerate(frontier_variants(tuple(shares), scenario)):
        summaries.append(run_variant(raw, variant, cache, restart=index == 0))
        if done is not None:
            done(summaries[-1])
    return summaries


def solve_points(
    raw: RawWorkbook,
    shares: Sequence[float],
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    scenario: str | None = None,
) -> list[RunSummary]:
    """Every point's summary, in the order of ``shares``: the chains here, or on Dask (module docstring)."""
    report = progress or (lambda done, failures, total: None)
    total = len(shares)
    parts = chains(shares)
    results: dict[int, RunSummary] = {}

    def record(positions: list[int], summaries: list[RunSummary]) -> None:
        results.update(zip(positions, summaries, strict=True))
        report(len(results), sum(not r.ok for r in results.values()), total)

    report(0, 0, total)
    if scheduler is None and (workers is None or workers <= 1):
        cache = FrontierCache()
        for positions in parts:
            summaries: list[RunSummary] = []

            def one(summary: RunSummary, positions=positions, summaries=summaries) -> None:
                summaries.append(summary)
                record(positions[: len(summaries)], summaries)

            solve_chain(raw, [shares[p] for p in positions], scenario, cache, one)
    else:
        _solve_on_dask(raw, shares, parts, scenario, workers, scheduler, record)
    return [results[position] for position in range(total)]


def _solve_on_dask(raw, shares, parts, scenario, workers, scheduler, record) -> None:
    """Each chain a task on dask.distributed (local worker processes with one thread each, or ``scheduler``)."""
    from dask.distributed import as_completed

    with dask_client(workers, scheduler, len(parts)) as client:
        shared = client.scatter(raw, broadcast=True)
        futures = [
            client.submit(solve_chain, shared, [shares[p] for p in positions], scenario, pure=False)
            for positions in parts
        ]
        chain_of = {future.key: number for number, future in enumerate(futures)}
        for future in as_completed(futures):
            positions = parts[chain_of[future.key]]
            if future.status == "error":
                error = future.exception()
                reason = f"the worker failed ({type(error).__name__}: {error})"
                record(positions, [failed(f"exposure_cap={shares[p]:g}", reason) for p in positions])
            else:
                record(positions, future.result())


def uncapped_run_is_cap_1(data: ModelData) -> bool:
    """Is a normal run of ``data`` the frontier's point at share 1?

    Yes when no demand row has an ``any`` cap below 1 in any year: then
    ``--exposure-cap 1`` (every ``any`` cap 1: no row) and the run itself
    build the same LP (stage caps stay as written in both).
    """
    return all(
        cap.max_share >= 1 for year in data.years for cap in data.at(year).exposure_caps if cap.stage == ANY_STAGE
    )


def solve_frontier(
    raw: RawWorkbook,
    shares: tuple[float, ...] = DEFAULT_SHARES,
    mip_gap: float = 0.0,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    scenario: str | None = None,
    uncapped: RunSummary | None = None,
) -> pd.DataFrame:
    """The ``frontier`` sheet of ``raw`` at ``shares`` (in the order given), checked to be monotone.

    ``uncapped``: the summary of a run the caller has already solved that is
    the point at share 1 (:func:`uncapped_run_is_cap_1`, same scenario); it
    stands for the shares of 1 instead of solving them again.
    """
    summaries: dict[int, RunSummary] = {}
    if uncapped is not None:
        summaries = {position: uncapped for position, share in enumerate(shares) if share >= 1}
    rest = [position for position in range(len(shares)) if position not in summaries]
    solved = solve_points(raw, [shares[p] for p in rest], workers, scheduler, progress, scenario) if rest else []
    summaries.update(zip(rest, solved, strict=True))
    table = frontier_table(shares, [summaries[position] for position in range(len(shares))])
    check_monotone(table, mip_gap)
    return table
