"""The results workbook's tables, computed from the verified solution.

Sheet and column names are SPEC.md's contract; :data:`LEGEND` gives every
column's meaning and unit and becomes the ``legend`` sheet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.data import ModelData
from model.errors import VerificationError
from model.formulation.keys import BudgetKey, CapKey, DemandKey, FacilityKey, TradeKey
from model.formulation.sets import ModelSets
from model.results.calibration import calibration_table
from model.results.extract import Solution
from model.results.sourcing import trace_sources
from model.results.verify import (
    cost_components,
    delivered_and_exposed,
    project_cost_per_year,
    rows,
    verify_sourcing,
    yearly_costs,
)
from model.workbook.schema import ANY_STAGE
from model.workbook.schema import SHEETS as INPUT_SHEETS
from model.workbook.write import reading_order
from model.workbook.years import setting_year

BINDING_TOLERANCE = 1e-6
BUILT = 1e-9  # share of a project below which it counts as not built
SMALL = 1e-9  # t
SHARE_POINT = 0.01  # one percentage point of share


@dataclass
class Report:
    sheets: dict[str, pd.DataFrame]  # in workbook order
    components: dict[str, float]
    stages: Sequence[str] | None = None  # the case's stages, to describe exposure_<stage> columns in the legend
    years: bool = False

    def add_sheet(self, name: str, frame: pd.DataFrame, before: str | None = None) -> None:
        """Add (or replace) a sheet, keep the sheets in reading order and the legend describing them all.

        The sheet goes before ``before`` unless :func:`reading_order` places it; the ``legend`` sheet is
        rebuilt from the columns of every sheet (add the new columns' rows to :data:`LEGEND`).
        """
        ordered = {}
        for key, value in self.sheets.items():
            if key == before and name not in self.sheets:
                ordered[name] = frame
            ordered[key] = frame if key == name else value
        ordered.setdefault(name, frame)
        self.sheets = {key: ordered[key] for key in reading_order(list(ordered))}
        if "legend" in self.sheets and self.stages is not None:
            self.sheets["legend"] = legend_for(self.sheets, self.stages, self.years)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def year_columns(data: ModelData) -> list[str]:
    """``["year"]`` where the case has a ``years`` sheet (the column after the key columns), else nothing."""
    return ["year"] if data.has_years else []


def deliveries_table(
    data: ModelData, sets: ModelSets, solution: Solution, first_tonne: dict | None = None
) -> tuple[pd.DataFrame, dict]:
    """One row per demand row (and year): delivered, unmet, exposure shares, marginal cost.

    marginal_cost_jy = (π_jy + Σ_s max_share_jsy · η_jsy) / δ_y (USD/t in that
    year's USD): one more tonne of demand with its caps scaling with it (π the
    demand row's dual, η ≤ 0 the caps' duals, δ_y the discount factor);
    stockpile covers held fixed.  A row of quantity 0 reports the cost of its
    first tonne (``first_tonne``, from a re-solve), since its dual is degenerate.
    """
    stage_columns = [ANY_STAGE, *data.stages]
    delivered, exposure = delivered_and_exposed(data, sets, solution)
    unmet = {
        (index, year): value
        for index, year, value in solution.unmet[["demand", "year", "value"]].itertuples(index=False)
    }
    demand_dual = solution.duals["demand_constraint"]
    cap_dual = solution.duals["exposure_cap_constraint"]
    rows = {(d.country, d.product): i for i, d in enumerate(data.demands)}
    records = []
    for year in sets.years:
        view = data.at(year)
        weight = data.discount_factor(year)
        marginal = {j: demand_dual.get(DemandKey(j, year), 0.0) for j in view.demands}
        for cap in view.exposure_caps:
            index = rows[cap.country, cap.product]
            marginal[index] += cap.max_share * cap_dual.get(CapKey(index, cap.stage, year), 0.0)
        for index, demand in sorted(view.demands.items()):
            record = {
                "country": demand.country,
                "product": demand.product,
                "year": year,
                "quantity": demand.quantity,
                "delivered": delivered[index, year],
                "unmet": unmet.get((index, year), 0.0),
            }
            for stage in stage_columns:
                share = exposure[index, stage, year] / demand.quantity if demand.quantity > 0 else 0.0
                record[f"exposure_{stage}"] = share
            first = (first_tonne or {}).get(DemandKey(index, year))
            record["marginal_cost"] = first if demand.quantity == 0 and first is not None else marginal[index] / weight
            records.append(record)
    columns = [
        "country",
        "product",
        *year_columns(data),
        "quantity",
        "delivered",
        "unmet",
        *(f"exposure_{s}" for s in stage_columns),
        "marginal_cost",
    ]
    return pd.DataFrame(records, columns=columns), exposure


def exposure_caps_table(data: ModelData, sets: ModelSets, solution: Solution, exposure: dict) -> pd.DataFrame:
    """Each cap that applied (and year): achieved share, binding, value of one more point.

    shadow_price_per_pp = −η_jsy × 0.01 × quantity_jy / δ_y (USD/yr in that year's USD), 0 when not binding.
    """
    rows = {(d.country, d.product): i for i, d in enumerate(data.demands)}
    cap_dual = solution.duals["exposure_cap_constraint"]
    records = []
    for year in sets.years:
        view = data.at(year)
        weight = data.discount_factor(year)
        for cap in view.exposure_caps:
            index = rows[cap.country, cap.product]
            quantity = view.demands[index].quantity
            limit = cap.max_share * quantity
            achieved = exposure[index, cap.stage, year]
            binding = abs(achieved - limit) <= BINDING_TOLERANCE * limit + 1e-9
            dual = cap_dual.get(CapKey(index, cap.stage, year), 0.0)
            records.append(
                {
                    "country": cap.country,
                    "product": cap.product,
                    "stage": cap.stage,
                    "year": year,
                    "max_share": cap.max_share,
                    "achieved_share": achieved / quantity if quantity > 0 else 0.0,
                    "binding": _yes(binding),
                    "shadow_price_per_pp": max(0.0, -dual) * SHARE_POINT * quantity / weight if binding else 0.0,
                    "source": cap.source,
                }
            )
    columns = [
        "country",
        "product",
        "stage",
        *year_columns(data),
        "max_share",
        "achieved_share",
        "binding",
        "shadow_price_per_pp",
        "source",
    ]
    return pd.DataFrame(records, columns=columns)


def capacity_by_year(
    data: ModelData, sets: ModelSets, solution: Solution
) -> dict[tuple[str, int], tuple[float, float]]:
    """(facility, year) -> (capacity available, continuous expansion added up to the year).

    Available = the year's input capacity + expansions up to the year + capacity of projects online.
    """
    added: dict[str, list[tuple[int, float]]] = {}
    for facility, year, value in rows(solution.expansion, "facility", "year", "value"):
        added.setdefault(facility, []).append((year, value))
    projects = {p.name: p for p in data.projects}
    online: dict[tuple[str, int], float] = {}
    for name, start, value in rows(solution.build, "project", "year", "value"):
        project = projects[name]
        for year in sets.years:
            if start <= year <= start + project.life - 1:
                key = (project.facility, year)
                online[key] = online.get(key, 0.0) + project.capacity * value
    out = {}
    for year in sets.years:
        for name, facility in data.at(year).facilities.items():
            expansion = sum(value for start, value in added.get(name, ()) if start <= year)
            out[name, year] = (facility.capacity + expansion + online.get((name, year), 0.0), expansion)
    return out


def facilities_table(data: ModelData, sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """One row per facility (and year it exists); capacity_value = −μ_fy / δ_y (USD/yr per unit, that year's USD)."""
    activity = solution.activity.groupby(["facility", "year"])["value"].sum()
    available = capacity_by_year(data, sets, solution)
    capacity_dual = solution.duals["capacity_constraint"]
    records = []
    for year in sets.years:
        weight = data.discount_factor(year)
        for name, fac in data.at(year).facilities.items():
            capacity, expansion = available[name, year]
            level = float(activity.get((name, year), 0.0))
            records.append(
                {
                    "facility": name,
                    "year": year,
                    "country": fac.country,
                    "restricted": _yes(fac.restricted),
                    "capacity": capacity,
                    "activity": level,
                    "utilisation": level / capacity if capacity > 0 else 0.0,
                    "expansion": expansion,
                    "capacity_value": max(0.0, -capacity_dual.get(FacilityKey(name, year), 0.0)) / weight,
                }
            )
    columns = [
        "facility",
        *year_columns(data),
        "country",
        "restricted",
        "capacity",
        "activity",
        "utilisation",
        "expansion",
        "capacity_value",
    ]
    return pd.DataFrame(records, columns=columns)


def activity_table(data: ModelData, sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """Activity per facility, process (and year) summed over tags; exposed where the output carries a tag."""
    frame = solution.activity.copy()
    frame["stage"] = [data.processes[p].stage for p in frame["process"]]
    facilities = {year: data.at(year).facilities for year in sets.years}
    restricted = [facilities[y][f].restricted for f, y in zip(frame["facility"], frame["year"], strict=True)]
    frame["exposed"] = [bool(sets.tags[t]) or r for t, r in zip(frame["tag"], restricted, strict=True)]
    frame["exposed_activity"] = frame["value"].where(frame["exposed"], 0.0)
    table = frame.groupby(["facility", "process", "stage", "year"], sort=False, as_index=False)[
        ["value", "exposed_activity"]
    ].sum()
    table = table.rename(columns={"value": "activity"})
    return table[table["activity"] > 1e-9].reset_index(drop=True)[
        ["facility", "process", "stage", *year_columns(data), "activity", "exposed_activity"]
    ]


def trade_table(data: ModelData, sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """Shipments per trade (and year) summed over tags, with their transport and tariff cost (USD/yr).

    Every trade with a min_flow has a row, shipped or not (a banned one too): ``min_flow`` (blank
    without a contract), ``shortfall`` = the min_flow_shortfall variable (t/yr, priced at
    unmet_demand_penalty; shipped + shortfall ≥ min_flow) and ``min_flow_value`` = φ_odpy / δ_y
    (USD/t in that year's USD: what one more contracted tonne costs, the min_flow_constraint's dual).
    """
    frame = solution.shipment.copy()
    frame["exposed_quantity"] = frame["value"].where([bool(sets.tags[t]) for t in frame["tag"]], 0.0)
    keys = ["origin", "destination", "product", "year"]
    table = frame.groupby(keys, sort=False, as_index=False)[["value", "exposed_quantity"]].sum()
    contracted = [TradeKey(*key) in sets.min_flows for key in table[keys].itertuples(index=False, name=None)]
    table = table[(table["value"] > 1e-9).to_numpy() | np.array(contracted, dtype=bool)]
    present = set(table[keys].itertuples(index=False, name=None))
    missing = [key for key in sets.offtake if tuple(key) not in present]
    if missing:
        extra = pd.DataFrame([(*key, 0.0, 0.0) for key in missing], columns=[*keys, "value", "exposed_quantity"])
        table = pd.concat([table, extra], ignore_index=True) if len(table) else extra
    flows = [tuple(key) for key in table[keys].itertuples(index=False, name=None)]
    costs = [sets.trades.get(TradeKey(*key)) for key in flows]
    table["transport_cost"] = [t.transport_cost if t else 0.0 for t in costs] * table["value"]
    table["tariff_cost"] = [t.tariff_cost if t else 0.0 for t in costs] * table["value"]
    shortfall = solution.min_flow_shortfall.set_index(keys)["value"].to_dict() if len(sets.offtake) else {}
    table["min_flow"] = [sets.min_flows.get(TradeKey(*key)) for key in flows]
    table["shortfall"] = [float(shortfall.get(key, 0.0)) for key in flows]
    duals = solution.duals.get("min_flow_constraint", {})
    table["min_flow_value"] = [
        max(0.0, duals.get(TradeKey(*key), 0.0)) / data.discount_factor(key[3])
        if TradeKey(*key) in sets.min_flows
        else None
        for key in flows
    ]
    table = table.rename(columns={"origin": "from", "destination": "to", "value": "quantity"})
    return table.reset_index(drop=True)[
        [
            "from",
            "to",
            "product",
            *year_columns(data),
            "quantity",
            "exposed_quantity",
            "transport_cost",
            "tariff_cost",
            "min_flow",
            "shortfall",
            "min_flow_value",
        ]
    ]


def surplus_table(data: ModelData, solution: Solution) -> pd.DataFrame:
    """Output nobody uses per country, product (and year), summed over tags."""
    table = solution.surplus.groupby(["country", "product", "year"], sort=False, as_index=False)["value"].sum()
    table = table.rename(columns={"value": "quantity"})
    return table[table["quantity"] > 1e-9].reset_index(drop=True)[
        ["country", "product", *year_columns(data), "quantity"]
    ]


def costs_by_year_table(data: ModelData, sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """One row per year and cost component: USD in that year (undiscounted) and the year's discount factor."""
    records = [
        (year, component, cost, data.discount_factor(year))
        for year, costs in yearly_costs(data, sets, solution).items()
        for component, cost in costs.items()
    ]
    return pd.DataFrame(records, columns=["year", "component", "cost", "discount_factor"])


def projects_table(data: ModelData, solution: Solution, values: dict[str, float], timed: bool) -> pd.DataFrame:
    """One row per project: how much is built, when, what it costs per year, what it is worth.

    annual_cost = built_share × (capex × CRF(capex_rate, life) + fixed_cost) (USD/yr while online);
    value = objective without the project − objective (USD, present value; 0 when not built).
    """
    builds = solution.build.groupby("project")["value"].sum()
    first_online = solution.build[solution.build["value"] > BUILT].groupby("project")["year"].min()
    annual = project_cost_per_year(data)
    records = []
    for project in data.projects:
        share = float(builds.get(project.name, 0.0))
        online = first_online.get(project.name)
        records.append(
            {
                "project": project.name,
                "facility": project.facility,
                "country": data.facilities[project.facility].country,
                "funder": project.funder or "",
                "capex": project.capex,
                "built_share": share,
                "online_year": int(online) if online is not None and timed else None,
                "capacity_added": project.capacity * share,
                "annual_cost": annual[project.name] * share,
                "value": values.get(project.name, 0.0) if share > BUILT else 0.0,
            }
        )
    columns = [
        "project",
        "facility",
        "country",
        "funder",
        "capex",
        "built_share",
        "online_year",
        "capacity_added",
        "annual_cost",
        "value",
    ]
    return pd.DataFrame(records, columns=columns)


def budgets_table(data: ModelData, sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """One row per funder and year: budget, capex committed, shadow_price = −β_FY (present-value USD per USD)."""
    projects = {p.name: p for p in data.projects}
    first = sets.years[0]
    committed: dict[tuple[str, int], float] = {}
    for name, start, value in rows(solution.build, "project", "year", "value"):
        project = projects[name]
        if project.funder is not None:
            key = (project.funder, max(first, start - project.lead_time))
            committed[key] = committed.get(key, 0.0) + project.capex * value
    duals = solution.duals["budget_constraint"]
    records = [
        {
            "funder": funder,
            "year": year,
            "budget": budget,
            "committed": committed.get((funder, year), 0.0),
            "shadow_price": max(0.0, -duals.get(BudgetKey(funder, year), 0.0)),
        }
        for funder, by_year in data.budgets.items()
        for year, budget in by_year.items()
    ]
    return pd.DataFrame(records, columns=["funder", "year", "budget", "committed", "shadow_price"])


def stockpiles_table(data: ModelData, sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """One row per stockpile and year: stock at the end of the year and how it moved.

    purchases − releases = stock_y − stock_{y−1} (the initial stock before the
    first year); days_of_cover = stock / demand × 365 (blank without demand);
    exposed_share = share of the stock whose tag is not clean.
    """
    stock = solution.stock.copy()
    stock["exposed"] = stock["value"].where([bool(sets.tags[t]) for t in stock["tag"]], 0.0)
    totals = stock.groupby(["country", "product", "year"])[["value", "exposed"]].sum()
    shortfall = {
        (country, product, year): value
        for country, product, year, value in solution.cover_shortfall[
            ["country", "product", "year", "value"]
        ].itertuples(index=False)
    }
    records = []
    for stockpile in data.stockpiles:
        previous = stockpile.initial
        for year in sets.years:
            key = (stockpile.country, stockpile.product, year)
            level, exposed = (float(v) for v in totals.loc[key]) if key in totals.index else (0.0, 0.0)
            demand = next((d.quantity for d in data.at(year).demands.values() if (d.country, d.product) == key[:2]), 0)
            change = level - previous
            covered = year >= stockpile.from_year and year not in data.stock_release_years
            records.append(
                {
                    "country": stockpile.country,
                    "product": stockpile.product,
                    "year": year,
                    "stock": level,
                    "purchases": max(0.0, change),
                    "releases": max(0.0, -change),
                    "days_of_cover": level / demand * 365.0 if demand > 0 else None,
                    "min_days": stockpile.min_days if covered else 0.0,
                    "cover_shortfall": shortfall.get(key, 0.0),
                    "exposed_share": exposed / level if level > SMALL else 0.0,
                }
            )
            previous = level
    columns = [
        "country",
        "product",
        "year",
        "stock",
        "purchases",
        "releases",
        "days_of_cover",
        "min_days",
        "cover_shortfall",
        "exposed_share",
    ]
    return pd.DataFrame(records, columns=columns)


def capacity_by_stage_table(data: ModelData, sets: ModelSets, facilities: pd.DataFrame) -> pd.DataFrame:
    """Capacity available per year (rows) and stage (columns), for the chart: a facility counts at the stage of
    its first process (activity units/yr)."""
    stage_of: dict[str, str] = {}
    for pair in data.facility_processes:
        stage_of.setdefault(pair.facility, data.processes[pair.process].stage)
    frame = facilities.assign(stage=[stage_of.get(f, "") for f in facilities["facility"]])
    frame = frame[frame["stage"] != ""]
    table = frame.pivot_table(index="year", columns="stage", values="capacity", aggfunc="sum", fill_value=0.0)
    table = table.reindex(columns=[s for s in data.stages if s in table.columns])
    return table.reset_index().rename_axis(columns=None)


def project_timeline_table(data: ModelData, projects: pd.DataFrame) -> pd.DataFrame:
    """Built projects: first year online and years online within the horizon, for the timeline chart."""
    life = {p.name: p.life for p in data.projects}
    last = data.years[-1]
    built = projects[projects["online_year"].notna()]
    records = [
        (row.project, int(row.online_year), min(life[row.project], last - int(row.online_year) + 1), row.capacity_added)
        for row in built.itertuples(index=False)
    ]
    return pd.DataFrame(records, columns=["project", "online_year", "years_online", "capacity_added"])


def sourcing_table(data: ModelData, sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """Tracing through the tagged pools (:mod:`model.results.sourcing`), with a year column where there are years."""
    frame = trace_sources(data, sets, solution)
    return frame if data.has_years else frame.drop(columns="year")


_WARNING_PLACE = re.compile(r"^(?:sheet '(?P<quoted>[^']+)'|(?P<sheet>[a-z_]+)) rows? (?P<row>\d+)")
_WARNING_SHEET = re.compile(r"^(?:sheet '(?P<quoted>[^']+)'|(?P<sheet>[a-z_]+))[ :]")


def warnings_table(messages: list[str]) -> pd.DataFrame:
    """The run's warnings as rows: ``sheet`` and first Excel ``row`` where the message names them, ``message``."""
    records = []
    for message in messages:
        place = _WARNING_PLACE.match(message) or _WARNING_SHEET.match(message)
        sheet = (place.group("quoted") or place.group("sheet")) if place else None
        if sheet is not None and sheet not in INPUT_SHEETS:
            sheet = None
        row = int(place.group("row")) if place and sheet and "row" in place.groupdict() else None
        records.append((sheet or "", row, message))
    return pd.DataFrame(records, columns=["sheet", "row", "message"])


def build_report(
    data: ModelData,
    sets: ModelSets,
    solution: Solution,
    summary_items: list[tuple[str, object, str]],
    trailing_items: list[tuple[str, object, str]] = (),
    project_values: dict[str, float] | None = None,
    first_tonne: dict | None = None,
) -> Report:
    """All sheets; summary rows: ``summary_items``, costs, totals, ``trailing_items``."""
    deliveries, exposure = deliveries_table(data, sets, solution, first_tonne)
    components = cost_components(data, sets, solution)
    money = "USD (present value)" if data.has_years else "USD/yr"
    tonnes = "t over the years" if data.has_years else "t/yr"
    summary = list(summary_items)
    for name, value in components.items():
        summary.append((name, value, money))
    summary += [
        ("demand_total", float(deliveries["quantity"].sum()), tonnes),
        ("delivered_total", float(deliveries["delivered"].sum()), tonnes),
        ("unmet_total", float(deliveries["unmet"].sum()), tonnes),
        ("min_flow_shortfall_total", float(solution.min_flow_shortfall["value"].sum()), tonnes),
        *trailing_items,
    ]
    sheets = {
        "summary": pd.DataFrame(summary, columns=["item", "value", "unit"]),
        "deliveries": deliveries,
        "exposure_caps": exposure_caps_table(data, sets, solution, exposure),
        "facilities": facilities_table(data, sets, solution),
        "activity": activity_table(data, sets, solution),
        "trade": trade_table(data, sets, solution),
        "sourcing": sourcing_table(data, sets, solution),
        "surplus": surplus_table(data, solution),
    }
    # Checked here, after every solve, like verify_solution's invariants: a wrong sheet stops the run.
    traced = verify_sourcing(data, sets, solution, sheets["sourcing"])
    if not traced.ok:
        raise VerificationError(
            "the sourcing sheet disagrees with the exposure, so no results were written:\n  "
            + "\n  ".join(traced.failures)
        )
    if data.observations:
        calibration = calibration_table(
            data, sets, solution, sheets["sourcing"], sheets["facilities"], year_columns(data)
        )
        sheets["calibration"] = calibration
        inside = float((calibration["within_tolerance"] == "yes").mean())
        sheets["summary"] = pd.concat(
            [
                sheets["summary"],
                pd.DataFrame(
                    [("observations_within_tolerance", inside, "share of the observations")],
                    columns=["item", "value", "unit"],
                ),
            ],
            ignore_index=True,
        )
    if data.has_years:
        sheets["costs_by_year"] = costs_by_year_table(data, sets, solution)
    # With years the Part 2 sheets are always there (empty when the case has none), so that other
    # programs find a stable set of sheets; a single-year case has them only when it uses them.
    if data.projects or data.has_years:
        timed = data.has_years or setting_year(data.settings) is not None
        sheets["projects"] = projects_table(data, solution, project_values or {}, timed)
    if data.budgets or data.has_years:
        sheets["budgets"] = budgets_table(data, sets, solution)
    if data.stockpiles or data.has_years:
        sheets["stockpiles"] = stockpiles_table(data, sets, solution)
    if data.has_years:
        sheets["capacity_by_stage"] = capacity_by_stage_table(data, sets, sheets["facilities"])
        if "projects" in sheets:
            sheets["project_timeline"] = project_timeline_table(data, sheets["projects"])
    sheets["legend"] = legend_for(sheets, data.stages, data.has_years)
    sheets = {name: sheets[name] for name in reading_order(list(sheets))}
    return Report(sheets, components, list(data.stages), data.has_years)


LEGEND: list[tuple[str, str, str, str]] = [
    ("summary", "item", "Name of the figure", ""),
    ("summary", "value", "The figure", "see unit"),
    ("summary", "unit", "Unit of the figure", ""),
    ("summary", "sheet", "Each sheet of this workbook (a link to it), in reading order", ""),
    ("summary", "contents", "What that sheet holds", ""),
    ("deliveries", "country", "Consuming country", ""),
    ("deliveries", "product", "Product demanded", ""),
    ("deliveries", "quantity", "Demand", "t/yr"),
    ("deliveries", "delivered", "Delivered", "t/yr"),
    ("deliveries", "unmet", "Not delivered (priced at the unmet penalty)", "t/yr"),
    (
        "deliveries",
        "exposure_any",
        "Share of the quantity that passed through a restricted facility at any stage",
        "share 0..1",
    ),
    (
        "deliveries",
        "exposure_<stage>",
        "Share of the quantity that passed through a restricted facility at this stage",
        "share 0..1",
    ),
    (
        "deliveries",
        "marginal_cost",
        "Change in total cost for one more tonne of this demand (its caps scaling with it)",
        "USD/t",
    ),
    ("exposure_caps", "country", "Consuming country", ""),
    ("exposure_caps", "product", "Product", ""),
    ("exposure_caps", "stage", "Stage capped (any = any stage)", ""),
    ("exposure_caps", "max_share", "Largest allowed exposed share", "share 0..1"),
    ("exposure_caps", "achieved_share", "Exposed share in the solution", "share 0..1"),
    ("exposure_caps", "binding", "yes when the exposed quantity is within 1e-6 relative of the cap", "yes/no"),
    ("exposure_caps", "shadow_price_per_pp", "Cost saved per year if 0.01 more share were allowed", "USD/yr per point"),
    ("exposure_caps", "source", "Where the cap came from (sheet row, default setting or command line)", ""),
    ("facilities", "facility", "Facility", ""),
    ("facilities", "country", "Country", ""),
    ("facilities", "restricted", "Counts as exposure", "yes/no"),
    ("facilities", "capacity", "Existing capacity", "activity units/yr"),
    ("facilities", "activity", "Total activity over its processes", "activity units/yr"),
    ("facilities", "utilisation", "activity / (capacity + expansion)", "share 0..1"),
    ("facilities", "expansion", "Capacity added by the model", "activity units/yr"),
    (
        "facilities",
        "capacity_value",
        "Cost saved per year by one more unit of capacity (dual of its capacity)",
        "USD per unit/yr",
    ),
    ("activity", "facility", "Facility", ""),
    ("activity", "process", "Process", ""),
    ("activity", "stage", "Stage of the process", ""),
    ("activity", "activity", "Activity", "activity units/yr"),
    ("activity", "exposed_activity", "Activity whose output carries exposure", "activity units/yr"),
    ("trade", "from", "Exporting country", ""),
    ("trade", "to", "Importing country", ""),
    ("trade", "product", "Product", ""),
    ("trade", "quantity", "Shipped", "t/yr"),
    ("trade", "exposed_quantity", "Shipped material that carries exposure", "t/yr"),
    ("trade", "transport_cost", "Transport cost of the shipment", "USD/yr"),
    ("trade", "tariff_cost", "Tariff paid on the shipment", "USD/yr"),
    ("trade", "min_flow", "Contracted offtake on the trade (lanes min_flow; blank = none)", "t/yr"),
    (
        "trade",
        "min_flow_value",
        "Cost of one more contracted tonne (dual of the min_flow; the premium of the forced route, or the penalty "
        "where short)",
        "USD/t",
    ),
    (
        "trade",
        "shortfall",
        "Part of the min_flow not shipped, priced at unmet_demand_penalty (in summary cost_shortfall_penalty)",
        "t/yr",
    ),
    ("sourcing", "country", "Consuming country", ""),
    ("sourcing", "product", "Product delivered", ""),
    ("sourcing", "stage", "Stage of the chain", ""),
    ("sourcing", "source_country", "Country where that stage took place", ""),
    (
        "sourcing",
        "share",
        "Share of the delivered quantity whose stage took place there (traced through the exposure tags: the "
        "restricted shares of a stage add up to its exposure when the demand is met)",
        "share 0..1",
    ),
    (
        "sourcing",
        "restricted",
        "yes: at restricted facilities (counted as exposure); a country may have a row of each",
        "yes/no",
    ),
    ("calibration", "kind", "Kind of observation: activity, trade or share", ""),
    ("calibration", "facility", "activity: the facility", ""),
    ("calibration", "from", "trade: exporting country", ""),
    ("calibration", "to", "trade: importing country", ""),
    ("calibration", "country", "share: consuming country", ""),
    ("calibration", "product", "Product (activity: the output compared; blank = the facility's total activity)", ""),
    ("calibration", "stage", "share: stage of the chain", ""),
    ("calibration", "source_country", "share: country where that stage ran", ""),
    (
        "calibration",
        "observed",
        "Observed value (from the observations sheet)",
        "activity units/yr or t/yr; share 0..1 for shares",
    ),
    (
        "calibration",
        "modelled",
        "The same figure in this run's first model year (shares from the sourcing sheet)",
        "as observed",
    ),
    ("calibration", "deviation", "modelled - observed", "as observed"),
    (
        "calibration",
        "tolerance",
        "Accepted deviation: absolute for shares, relative to observed for quantities",
        "share or fraction of observed",
    ),
    ("calibration", "within_tolerance", "yes when |deviation| is within the tolerance (inclusive)", "yes/no"),
    (
        "calibration",
        "utilisation",
        "activity: the facility's activity / capacity available (input, expansions, projects online)",
        "share 0..1",
    ),
    ("calibration", "source", "Where the observation comes from", ""),
    ("surplus", "country", "Country", ""),
    ("surplus", "product", "Product", ""),
    ("surplus", "quantity", "Output nobody in the model uses", "t/yr"),
    ("explanations", "country", "Consuming country with unmet demand", ""),
    ("explanations", "product", "Product", ""),
    ("explanations", "quantity", "Demand", "t/yr"),
    ("explanations", "unmet", "Not delivered", "t/yr"),
    ("explanations", "reason", "Why, found by re-solving with caps, capacities, bans and quotas relaxed in turn", ""),
    ("explanations", "input_rows", "Input rows involved", ""),
    ("costs_by_year", "year", "Model year", ""),
    ("costs_by_year", "component", "Cost component, named as in summary (surplus_credit is a credit)", ""),
    ("costs_by_year", "cost", "Cost in that year, not discounted", "USD"),
    ("costs_by_year", "discount_factor", "(1 + discount_rate)^-(year - first year)", "factor"),
    ("projects", "project", "Candidate project", ""),
    ("projects", "facility", "Facility that gains the capacity", ""),
    ("projects", "country", "Country of the facility", ""),
    ("projects", "funder", "Budget that pays its capex (blank = private)", ""),
    ("projects", "capex", "Investment if built whole", "USD"),
    ("projects", "built_share", "Share of the project built (1 = whole)", "share 0..1"),
    ("projects", "online_year", "First year with capacity from the project (blank = not built)", "year"),
    ("projects", "capacity_added", "Capacity added: capacity × built_share", "activity units/yr"),
    ("projects", "annual_cost", "Annuity of the capex plus fixed cost, while online", "USD/yr"),
    (
        "projects",
        "value",
        "Increase of the objective if the project could not be built (0 when not built)",
        "USD (present value)",
    ),
    ("budgets", "funder", "Funder", ""),
    ("budgets", "year", "Decision year", ""),
    ("budgets", "budget", "Capex the funder can commit in the year", "USD"),
    ("budgets", "committed", "Capex committed in the year (decision year = online year - lead time)", "USD"),
    ("budgets", "shadow_price", "Objective saved per USD more budget in that year", "USD (present value) per USD"),
    ("stockpiles", "country", "Country holding the stock", ""),
    ("stockpiles", "product", "Product stocked", ""),
    ("stockpiles", "year", "Model year", ""),
    ("stockpiles", "stock", "Stock at the end of the year", "t"),
    ("stockpiles", "purchases", "Added to the stock in the year", "t"),
    ("stockpiles", "releases", "Taken from the stock in the year", "t"),
    ("stockpiles", "days_of_cover", "Stock in days of the year's demand (blank without demand)", "days"),
    ("stockpiles", "min_days", "Cover required at the end of the year (0 in release years)", "days"),
    ("stockpiles", "cover_shortfall", "Stock missing to meet the cover, priced at the unmet penalty", "t"),
    ("stockpiles", "exposed_share", "Share of the stock that passed through a restricted facility", "share 0..1"),
    ("capacity_by_stage", "year", "Model year", ""),
    (
        "capacity_by_stage",
        "<stage>",
        "Capacity available at the stage (facilities counted at the stage of their first process)",
        "activity units/yr",
    ),
    ("project_timeline", "project", "Built project", ""),
    ("project_timeline", "online_year", "First year online", "year"),
    ("project_timeline", "years_online", "Years online within the model years", "years"),
    ("project_timeline", "capacity_added", "Capacity added", "activity units/yr"),
    ("frontier", "exposure_cap", "Cap on every demand row's exposure at any stage (as --exposure-cap)", "share 0..1"),
    ("frontier", "objective", "Objective of the run at that cap", "USD (as summary)"),
    ("frontier", "unmet_total", "Unmet demand of the run at that cap", "t (as summary)"),
    (
        "frontier",
        "shadow_price_per_pp",
        "Sum of shadow_price_per_pp over the binding caps (every stage and year) of the run at that cap",
        "USD/yr per point",
    ),
    ("frontier", "binding_stage", "Stage whose binding caps carry the largest summed shadow price", ""),
    ("frontier", "status", "optimal, or failed", ""),
    ("frontier", "message", "Why the run failed (blank when it solved)", ""),
    ("samples", "sample", "Draw number (1, 2, ...): its random numbers come from (seed, sample)", ""),
    ("samples", "factor_<row>", "Factor drawn for the uncertainty sheet's row of that Excel number", "factor"),
    ("samples", "objective", "Objective of the draw", "USD (as summary)"),
    ("samples", "unmet_total", "Unmet demand of the draw", "t (as summary)"),
    (
        "samples",
        "exposure_any_<country>_<product>",
        "Exposed share of the demand row at any stage, over the model years",
        "share 0..1",
    ),
    ("samples", "status", "optimal, or failed", ""),
    ("samples", "message", "Why the draw failed (blank when it solved)", ""),
    (
        "percentiles",
        "figure",
        "objective, unmet_total, exposure_any_<country>_<product>, runs_<facility> (1 when the facility "
        "runs in the draw), utilisation_<facility>",
        "",
    ),
    ("percentiles", "p10", "10th percentile over the solved draws (linear interpolation)", "unit of the figure"),
    ("percentiles", "p50", "Median over the solved draws (linear interpolation)", "unit of the figure"),
    ("percentiles", "p90", "90th percentile over the solved draws (linear interpolation)", "unit of the figure"),
    ("percentiles", "mean", "Mean over the solved draws (for runs_: the share of draws in which it runs)", "unit"),
    ("stochastic", "scenario", "Scenario with a probability", ""),
    ("stochastic", "probability", "Its probability", "share 0..1"),
    ("stochastic", "objective", "Cost of the scenario under the shared plan", "USD (as summary)"),
    ("stochastic", "unmet_total", "Unmet demand of the scenario", "t (as summary)"),
    (
        "stochastic",
        "exposure_any_<country>_<product>",
        "Exposed share of the demand row at any stage, over the model years",
        "share 0..1",
    ),
    ("shared_projects", "project", "Candidate project", ""),
    ("shared_projects", "facility", "Facility that gains the capacity", ""),
    ("shared_projects", "built_share", "Share built, the same in every scenario", "share 0..1"),
    ("shared_projects", "online_year", "First year with capacity from the project (blank = not built)", "year"),
    ("shared_projects", "capacity_added", "Capacity added", "activity units/yr"),
    ("shared_expansions", "facility", "Facility", ""),
    ("shared_expansions", "year", "Year of the addition", ""),
    ("shared_expansions", "expansion", "Capacity added, the same in every scenario", "activity units/yr"),
    ("warnings", "sheet", "Input sheet the warning is about (blank when it concerns the whole case)", ""),
    ("warnings", "row", "First Excel row of that sheet it names", ""),
    ("warnings", "message", "The warning, as printed", ""),
    ("legend", "sheet", "Sheet of this workbook", ""),
    ("legend", "column", "Column of that sheet", ""),
    ("legend", "meaning", "What it holds", ""),
    ("legend", "unit", "Unit", ""),
]


# The column after which each Part 1 sheet carries `year` where there are years (after its key columns).
YEAR_AFTER = {
    "deliveries": "product",
    "exposure_caps": "stage",
    "facilities": "facility",
    "activity": "stage",
    "trade": "product",
    "sourcing": "product",
    "surplus": "product",
    "calibration": "source_country",
}


def legend_table(
    stages: list[str],
    sheets: list[str] | None = None,
    years: bool = False,
    columns: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Every column of ``sheets`` (all when None) with its meaning and unit; a ``year`` row where there are years.

    With ``columns`` (sheet -> its actual columns) the legend describes exactly those, in that order
    (:func:`describe_column`).
    """
    if columns is not None:
        described = [
            (sheet, column, *found)
            for sheet, names in columns.items()
            for column in names
            if (found := describe_column(sheet, column, stages, years)) is not None
        ]
        return pd.DataFrame(described, columns=LEGEND_COLUMNS)
    rows = []
    for sheet, column, meaning, unit in LEGEND:
        if sheets is not None and sheet not in sheets:
            continue
        if column == "exposure_<stage>":
            rows += [(sheet, f"exposure_{s}", meaning.replace("this stage", f"the {s} stage"), unit) for s in stages]
        elif column == "<stage>":
            rows += [(sheet, s, meaning, unit) for s in stages]
        else:
            rows.append((sheet, column, meaning, unit))
        if years and YEAR_AFTER.get(sheet) == column:
            rows.append((sheet, "year", "Model year", ""))
    return pd.DataFrame(rows, columns=["sheet", "column", "meaning", "unit"])


# Columns the writer adds to a sheet beyond its table (the summary's linked list of sheets).
WRITER_COLUMNS = {"summary": ["sheet", "contents"]}
LEGEND_COLUMNS = ["sheet", "column", "meaning", "unit"]


def legend_for(sheets: Mapping[str, pd.DataFrame], stages: Sequence[str], years: bool = False) -> pd.DataFrame:
    """The legend of exactly these sheets: one row per column, in sheet and column order.

    A column's row is its :data:`LEGEND` entry; an entry whose column has ``<…>`` placeholders
    (``exposure_<stage>``, ``exposure_any_<country>_<product>``) describes every column it matches that
    has no entry of its own; ``year`` where there are years is the model year.  A column with no entry
    gets no row (tests/test_results_workbook.py names it).
    """
    columns = {name: [str(c) for c in frame.columns] for name, frame in sheets.items() if name != "legend"}
    for name, extra in WRITER_COLUMNS.items():
        if name in columns:
            columns[name] += [c for c in extra if c not in columns[name]]
    columns["legend"] = LEGEND_COLUMNS
    return legend_table(list(stages), years=years, columns=columns)


def _placeholder_pattern(column: str) -> re.Pattern[str]:
    parts = re.split(r"<[^>]+>", column)
    return re.compile("^" + "(.+)".join(re.escape(part) for part in parts) + "$")


def describe_column(sheet: str, column: str, stages: Sequence[str], years: bool = False) -> tuple[str, str] | None:
    """(meaning, unit) of ``sheet``'s ``column`` from :data:`LEGEND`, or None when it has no entry."""
    patterns = []
    for entry_sheet, entry_column, meaning, unit in LEGEND:
        if entry_sheet != sheet:
            continue
        if entry_column == column:
            return meaning, unit
        if "<" in entry_column:
            patterns.append((entry_column, meaning, unit))
    if column == "year" and (years or sheet in YEAR_AFTER):
        return "Model year", ""
    for entry_column, meaning, unit in patterns:
        match = _placeholder_pattern(entry_column).match(column)
        if not match:
            continue
        if entry_column in ("<stage>", "exposure_<stage>"):
            stage = match.group(1)
            if stage not in stages:
                continue
            meaning = meaning.replace("this stage", f"the {stage} stage")
        return meaning, unit
    return None
