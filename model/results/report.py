"""The results workbook's tables, computed from the verified solution.

Sheet and column names are SPEC.md's contract; :data:`LEGEND` gives every
column's meaning and unit and becomes the ``legend`` sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from model.data import ModelData
from model.formulation.keys import CapKey, DemandKey, FacilityKey, TradeKey
from model.formulation.sets import ModelSets
from model.results.extract import Solution
from model.results.sourcing import trace_sources
from model.results.verify import cost_components, delivered_and_exposed
from model.workbook.schema import ANY_STAGE

BINDING_TOLERANCE = 1e-6
SHARE_POINT = 0.01  # one percentage point of share


@dataclass
class Report:
    sheets: dict[str, pd.DataFrame]  # in workbook order
    components: dict[str, float]

    def add_sheet(self, name: str, frame: pd.DataFrame, before: str) -> None:
        """Insert a sheet before another one, keeping the workbook order."""
        ordered = {}
        for key, value in self.sheets.items():
            if key == before:
                ordered[name] = frame
            ordered[key] = value
        ordered.setdefault(name, frame)
        self.sheets = ordered


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def year_columns(sets: ModelSets) -> list[str]:
    """``["year"]`` where the case has several years (the column after the key columns), else nothing."""
    return ["year"] if len(sets.years) > 1 else []


def deliveries_table(data: ModelData, sets: ModelSets, solution: Solution) -> tuple[pd.DataFrame, dict]:
    """One row per demand row (and year): delivered, unmet, exposure shares, marginal cost.

    marginal_cost_j = π_j + Σ_s max_share_js · η_js (USD/t): one more tonne
    of demand with its caps scaling with it (π the demand row's dual, η ≤ 0
    the caps' duals).
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
        marginal = {j: demand_dual.get(DemandKey(j, year), 0.0) for j in range(len(data.demands))}
        for cap in data.exposure_caps:
            index = rows[cap.country, cap.product]
            marginal[index] += cap.max_share * cap_dual.get(CapKey(index, cap.stage, year), 0.0)
        for index, demand in enumerate(data.demands):
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
            record["marginal_cost"] = marginal[index]
            records.append(record)
    columns = [
        "country",
        "product",
        *year_columns(sets),
        "quantity",
        "delivered",
        "unmet",
        *(f"exposure_{s}" for s in stage_columns),
        "marginal_cost",
    ]
    return pd.DataFrame(records, columns=columns), exposure


def exposure_caps_table(data: ModelData, sets: ModelSets, solution: Solution, exposure: dict) -> pd.DataFrame:
    """Each cap that applied (and year): achieved share, binding, value of one more point.

    shadow_price_per_pp = −η_js × 0.01 × quantity_j (USD/yr), 0 when not binding.
    """
    rows = {(d.country, d.product): i for i, d in enumerate(data.demands)}
    cap_dual = solution.duals["exposure_cap_constraint"]
    records = []
    for year in sets.years:
        for cap in data.exposure_caps:
            index = rows[cap.country, cap.product]
            quantity = data.demands[index].quantity
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
                    "shadow_price_per_pp": max(0.0, -dual) * SHARE_POINT * quantity if binding else 0.0,
                    "source": cap.source,
                }
            )
    columns = [
        "country",
        "product",
        "stage",
        *year_columns(sets),
        "max_share",
        "achieved_share",
        "binding",
        "shadow_price_per_pp",
        "source",
    ]
    return pd.DataFrame(records, columns=columns)


