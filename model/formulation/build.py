"""The model's table of contents: sets → variables → constraints → objective.

Every variable is non-negative (tonnes or activity units per year); the
builds of all-or-nothing projects are binary, which makes the problem a MIP.
Names are those of ``docs/model.md`` and of the results workbook.
"""

from __future__ import annotations

import gc

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from model.data import ModelData
from model.formulation.constraints.balance import define_balance_constraints
from model.formulation.constraints.capacity import define_capacity_constraints
from model.formulation.constraints.demand import define_demand_constraints
from model.formulation.constraints.exposure import define_exposure_constraints
from model.formulation.constraints.offtakes import define_offtake_constraints
from model.formulation.constraints.projects import define_project_constraints
from model.formulation.constraints.stocks import define_stock_constraints
from model.formulation.constraints.trade import define_trade_constraints
from model.formulation.objective import define_objective
from model.formulation.sets import ModelSets
from model.formulation.variables import define_variables


def build_model(data: ModelData, sets: ModelSets) -> pyo.ConcreteModel:
    """Declare the whole LP in build order, with Python's cyclic garbage collector paused.

    The build creates hundreds of thousands of objects (variables, terms,
    expressions, rows) and frees almost none, yet each allocation burst
    triggers a collection that scans every live object, the growing model
    included: on the 11-year synthetic xs case (59,505 columns) the
    collector took 0.75 of the build's 1.0 processor seconds.  Pyomo's own
    writers, the standard-form compiler of :mod:`model.solver.handoff`
    among them, pause it the same way (``PauseGC``, which restores the
    collector's previous state on exit and nests).  The model then joins
    the oldest generation directly: otherwise the young generations'
    collections scan its objects once each and a full collection follows,
    0.43 s over the rest of that run (collections 0.51 s in all against
    0.08 s now).  It is still collected like any old object: a full
    collection scans it whenever the collector's own rule calls one.
    """
    with PauseGC():
        model = pyo.ConcreteModel(name=data.case_name)
        define_formulation(model, data, sets)
        define_objective(model, data, sets)
        # The finished model lives as long as the run: it goes to the oldest generation at once
        # (freeze, then unfreeze: "put them back into the oldest generation"), instead of being
        # scanned by the young generations' collections on its way there.
        gc.freeze()
        gc.unfreeze()
    return model


def define_formulation(model: pyo.ConcreteModel | pyo.Block, data: ModelData, sets: ModelSets) -> None:
    """Variables and constraints, without the objective, on a model or on one block of a larger one.

    The two-stage program (:mod:`model.studies.stochastic`) builds one block
    per scenario this way and weights the blocks' costs
    (:func:`model.formulation.objective.cost_coefficients`) in its own objective.
    """
    define_variables(model, data, sets)
    define_balance_constraints(model, data, sets)
    define_capacity_constraints(model, data, sets)
    define_demand_constraints(model, data, sets)
    define_trade_constraints(model, data, sets)
    define_exposure_constraints(model, data, sets)
    define_project_constraints(model, data, sets)
    define_stock_constraints(model, data, sets)
    define_offtake_constraints(model, data, sets)
