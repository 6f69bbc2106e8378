"""Shared capacity of each facility, with optional expansion."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed


def define_capacity_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """capacity_constraint[f]  (activity units/yr)  ↔ μ_f ≤ 0, −μ_f = capacity value:

        Σ_{q, t} v_activity[f, q, t] − v_expansion[f] ≤ capacity_f

    with 0 ≤ v_expansion[f] ≤ expansion_max_f (the variable exists only
    where expansion_max_f > 0).
    """
    terms = new_terms()
    for (facility, _, _), var in keyed(model, sets, "v_activity"):
        terms[facility].append((1.0, var))
    for facility, var in keyed(model, sets, "v_expansion"):
        terms[facility].append((-1.0, var))
    keys = [name for name in data.facilities if name in terms]
    capacity = {name: data.facilities[name].capacity for name in keys}
    add_rows(model, "capacity_constraint", keys, terms, None, capacity, "Facility capacity (activity units/yr)")
