"""Demand rows: delivered plus unmet equals the quantity."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed


def define_demand_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """demand_constraint[j, y]  (t/yr)  ↔ π_j, the cost of one more tonne (caps fixed):

    Σ_t v_delivery[j, t, y] + v_unmet_demand[j, y] = quantity_j
    """
    terms = new_terms()
    for key, var in keyed(model, sets, "v_delivery"):
        terms[(key.demand, key.year)].append((1.0, var))
    for key, var in keyed(model, sets, "v_unmet_demand"):
        terms[key].append((1.0, var))
    views = {year: data.at(year) for year in sets.years}
    quantity = {key: views[key.year].demands[key.demand].quantity for key in sets.unmet}
    add_rows(model, "demand_constraint", sets.unmet, terms, quantity, quantity, "Demand (t/yr)")
