"""The same LP built directly as sparse matrices, without Pyomo.

This is the benchmark's "HiGHS alone" route: the physical limit of how fast
the LP can be prepared, and an independent second construction of the model
(``tests/test_matrix.py`` checks, on hand cases of every corner, the base
case and random networks over one or several years, that it is the Pyomo
build row for row).

It takes every variable family from the index sets of
:func:`model.formulation.sets.build_sets` (it derives none of its own; a
family it has no equations for must be empty, else it refuses) and
writes the equations of :mod:`model.formulation.constraints` and the
objective (SPEC Part 1 and Part 2) column family by column family with
NumPy/pandas (no per-entry Python objects).  Each year's coefficients come
from that year's rows (:meth:`model.data.ModelData.at`), costs are
discounted by :meth:`model.data.ModelData.discount_factor`.

Rows are written for every key a family could have (every facility in
every year for capacity, every cap below 1, ...); then, as Pyomo's
standard-form compiler does with the Pyomo model, zero coefficients are
dropped, rows left without an entry are dropped (a row that 0 cannot
satisfy is an error) and so are columns without an entry or a cost.  The
result is the LP HiGHS receives from either route: same rows in the same
order, same columns, same entries.

Keys are read by field name (:mod:`model.formulation.keys`).  Fields a key
has beyond its family's own (the model year; a scenario later) are carried
through by name, so rows are matched on them too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.data import ModelData, YearData
from model.formulation.constraints.exposure import cap_index, exposed
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
    "build": (BuildKey, ["project"]),
    "stock": (StockKey, NODE),
    "cover": (StockpileKey, ["country", "product"]),
    "offtake": (TradeKey, TRADE),
}
EXTRA = [name for name in ActivityKey._fields if name not in FAMILIES["activity"][1]]
INTEGER_FIELDS = ("demand", "year")  # key fields that are whole numbers (typed so even in empty frames)
DAYS_PER_YEAR = 365.0


@dataclass
class MatrixLP:
    """min cost·x  s.t.  row_lower ≤ A x ≤ row_upper, col_lower ≤ x ≤ col_upper (A as COO entries).

    Columns listed in ``integer`` are integral (the builds of all-or-nothing
    projects, binary by their bounds): the problem is then a MIP.
    """

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    rows: np.ndarray  # COO entries
    cols: np.ndarray
    values: np.ndarray
    # Pyomo component name -> (first, past-the-last) column of the family
    # before unused columns are dropped: a variable's index is its offset
    # there; ``column_index`` maps that numbering to the LP's column (−1:
    # dropped, as Pyomo's compiler drops it).
    column_blocks: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Pyomo component name -> (first, past-the-last) row of the family in the LP.
    row_blocks: dict[str, tuple[int, int]] = field(default_factory=dict)
    integer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    column_index: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_lower), len(self.cost)

    def column(self, family: str, index: np.ndarray | int) -> np.ndarray | int:
        """Column of variable ``index`` of the Pyomo family ``family`` (−1 when it was dropped)."""
        full = self.column_blocks[family][0] + index
        return full if self.column_index is None else self.column_index[full]


def key_frame(sets: ModelSets, family: str) -> pd.DataFrame:
    """The keys of one family as a DataFrame, one column per field (own fields, then ``EXTRA``)."""
    cls, own = FAMILIES[family]
    if [name for name in cls._fields if name not in own] != EXTRA:
        raise NotImplementedError(f"{cls.__name__} has other extra fields than {EXTRA}: extend the matrix build")
    keys = list(getattr(sets, family))
    if not keys:
        return pd.DataFrame(
            {name: pd.Series([], dtype=np.int64 if name in INTEGER_FIELDS else object) for name in own + EXTRA}
        )
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


def by_year(
    frame: pd.DataFrame,
    views: dict[int, YearData],
    source: Callable[[YearData], object],
    table: Callable[[object], tuple[list, list]],
    on: list[str],
    what: str,
) -> np.ndarray:
    """The value of each line of ``frame`` in its year's table.

    ``table(source(view))`` gives (keys over the columns ``on``, values);
    years whose views share one source object (a sheet no row of which
    changes) are looked up together, so a single-year case costs one lookup.
    """
    out = np.empty(len(frame), dtype=object)
    groups: dict[int, list[int]] = defaultdict(list)
    sources = {}
    for year, view in views.items():
        groups[id(source(view))].append(year)
        sources[id(source(view))] = source(view)
    whole = len(groups) == 1
    for ident, years in groups.items():
        keys, values = table(sources[ident])
        index = pd.MultiIndex.from_tuples(keys) if keys and isinstance(keys[0], tuple) else pd.Index(keys)
        mask = np.ones(len(frame), dtype=bool) if whole else frame["year"].isin(years).to_numpy()
        part = frame.loc[mask, on]
        if not len(part):
            continue
        found = index.get_indexer(pd.MultiIndex.from_frame(part) if len(on) > 1 else part[on[0]])
        if (found < 0).any():
            missing = part[found < 0].iloc[0].tolist()
            raise ValueError(f"{what}: no row for {missing} in its year")
        out[mask] = np.asarray(values, dtype=object)[found]
    return out


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

    years = list(sets.years)
    views = {year: data.at(year) for year in years}
    discount = {year: data.discount_factor(year) for year in years}

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
    expansion, build, stock, shortfall = (
        frames["v_expansion"],
        frames["v_build"],
        frames["v_stock"],
        frames["v_cover_shortfall"],
    )

    def yearly(frame: pd.DataFrame) -> np.ndarray:
        """δ_y of each line of ``frame``."""
        return frame["year"].map(discount).to_numpy(dtype=float)

    def facility_field(frame: pd.DataFrame, name: str, what: str) -> np.ndarray:
        """A field of each line's facility as it is in the line's year."""
        return by_year(
            frame,
            views,
            lambda view: view.facilities,
            lambda facilities: (list(facilities), [getattr(f, name) for f in facilities.values()]),
            ["facility"],
            what,
        )

    def demand_field(frame: pd.DataFrame, name: str) -> np.ndarray:
        return by_year(
            frame,
            views,
            lambda view: view.demands,
            lambda demands: (list(demands), [getattr(d, name) for d in demands.values()]),
            ["demand"],
            f"demand {name}",
        ).astype(float)

    trade_index = pd.MultiIndex.from_frame(rows_of["trades"][TRADE + extra])
    trade_list = list(sets.trades.values())
    shipment["trade"] = positions(trade_index, shipment[TRADE + extra], "shipment → trade")

    demand_country = np.array([d.country for d in data.demands], dtype=object)
    demand_product = np.array([d.product for d in data.demands], dtype=object)
    cost = np.zeros(n_cols)
    unit_cost = by_year(
        activity,
        views,
        lambda view: view.facility_processes,
        lambda pairs: ([(fp.facility, fp.process) for fp in pairs], [fp.unit_cost for fp in pairs]),
        ["facility", "process"],
        "unit cost",
    ).astype(float)
    cost[col["v_activity"]] = unit_cost * yearly(activity)
    trade_cost = np.array([t.transport_cost + t.tariff_cost for t in trade_list], dtype=float)
    cost[col["v_shipment"]] = trade_cost[shipment["trade"].to_numpy(dtype=np.int64)] * yearly(shipment)
    cost[col["v_unmet_demand"]] = demand_field(unmet, "unmet_penalty") * yearly(unmet)
    surplus_price = by_year(
        surplus,
        views,
        lambda view: view.products,
        lambda products: (list(products), [p.surplus_price for p in products.values()]),
        ["product"],
        "surplus price",
    ).astype(float)
    cost[col["v_surplus"]] = -surplus_price * yearly(surplus)
    # An addition is paid every year from its own on, at its own year's cost.
    from_on = {y: sum(discount[later] for later in years if later >= y) for y in years}
    expansion_cost = facility_field(expansion, "expansion_cost", "expansion cost").astype(float)
    cost[col["v_expansion"]] = expansion_cost * expansion["year"].map(from_on).to_numpy(dtype=float)
    projects = {project.name: project for project in data.projects}
    cost[col["v_build"]] = [
        annual_cost(data, projects[name]) * sum(discount[y] for y in years if start <= y <= start + life - 1)
        for name, start, life in zip(
            build["project"], build["year"], [projects[p].life for p in build["project"]], strict=True
        )
    ]
    holding = {s.key: s.holding_cost for s in data.stockpiles}
    stock_keys = list(zip(stock["country"], stock["product"], strict=True))
    cost[col["v_stock"]] = np.array([holding[key] for key in stock_keys], dtype=float) * yearly(stock)
    cost[col["v_cover_shortfall"]] = float(data.settings["unmet_demand_penalty"]) * yearly(shortfall)
    offtake = frames["v_min_flow_shortfall"]
    cost[col["v_min_flow_shortfall"]] = float(data.settings["unmet_demand_penalty"]) * yearly(offtake)

    col_lower = np.zeros(n_cols)
    col_upper = np.full(n_cols, np.inf)
    col_upper[col["v_expansion"]] = facility_field(expansion, "expansion_max", "expansion max").astype(float)
    col_upper[col["v_build"]] = 1.0
    whole = {project.name for project in data.projects if project.all_or_nothing}
    integer = col["v_build"][build["project"].isin(whole).to_numpy(dtype=bool)]

    # ---- recipe entries of activities (inputs −, outputs +) ---------------
    facility_country = {name: f.country for name, f in data.facilities.items()}
    recipe = pd.DataFrame(
        [(q.name, p, -c, False) for q in data.processes.values() for p, c in q.inputs.items()]
        + [(q.name, p, c, True) for q in data.processes.values() for p, c in q.outputs.items()],
        columns=["process", "product", "coef", "output"],
    )
    activity["country"] = activity["facility"].map(facility_country)
    # Output tag of each activity, computed once per (input tag, stage, restricted),
    # with the facility's restricted flag of the activity's year.
    drawn = pd.DataFrame(
        {
            "tag": activity["tag"],
            "stage": activity["process"].map({name: q.stage for name, q in data.processes.items()}),
            "restricted": facility_field(activity, "restricted", "restricted flag").astype(bool),
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

    # ---- balance rows: inflows − outflows = 0 (−initial stock) ---------
    balance = pd.MultiIndex.from_frame(rows_of["balance"][NODE + extra])
    rhs = np.zeros(len(balance))
    initial = [
        (s.country, s.product, sets.label(s.initial_tag), years[0], -s.initial)
        for s in data.stockpiles
        if s.initial > 0
    ]
    if initial:
        table = pd.DataFrame(initial, columns=[*NODE, "year", "rhs"])
        rhs[positions(balance, table[NODE + extra], "initial stock")] = table["rhs"].to_numpy()
    first = add_block("balance_constraint", rhs, rhs, len(balance))
    carried = stock[stock["year"] < years[-1]].assign(year=lambda frame: frame["year"] + 1)
    for keys, columns, coefs in [
        (node(flows, "country", "product", "node_tag"), flows["column"].to_numpy(), flows["coef"].to_numpy()),
        (node(shipment, "origin", "product", "tag"), col["v_shipment"], -1.0),
        (node(shipment, "destination", "product", "tag"), col["v_shipment"], 1.0),
        (node(relabel, "country", "product", "from_tag"), col["v_relabel"], -1.0),
        (node(relabel, "country", "product", "to_tag"), col["v_relabel"], 1.0),
        (node(delivery, "country", "product", "tag"), col["v_delivery"], -1.0),
        (node(surplus, "country", "product", "tag"), col["v_surplus"], -1.0),
        (node(stock, "country", "product", "tag"), col["v_stock"], -1.0),  # held at the end of the year
        (node(carried, "country", "product", "tag"), carried["column"].to_numpy(), 1.0),  # and the next year
    ]:
        add(positions(balance, keys, "balance") + first, columns, coefs)

    # ---- capacity rows: Σ activity − expansions so far − projects online ≤ capacity
    facility_columns = ["facility", *extra]
    candidates = pd.DataFrame(
        [(name, year) for year, view in views.items() for name in view.facilities], columns=["facility", "year"]
    ).astype({"year": np.int64})
    capacity = pd.MultiIndex.from_frame(candidates[facility_columns])
    limit = facility_field(candidates, "capacity", "capacity").astype(float)
    first = add_block("capacity_constraint", -np.inf, limit, len(capacity))
    add(positions(capacity, activity[facility_columns], "capacity") + first, col["v_activity"], 1.0)
    # Each addition counts in its own year and every later year the facility has a row.
    slots = candidates.assign(row=np.arange(len(candidates))).rename(columns={"year": "row_year"})
    added = expansion[["facility", "year", "column"]].merge(slots, on="facility")
    added = added[added["row_year"] >= added["year"]]
    add(added["row"].to_numpy() + first, added["column"].to_numpy(), -1.0)
    online = build[["project", "year", "column"]].assign(
        facility=build["project"].map({p.name: p.facility for p in data.projects}),
        size=build["project"].map({p.name: p.capacity for p in data.projects}),
        end=build["year"] + build["project"].map({p.name: p.life - 1 for p in data.projects}),
    )
    online = online.merge(slots, on="facility")
    online = online[(online["row_year"] >= online["year"]) & (online["row_year"] <= online["end"])]
    add(online["row"].to_numpy() + first, online["column"].to_numpy(), -online["size"].to_numpy(dtype=float))
    # With several years, the additions so far stay within each year's expansion_max.
    if len(years) > 1:
        upper = facility_field(candidates, "expansion_max", "expansion max").astype(float)
        first = add_block("expansion_limit_constraint", -np.inf, upper, len(candidates))
        add(added["row"].to_numpy() + first, added["column"].to_numpy(), 1.0)
    else:
        add_block("expansion_limit_constraint", -np.inf, np.inf, 0)

    # ---- demand rows: Σ delivery + unmet = quantity ---------------------
    demand = pd.MultiIndex.from_frame(unmet[["demand", *extra]])
    needed = demand_field(unmet, "quantity")
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
    # One cap per (demand row, stage, year), in the order the years list
    # them (a repeated cap keeps its first place and its last share).
    demand_of = cap_index(data)
    shares: dict[tuple[int, str, int], float] = {}
    for year, view in views.items():
        for c in view.exposure_caps:
            if c.max_share < 1:
                shares[demand_of[c.country, c.product], c.stage, year] = c.max_share
    caps = pd.DataFrame(
        [(*key, share) for key, share in shares.items()], columns=["demand", "stage", "year", "max_share"]
    ).astype({"demand": np.int64, "year": np.int64})
    caps["order"] = np.arange(len(caps))
    members = delivery[["demand", "tag", "year", "column"]].astype({"demand": np.int64, "year": np.int64})
    members = members.merge(caps, on=["demand", "year"])
    pairs = members[["tag", "stage"]].drop_duplicates()
    counts = {(t, s): exposed(sets.tags[t], s) for t, s in zip(pairs["tag"], pairs["stage"], strict=True)}
    mask = np.array([counts[t, s] for t, s in zip(members["tag"], members["stage"], strict=True)], dtype=bool)
    members = members[mask]
    group = members.groupby("order", sort=True)
    row = group.ngroup().to_numpy()
    heads = group.first()
    limit = heads["max_share"].to_numpy(dtype=float) * demand_field(heads, "quantity")
    first = add_block("exposure_cap_constraint", -np.inf, limit, len(heads))
    add(row + first, members["column"].to_numpy(), 1.0)

    # ---- build once: Σ_y build ≤ 1 for a project with several possible years
    once = build.groupby("project", sort=False)["column"]
    several = build["project"].map(once.size()).to_numpy() > 1
    chosen = build[several]
    row = chosen.groupby("project", sort=False).ngroup().to_numpy()
    first = add_block("build_once_constraint", -np.inf, 1.0, int(row.max()) + 1 if len(row) else 0)
    add(row + first, chosen["column"].to_numpy(), 1.0)

    # ---- budgets: capex of the builds decided in a year ≤ the funder's budget
    funded = build.assign(
        funder=build["project"].map({p.name: p.funder for p in data.projects}),
        capex=build["project"].map({p.name: p.capex for p in data.projects}),
        decided=np.maximum(
            years[0], build["year"] - build["project"].map({p.name: p.lead_time for p in data.projects})
        ),
    )
    funded = funded[funded["funder"].notna()]
    group = funded.groupby(["funder", "decided"], sort=False)
    row = group.ngroup().to_numpy()
    heads = group.size().index
    budget = [data.budgets[funder][int(year)] for funder, year in heads]
    first = add_block("budget_constraint", -np.inf, budget, len(heads))
    add(row + first, funded["column"].to_numpy(), funded["capex"].to_numpy(dtype=float))

    # ---- stock cover: Σ_t stock + shortfall ≥ min_days / 365 × demand ----
    cover_columns = ["country", "product", *extra]
    cover = pd.MultiIndex.from_frame(shortfall[cover_columns])
    stockpiles = {s.key: s for s in data.stockpiles}
    demanded = {
        year: {(d.country, d.product): d.quantity for d in view.demands.values()} for year, view in views.items()
    }
    required = [
        stockpiles[k, p].min_days / DAYS_PER_YEAR * demanded[y].get((k, p), 0.0)
        for k, p, y in zip(shortfall["country"], shortfall["product"], shortfall["year"], strict=True)
    ]
    first = add_block("cover_constraint", required, np.inf, len(cover))
    add(np.arange(len(cover)) + first, col["v_cover_shortfall"], 1.0)
    found = cover.get_indexer(pd.MultiIndex.from_frame(stock[cover_columns])) if len(stock) else np.zeros(0, int)
    add(found[found >= 0] + first, col["v_stock"][found >= 0], 1.0)  # years without a cover have no row

    # ---- largest stock: Σ_t stock ≤ max ---------------------------------
    capped = stock[np.array([stockpiles[key].max is not None for key in stock_keys], dtype=bool)]
    group = capped.groupby(["country", "product", "year"], sort=False)
    row = group.ngroup().to_numpy()
    heads = group.size().index
    first = add_block("stock_max_constraint", -np.inf, [stockpiles[k, p].max for k, p, _ in heads], len(heads))
    add(row + first, capped["column"].to_numpy(), 1.0)

    # ---- contracted offtakes: Σ_t shipment + shortfall ≥ min_flow --------
    contracts = pd.MultiIndex.from_frame(offtake[TRADE + extra])
    minimum = [sets.min_flows[key] for key in sets.offtake]
    first = add_block("min_flow_constraint", minimum, np.inf, len(contracts))
    found = contracts.get_indexer(pd.MultiIndex.from_frame(shipment[TRADE + extra])) if len(shipment) else np.zeros(0)
    found = np.asarray(found, dtype=np.int64)
    add(found[found >= 0] + first, col["v_shipment"][found >= 0], 1.0)  # trades without a min_flow have no row
    add(np.arange(len(contracts)) + first, col["v_min_flow_shortfall"], 1.0)

    lp = MatrixLP(
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
        integer=np.asarray(integer, dtype=np.int64),
    )
    return compact(lp)


def compact(lp: MatrixLP) -> MatrixLP:
    """Drop zero entries, rows without an entry and columns without an entry or a cost, as Pyomo's compiler does."""
    nonzero = lp.values != 0
    rows, cols, values = lp.rows[nonzero], lp.cols[nonzero], lp.values[nonzero]
    n_rows, n_cols = lp.shape
    filled = np.bincount(rows, minlength=n_rows) > 0
    empty = ~filled
    if ((lp.row_lower[empty] > 0) | (lp.row_upper[empty] < 0)).any():
        raise ValueError("a row without an entry that 0 does not satisfy: the LP is trivially infeasible")
    used = (np.bincount(cols, minlength=n_cols) > 0) | (lp.cost != 0)
    if filled.all() and used.all() and nonzero.all():
        return lp
    row_index = np.cumsum(filled) - 1
    column_index = np.where(used, np.cumsum(used) - 1, -1)
    row_blocks = {}
    for name, (start, stop) in lp.row_blocks.items():
        kept = int(filled[:start].sum())
        row_blocks[name] = (kept, kept + int(filled[start:stop].sum()))
    integer = column_index[lp.integer]
    return MatrixLP(
        cost=lp.cost[used],
        col_lower=lp.col_lower[used],
        col_upper=lp.col_upper[used],
        row_lower=lp.row_lower[filled],
        row_upper=lp.row_upper[filled],
        rows=row_index[rows],
        cols=column_index[cols],
        values=values,
        column_blocks=lp.column_blocks,
        row_blocks=row_blocks,
        integer=integer[integer >= 0],
        column_index=column_index,
    )


