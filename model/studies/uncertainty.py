"""Monte Carlo over the factors of the ``uncertainty`` sheet (``--samples N --seed S``).

Each row of the sheet is a factor f that multiplies ``column`` on the rows
of ``sheet`` its ``match`` selects.  Per sample i (1, 2, …, N) every group
g (the rows with the same ``group``; a row without one is a group of its
own, groups in the order of their first row) gets one quantile

    u_{i,g} ~ U[0, 1)   from numpy's generator seeded by SeedSequence(S, spawn_key=(i,))

and each factor of the group takes the value of its distribution at that
quantile (inverse CDF, so the rows of a group are fully correlated):

    uniform(low, high):          f = low + u · (high − low)
    triangular(low, mode, high): f = F⁻¹(u), F the triangular CDF (scipy.stats.triang)

The draws depend only on (S, i), never on the order or place in which
samples are solved, so the numbers are the same whatever the number of
workers.  Each sample is solved as a normal run of the scaled workbook.

Sheets:

* ``samples``: ``sample``, ``factor_<uncertainty row>`` for each factor,
  ``objective``, ``unmet_total``, ``exposure_any_<country>_<product>``,
  ``status``, ``message`` (a failed draw is reported in its row);
* ``percentiles``: one row per ``figure`` (objective, unmet_total, the
  exposures, ``runs_<facility>`` = 1 in a draw where the facility has
  activity > 1e-6 in some year, ``utilisation_<facility>``), with ``p10``,
  ``p50``, ``p90`` over the solved draws (numpy's linear interpolation
  between order statistics) and ``mean`` (for ``runs_``: the share of draws
  in which the facility runs).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import triang

from model.batch import RunSummary, Variant, run_batch
from model.errors import InputError, Problem
from model.scenarios import Change, apply_scenario
from model.workbook.read import RawWorkbook
from model.workbook.study_inputs import Factor, read_factors

PERCENTILES = (10, 50, 90)
RUNS = 1e-6  # activity units (summed over the years) above which a facility counts as running


def consumer_column(consumer: tuple[str, str]) -> str:
    """exposure_any_<country>_<product>"""
    return f"exposure_any_{consumer[0]}_{consumer[1]}"


def groups_of(factors: list[Factor]) -> dict[str, int]:
    """Factor name -> index of its group's quantile (groups numbered in the order of their first row)."""
    index: dict[str, int] = {}
    position = {}
    for factor in factors:
        group = factor.group or f"row {factor.row}"
        index.setdefault(group, len(index))
        position[factor.name] = index[group]
    return position


def quantiles(seed: int, sample: int, groups: int) -> np.ndarray:
    """The ``groups`` quantiles in [0, 1) of one sample: a generator of its own from (seed, sample)."""
    generator = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(sample,)))
    return generator.random(groups)


def factor_value(factor: Factor, quantile: float) -> float:
    """The factor's distribution at ``quantile`` (inverse CDF)."""
    width = factor.high - factor.low
    if width == 0:
        return factor.low
    if factor.distribution == "uniform":
        return factor.low + quantile * width
    shape = (factor.mode - factor.low) / width
    return float(triang.ppf(quantile, shape, loc=factor.low, scale=width))


def draw(factors: list[Factor], seed: int, sample: int) -> dict[str, float]:
    """factor_<row> -> value for one sample."""
    position = groups_of(factors)
    u = quantiles(seed, sample, len(set(position.values())))
    return {factor.name: factor_value(factor, float(u[position[factor.name]])) for factor in factors}


def sample_variants(
    factors: list[Factor], seed: int, samples: int, scenario: str | None = None
) -> tuple[list[Variant], list[dict[str, float]]]:
    variants, draws = [], []
    for sample in range(1, samples + 1):
        values = draw(factors, seed, sample)
        changes = tuple(Change(f.sheet, f.column, "scale", values[f.name], f.match) for f in factors)
        variants.append(Variant(name=f"sample {sample}", scenario=scenario, changes=changes))
        draws.append(values)
    return variants, draws


def samples_table(draws: list[dict[str, float]], summaries: list[RunSummary]) -> pd.DataFrame:
    consumers = list(dict.fromkeys(consumer for run in summaries for consumer in run.exposure_any))
    records = []
    for sample, (values, run) in enumerate(zip(draws, summaries, strict=True), start=1):
        record: dict[str, object] = {"sample": sample, **values}
        record["objective"] = run.objective if run.ok else None
        record["unmet_total"] = run.unmet_total if run.ok else None
        for consumer in consumers:
            record[consumer_column(consumer)] = run.exposure_any.get(consumer) if run.ok else None
        record["status"] = run.status
        record["message"] = run.message
        records.append(record)
    exposures = [consumer_column(consumer) for consumer in consumers]
    columns = ["sample", *(draws[0] if draws else {}), "objective", "unmet_total", *exposures, "status", "message"]
    return pd.DataFrame(records, columns=columns)


def percentiles_table(summaries: list[RunSummary]) -> pd.DataFrame:
    solved = [run for run in summaries if run.ok]
    figures: dict[str, list[float]] = {"objective": [], "unmet_total": []}
    for run in solved:
        figures["objective"].append(run.objective)
        figures["unmet_total"].append(run.unmet_total)
    for consumer in dict.fromkeys(consumer for run in solved for consumer in run.exposure_any):
        figures[consumer_column(consumer)] = [run.exposure_any.get(consumer, 0.0) for run in solved]
    facilities = list(dict.fromkeys(name for run in solved for name in run.facility_activity))
    for name in facilities:
        figures[f"runs_{name}"] = [float(run.facility_activity.get(name, 0.0) > RUNS) for run in solved]
    for name in facilities:
        figures[f"utilisation_{name}"] = [run.facility_utilisation.get(name, 0.0) for run in solved]
    records = []
    for figure, values in figures.items():
        if values:
            p10, p50, p90 = np.percentile(np.asarray(values, dtype=float), PERCENTILES, method="linear")
            records.append((figure, float(p10), float(p50), float(p90), float(np.mean(values))))
        else:
            records.append((figure, None, None, None, None))
    return pd.DataFrame(records, columns=["figure", "p10", "p50", "p90", "mean"])


def solve_samples(
    raw: RawWorkbook,
    samples: int,
    seed: int,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    scenario: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The ``samples`` and ``percentiles`` sheets, and a message per failed draw.

    InputError when the workbook has no uncertainty rows (nothing to draw).
    """
    problems: list[Problem] = []
    # The factors select rows of the workbook they are drawn on: the scenario's, with --scenario X.
    drawn_on = apply_scenario(raw, scenario) if scenario else raw
    factors = read_factors(drawn_on.records, problems)
    if problems:
        raise InputError(problems)
    if not factors:
        raise InputError(
            [
                Problem(
                    "uncertainty",
                    None,
                    None,
                    None,
                    "at least one factor row for --samples (the sheet is missing or empty)",
                )
            ]
        )
    variants, draws = sample_variants(factors, seed, samples, scenario)
    # The factors were checked above. A draw moves the very cells a factor's match may select (a match on
    # unit_cost=30000 selects nothing once that unit_cost is scaled), so the draws are validated without the
    # uncertainty sheet (model.batch.variants.variant_data).
    summaries = run_batch(raw, variants, workers=workers, scheduler=scheduler, progress=progress)
    failed = [f"Monte Carlo {run.name} failed: {run.message}" for run in summaries if not run.ok]
    return samples_table(draws, summaries), percentiles_table(summaries), failed
