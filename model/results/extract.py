"""Read the solution back as tidy tables keyed like the input.

Values are gathered per variable family in one pass (positions looked up
once, then one NumPy take), not through Pyomo's per-variable value API.  The
columns of each table are the field names of the family's key
(:mod:`model.formulation.keys`) plus ``value`` (clipped at 0) and
``raw_value`` (as the solver returned it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from model.formulation.keys import (
    ActivityKey,
    BuildKey,
    DeliveryKey,
    DemandKey,
    FacilityKey,
    NodeKey,
    RelabelKey,
    ShipmentKey,
    StockKey,
    StockpileKey,
    TradeKey,
)
from model.formulation.sets import ModelSets
from model.formulation.terms import keyed_rows
from model.solver.solve import SolveResult


@dataclass
class Solution:
    """Optimal flows (t/yr, activity units/yr) and duals, as DataFrames and dicts."""

    activity: pd.DataFrame  # facility, process, tag, year, value
    shipment: pd.DataFrame  # origin, destination, product, tag, year, value
    relabel: pd.DataFrame  # country, product, from_tag, to_tag, year, value
    delivery: pd.DataFrame  # demand, tag, year, value
    unmet: pd.DataFrame  # demand, year, value
    surplus: pd.DataFrame  # country, product, tag, year, value
    expansion: pd.DataFrame  # facility, year, value
    build: pd.DataFrame  # project, year, value
    stock: pd.DataFrame  # country, product, tag, year, value
    cover_shortfall: pd.DataFrame  # country, product, year, value
    duals: dict[str, dict[tuple, float]]  # row family -> dual by named key (rows that exist)
    min_flow_shortfall: pd.DataFrame = field(  # origin, destination, product, year, value (SPEC Part 4)
        default_factory=lambda: pd.DataFrame(columns=[*TradeKey._fields, "value", "raw_value"])
    )

    def in_year(self, year: int) -> Solution:
        """The flows of one year (duals unchanged)."""

        def only(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["year"] == year]

        return Solution(
            **{name: only(getattr(self, name)) for name in FLOW_FAMILIES},
            duals=self.duals,
        )


def _values(component: pyo.Var, keys: list, fields: tuple[str, ...], result: SolveResult) -> pd.DataFrame:
    """Values of a variable family indexed by position in ``keys``."""
    position = result.column_position
    positions = np.fromiter((position.get(id(var), -1) for var in component.values()), dtype=np.int64, count=len(keys))
    values = np.where(positions >= 0, result.column_values[np.maximum(positions, 0)], 0.0) if keys else np.zeros(0)
    frame = pd.DataFrame.from_records(keys, columns=list(fields)) if keys else pd.DataFrame(columns=list(fields))
    frame["value"] = np.maximum(values, 0.0)  # clip solver round-off below zero
    frame["raw_value"] = values
    return frame


def _duals(model: pyo.ConcreteModel, name: str, result: SolveResult) -> dict[tuple, float]:
    position = result.row_position
    duals = result.row_duals
    out = {}
    for key, row in keyed_rows(model, name):
        index = position.get(id(row), -1)
        out[key] = float(duals[index]) if index >= 0 else 0.0
    return out


FLOW_FAMILIES = (
    "activity",
    "shipment",
    "relabel",
    "delivery",
    "unmet",
    "surplus",
    "expansion",
    "build",
    "stock",
    "cover_shortfall",
    "min_flow_shortfall",
)
DUAL_FAMILIES = (
    "balance_constraint",
    "capacity_constraint",
    "demand_constraint",
    "no_reexport_constraint",
    "quota_constraint",
    "exposure_cap_constraint",
    "expansion_limit_constraint",
    "build_once_constraint",
    "budget_constraint",
    "cover_constraint",
    "stock_max_constraint",
    "min_flow_constraint",
)


def extract_solution(model: pyo.ConcreteModel, sets: ModelSets, result: SolveResult) -> Solution:
    return Solution(
        activity=_values(model.v_activity, sets.activity, ActivityKey._fields, result),
        shipment=_values(model.v_shipment, sets.shipment, ShipmentKey._fields, result),
        relabel=_values(model.v_relabel, sets.relabel, RelabelKey._fields, result),
        delivery=_values(model.v_delivery, sets.delivery, DeliveryKey._fields, result),
        unmet=_values(model.v_unmet_demand, sets.unmet, DemandKey._fields, result),
        surplus=_values(model.v_surplus, sets.surplus, NodeKey._fields, result),
        expansion=_values(model.v_expansion, sets.expansion, FacilityKey._fields, result),
        build=_values(model.v_build, sets.build, BuildKey._fields, result),
        stock=_values(model.v_stock, sets.stock, StockKey._fields, result),
        cover_shortfall=_values(model.v_cover_shortfall, sets.cover, StockpileKey._fields, result),
        min_flow_shortfall=_values(model.v_min_flow_shortfall, sets.offtake, TradeKey._fields, result),
        duals={name: _duals(model, name, result) for name in DUAL_FAMILIES},
    )
