"""The runs a study is made of: one variant of the workbook in, one summary of plain data out.

A variant is the input workbook with changes applied (rows scaled by a
Monte Carlo draw) and, optionally, every demand row's ``any`` cap set as
``--exposure-cap SHARE`` sets it.  Each is validated and solved exactly as a
normal run (:func:`model.workbook.validate.validate`, the same model, the
same HiGHS phases: cost, then least exposure), and summarised in a
:class:`RunSummary` of plain numbers, so that runs can go to worker
processes and their results do not depend on where they ran.

A run that fails (its changes make the workbook invalid, the solver
fails) is reported in its summary (``status`` ``failed``, ``message``); the
study goes on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from model.data import ModelData
from model.errors import InputError, SolverError, VerificationError
from model.formulation.sets import build_sets
from model.formulation.variables import keyed
from model.results.extract import extract_solution
from model.results.report import deliveries_table, exposure_caps_table, facilities_table
from model.results.verify import verify_solution
from model.workbook.read import RawWorkbook
from model.workbook.study_inputs import matching_rows
from model.workbook.validate import validate

FAILED = "failed"
RUNS = 1e-6  # activity units/yr above which a facility counts as running


@dataclass(frozen=True)
class Change:
    """One change to the rows of an input sheet, as a row of the ``changes`` sheet (SPEC Part 3).

    ``operation`` is ``set``, ``scale`` or ``add``; ``match`` selects rows as
    ``column=value`` pairs separated by ``;`` (blank = every row).
    """

    sheet: str
    column: str
    operation: str
    value: object
    match: str | None = None


@dataclass(frozen=True)
class Variant:
    """One run of a study: the workbook with ``changes`` applied, ``exposure_cap`` as --exposure-cap."""

    name: str
    scenario: str | None = None
    changes: tuple[Change, ...] = ()
    exposure_cap: float | None = None


@dataclass
class RunSummary:
    """What a study keeps of one run (plain data: picklable, comparable).

    Figures over the model years: ``objective`` USD (present value; USD/yr in a
    single-year case), ``unmet_total`` t summed over demand rows and years,
    ``exposure_any`` per consumer (``exposure_any_<country>_<product>``: exposed
    tonnes over delivered+unmet tonnes of the demand row, over the years),
    ``shadow_price_by_stage`` the sum of ``shadow_price_per_pp`` of the binding
    caps of each stage (``any`` included) as the exposure_caps sheet reports
    them, ``facility_activity`` activity units summed over the years and
    ``facility_utilisation`` = that activity / the capacity available summed
    over the years.
    """

    name: str
    status: str
    objective: float | None = None
    unmet_total: float | None = None
    exposure_any: dict[str, float] = field(default_factory=dict)
    binding_caps: list[str] = field(default_factory=list)
    shadow_price_by_stage: dict[str, float] = field(default_factory=dict)
    facility_activity: dict[str, float] = field(default_factory=dict)
    facility_utilisation: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != FAILED and self.objective is not None

    @property
    def shadow_price_per_pp(self) -> float:
        """USD per percentage point, summed over every binding cap (and year)."""
        return float(sum(self.shadow_price_by_stage.values()))

    @property
    def binding_stage(self) -> str:
        """The stage whose binding caps carry the largest summed shadow price ('' when none carries any)."""
        priced = {stage: price for stage, price in self.shadow_price_by_stage.items() if price > 0}
        return max(priced, key=lambda stage: (priced[stage], stage)) if priced else ""


def consumer_column(country: str, product: str) -> str:
    return f"exposure_any_{country}_{product}"


def solve_summary(data: ModelData, name: str) -> RunSummary:
    """Build, solve (cost, then least exposure, as a normal run), verify and summarise one validated case."""
    from model.formulation.build import build_model
    from model.pipeline import solver_options
    from model.solver.solve import solve_model

    sets = build_sets(data)
    model = build_model(data, sets)
    weight = {
        id(var): float(len(sets.tags[key.tag])) for key, var in keyed(model, sets, "v_delivery") if sets.tags[key.tag]
    }
    options = solver_options(data.settings)
    result = solve_model(model, weight, list(model.v_relabel.values()), **options)
    solution = extract_solution(model, sets, result)
    verification = verify_solution(data, sets, solution, result.objective)
    if not verification.ok:
        raise VerificationError("the solution failed the product's own checks: " + "; ".join(verification.failures))
    deliveries, exposure = deliveries_table(data, sets, solution)
    caps = exposure_caps_table(data, sets, solution, exposure)
    facilities = facilities_table(data, sets, solution)
    return summarise(name, result.status, result.objective, deliveries, caps, facilities)


def summarise(
    name: str,
    status: str,
    objective: float,
    deliveries: pd.DataFrame,
    caps: pd.DataFrame,
    facilities: pd.DataFrame,
) -> RunSummary:
    """A :class:`RunSummary` from the deliveries, exposure_caps and facilities tables of a run."""
    frame = deliveries.assign(exposed=deliveries["exposure_any"] * deliveries["quantity"])
    by_consumer = frame.groupby(["country", "product"], sort=False)[["exposed", "quantity"]].sum()
    exposure_any = {
        consumer_column(country, product): float(row.exposed / row.quantity) if row.quantity > 0 else 0.0
        for (country, product), row in by_consumer.iterrows()
    }
    binding = caps[caps["binding"] == "yes"]
    labels = [
        f"{row.country} {row.product} {row.stage}" + (f" {row.year}" if "year" in caps.columns else "")
        for row in binding.itertuples(index=False)
    ]
    prices = binding.groupby("stage", sort=False)["shadow_price_per_pp"].sum()
    per_facility = facilities.groupby("facility", sort=False)[["activity", "capacity"]].sum()
    return RunSummary(
        name=name,
        status=status,
        objective=float(objective),
        unmet_total=float(deliveries["unmet"].sum()),
        exposure_any=exposure_any,
        binding_caps=labels,
        shadow_price_by_stage={str(stage): float(price) for stage, price in prices.items()},
        facility_activity={str(f): float(row.activity) for f, row in per_facility.iterrows()},
        facility_utilisation={
            str(f): float(row.activity / row.capacity) if row.capacity > 0 else 0.0
            for f, row in per_facility.iterrows()
        },
    )


def apply_changes(raw: RawWorkbook, changes: Iterable[Change]) -> RawWorkbook:
    """A copy of ``raw`` with ``scale`` changes applied (the operation Monte Carlo draws need).

    Stand-in until :func:`model.scenarios.apply_changes` takes over: the same
    ``match`` rules (see :func:`model.workbook.study_inputs.matching_rows`).
    """
    copied = copy.deepcopy(raw)
    for change in changes:
        if change.operation != "scale":
            raise ValueError(f"only 'scale' changes are applied here, not {change.operation!r}")
        for record in matching_rows(copied.records[change.sheet], change.sheet, change.match):
            if record.get(change.column) is not None:
                record[change.column] = record[change.column] * float(change.value)
    return copied


def run_variant(raw: RawWorkbook, variant: Variant) -> RunSummary:
    """Validate and solve one variant; a failure is reported in the summary, not raised."""
    try:
        changed = apply_changes(raw, variant.changes)
        data = validate(changed, exposure_cap_override=variant.exposure_cap)
        return solve_summary(data, variant.name)
    except InputError as error:
        problems = "; ".join(str(problem) for problem in error.problems)
        return RunSummary(variant.name, FAILED, message=f"the changes make the workbook invalid: {problems}")
    except (SolverError, VerificationError) as error:
        return RunSummary(variant.name, FAILED, message=str(error))


def run_variants(
    raw: RawWorkbook,
    variants: list[Variant],
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[RunSummary]:
    """Every variant in order, in this process (the batch runner's interface: same arguments, same results)."""
    summaries = []
    for done, variant in enumerate(variants, start=1):
        summaries.append(run_variant(raw, variant))
        if progress is not None:
            progress(f"{done}/{len(variants)} runs done")
    return summaries
