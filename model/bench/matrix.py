"""The same LP built directly as sparse matrices, without Pyomo.

This is the benchmark's "HiGHS alone" route: the physical limit of how fast
the LP can be prepared, and an independent second construction of the model
(``tests/test_matrix.py`` checks, on hand cases of every corner, the base
case and random networks, that it is the Pyomo build row for row).

It takes every variable family from the index sets of
:func:`model.formulation.sets.build_sets` (it derives none of its own; a
family it has no equations for must be empty, else it refuses) and
writes the equations of :mod:`model.formulation.constraints` column family
by column family with NumPy/pandas (no per-entry Python objects).  The row
families the constraint modules select themselves are selected here by the
same rules:

* capacity: every facility with an activity or an expansion variable, in
  the facilities' order (a facility that may expand but runs nothing still
  gets ``−v_expansion ≤ capacity``);
* quota: every trade with a ``max_flow`` that has a shipment, in trade order;
* exposure cap: every cap below 1 with at least one exposed delivery, in cap
  order.

Keys are read by field name (:mod:`model.formulation.keys`).  Fields a key
has beyond its family's own (the model year; a scenario later) are carried
through by name, so rows are matched on them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.data import ModelData
from model.formulation.constraints.exposure import cap_index, exposed
from model.formulation.keys import (
    ActivityKey,
    DeliveryKey,
    DemandKey,
    FacilityKey,
    NodeKey,
    RelabelKey,
    ShipmentKey,
    TradeKey,
)
from model.formulation.sets import ModelSets
from model.formulation.variables import KEYS as VARIABLES  # Pyomo variable family -> its ModelSets key list

# Each key family with the fields that identify a key within it; the other
# fields of its NamedTuple (the year; a scenario later) are the ``extra``
# fields every family shares, carried through by name.
NODE = ["country", "product", "tag"]
TRADE = ["origin", "destination", "product"]
FAMILIES: dict[str, tuple[type, list[str]]] = {
    "activity": (ActivityKey, ["facility", "process", "tag"]),
    "shipment": (ShipmentKey, ["origin", "destination", "product", "tag"]),
    "relabel": (RelabelKey, ["country", "product", "from_tag", "to_tag"]),
    "delivery": (DeliveryKey, ["demand", "tag"]),
    "unmet": (DemandKey, ["demand"]),
    "surplus": (NodeKey, NODE),
    "balance": (NodeKey, NODE),
    "exports": (NodeKey, NODE),
    "expansion": (FacilityKey, ["facility"]),
    "trades": (TradeKey, TRADE),
}
EXTRA = [name for name in ActivityKey._fields if name not in FAMILIES["activity"][1]]


@dataclass
class MatrixLP:
    """min cost·x  s.t.  row_lower ≤ A x ≤ row_upper, col_lower ≤ x ≤ col_upper (A as COO entries)."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    rows: np.ndarray  # COO entries
    cols: np.ndarray
    values: np.ndarray
    # Pyomo component name -> (first, past-the-last) column or row of the
    # family; within a family, a column's offset is the Pyomo variable's index.
    column_blocks: dict[str, tuple[int, int]] = field(default_factory=dict)
    row_blocks: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_lower), len(self.cost)


def key_frame(sets: ModelSets, family: str) -> pd.DataFrame:
    """The keys of one family as a DataFrame, one column per field (own fields, then ``EXTRA``)."""
    cls, own = FAMILIES[family]
    if [name for name in cls._fields if name not in own] != EXTRA:
        raise NotImplementedError(f"{cls.__name__} has other extra fields than {EXTRA}: extend the matrix build")
    keys = list(getattr(sets, family))
    if not keys:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in own + EXTRA})
    return pd.DataFrame(keys, columns=list(cls._fields))[own + EXTRA]


def positions(index: pd.MultiIndex, frame: pd.DataFrame, what: str) -> np.ndarray:
    """Row of each line of ``frame`` in ``index``; every line must be there."""
    if not len(frame):
        return np.zeros(0, dtype=np.int64)
    found = index.get_indexer(pd.MultiIndex.from_frame(frame))
    if (found < 0).any():
        missing = frame[found < 0].iloc[0].tolist()
        raise ValueError(f"{what}: no row for {missing}; the matrix build has drifted from the index sets")
    return found


