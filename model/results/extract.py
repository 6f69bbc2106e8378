"""Read the solution back as tidy tables keyed like the input.

Values are gathered per variable family in one pass (positions looked up
once, then one NumPy take), not through Pyomo's per-variable value API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from model.formulation.sets import ModelSets
from model.solver.solve import SolveResult


@dataclass
class Solution:
    """Optimal flows (t/yr, activity units/yr) and duals, as DataFrames."""

    activity: pd.DataFrame  # facility, process, tag, value
    shipment: pd.DataFrame  # origin, destination, product, tag, value
    relabel: pd.DataFrame  # country, product, from_tag, to_tag, value
    delivery: pd.DataFrame  # demand, tag, value
    unmet: pd.DataFrame  # demand, value
    surplus: pd.DataFrame  # country, product, tag, value
    expansion: pd.DataFrame  # facility, value
    duals: dict[str, pd.Series]  # constraint family -> dual by key


def _values(component: pyo.Var, keys: list, result: SolveResult, columns: list[str]) -> pd.DataFrame:
    """Values of a variable family indexed by position in ``keys``."""
    position = result.column_position
    positions = np.fromiter((position.get(id(var), -1) for var in component.values()), dtype=np.int64, count=len(keys))
    values = np.where(positions >= 0, result.column_values[np.maximum(positions, 0)], 0.0) if keys else np.zeros(0)
    if len(columns) == 1:
        frame = pd.DataFrame({columns[0]: keys})
    else:
        frame = pd.DataFrame(keys, columns=columns) if keys else pd.DataFrame(columns=columns)
    frame["value"] = np.maximum(values, 0.0)  # clip solver round-off below zero
    frame["raw_value"] = values
    return frame


def _duals(component: pyo.Constraint | None, result: SolveResult) -> pd.Series:
    if component is None:
        return pd.Series(dtype=float)
    keys = list(component.keys())
    positions = np.fromiter(
        (result.row_position.get(id(component[key]), -1) for key in keys), dtype=np.int64, count=len(keys)
    )
    duals = np.where(positions >= 0, result.row_duals[np.maximum(positions, 0)], 0.0) if keys else np.zeros(0)
    return pd.Series(duals, index=pd.Index(keys, tupleize_cols=True), dtype=float)


DUAL_FAMILIES = (
    "balance_constraint",
    "capacity_constraint",
    "demand_constraint",
    "no_reexport_constraint",
    "quota_constraint",
    "exposure_cap_constraint",
)


def extract_solution(model: pyo.ConcreteModel, sets: ModelSets, result: SolveResult) -> Solution:
    return Solution(
        activity=_values(model.v_activity, sets.activity, result, ["facility", "process", "tag"]),
        shipment=_values(model.v_shipment, sets.shipment, result, ["origin", "destination", "product", "tag"]),
        relabel=_values(model.v_relabel, sets.relabel, result, ["country", "product", "from_tag", "to_tag"]),
        delivery=_values(model.v_delivery, sets.delivery, result, ["demand", "tag"]),
        unmet=_values(model.v_unmet_demand, list(range(len(model.v_unmet_demand))), result, ["demand"]),
        surplus=_values(model.v_surplus, sets.surplus, result, ["country", "product", "tag"]),
        expansion=_values(model.v_expansion, sets.expansion, result, ["facility"]),
        duals={name: _duals(getattr(model, name, None), result) for name in DUAL_FAMILIES},
    )
