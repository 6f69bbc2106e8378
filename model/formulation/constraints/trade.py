"""Trade rules: no re-export and lane quotas (bans remove the trade)."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed


def define_trade_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """Two families (t/yr).

    no_reexport_constraint[o, p, t, y]  ↔ ρ ≤ 0 — a country ships abroad only
    what it made itself, so tariffs and bans follow the country of origin:

        Σ_d v_shipment[o, d, p, t] − Σ_{f in o, q} a_qp⁺ · v_activity[f, q, t⁻] ≤ 0

    quota_constraint[o, d, p, y]  ↔ κ ≤ 0, for trades with a max_flow:

        Σ_t v_shipment[o, d, p, t] ≤ max_flow_odp

    A ban (allowed = no) or a zero quota creates no shipment variable at all.
    """
    exported = set(sets.exports)
    terms = new_terms()
    quota_terms = new_terms()
    for key, var in keyed(model, sets, "v_shipment"):
        terms[(key.origin, key.product, key.tag, key.year)].append((1.0, var))
        trade = (key.origin, key.destination, key.product, key.year)
        if sets.trades[trade].max_flow is not None:
            quota_terms[trade].append((1.0, var))
    facilities = {year: data.at(year).facilities for year in sets.years}
    for key, var in keyed(model, sets, "v_activity"):
        process = data.processes[key.process]
        facility = facilities[key.year][key.facility]  # that year's row: its restricted flag
        out = sets.output_tag(key.tag, process.stage, facility.restricted)
        for product, coef in process.outputs.items():
            node = (facility.country, product, out, key.year)
            if node in exported:
                terms[node].append((-coef, var))
    add_rows(model, "no_reexport_constraint", sets.exports, terms, None, 0.0, "Exports ≤ own production (t/yr)")
    quotas = {key: trade.max_flow for key, trade in sets.trades.items() if key in quota_terms}
    add_rows(model, "quota_constraint", list(quotas), quota_terms, None, quotas, "Lane quota (t/yr)")
