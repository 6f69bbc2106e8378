"""What a batch runs and what it hands back: plain data, picklable, with no Pyomo or HiGHS objects."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from model.data import ModelData
from model.errors import InputError
from model.results.extract import Solution
from model.results.report import deliveries_table, exposure_caps_table, facilities_table
from model.scenarios import apply_changes, apply_scenario
from model.scenarios.apply import located
from model.scenarios.changes import Change
from model.workbook.read import RawWorkbook
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
    seconds: float = 0.0

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
    applied = apply_changes(applied, variant.changes)  # a copy even without changes: validate normalises in place
    try:
        data = validate(applied, variant.exposure_cap)
    except InputError as error:
        raise InputError([located(p, applied.records) for p in error.problems], error.warnings) from None
    return dataclasses.replace(data, case_name=f"{data.case_name} [{variant.name}]") if variant.scenario else data


def summarise(
    name: str, data: ModelData, sets, solution: Solution, objective: float, status: str, message: str = ""
) -> RunSummary:
    """The summary of one solved run, from the same tables the results workbook holds."""
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
