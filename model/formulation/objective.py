"""The objective: total annual cost of supplying the demand."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.keys import TradeKey
from model.formulation.sets import ModelSets
from model.formulation.terms import linear
from model.formulation.variables import keyed


def cost_coefficients(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> list[tuple[float, object]]:
    """(USD per unit, variable) for every variable with a cost.

    min  Σ unit_cost_fq · v_activity[f, q, t]
       + Σ (transport_cost_odp + tariff_odp · value_p) · v_shipment[o, d, p, t]
       + Σ expansion_cost_f · v_expansion[f]
       + Σ unmet_penalty_j · v_unmet_demand[j]
       − Σ surplus_price_p · v_surplus[k, p, t]          (USD/yr)
    """
    unit_cost = {(fp.facility, fp.process): fp.unit_cost for fp in data.facility_processes}
    terms: list[tuple[float, object]] = []
    for key, var in keyed(model, sets, "v_activity"):
        cost = unit_cost[key.facility, key.process]
        if cost:
            terms.append((cost, var))
    for key, var in keyed(model, sets, "v_shipment"):
        trade = sets.trades[TradeKey(key.origin, key.destination, key.product, key.year)]
        if trade.transport_cost + trade.tariff_cost:
            terms.append((trade.transport_cost + trade.tariff_cost, var))
    for key, var in keyed(model, sets, "v_expansion"):
        if data.facilities[key.facility].expansion_cost:
            terms.append((data.facilities[key.facility].expansion_cost, var))
    for key, var in keyed(model, sets, "v_unmet_demand"):
        terms.append((data.demands[key.demand].unmet_penalty, var))
    for key, var in keyed(model, sets, "v_surplus"):
        if data.products[key.product].surplus_price:
            terms.append((-data.products[key.product].surplus_price, var))
    return terms


def define_objective(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """total_cost (USD/yr), minimised; see :func:`cost_coefficients`."""
    model.total_cost = pyo.Objective(expr=linear(cost_coefficients(model, data, sets)), sense=pyo.minimize)
