"""Contracted offtakes: the least a trade must carry (lanes ``min_flow``, SPEC Part 4)."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed


def define_offtake_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """One family (t/yr).

    min_flow_constraint[o, d, p, y]  ↔ φ_odpy ≥ 0, for each trade with a min_flow:

        Σ_t v_shipment[o, d, p, t, y] + v_min_flow_shortfall[o, d, p, y] ≥ min_flow_odpy

    The shortfall costs ``unmet_demand_penalty`` per tonne (discounted like
    every cost), so the LP stays feasible.  A trade that cannot flow (banned,
    a zero quota) has no shipment variable: its row holds the shortfall
    alone, which then equals the min_flow.  φ is what one more tonne of
    contract costs (present value): the extra cost of the route the contract
    forces, or the penalty where it is short.
    """
    if not sets.offtake:
        return
    terms = new_terms()
    for key, var in keyed(model, sets, "v_shipment"):
        trade = (key.origin, key.destination, key.product, key.year)
        if trade in sets.min_flows:
            terms[trade].append((1.0, var))
    for key, var in keyed(model, sets, "v_min_flow_shortfall"):
        terms[key].append((1.0, var))
    add_rows(model, "min_flow_constraint", sets.offtake, terms, sets.min_flows, None, "Contracted offtake (t/yr)")