def facilities_table(data: ModelData, sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """One row per facility (and year); capacity_value = −μ_f, the capacity row's dual (USD/yr per unit)."""
    activity = solution.activity.groupby(["facility", "year"])["value"].sum()
    expansion = {
        (facility, year): value
        for facility, year, value in solution.expansion[["facility", "year", "value"]].itertuples(index=False)
    }
    capacity_dual = solution.duals["capacity_constraint"]
    records = []
    for year in sets.years:
        for name, fac in data.facilities.items():
            added = expansion.get((name, year), 0.0)
            level = float(activity.get((name, year), 0.0))
            available = fac.capacity + added
            records.append(
                {
                    "facility": name,
                    "year": year,
                    "country": fac.country,
                    "restricted": _yes(fac.restricted),
                    "capacity": fac.capacity,
                    "activity": level,
                    "utilisation": level / available if available > 0 else 0.0,
                    "expansion": added,
                    "capacity_value": max(0.0, -capacity_dual.get(FacilityKey(name, year), 0.0)),
                }
            )
    columns = [
        "facility",
        *year_columns(sets),
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
    restricted = [data.facilities[f].restricted for f in frame["facility"]]
    frame["exposed"] = [bool(sets.tags[t]) or r for t, r in zip(frame["tag"], restricted, strict=True)]
    frame["exposed_activity"] = frame["value"].where(frame["exposed"], 0.0)
    table = frame.groupby(["facility", "process", "stage", "year"], sort=False, as_index=False)[
        ["value", "exposed_activity"]
    ].sum()
    table = table.rename(columns={"value": "activity"})
    return table[table["activity"] > 1e-9].reset_index(drop=True)[
        ["facility", "process", "stage", *year_columns(sets), "activity", "exposed_activity"]
    ]


def trade_table(sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """Shipments per trade (and year) summed over tags, with their transport and tariff cost (USD/yr)."""
    frame = solution.shipment.copy()
    frame["exposed_quantity"] = frame["value"].where([bool(sets.tags[t]) for t in frame["tag"]], 0.0)
    keys = ["origin", "destination", "product", "year"]
    table = frame.groupby(keys, sort=False, as_index=False)[["value", "exposed_quantity"]].sum()
    table = table[table["value"] > 1e-9]
    trades = [sets.trades[TradeKey(*key)] for key in table[keys].itertuples(index=False, name=None)]
    table["transport_cost"] = [t.transport_cost for t in trades] * table["value"]
    table["tariff_cost"] = [t.tariff_cost for t in trades] * table["value"]
    table = table.rename(columns={"origin": "from", "destination": "to", "value": "quantity"})
    return table.reset_index(drop=True)[
        ["from", "to", "product", *year_columns(sets), "quantity", "exposed_quantity", "transport_cost", "tariff_cost"]
    ]


def surplus_table(sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """Output nobody uses per country, product (and year), summed over tags."""
    table = solution.surplus.groupby(["country", "product", "year"], sort=False, as_index=False)["value"].sum()
    table = table.rename(columns={"value": "quantity"})
    return table[table["quantity"] > 1e-9].reset_index(drop=True)[
        ["country", "product", *year_columns(sets), "quantity"]
    ]


def build_report(
    data: ModelData,
    sets: ModelSets,
    solution: Solution,
    summary_items: list[tuple[str, object, str]],
    trailing_items: list[tuple[str, object, str]] = (),
) -> Report:
    """All sheets; summary rows: ``summary_items``, costs, totals, ``trailing_items``."""
    deliveries, exposure = deliveries_table(data, sets, solution)
    components = cost_components(data, sets, solution)
    summary = list(summary_items)
    for name, value in components.items():
        summary.append((name, value, "USD/yr"))
    summary += [
        ("demand_total", float(deliveries["quantity"].sum()), "t/yr"),
        ("delivered_total", float(deliveries["delivered"].sum()), "t/yr"),
        ("unmet_total", float(deliveries["unmet"].sum()), "t/yr"),
        *trailing_items,
    ]
    sheets = {
        "summary": pd.DataFrame(summary, columns=["item", "value", "unit"]),
        "deliveries": deliveries,
        "exposure_caps": exposure_caps_table(data, sets, solution, exposure),
        "facilities": facilities_table(data, sets, solution),
        "activity": activity_table(data, sets, solution),
        "trade": trade_table(sets, solution),
        "sourcing": trace_sources(data, solution),
        "surplus": surplus_table(sets, solution),
    }
    sheets["legend"] = legend_table(data.stages)
    return Report(sheets, components)


LEGEND: list[tuple[str, str, str, str]] = [
    ("summary", "item", "Name of the figure", ""),
    ("summary", "value", "The figure", "see unit"),
    ("summary", "unit", "Unit of the figure", ""),
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
    ("sourcing", "country", "Consuming country", ""),
    ("sourcing", "product", "Product delivered", ""),
    ("sourcing", "stage", "Stage of the chain", ""),
    ("sourcing", "source_country", "Country where that stage took place", ""),
    (
        "sourcing",
        "share",
        "Share of the delivered quantity whose stage took place there (proportional tracing)",
        "share 0..1",
    ),
    ("surplus", "country", "Country", ""),
    ("surplus", "product", "Product", ""),
    ("surplus", "quantity", "Output nobody in the model uses", "t/yr"),
    ("explanations", "country", "Consuming country with unmet demand", ""),
    ("explanations", "product", "Product", ""),
    ("explanations", "quantity", "Demand", "t/yr"),
    ("explanations", "unmet", "Not delivered", "t/yr"),
    ("explanations", "reason", "Why, found by re-solving with caps, capacities, bans and quotas relaxed in turn", ""),
    ("explanations", "input_rows", "Input rows involved", ""),
    ("legend", "sheet", "Sheet of this workbook", ""),
    ("legend", "column", "Column of that sheet", ""),
    ("legend", "meaning", "What it holds", ""),
    ("legend", "unit", "Unit", ""),
]


def legend_table(stages: list[str]) -> pd.DataFrame:
    rows = []
    for sheet, column, meaning, unit in LEGEND:
        if column == "exposure_<stage>":
            rows += [(sheet, f"exposure_{s}", meaning.replace("this stage", f"the {s} stage"), unit) for s in stages]
        else:
            rows.append((sheet, column, meaning, unit))
    return pd.DataFrame(rows, columns=["sheet", "column", "meaning", "unit"])
