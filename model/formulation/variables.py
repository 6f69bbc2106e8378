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
    v_expansion[f, y]            capacity added to f, 0 ≤ · ≤ expansion_max_f

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
}


def define_variables(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    nonneg = pyo.NonNegativeReals
    for name, family in KEYS.items():
        if name != "v_expansion":
            setattr(model, name, pyo.Var(range(len(getattr(sets, family))), domain=nonneg))
    model.v_expansion = pyo.Var(
        range(len(sets.expansion)),
        domain=nonneg,
        bounds=lambda _, i: (0, data.facilities[sets.expansion[i].facility].expansion_max),
    )


def keyed(model: pyo.ConcreteModel, sets: ModelSets, name: str) -> Iterator[tuple[tuple, pyo.Var]]:
    """(key, variable) pairs of one family, in index order."""
    return zip(getattr(sets, KEYS[name]), getattr(model, name).values(), strict=True)
