"""Explain unmet demand in words, tied to input rows.

When a run leaves demand unmet, the same case is re-solved with one family of
limits relaxed at a time — exposure caps, capacities (existing plus allowed
expansion), bans and quotas — and the unmet quantity of each row is compared
with the original.  A family whose relaxation removes (part of) the
shortfall is named with the input rows involved; the capacity found for the
product outside restricted countries is given for scale.  The LP always has a
solution (unmet demand is priced), so no infeasibility analysis is needed.
A fourth re-solve with every unmet penalty a thousand times higher tells
whether the shortfall is an economic choice (the penalty is cheaper than the
remaining supply) rather than a hard limit.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from model.data import ModelData
from model.errors import row_list
from model.formulation.sets import build_sets
from model.formulation.variables import keyed

SMALL = 1e-6
EXPLANATION_COLUMNS = ["country", "product", "quantity", "unmet", "reason", "input_rows"]


def no_explanations() -> pd.DataFrame:
    """The explanations sheet when nothing needs explaining (same columns)."""
    return pd.DataFrame(columns=EXPLANATION_COLUMNS)


def unmet_by_row(data: ModelData) -> list[float]:
    """Unmet t per demand row (summed over the model years) of the cost-optimal solution of ``data``."""
    from model.formulation.build import build_model
    from model.solver.solve import solve_model

    sets = build_sets(data)
    model = build_model(data, sets)
    result = solve_model(model, {}, [], method=str(data.settings.get("solver_method") or "auto"))
    totals = [0.0] * len(data.demands)
    for key, var in keyed(model, sets, "v_unmet_demand"):
        totals[key.demand] += result.value(var)
    return totals


def _each_year(data: ModelData, change) -> ModelData:
    """``change`` (a function of ModelData fields -> replacements) applied to the case and to every year's rows."""
    changed = dataclasses.replace(data, **change(data))
    years = {year: dataclasses.replace(view, **change(view)) for year, view in data.year_data.items()}
    return dataclasses.replace(changed, year_data=years)


def without_caps(data: ModelData) -> ModelData:
    return _each_year(data, lambda part: {"exposure_caps": []})


def without_capacity_limits(data: ModelData) -> ModelData:
    """Every facility may run as much as all demand could need (finite, so the LP stays bounded)."""
    ample = 1e3 * max(1.0, sum(d.quantity for view in map(data.at, data.years) for d in view.demands.values()))

    def change(part) -> dict:
        facilities = {
            name: dataclasses.replace(f, capacity=max(f.capacity + f.expansion_max, ample), expansion_max=0.0)
            for name, f in part.facilities.items()
        }
        return {"facilities": facilities}

    return _each_year(data, change)


def without_trade_limits(data: ModelData) -> ModelData:
    def change(part) -> dict:
        return {"lane_rules": [dataclasses.replace(rule, allowed=None, max_flow=None) for rule in part.lane_rules]}

    return _each_year(data, change)


def with_high_penalties(data: ModelData) -> ModelData:
    """Unmet demand a thousand times dearer: shows shortfalls that are merely cheaper than supply."""

    def change(part) -> dict:
        demands = part.demands
        if isinstance(demands, dict):
            return {
                "demands": {j: dataclasses.replace(d, unmet_penalty=d.unmet_penalty * 1e3) for j, d in demands.items()}
            }  # noqa: E501
        return {"demands": [dataclasses.replace(d, unmet_penalty=d.unmet_penalty * 1e3) for d in demands]}

    return _each_year(data, change)


def explain_unmet(data: ModelData, unmet: list[float], capacity_value: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per demand row with unmet demand: country, product, quantity, unmet, reason.

    ``unmet``: t per demand row, summed over the model years.

    ``capacity_value``: USD/yr saved per extra unit of each facility's
    capacity in the original solution (−dual); the full facilities with the
    highest values are named as the bottlenecks.
    """
    short = [j for j, value in enumerate(unmet) if value > SMALL]
    if not short:
        return no_explanations()
    relaxed = {
        "caps": unmet_by_row(without_caps(data)) if data.exposure_caps else unmet,
        "capacity": unmet_by_row(without_capacity_limits(data)),
        "trade": unmet_by_row(without_trade_limits(data)) if data.lane_rules else unmet,
        "penalty": unmet_by_row(with_high_penalties(data)),
    }
    bottlenecks = sorted(
        ((value, name) for name, value in (capacity_value or {}).items() if value > SMALL),
        key=lambda item: (-item[0], item[1]),
    )
    needed = [0.0] * len(data.demands)
    for view in map(data.at, data.years):
        for j, row in view.demands.items():
            needed[j] += row.quantity
    over = f" over {data.years[0]}–{data.years[-1]}" if len(data.years) > 1 else ""
    records = []
    for j in short:
        demand = data.demands[j]
        reasons, rows = [], []
        if relaxed["penalty"][j] < unmet[j] - SMALL:
            reasons.append(
                f"the unmet penalty ({demand.unmet_penalty:,.0f} USD/t) is below the cost of supplying it: with a "
                f"higher penalty {unmet[j] - relaxed['penalty'][j]:,.1f} t more would be delivered"
            )
            rows.append(f"demand row {demand.row}")
        caps = [c for c in data.exposure_caps if (c.country, c.product) == (demand.country, demand.product)]
        if caps and relaxed["caps"][j] < unmet[j] - SMALL:
            sources = "; ".join(f"{c.stage} ≤ {c.max_share:.0%} ({c.source})" for c in caps if c.max_share < 1)
            reasons.append(
                f"the exposure caps ({sources}) leave restricted supply out; without them "
                f"{unmet[j] - relaxed['caps'][j]:,.1f} t more would be delivered"
            )
            rows += [c.source for c in caps if c.source.startswith("exposure_caps")]
        if relaxed["capacity"][j] < unmet[j] - SMALL:
            named = ", ".join(
                f"{name} (facilities row {data.facilities[name].row}, {value:,.0f} USD/yr per extra unit)"
                for value, name in bottlenecks[:4]
            )
            reasons.append(
                f"capacity is short: with unlimited capacity {unmet[j] - relaxed['capacity'][j]:,.1f} t more "
                "would be delivered" + (f"; the full facilities worth expanding first: {named}" if named else "")
            )
            rows += [f"facilities row {data.facilities[name].row}" for _, name in bottlenecks[:4]]
        if relaxed["trade"][j] < unmet[j] - SMALL:
            banned = [r.row for r in data.lane_rules if r.allowed is False or r.max_flow is not None]
            reasons.append(
                f"bans and quotas block supply: without them {unmet[j] - relaxed['trade'][j]:,.1f} t more "
                f"would be delivered (lanes rows {row_list(banned)})"
            )
            rows += [f"lanes row {r}" for r in banned]
        if not reasons:
            reasons.append("no single family of limits explains it: several limits bind together")
        text = (
            f"{demand.country} needs {needed[j]:,.1f} t of {demand.product}{over} (demand row {demand.row}); "
            f"{unmet[j]:,.1f} t unmet: " + "; ".join(reasons) + "."
        )
        records.append((demand.country, demand.product, needed[j], unmet[j], text, "; ".join(rows)))
    return pd.DataFrame(records, columns=EXPLANATION_COLUMNS)