def capital_recovery(rate: float, life: int) -> float:
    """CRF(r, n) = r(1+r)^n / ((1+r)^n − 1), 1/n when r = 0 (SPEC Part 2): the annuity per USD of capex."""
    if rate == 0:
        return 1.0 / life
    growth = (1.0 + rate) ** life
    return rate * growth / (growth - 1.0)


def annual_cost(data: ModelData, project) -> float:
    """USD per year online: capex × CRF(capex_rate, life) + fixed_cost; capex_rate blank = discount_rate."""
    rate = data.settings.get("capex_rate")
    if rate is None:
        rate = data.settings.get("discount_rate") or 0.0
    return project.capex * capital_recovery(float(rate), project.life) + project.fixed_cost


def solve_matrix(
    lp: MatrixLP, method: str = "auto", threads: int = 1, mip_gap: float = 1e-4, fixed_lp: bool = True
) -> tuple[float, float, float]:
    """Hand the matrices to HiGHS and solve; returns (objective, hand-off s, solve s).

    An LP is solved once by ``method`` (``auto`` as the product resolves it).
    With integer columns the problem is a MIP, and by default HiGHS does the
    solver work the product must do for it (SPEC Part 2 reports duals, which
    a MIP has none of): :func:`model.solver.solve.cost_optimal_mip`, the LP
    relaxation, branch and bound to ``mip_gap`` unless the relaxation is
    already whole, and the LP with the integer choices fixed.  With
    ``fixed_lp=False`` it is HiGHS' branch and bound alone (its ``solver``
    option left at ``choose``), which gives no duals: the figure of a user
    who only wants the plan.
    """
    import time

    from scipy.sparse import coo_array

    from model.solver.backend import HighsBackend
    from model.solver.handoff import StandardForm
    from model.solver.solve import cost_optimal_mip

    started = time.perf_counter()
    n_rows, n_cols = lp.shape
    matrix = coo_array((lp.values, (lp.rows, lp.cols)), shape=(n_rows, n_cols)).tocsc()
    form = StandardForm(
        cost=lp.cost,
        offset=0.0,
        matrix=matrix,
        row_lower=lp.row_lower,
        row_upper=lp.row_upper,
        col_lower=lp.col_lower,
        col_upper=lp.col_upper,
        columns=[],
        rows=[],
    )
    integer = lp.integer.astype(np.int32)
    backend = HighsBackend()
    backend.load(form, integer if len(integer) else None)
    backend.set_method(method, threads=threads, mip_gap=mip_gap)
    handed = time.perf_counter()
    if len(integer) and fixed_lp:
        objective = cost_optimal_mip(backend, integer, None, []).objective
        optimal = backend.optimal
    else:
        backend.run()
        objective, optimal = backend.objective(), backend.optimal
    solved = time.perf_counter()
    if not optimal:
        raise RuntimeError(backend.status_text())
    return objective, handed - started, solved - handed
