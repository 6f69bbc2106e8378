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


def _positions(component, count: int, position: dict[int, int]) -> np.ndarray:
    """Each variable's column (-1: not in the LP), in index order."""
    return np.fromiter((position.get(id(var), -1) for var in component.values()), dtype=np.int64, count=count)


def _key_frame(keys: list, fields: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame.from_records(keys, columns=list(fields)) if keys else pd.DataFrame(columns=list(fields))


def _with_values(frame: pd.DataFrame, positions: np.ndarray, result: SolveResult) -> pd.DataFrame:
    """``frame`` (the key columns) with ``value`` (clipped at 0) and ``raw_value`` from the solution."""
    if len(positions):
        values = np.where(positions >= 0, result.column_values[np.maximum(positions, 0)], 0.0)
    else:
        values = np.zeros(0)
    frame = frame.copy(deep=False)  # copy-on-write: the caller's changes to it never reach ``frame``
    frame["value"] = np.maximum(values, 0.0)  # clip solver round-off below zero
    frame["raw_value"] = values
    return frame


def _values(component: pyo.Var, keys: list, fields: tuple[str, ...], result: SolveResult) -> pd.DataFrame:
    """Values of a variable family indexed by position in ``keys``."""
    return _with_values(_key_frame(keys, fields), _positions(component, len(keys), result.column_position), result)


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


VARIABLES = (  # Solution field, model variable, index set of ModelSets, key fields
    ("activity", "v_activity", "activity", ActivityKey._fields),
    ("shipment", "v_shipment", "shipment", ShipmentKey._fields),
    ("relabel", "v_relabel", "relabel", RelabelKey._fields),
    ("delivery", "v_delivery", "delivery", DeliveryKey._fields),
    ("unmet", "v_unmet_demand", "unmet", DemandKey._fields),
    ("surplus", "v_surplus", "surplus", NodeKey._fields),
    ("expansion", "v_expansion", "expansion", FacilityKey._fields),
    ("build", "v_build", "build", BuildKey._fields),
    ("stock", "v_stock", "stock", StockKey._fields),
    ("cover_shortfall", "v_cover_shortfall", "cover", StockpileKey._fields),
    ("min_flow_shortfall", "v_min_flow_shortfall", "offtake", TradeKey._fields),
)


def _key_arrays(frame: pd.DataFrame) -> list:
    """``frame``'s columns as arrays (an extension array, such as pandas' strings, as itself; others NumPy)."""
    arrays = []
    for name in frame.columns:
        column = frame[name]
        arrays.append(column.array if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) else column.to_numpy())
    return arrays


_FROM_ARRAYS = getattr(pd.DataFrame, "_from_arrays", None)  # pandas' own constructor from column arrays


class _Template:
    """A family's table made again for each solve: its key columns as arrays, its column and row labels.

    :meth:`frame` gives what :func:`_with_values` gives (same columns, dtypes,
    values and index: ``tests/test_fast_resolve.py``) from one call of
    pandas' constructor from column arrays, not a copy of the key frame
    and two column insertions (about 3× the time on the base case).  The
    key arrays are copied for each table (a few µs), so a caller writing
    into its table never changes the next one.
    """

    def __init__(self, keys: pd.DataFrame, positions: np.ndarray, result: SolveResult):
        example = _with_values(keys, positions, result)
        self.keys = keys
        self.arrays = _key_arrays(keys)
        self.columns = example.columns
        self.fast = _FROM_ARRAYS is not None and isinstance(example.index, pd.RangeIndex)

    def frame(self, positions: np.ndarray, result: SolveResult) -> pd.DataFrame:
        if not self.fast:
            return _with_values(self.keys, positions, result)
        values = np.where(positions >= 0, result.column_values[np.maximum(positions, 0)], 0.0)
        arrays = [array.copy() for array in self.arrays]
        arrays += [np.maximum(values, 0.0), values]  # value clipped at 0 (solver round-off), raw_value as solved
        return _FROM_ARRAYS(arrays, columns=self.columns, index=pd.RangeIndex(len(values)), verify_integrity=False)


class SolutionReader:
    """Reads the solutions of one built model again and again (a batch re-solving it for number-only variants).

    What depends only on the model and its index sets is worked out on the
    first read and kept: each family's key columns and its variables'
    columns in the LP, each row family's keys and rows in the LP.  A later
    read uses them only while the sets' keys are equal to those they were
    made from and the solve's column and row positions are the same
    objects; otherwise it works them out again.  Each read gives new
    frames (pandas' copy-on-write keeps the kept key columns unchanged),
    equal to :func:`extract_solution`'s.
    """

    def __init__(self, model: pyo.ConcreteModel):
        self.model = model
        self._variables: dict[str, tuple[list, dict, np.ndarray, pd.DataFrame, _Template | None]] = {}
        self._rows: dict[str, tuple[dict, list, np.ndarray]] = {}

    def _family(self, field: str, variable: str, keys: list, fields: tuple, result: SolveResult) -> pd.DataFrame:
        kept = self._variables.get(field)
        if kept is None or kept[1] is not result.column_position or not (kept[0] is keys or kept[0] == keys):
            component = getattr(self.model, variable)
            positions = _positions(component, len(keys), result.column_position)
            frame = _key_frame(keys, fields)
            template = None
            if not keys:  # no variables: the same empty table every time, values included
                frame = _with_values(frame, positions, result)
            else:
                template = _Template(frame, positions, result)
            kept = self._variables[field] = (list(keys), result.column_position, positions, frame, template)
        if not len(kept[2]):
            return kept[3].copy(deep=False)
        return kept[4].frame(kept[2], result)

    def _dual_family(self, name: str, result: SolveResult) -> dict[tuple, float]:
        kept = self._rows.get(name)
        if kept is None or kept[0] is not result.row_position:
            keys, rows = [], []
            for key, row in keyed_rows(self.model, name):
                keys.append(key)
                rows.append(result.row_position.get(id(row), -1))
            kept = self._rows[name] = (result.row_position, keys, np.asarray(rows, dtype=np.int64))
        _, keys, rows = kept
        if not len(rows):
            return {}
        values = np.where(rows >= 0, result.row_duals[np.maximum(rows, 0)], 0.0)
        return dict(zip(keys, values.tolist(), strict=True))

    def read(self, sets: ModelSets, result: SolveResult) -> Solution:
        """The solution of ``result`` (a solve of this reader's model, whose index sets are ``sets``)."""
        frames = {
            field: self._family(field, variable, getattr(sets, index), fields, result)
            for field, variable, index, fields in VARIABLES
        }
        return Solution(**frames, duals={name: self._dual_family(name, result) for name in DUAL_FAMILIES})


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
