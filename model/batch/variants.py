"""What a batch runs and what it hands back: plain data, picklable, with no Pyomo or HiGHS objects."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np

from model.data import ModelData
from model.errors import InputError
from model.formulation.keys import CapKey
from model.results.extract import Solution
from model.results.report import (
    BINDING_TOLERANCE,
    SHARE_POINT,
    capacity_by_year,
    deliveries_table,
    exposure_caps_table,
    facilities_table,
)
from model.results.verify import columns, delivered_and_exposed, rows
from model.scenarios import apply_changes, apply_scenario
from model.scenarios.apply import located, without_uncertainty
from model.scenarios.changes import Change
from model.workbook.read import RawWorkbook
from model.workbook.schema import ANY_STAGE
from model.workbook.validate import validate

FAILED = "failed"


@dataclass(frozen=True)
class Variant:
    """One run of a batch: the workbook, then ``scenario`` (if any), then ``changes``, at ``exposure_cap`` (if any).

    ``exposure_cap`` does what ``--exposure-cap`` does: every demand row's
    ``any`` cap becomes this share.
    """

    name: str
    scenario: str | None = None
    changes: tuple[Change, ...] = ()
    exposure_cap: float | None = None


@dataclass
class RunSummary:
    """The figures of one run a comparison, a frontier or a Monte Carlo study needs.

    Over years, quantities are summed over the years and shares are of the
    summed quantities (exposed t / demanded t); the objective is the
    discounted total.  ``status`` is ``optimal``, what the solver said, or
    ``failed`` (then ``message`` says why and the numbers are None/empty).
    """

    name: str
    status: str
    objective: float | None = None  # USD/yr, or USD present value over the years
    unmet_total: float | None = None  # t/yr (t over the years)
    exposure_any: dict[tuple[str, str], float] = field(default_factory=dict)  # (country, product) -> share
    binding_caps: list[str] = field(default_factory=list)  # 'US magnet any' (and years, with years)
    shadow_price_by_stage: dict[str, float] = field(default_factory=dict)  # USD/yr per pp, over binding caps
    facility_activity: dict[str, float] = field(default_factory=dict)  # activity units/yr (summed over years)
    facility_utilisation: dict[str, float] = field(default_factory=dict)  # activity / capacity available
    message: str = ""  # why the run failed, or notes of the solver
    results_path: str | None = None  # the run's own results workbook, when written
    rebuilt: bool = True  # the model was built for this run (False: a re-solve of a model built before)
    seconds: float = 0.0  # the whole run, where it ran
    solver_seconds: float = 0.0  # of which the solver phases (cost-optimal, least exposure), s

    @property
    def ok(self) -> bool:
        return self.status != FAILED

    @property
    def shadow_price_per_pp(self) -> float:
        """Summed over the binding caps (USD/yr per percentage point)."""
        return float(sum(self.shadow_price_by_stage.values()))

    @property
    def binding_stage(self) -> str | None:
        """The stage whose caps carry the largest shadow price (None when no cap has a price)."""
        priced = {stage: price for stage, price in self.shadow_price_by_stage.items() if price > 0}
        return max(sorted(priced), key=priced.get) if priced else None


def failed(name: str, message: str, seconds: float = 0.0) -> RunSummary:
    return RunSummary(name=name, status=FAILED, message=message, seconds=seconds)


def problem_text(error: InputError, limit: int = 20) -> str:
    """Every problem of an input error on one line (the first ``limit``)."""
    lines = [str(p) for p in error.problems]
    more = f"; and {len(lines) - limit} more" if len(lines) > limit else ""
    return "; ".join(lines[:limit]) + more


def variant_data(raw: RawWorkbook, variant: Variant) -> ModelData:
    """The validated data of ``variant`` (raises InputError naming the change and the target rows)."""
    applied = apply_scenario(raw, variant.scenario) if variant.scenario else raw
    applied = apply_changes(applied, variant.changes)  # new lists; rows shared with raw unless a change writes them
    applied = without_uncertainty(applied)  # checked on the workbook as given; a variant may move its matches
    try:
        data = validate(applied, variant.exposure_cap)
    except InputError as error:
        raise InputError([located(p, applied.records) for p in error.problems], error.warnings) from None
    return dataclasses.replace(data, case_name=f"{data.case_name} [{variant.name}]") if variant.scenario else data


def summarise_from_tables(
    name: str, data: ModelData, sets, solution: Solution, objective: float, status: str, message: str = ""
) -> RunSummary:
    """The summary of one solved run, from the same tables the results workbook holds (what :func:`summarise` gives)."""
    deliveries, exposure = deliveries_table(data, sets, solution)
    caps = exposure_caps_table(data, sets, solution, exposure)
    facilities = facilities_table(data, sets, solution)
    by_consumer = (
        deliveries.assign(exposed=deliveries["exposure_any"] * deliveries["quantity"])
        .groupby(["country", "product"], sort=False)[["exposed", "quantity"]]
        .sum()
    )
    # zip over the columns, not iterrows (a Series per row): the same sums, without pandas' per-row cost
    exposure_any = {
        (str(country), str(product)): (float(exposed / quantity) if quantity > 0 else 0.0)
        for (country, product), exposed, quantity in zip(
            by_consumer.index, by_consumer["exposed"].to_numpy(), by_consumer["quantity"].to_numpy(), strict=True
        )
    }
    binding = caps[caps["binding"] == "yes"] if len(caps) else caps
    names = []
    for row in binding.itertuples(index=False):
        text = f"{row.country} {row.product} {row.stage}"
        names.append(text)
    by_stage = binding.groupby("stage")["shadow_price_per_pp"].sum() if len(binding) else {}
    used = facilities.groupby("facility", sort=False)[["activity", "capacity"]].sum()
    used_rows = list(zip(used.index, used["activity"].to_numpy(), used["capacity"].to_numpy(), strict=True))
    return RunSummary(
        name=name,
        status=status,
        objective=float(objective),
        unmet_total=float(deliveries["unmet"].sum()),
        exposure_any=exposure_any,
        binding_caps=list(dict.fromkeys(names)),
        shadow_price_by_stage={str(stage): float(price) for stage, price in dict(by_stage).items()},
        facility_activity={str(f): float(activity) for f, activity, _ in used_rows},
        facility_utilisation={
            str(f): (float(activity / capacity) if capacity > 0 else 0.0) for f, activity, capacity in used_rows
        },
        message=message,
    )


def kahan_sums(keys: Iterable[Hashable], values: Iterable[float]) -> dict:
    """Σ values by key, in order of first appearance, NaN skipped (as pandas' ``groupby(...).sum()``).

    Compensated (Kahan) summation in the order given, a NaN compensation
    (after an infinity) reset to 0, as pandas compensates its group sums
    (which agree to the last digit or two: pandas 3's exact scheme differs).
    """
    total: dict = {}
    compensation: dict = {}
    for key, value in zip(keys, values, strict=True):
        if value != value:
            total.setdefault(key, 0.0)
            continue
        before = total.get(key, 0.0)
        y = value - compensation.get(key, 0.0)
        t = before + y
        c = t - before - y
        compensation[key] = 0.0 if c != c else c
        total[key] = t
    return total


def summarise(
    name: str, data: ModelData, sets, solution: Solution, objective: float, status: str, message: str = ""
) -> RunSummary:
    """The summary of one solved run: what :func:`summarise_from_tables` gives, without building the tables.

    From the same quantities, in the same order as the tables, summed with
    compensation as pandas sums them (``tests/test_fast_summary.py``: the
    same keys in the same order, the same names, sums equal to 1e-12
    relative): per consumer (country, product) the exposed share
    Σ_y (e_any,jy / q_jy) · q_jy / Σ_y q_jy; the caps binding at
    |achieved − max_share · q| ≤ 1e-6 · max_share · q + 1e-9 and their
    shadow price −η · 0.01 · q / δ_y (USD/yr per pp) summed by stage; per
    facility Σ_y activity and Σ_y activity / Σ_y capacity available.
    """
    delivered, exposure = delivered_and_exposed(data, sets, solution)
    unmet = {(index, year): value for index, year, value in rows(solution.unmet, "demand", "year", "value")}
    cap_dual = solution.duals["exposure_cap_constraint"]
    demand_rows = {(d.country, d.product): i for i, d in enumerate(data.demands)}
    consumers: list[tuple[str, str]] = []
    exposed_amounts: list[float] = []
    quantities: list[float] = []
    unmet_amounts: list[float] = []
    names: list[str] = []
    stages: list[str] = []
    prices: list[float] = []
    views = {year: data.at(year) for year in sets.years}
    for year, view in views.items():
        for index, demand in sorted(view.demands.items()):
            quantity = demand.quantity
            share = exposure[index, ANY_STAGE, year] / quantity if quantity > 0 else 0.0
            consumers.append((demand.country, demand.product))
            exposed_amounts.append(share * quantity)
            quantities.append(quantity)
            unmet_amounts.append(unmet.get((index, year), 0.0))
    for year, view in views.items():
        weight = data.discount_factor(year)
        for cap in view.exposure_caps:
            quantity = view.demands[demand_rows[cap.country, cap.product]].quantity
            limit = cap.max_share * quantity
            achieved = exposure[demand_rows[cap.country, cap.product], cap.stage, year]
            if abs(achieved - limit) <= BINDING_TOLERANCE * limit + 1e-9:
                dual = cap_dual.get(CapKey(demand_rows[cap.country, cap.product], cap.stage, year), 0.0)
                names.append(f"{cap.country} {cap.product} {cap.stage}")
                stages.append(cap.stage)
                prices.append(max(0.0, -dual) * SHARE_POINT * quantity / weight)
    exposed_by = kahan_sums(consumers, exposed_amounts)
    quantity_by = kahan_sums(consumers, quantities)
    by_stage = kahan_sums(stages, prices)
    activity = kahan_sums(
        zip(*columns(solution.activity, "facility", "year"), strict=True), solution.activity["value"].tolist()
    )
    available = capacity_by_year(data, sets, solution)
    facility_keys: list[str] = []
    levels: list[float] = []
    capacities: list[float] = []
    for year, view in views.items():
        for facility in view.facilities:
            facility_keys.append(facility)
            levels.append(float(activity.get((facility, year), 0.0)))
            capacities.append(available[facility, year][0])
    used_activity = kahan_sums(facility_keys, levels)
    used_capacity = kahan_sums(facility_keys, capacities)
    return RunSummary(
        name=name,
        status=status,
        objective=float(objective),
        unmet_total=float(np.sum(np.asarray(unmet_amounts, dtype=float))),
        exposure_any={
            (str(country), str(product)): (
                float(exposed / quantity_by[country, product]) if quantity_by[country, product] > 0 else 0.0
            )
            for (country, product), exposed in exposed_by.items()
        },
        binding_caps=list(dict.fromkeys(names)),
        shadow_price_by_stage={str(stage): float(by_stage[stage]) for stage in sorted(by_stage)},
        facility_activity={str(f): float(level) for f, level in used_activity.items()},
        facility_utilisation={
            str(f): (float(level / used_capacity[f]) if used_capacity[f] > 0 else 0.0)
            for f, level in used_activity.items()
        },
        message=message,
    )