def build_matrix(data: ModelData, sets: ModelSets) -> MatrixLP:
    """Columns, rows and entries of the LP of :func:`model.formulation.build.build_model`."""
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    row_lower: list[np.ndarray] = []
    row_upper: list[np.ndarray] = []
    row_blocks: dict[str, tuple[int, int]] = {}

    def add_block(name: str, lower, upper, count: int) -> int:
        """Reserve ``count`` rows for the row family ``name`` (as in Pyomo); returns its first row."""
        first = sum(len(bounds) for bounds in row_lower)
        row_blocks[name] = (first, first + count)
        row_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (count,)))
        row_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (count,)))
        return first

    def add(rows: np.ndarray, cols: np.ndarray, coefs) -> None:
        entries.append((rows, cols, np.broadcast_to(np.asarray(coefs, dtype=float), cols.shape)))

    # ---- columns: one per key of each variable family, in its key order --
    unknown = [name for name, family in VARIABLES.items() if family not in FAMILIES and len(getattr(sets, family))]
    if unknown:
        raise NotImplementedError(f"the matrix build has no equations for {', '.join(unknown)}: extend it")
    frames = {name: key_frame(sets, family) for name, family in VARIABLES.items() if family in FAMILIES}
    rows_of = {family: key_frame(sets, family) for family in ("trades", "balance", "exports")}
    # Extra fields are matched on wherever two families meet, but only those
    # that vary: with one year, matching on it changes nothing and costs a
    # third of the build.
    every = [*frames.values(), *rows_of.values()]
    extra = [name for name in EXTRA if pd.concat([frame[name] for frame in every]).nunique() > 1]
    column_blocks, n_cols = {}, 0
    for name, frame in frames.items():
        column_blocks[name] = (n_cols, n_cols + len(frame))
        frame["column"] = np.arange(n_cols, n_cols + len(frame))
        n_cols += len(frame)
    col = {name: frame["column"].to_numpy() for name, frame in frames.items()}
    activity, shipment, relabel = frames["v_activity"], frames["v_shipment"], frames["v_relabel"]
    delivery, unmet, surplus = frames["v_delivery"], frames["v_unmet_demand"], frames["v_surplus"]
    expansion = frames["v_expansion"]

    trade_index = pd.MultiIndex.from_frame(rows_of["trades"][TRADE + extra])
    trade_list = list(sets.trades.values())
    shipment["trade"] = positions(trade_index, shipment[TRADE + extra], "shipment → trade")

    pairs = pd.MultiIndex.from_tuples([(fp.facility, fp.process) for fp in data.facility_processes])
    unit_cost = np.array([fp.unit_cost for fp in data.facility_processes], dtype=float)
    demand_country = np.array([d.country for d in data.demands], dtype=object)
    demand_product = np.array([d.product for d in data.demands], dtype=object)
    quantity = np.array([d.quantity for d in data.demands], dtype=float)
    cost = np.zeros(n_cols)
    cost[col["v_activity"]] = unit_cost[positions(pairs, activity[["facility", "process"]], "unit cost")]
    trade_cost = np.array([t.transport_cost + t.tariff_cost for t in trade_list], dtype=float)
    cost[col["v_shipment"]] = trade_cost[shipment["trade"].to_numpy(dtype=np.int64)]
    cost[col["v_unmet_demand"]] = [data.demands[j].unmet_penalty for j in unmet["demand"]]
    cost[col["v_surplus"]] = -surplus["product"].map({n: p.surplus_price for n, p in data.products.items()})
    cost[col["v_expansion"]] = [data.facilities[f].expansion_cost for f in expansion["facility"]]
    col_lower = np.zeros(n_cols)
    col_upper = np.full(n_cols, np.inf)
    col_upper[col["v_expansion"]] = [data.facilities[f].expansion_max for f in expansion["facility"]]

    # ---- recipe entries of activities (inputs −, outputs +) ---------------
    facility_country = {name: f.country for name, f in data.facilities.items()}
    recipe = pd.DataFrame(
        [(q.name, p, -c, False) for q in data.processes.values() for p, c in q.inputs.items()]
        + [(q.name, p, c, True) for q in data.processes.values() for p, c in q.outputs.items()],
        columns=["process", "product", "coef", "output"],
    )
    activity["country"] = activity["facility"].map(facility_country)
    # Output tag of each activity, computed once per (input tag, stage, restricted).
    drawn = pd.DataFrame(
        {
            "tag": activity["tag"],
            "stage": activity["process"].map({name: q.stage for name, q in data.processes.items()}),
            "restricted": activity["facility"].map({name: f.restricted for name, f in data.facilities.items()}),
        }
    )
    outputs = drawn.drop_duplicates()
    outputs["out_tag"] = [sets.output_tag(t, s, r) for t, s, r in outputs.itertuples(index=False)]
    activity["out_tag"] = drawn.merge(outputs, how="left", on=["tag", "stage", "restricted"])["out_tag"].to_numpy()
    flows = activity.merge(recipe, on="process")
    flows["node_tag"] = np.where(flows["output"], flows["out_tag"], flows["tag"])
    delivery["country"] = demand_country[delivery["demand"].to_numpy(dtype=np.int64)]
    delivery["product"] = demand_product[delivery["demand"].to_numpy(dtype=np.int64)]

    def node(frame: pd.DataFrame, country: str, product: str, tag: str) -> pd.DataFrame:
        """The (country, product, tag, *extra) node of each line of ``frame``."""
        return frame[[country, product, tag, *extra]].set_axis(NODE + extra, axis=1)

    # ---- balance rows: inflows − outflows = 0 --------------------------
    balance = pd.MultiIndex.from_frame(rows_of["balance"][NODE + extra])
    first = add_block("balance_constraint", 0.0, 0.0, len(balance))
    for keys, columns, coefs in [
        (node(flows, "country", "product", "node_tag"), flows["column"].to_numpy(), flows["coef"].to_numpy()),
        (node(shipment, "origin", "product", "tag"), col["v_shipment"], -1.0),
        (node(shipment, "destination", "product", "tag"), col["v_shipment"], 1.0),
        (node(relabel, "country", "product", "from_tag"), col["v_relabel"], -1.0),
        (node(relabel, "country", "product", "to_tag"), col["v_relabel"], 1.0),
        (node(delivery, "country", "product", "tag"), col["v_delivery"], -1.0),
        (node(surplus, "country", "product", "tag"), col["v_surplus"], -1.0),
    ]:
        add(positions(balance, keys, "balance") + first, columns, coefs)

    # ---- capacity rows: Σ activity − expansion ≤ capacity ---------------
    rank = {name: i for i, name in enumerate(data.facilities)}
    facility_columns = ["facility", *extra]
    users = pd.concat([activity[facility_columns], expansion[facility_columns]]).drop_duplicates()
    users = users.assign(rank=users["facility"].map(rank)).sort_values([*extra, "rank"])
    capacity = pd.MultiIndex.from_frame(users[facility_columns])
    limit = [data.facilities[f].capacity for f in users["facility"]]
    first = add_block("capacity_constraint", -np.inf, limit, len(capacity))
    add(positions(capacity, activity[facility_columns], "capacity") + first, col["v_activity"], 1.0)
    add(positions(capacity, expansion[facility_columns], "capacity") + first, col["v_expansion"], -1.0)

    # ---- demand rows: Σ delivery + unmet = quantity ---------------------
    demand = pd.MultiIndex.from_frame(unmet[["demand", *extra]])
    needed = quantity[unmet["demand"].to_numpy(dtype=np.int64)]
    first = add_block("demand_constraint", needed, needed, len(demand))
    add(positions(demand, delivery[["demand", *extra]], "demand") + first, col["v_delivery"], 1.0)
    add(np.arange(len(demand)) + first, col["v_unmet_demand"], 1.0)

    # ---- no re-export rows: exports − own production ≤ 0 ----------------
    exports = pd.MultiIndex.from_frame(rows_of["exports"][NODE + extra])
    first = add_block("no_reexport_constraint", -np.inf, 0.0, len(exports))
    add(positions(exports, node(shipment, "origin", "product", "tag"), "no re-export") + first, col["v_shipment"], 1.0)
    made = flows[flows["output"]]
    found = exports.get_indexer(pd.MultiIndex.from_frame(node(made, "country", "product", "out_tag")))
    keep = found >= 0  # output that is not exported has no row
    add(found[keep] + first, made["column"].to_numpy()[keep], -made["coef"].to_numpy()[keep])

    # ---- quota rows: Σ_t shipment ≤ max_flow ----------------------------
    max_flow = np.array([np.nan if t.max_flow is None else t.max_flow for t in trade_list], dtype=float)
    limited = shipment[~np.isnan(max_flow[shipment["trade"].to_numpy(dtype=np.int64)])]
    present = np.unique(limited["trade"].to_numpy(dtype=np.int64))  # trades in trade order
    first = add_block("quota_constraint", -np.inf, max_flow[present], len(present))
    add(np.searchsorted(present, limited["trade"].to_numpy(dtype=np.int64)) + first, limited["column"].to_numpy(), 1.0)

    # ---- exposure cap rows: Σ exposed deliveries ≤ max_share × quantity --
    demand_of = cap_index(data)
    caps = pd.DataFrame(
        [(demand_of[c.country, c.product], c.stage, c.max_share) for c in data.exposure_caps if c.max_share < 1],
        columns=["demand", "stage", "max_share"],
    )
    caps["order"] = np.arange(len(caps))
    members = delivery[["demand", "tag", *extra, "column"]].astype({"demand": np.int64})
    members = members.merge(caps.astype({"demand": np.int64}), on="demand")
    pairs = members[["tag", "stage"]].drop_duplicates()
    counts = {(t, s): exposed(sets.tags[t], s) for t, s in zip(pairs["tag"], pairs["stage"], strict=True)}
    mask = np.array([counts[t, s] for t, s in zip(members["tag"], members["stage"], strict=True)], dtype=bool)
    members = members[mask]
    group = members.groupby([*extra, "order"], sort=True)
    row = group.ngroup().to_numpy()
    heads = group.first()
    limit = heads["max_share"].to_numpy() * quantity[heads["demand"].to_numpy(dtype=np.int64)]
    first = add_block("exposure_cap_constraint", -np.inf, limit, len(heads))
    add(row + first, members["column"].to_numpy(), 1.0)

    return MatrixLP(
        cost=cost,
        col_lower=col_lower,
        col_upper=col_upper,
        row_lower=np.concatenate(row_lower),
        row_upper=np.concatenate(row_upper),
        rows=np.concatenate([e[0] for e in entries]).astype(np.int64),
        cols=np.concatenate([e[1] for e in entries]).astype(np.int64),
        values=np.concatenate([e[2] for e in entries]).astype(float),
        column_blocks=column_blocks,
        row_blocks=row_blocks,
    )


