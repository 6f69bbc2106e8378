"""Demand rows: delivered plus unmet equals the quantity."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed


def define_demand_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """demand_constraint[j]  (t/yr)  ↔ π_j, the cost of one more tonne (caps fixed):

    Σ_t v_delivery[j, t] + v_unmet_demand[j] = quantity_j
    """
    terms = new_terms()
    for (index, _), var in keyed(model, sets, "v_delivery"):
        terms[index].append((1.0, var))
    for index, var in keyed(model, sets, "v_unmet_demand"):
        terms[index].append((1.0, var))
    quantity = {index: demand.quantity for index, demand in enumerate(data.demands)}
    add_rows(model, "demand_constraint", list(quantity), terms, quantity, quantity, "Demand (t/yr)")
