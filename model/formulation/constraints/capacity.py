"""Shared capacity of each facility, with optional expansion."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.keys import FacilityKey
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed


def define_capacity_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """capacity_constraint[f, y]  (activity units/yr)  ↔ μ_f ≤ 0, −μ_f = capacity value:

        Σ_{q, t} v_activity[f, q, t, y] − v_expansion[f, y] ≤ capacity_f

    with 0 ≤ v_expansion[f] ≤ expansion_max_f (the variable exists only
    where expansion_max_f > 0).
    """
    terms = new_terms()
    for key, var in keyed(model, sets, "v_activity"):
        terms[FacilityKey(key.facility, key.year)].append((1.0, var))
    for key, var in keyed(model, sets, "v_expansion"):
        terms[key].append((-1.0, var))
    keys = [FacilityKey(name, year) for year in sets.years for name in data.facilities]
    keys = [key for key in keys if key in terms]
    capacity = {key: data.facilities[key.facility].capacity for key in keys}
    add_rows(model, "capacity_constraint", keys, terms, None, capacity, "Facility capacity (activity units/yr)")
