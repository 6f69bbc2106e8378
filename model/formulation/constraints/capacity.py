"""Shared capacity of each facility in each year, with expansions and projects online."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.keys import FacilityKey
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed


def define_capacity_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """capacity_constraint[f, y]  (activity units/yr)  ↔ μ_fy ≤ 0, −μ_fy = capacity value:

        Σ_{q, t} v_activity[f, q, t, y] − Σ_{y' ≤ y} v_expansion[f, y']
            − Σ_{projects p at f} Σ_{y' ≤ y ≤ y' + life_p − 1} capacity_p · v_build[p, y']  ≤  capacity_fy

    for each year y in which f exists (a row of facilities applies), with
    0 ≤ v_expansion[f, y] ≤ expansion_max_fy (the variable exists only where
    expansion_max_fy > 0).  With several years, expansion_limit_constraint[f, y]
    ↔ ν_fy ≤ 0 keeps the capacity added up to y within that year's limit:

        Σ_{y' ≤ y} v_expansion[f, y'] ≤ expansion_max_fy

    (with one year, the variable's bound is that row).
    """
    terms = new_terms()
    for key, var in keyed(model, sets, "v_activity"):
        terms[(key.facility, key.year)].append((1.0, var))
    added = new_terms()  # facility -> (year of the addition, variable)
    for key, var in keyed(model, sets, "v_expansion"):
        added[key.facility].append((key.year, var))
    projects = {project.name: project for project in data.projects}
    built = new_terms()  # facility -> (first year online, last year online, capacity, variable)
    for key, var in keyed(model, sets, "v_build"):
        project = projects[key.project]
        built[project.facility].append((key.year, key.year + project.life - 1, project.capacity, var))

    views = {year: data.at(year) for year in sets.years}
    keys = []
    capacity = {}
    limit_terms = new_terms()
    limits = {}
    for year, view in views.items():
        for name, facility in view.facilities.items():
            key = FacilityKey(name, year)
            earlier = [var for start, var in added.get(name, ()) if start <= year]
            for var in earlier:
                terms[key].append((-1.0, var))
            for start, end, size, var in built.get(name, ()):
                if start <= year <= end:
                    terms[key].append((-size, var))
            if key in terms:
                keys.append(key)
                capacity[key] = facility.capacity
            if len(sets.years) > 1 and earlier:
                limit_terms[key] = [(1.0, var) for var in earlier]
                limits[key] = facility.expansion_max
    add_rows(model, "capacity_constraint", keys, terms, None, capacity, "Facility capacity (activity units/yr)")
    add_rows(
        model,
        "expansion_limit_constraint",
        list(limits),
        limit_terms,
        None,
        limits,
        "Capacity added up to the year ≤ that year's expansion_max (activity units/yr)",
    )