def solve_matrix(lp: MatrixLP, method: str = "auto", threads: int = 1) -> tuple[float, float, float]:
    """Hand the matrices to HiGHS and solve; returns (objective, hand-off s, solve s)."""
    import time

    import highspy
    from scipy.sparse import coo_array

    from model.solver.solve import SIMPLEX_BELOW_COLUMNS

    started = time.perf_counter()
    n_rows, n_cols = lp.shape
    if method == "auto":
        method = "simplex" if n_cols < SIMPLEX_BELOW_COLUMNS else "ipm"
    matrix = coo_array((lp.values, (lp.rows, lp.cols)), shape=(n_rows, n_cols)).tocsc()
    highs = highspy.Highs()  # may print HiGHS' banner: acceptable in the benchmark
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", threads)
    highs.setOptionValue("solver", "ipm" if method == "ipm" else method)
    if method == "ipm":
        highs.setOptionValue("run_crossover", "on")
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n_cols, n_rows
    model.col_cost_, model.col_lower_, model.col_upper_ = lp.cost, lp.col_lower, lp.col_upper
    model.row_lower_, model.row_upper_ = lp.row_lower, lp.row_upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    model.a_matrix_.index_ = matrix.indices.astype(np.int32)
    model.a_matrix_.value_ = matrix.data
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = n_cols, n_rows
    highs.passModel(model)
    handed = time.perf_counter()
    highs.run()
    solved = time.perf_counter()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(highs.modelStatusToString(highs.getModelStatus()))
    return float(highs.getInfo().objective_function_value), handed - started, solved - handed
