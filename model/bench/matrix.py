"""The same LP built directly as sparse matrices, without Pyomo.

This is the benchmark's "HiGHS alone" route: the physical limit of how fast
the LP can be prepared, and an independent second construction of the model
(its objective must agree with the Pyomo build).  It uses the same index
sets as :mod:`model.sets` and the equations of :mod:`model.constraints`,
assembled column-family by column-family with NumPy/pandas (no per-entry
Python objects).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.data import ModelData
from model.formulation.constraints.exposure import exposed
from model.formulation.sets import ModelSets


@dataclass
class MatrixLP:
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    rows: np.ndarray  # COO entries
    cols: np.ndarray
    values: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_lower), len(self.cost)


def _index(keys: list[tuple]) -> pd.MultiIndex | pd.Index:
    if keys and isinstance(keys[0], tuple):
        return pd.MultiIndex.from_tuples(keys)
    return pd.Index(keys)


def build_matrix(data: ModelData, sets: ModelSets) -> MatrixLP:
    """Columns, rows and entries of the LP of :func:`model.build.build_model`."""
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    row_lower: list[np.ndarray] = []
    row_upper: list[np.ndarray] = []
    n_rows = 0

    # ---- columns -------------------------------------------------------
    activity = pd.DataFrame(sets.activity, columns=["facility", "process", "tag"])
    shipment = pd.DataFrame(sets.shipment, columns=["origin", "destination", "product", "tag"])
    relabel = pd.DataFrame(sets.relabel, columns=["country", "product", "from_tag", "to_tag"])
    delivery = pd.DataFrame(sets.delivery, columns=["demand", "tag"])
    surplus = pd.DataFrame(sets.surplus, columns=["country", "product", "tag"])
    sizes = [
        len(activity),
        len(shipment),
        len(relabel),
        len(delivery),
        len(data.demands),
        len(surplus),
        len(sets.expansion),
    ]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    n_cols = int(starts[-1])
    col = {
        name: np.arange(starts[i], starts[i + 1])
        for i, name in enumerate(["activity", "shipment", "relabel", "delivery", "unmet", "surplus", "expansion"])
    }

    unit_cost = {(fp.facility, fp.process): fp.unit_cost for fp in data.facility_processes}
    cost = np.zeros(n_cols)
    cost[col["activity"]] = [unit_cost[f, q] for f, q in zip(activity["facility"], activity["process"], strict=True)]
    cost[col["shipment"]] = [
        sets.trades[o, d, p].transport_cost + sets.trades[o, d, p].tariff_cost
        for o, d, p in zip(shipment["origin"], shipment["destination"], shipment["product"], strict=True)
    ]
    cost[col["unmet"]] = [d.unmet_penalty for d in data.demands]
    cost[col["surplus"]] = [-data.products[p].surplus_price for p in surplus["product"]]
    cost[col["expansion"]] = [data.facilities[f].expansion_cost for f in sets.expansion]
    col_lower = np.zeros(n_cols)
    col_upper = np.full(n_cols, np.inf)
    col_upper[col["expansion"]] = [data.facilities[f].expansion_max for f in sets.expansion]

    # ---- recipe entries of activities (inputs −, outputs +) ---------------
    facility_country = {name: f.country for name, f in data.facilities.items()}
    recipe = pd.DataFrame(
        [(q.name, p, -c, False) for q in data.processes.values() for p, c in q.inputs.items()]
        + [(q.name, p, c, True) for q in data.processes.values() for p, c in q.outputs.items()],
        columns=["process", "product", "coef", "output"],
    )
    act = activity.assign(column=col["activity"], country=activity["facility"].map(facility_country))
    out_tag = {
        (f, q, t): sets.output_tag(t, data.processes[q].stage, data.facilities[f].restricted)
        for f, q, t in sets.activity
    }
    act["out_tag"] = [out_tag[key] for key in zip(act["facility"], act["process"], act["tag"], strict=True)]
    flows = act.merge(recipe, on="process")
    flows["node_tag"] = np.where(flows["output"], flows["out_tag"], flows["tag"])

    # ---- balance rows --------------------------------------------------
    balance = _index(sets.balance)
    parts = [
        (flows[["country", "product", "node_tag"]], flows["column"].to_numpy(), flows["coef"].to_numpy()),
        (shipment[["origin", "product", "tag"]], col["shipment"], -1.0),
        (shipment[["destination", "product", "tag"]], col["shipment"], 1.0),
        (relabel[["country", "product", "from_tag"]], col["relabel"], -1.0),
        (relabel[["country", "product", "to_tag"]], col["relabel"], 1.0),
        (
            pd.DataFrame(
                {
                    "c": [data.demands[j].country for j in delivery["demand"]],
                    "p": [data.demands[j].product for j in delivery["demand"]],
                    "t": delivery["tag"],
                }
            ),
            col["delivery"],
            -1.0,
        ),
        (surplus[["country", "product", "tag"]], col["surplus"], -1.0),
    ]
    for keys, columns, coefs in parts:
        if not len(keys):
            continue
        rows = balance.get_indexer(pd.MultiIndex.from_frame(keys))
        entries.append((rows + n_rows, columns, np.broadcast_to(coefs, columns.shape).astype(float)))
    row_lower.append(np.zeros(len(balance)))
    row_upper.append(np.zeros(len(balance)))
    n_rows += len(balance)

    # ---- capacity rows -------------------------------------------------
    used = list(dict.fromkeys(activity["facility"]))
    capacity = pd.Index(used)
    entries.append((capacity.get_indexer(activity["facility"]) + n_rows, col["activity"], np.ones(len(activity))))
    if sets.expansion:
        expandable = capacity.get_indexer(pd.Index(sets.expansion))
        keep = expandable >= 0
        entries.append((expandable[keep] + n_rows, col["expansion"][keep], -np.ones(int(keep.sum()))))
    row_lower.append(np.full(len(capacity), -np.inf))
    row_upper.append(np.array([data.facilities[f].capacity for f in used]))
    n_rows += len(capacity)

    # ---- demand rows ---------------------------------------------------
    entries.append((delivery["demand"].to_numpy() + n_rows, col["delivery"], np.ones(len(delivery))))
    entries.append((np.arange(len(data.demands)) + n_rows, col["unmet"], np.ones(len(data.demands))))
    quantity = np.array([d.quantity for d in data.demands])
    row_lower.append(quantity)
    row_upper.append(quantity)
    n_rows += len(data.demands)

    # ---- no re-export rows ---------------------------------------------
    exports = _index(sets.exports)
    if len(exports):
        rows = exports.get_indexer(pd.MultiIndex.from_frame(shipment[["origin", "product", "tag"]]))
        entries.append((rows + n_rows, col["shipment"], np.ones(len(shipment))))
        made = flows[flows["output"]]
        rows = exports.get_indexer(pd.MultiIndex.from_frame(made[["country", "product", "out_tag"]]))
        keep = rows >= 0
        entries.append((rows[keep] + n_rows, made["column"].to_numpy()[keep], -made["coef"].to_numpy()[keep]))
        row_lower.append(np.full(len(exports), -np.inf))
        row_upper.append(np.zeros(len(exports)))
        n_rows += len(exports)

    # ---- quota rows ----------------------------------------------------
    quotas = [key for key, trade in sets.trades.items() if trade.max_flow is not None]
    if quotas:
        quota_index = _index(quotas)
        rows = quota_index.get_indexer(pd.MultiIndex.from_frame(shipment[["origin", "destination", "product"]]))
        keep = rows >= 0
        present = np.unique(rows[keep])
        renumber = np.full(len(quotas), -1)
        renumber[present] = np.arange(len(present))
        entries.append((renumber[rows[keep]] + n_rows, col["shipment"][keep], np.ones(int(keep.sum()))))
        row_lower.append(np.full(len(present), -np.inf))
        row_upper.append(np.array([sets.trades[quotas[i]].max_flow for i in present], dtype=float))
        n_rows += len(present)

    # ---- exposure cap rows ---------------------------------------------
    demand_row = {(d.country, d.product): j for j, d in enumerate(data.demands)}
    tags_of: dict[int, list[tuple[str, int]]] = {}
    for position, (j, tag) in enumerate(sets.delivery):
        tags_of.setdefault(j, []).append((tag, col["delivery"][position]))
    cap_rows, cap_cols, limits = [], [], []
    for cap in data.exposure_caps:
        if cap.max_share >= 1:
            continue
        j = demand_row[cap.country, cap.product]
        members = [c for tag, c in tags_of.get(j, []) if exposed(sets.tags[tag], cap.stage)]
        if not members:
            continue
        cap_rows += [n_rows + len(limits)] * len(members)
        cap_cols += members
        limits.append(cap.max_share * data.demands[j].quantity)
    if limits:
        entries.append((np.array(cap_rows), np.array(cap_cols), np.ones(len(cap_rows))))
        row_lower.append(np.full(len(limits), -np.inf))
        row_upper.append(np.array(limits))
        n_rows += len(limits)

    return MatrixLP(
        cost=cost,
        col_lower=col_lower,
        col_upper=col_upper,
        row_lower=np.concatenate(row_lower),
        row_upper=np.concatenate(row_upper),
        rows=np.concatenate([e[0] for e in entries]).astype(np.int64),
        cols=np.concatenate([e[1] for e in entries]).astype(np.int64),
        values=np.concatenate([e[2] for e in entries]).astype(float),
    )


def solve_matrix(lp: MatrixLP, method: str = "auto", threads: int = 1) -> tuple[float, float, float]:
    """Hand the matrices to HiGHS and solve; returns (objective, hand-off s, solve s)."""
    import time

    import highspy
    from scipy.sparse import coo_array

    from model.solver.solve import SIMPLEX_BELOW_COLUMNS, _quiet_stdout

    started = time.perf_counter()
    n_rows, n_cols = lp.shape
    if method == "auto":
        method = "simplex" if n_cols < SIMPLEX_BELOW_COLUMNS else "ipm"
    matrix = coo_array((lp.values, (lp.rows, lp.cols)), shape=(n_rows, n_cols)).tocsc()
    with _quiet_stdout():
        highs = highspy.Highs()
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
