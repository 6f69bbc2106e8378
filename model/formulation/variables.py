"""Decision variables, each on its sparse index set of named keys.

Variables are indexed by position (0..n-1) in the key lists of
:class:`model.formulation.sets.ModelSets`, not by the keys themselves: Pyomo
then needs no set of tuples, and ``values()`` walks them without a lookup per
variable (measured 10-15 % of the build).  :func:`keyed` pairs each variable
with its key (:mod:`model.formulation.keys`) for the constraint builders, the
objective and the extraction.

    v_activity[f, q, t, y]       activity of process q at facility f drawing inputs with tag t
    v_shipment[o, d, p, t, y]    t/yr of p with tag t shipped from o to d
    v_relabel[k, p, s, u, y]     t/yr of p in k counted as tag u ⊃ s instead of s
    v_delivery[j, t, y]          t/yr delivered to demand row j with tag t
    v_unmet_demand[j, y]         t/yr of demand row j not delivered
    v_surplus[k, p, t, y]        t/yr of p made in k that nobody uses
    v_expansion[f, y]            capacity added to f in year y, 0 ≤ · ≤ expansion_max_fy
    v_build[p, y]                share of project p coming online in year y, 0 ≤ · ≤ 1 (binary if all_or_nothing)
    v_stock[k, p, t, y]          t of p with tag t held in k at the end of year y (≤ max via a row)
    v_cover_shortfall[k, p, y]   t by which the stock of p in k falls short of its cover in year y
    v_min_flow_shortfall[o, d, p, y]  t/yr by which the trade o → d of p falls short of its min_flow in year y

All are continuous and non-negative (tonnes or activity units per year).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.sets import ModelSets

KEYS = {
    "v_activity": "activity",
    "v_shipment": "shipment",
    "v_relabel": "relabel",
    "v_delivery": "delivery",
    "v_unmet_demand": "unmet",
    "v_surplus": "surplus",
    "v_expansion": "expansion",
    "v_build": "build",
    "v_stock": "stock",
    "v_cover_shortfall": "cover",
    "v_min_flow_shortfall": "offtake",
}
BOUNDED = ("v_expansion", "v_build")


def define_variables(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    nonneg = pyo.NonNegativeReals
    for name, family in KEYS.items():
        if name not in BOUNDED:
            setattr(model, name, pyo.Var(range(len(getattr(sets, family))), domain=nonneg))
    facilities = {year: data.at(year).facilities for year in sets.years}
    upper = [facilities[key.year][key.facility].expansion_max for key in sets.expansion]
    model.v_expansion = pyo.Var(range(len(sets.expansion)), domain=nonneg, bounds=lambda _, i: (0, upper[i]))
    whole = {project.name for project in data.projects if project.all_or_nothing}
    model.v_build = pyo.Var(
        range(len(sets.build)),
        domain=lambda _, i: pyo.Binary if sets.build[i].project in whole else pyo.UnitInterval,
    )


def keyed(model: pyo.ConcreteModel, sets: ModelSets, name: str) -> Iterator[tuple[tuple, pyo.Var]]:
    """(key, variable) pairs of one family, in index order."""
    return zip(getattr(sets, KEYS[name]), getattr(model, name).values(), strict=True)
