"""Studies added to a normal run's results workbook: the frontier and Monte Carlo sheets.

The command line solves the case as usual, then calls :func:`add_studies`,
which solves the study's runs and inserts their sheets (with their legend
rows) before ``legend``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from model.data import ModelData
from model.pipeline import RunOutcome
from model.results.report import Report, legend_table


@dataclass(frozen=True)
class StudyOptions:
    """What the command line asked for, beyond the normal run."""

    frontier: tuple[float, ...] | None = None  # --frontier (None: the `frontier` setting, if any)
    samples: int | None = None  # --samples
    seed: int = 0  # --seed
    workers: int | None = None  # --workers
    scheduler: str | None = None  # --scheduler
    scenario: str | None = None  # --scenario: the studies vary that scenario

    @property
    def wanted(self) -> bool:
        return self.frontier is not None or self.samples is not None


def _mip_gap(data: ModelData) -> float:
    """The gap to which all-or-nothing projects are solved (0 for an LP)."""
    if not any(project.all_or_nothing for project in data.projects):
        return 0.0
    gap = data.settings.get("mip_gap")
    return 1e-4 if gap is None else float(gap)


def add_studies(
    report: Report,
    source: Path,
    data: ModelData,
    options: StudyOptions,
    progress: Callable[[str], None],
    outcome: RunOutcome | None = None,
) -> list[str]:
    """Solve the studies asked for (``options``, the ``frontier`` setting) and add their sheets to ``report``.

    ``outcome``: the normal run just solved (of ``data``); the frontier takes
    it as its point at share 1 when it is that point (no ``any`` cap below 1).
    Returns messages for the console (failed runs).
    """
    from model.workbook.read import read_workbook

    shares = options.frontier if options.frontier is not None else data.settings.get("frontier")
    if not shares and options.samples is None:
        return []
    raw = read_workbook(source)
    notes: list[str] = []
    added: list[str] = []
    if shares:
        from model.batch.variants import summarise
        from model.studies.frontier import frontier_lines, solve_frontier, uncapped_run_is_cap_1

        uncapped = None
        if outcome is not None and outcome.optimal and uncapped_run_is_cap_1(data):
            uncapped = summarise(
                "exposure_cap=1", data, outcome.sets, outcome.solution, outcome.objective, outcome.status
            )
        progress(f"Solving the cost–exposure frontier at {len(shares)} caps ...")
        table = solve_frontier(
            raw,
            tuple(shares),
            _mip_gap(data),
            options.workers,
            options.scheduler,
            progress=None,
            scenario=options.scenario,
            uncapped=uncapped,
        )
        for line in frontier_lines(table, data.has_years):
            progress(line)
        report.add_sheet("frontier", table, before="legend")
        added.append("frontier")
        for row in table[table["status"] == "failed"].itertuples(index=False):
            notes.append(f"frontier at exposure cap {row.exposure_cap:g} failed: {row.message}")
    if options.samples is not None:
        from model.studies.uncertainty import solve_samples

        progress(f"Solving {options.samples} Monte Carlo draws (seed {options.seed}) ...")
        samples, percentiles, failed = solve_samples(
            raw, options.samples, options.seed, options.workers, options.scheduler, scenario=options.scenario
        )
        report.add_sheet("samples", samples, before="legend")
        report.add_sheet("percentiles", percentiles, before="legend")
        added += ["samples", "percentiles"]
        notes += failed
    if added and "legend" in report.sheets:
        report.sheets["legend"] = pd.concat(
            [report.sheets["legend"], legend_table(data.stages, added)], ignore_index=True
        )
    return notes
