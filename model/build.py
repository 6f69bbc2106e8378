"""The model's table of contents: sets → variables → constraints → objective.

Every variable is continuous and non-negative (tonnes or activity units per
year).  Names are those of ``docs/model.md`` and of the results workbook.
"""

from __future__ import annotations

import pyomo.environ as pyo

from .constraints.balance import define_balance_constraints
from .constraints.capacity import define_capacity_constraints
from .constraints.demand import define_demand_constraints
from .constraints.exposure import define_exposure_constraints
from .constraints.trade import define_trade_constraints
from .data import ModelData
from .objective import define_objective
from .sets import ModelSets


def define_variables(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """Decision variables, each on its sparse index set.

    v_activity[f, q, t]        activity of process q at facility f drawing inputs with tag t
    v_shipment[o, d, p, t]     t/yr of p with tag t shipped from o to d
    v_relabel[k, p, s, u]      t/yr of p in k counted as tag u ⊃ s instead of s
    v_delivery[j, t]           t/yr delivered to demand row j with tag t
    v_unmet_demand[j]          t/yr of demand row j not delivered
    v_surplus[k, p, t]         t/yr of p made in k that nobody uses
    v_expansion[f]             capacity added to f, 0 ≤ · ≤ expansion_max_f
    """
    nonneg = pyo.NonNegativeReals
    model.v_activity = pyo.Var(sets.activity, domain=nonneg)
    model.v_shipment = pyo.Var(sets.shipment, domain=nonneg)
    model.v_relabel = pyo.Var(sets.relabel, domain=nonneg)
    model.v_delivery = pyo.Var(sets.delivery, domain=nonneg)
    model.v_unmet_demand = pyo.Var(range(len(data.demands)), domain=nonneg)
    model.v_surplus = pyo.Var(sets.surplus, domain=nonneg)
    model.v_expansion = pyo.Var(
        sets.expansion, domain=nonneg, bounds=lambda _, f: (0, data.facilities[f].expansion_max)
    )


def build_model(data: ModelData, sets: ModelSets) -> pyo.ConcreteModel:
    """Declare the whole LP in build order."""
    model = pyo.ConcreteModel(name=data.case_name)
    define_variables(model, data, sets)
    define_balance_constraints(model, data, sets)
    define_capacity_constraints(model, data, sets)
    define_demand_constraints(model, data, sets)
    define_trade_constraints(model, data, sets)
    define_exposure_constraints(model, data, sets)
    define_objective(model, data, sets)
    return model
