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
    positions_of: dict | None = None,
) -> np.ndarray:
    """The value of each line of ``frame`` in its year's table.

    ``table(source(view))`` gives (keys over the columns ``on``, values);
    years whose views share one source object (a sheet no row of which
    changes) are looked up together, so a single-year case costs one lookup.
    ``positions_of`` keeps each group's (lines, positions in the table) for
    later calls on the same frame with tables of the same keys in the same
    order (the caller's promise: :class:`Plan`).
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
        known = positions_of.get(tuple(years)) if positions_of is not None else None
        if known is not None:
            mask, found = known
            if len(found):
                out[mask] = np.asarray(values, dtype=object)[found]
            continue
        index = pd.MultiIndex.from_tuples(keys) if keys and isinstance(keys[0], tuple) else pd.Index(keys)
        mask = np.ones(len(frame), dtype=bool) if whole else frame["year"].isin(years).to_numpy()
        part = frame.loc[mask, on]
        if not len(part):
            if positions_of is not None:
                positions_of[tuple(years)] = (mask, np.zeros(0, dtype=np.int64))
            continue
        found = index.get_indexer(pd.MultiIndex.from_frame(part) if len(on) > 1 else part[on[0]])
        if (found < 0).any():
            missing = part[found < 0].iloc[0].tolist()
            raise ValueError(f"{what}: no row for {missing} in its year")
        out[mask] = np.asarray(values, dtype=object)[found]
        if positions_of is not None:
            positions_of[tuple(years)] = (mask, found)
    return out


@dataclass
class Plan:
    """What :func:`build_matrix` computed about a model's structure, kept to build number-only variants faster.

    Every index look-up (key frames, positions of keys in row families,
    merges, groupings, the sparsity pattern before zeros are dropped)
    depends only on the index sets and on the structural fields of the data
    (:func:`plan_key`: which facilities, processes, demands, caps below 1,
    quotas, projects' facilities and lives, stockpiles' maxima exist, ...),
    never on costs, capacities, quantities, shares or coefficients.  A plan
    is used only by a build whose :func:`plan_key` equals the one it was
    made for; any other build clears it first, so it cannot go stale.
    """

    key: tuple | None = None
    items: dict = field(default_factory=dict)


def plan_key(data: ModelData, sets: ModelSets, views: dict[int, YearData]) -> tuple:
    """Everything a build's structure depends on: the index sets' keys and the data's structural fields.

    ``views`` are the build's year views (:meth:`ModelData.at`), all alive, so that years sharing a
    sheet's rows are told apart exactly as :func:`by_year` groups them.
    """
    parts: list = []
    for name in (
        "stages", "years", "tags", "trades", "activity", "shipment", "relabel", "delivery", "unmet", "surplus",
        "balance", "exports", "expansion", "build", "stock", "cover", "offtake",
    ):  # fmt: skip
        value = getattr(sets, name)
        parts.append(tuple(value.items()) if name == "tags" else tuple(value))
    parts.append(tuple(t.max_flow is None for t in sets.trades.values()))
    parts.append(tuple(sets.min_flows))
    ids = []
    for year in sets.years:
        view = views[year]
        parts.append(
            (
                tuple((name, f.country, bool(f.restricted)) for name, f in view.facilities.items()),
                tuple((fp.facility, fp.process) for fp in view.facility_processes),
                tuple((k, d.country, d.product) for k, d in view.demands.items()),
                tuple(view.products),
                tuple((c.country, c.product, c.stage) for c in view.exposure_caps if c.max_share < 1),
            )
        )
        ids.append((id(view.facilities), id(view.facility_processes), id(view.demands), id(view.products)))
    # which years share a sheet's rows (by_year looks those years up together), as a pattern of first years
    first_alike = [tuple(next(j for j, other in enumerate(ids) if other[k] == row[k]) for k in range(4)) for row in ids]
    parts.append(tuple(first_alike))
    parts.append(tuple((n, f.country) for n, f in data.facilities.items()))
    parts.append(tuple((d.country, d.product) for d in data.demands))
    parts.append(tuple((q.name, q.stage, tuple(q.inputs), tuple(q.outputs)) for q in data.processes.values()))
    parts.append(tuple((p.name, p.facility, p.life, p.lead_time, p.funder, p.all_or_nothing) for p in data.projects))
    parts.append(tuple((s.key, s.initial_tag, s.initial > 0, s.max is None) for s in data.stockpiles))
    return tuple(parts)


def _spread(values, n: int) -> np.ndarray:
    """``np.broadcast_to(np.asarray(values, dtype=float), (n,))``: the same floats, without NumPy's broadcasting
    machinery for the two common cases (a number repeated, an array already of length n); others through it."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        return np.full(n, array)
    if array.shape == (n,):
        return array
    return np.broadcast_to(array, (n,))


def build_matrix(data: ModelData, sets: ModelSets, plan: Plan | None = None) -> MatrixLP:
    """Columns, rows and entries of the LP of :func:`model.formulation.build.build_model`.

    With ``plan``, structural results are taken from it when it was made for
    the same :func:`plan_key` (else it is cleared and filled): the result is
    the same LP, computed as the numbers of a known structure.
    """
    years = list(sets.years)
    views = {year: data.at(year) for year in years}
    discount = {year: data.discount_factor(year) for year in years}
    if plan is None:
        memo: dict = {}
    else:
        key = plan_key(data, sets, views)
        if plan.key != key:
            plan.key, plan.items = key, {}
        memo = plan.items

    def cached(name: str, compute: Callable[[], object]):
        if name not in memo:
            memo[name] = compute()
        return memo[name]

    def by_year_cached(frame, source, table, on, what):
        """:func:`by_year` with the look-up positions kept in the plan (the keys' order is in the plan's key)."""
        return by_year(frame, views, source, table, on, what, positions_of=memo.setdefault(("by_year", what), {}))

    # ---- structure: columns and the keys of every row ---------------------
    s = cached("structure", lambda: _structure(data, sets, views, by_year_cached))
    frames, col = s["frames"], s["col"]
    activity, unmet, surplus = frames["v_activity"], frames["v_unmet_demand"], frames["v_surplus"]
    expansion = frames["v_expansion"]
    n_cols = s["n_cols"]

    factors = np.array([discount[y] for y in years], dtype=float)

    def yearly(name: str) -> np.ndarray:
        """δ_y of each column of the family ``name``."""
        return factors[s["year_of"][name]]

    def facility_field(frame_name: str, frame: pd.DataFrame, name: str, what: str) -> np.ndarray:
        """A field of each line's facility as it is in the line's year."""
        return by_year_cached(
            frame,
            lambda view: view.facilities,
            lambda facilities: (list(facilities), [getattr(f, name) for f in facilities.values()]),
            ["facility"],
            f"{frame_name}: {what}",
        )

    def demand_field(frame_name: str, frame: pd.DataFrame, name: str) -> np.ndarray:
        return by_year_cached(
            frame,
            lambda view: view.demands,
            lambda demands: (list(demands), [getattr(d, name) for d in demands.values()]),
            ["demand"],
            f"{frame_name}: demand {name}",
        ).astype(float)

    trade_list = list(sets.trades.values())
    cost = np.zeros(n_cols)
    unit_cost = by_year_cached(
        activity,
        lambda view: view.facility_processes,
        lambda pairs: ([(fp.facility, fp.process) for fp in pairs], [fp.unit_cost for fp in pairs]),
        ["facility", "process"],
        "unit cost",
    ).astype(float)
    cost[col["v_activity"]] = unit_cost * yearly("v_activity")
    trade_cost = np.array([t.transport_cost + t.tariff_cost for t in trade_list], dtype=float)
    cost[col["v_shipment"]] = trade_cost[s["shipment_trade"]] * yearly("v_shipment")
    cost[col["v_unmet_demand"]] = demand_field("unmet", unmet, "unmet_penalty") * yearly("v_unmet_demand")
    surplus_price = by_year_cached(
        surplus,
        lambda view: view.products,
        lambda products: (list(products), [p.surplus_price for p in products.values()]),
        ["product"],
        "surplus price",
    ).astype(float)
    cost[col["v_surplus"]] = -surplus_price * yearly("v_surplus")
    # An addition is paid every year from its own on, at its own year's cost.
    from_on = {y: sum(discount[later] for later in years if later >= y) for y in years}
    expansion_cost = facility_field("expansion", expansion, "expansion_cost", "expansion cost").astype(float)
    from_on_factor = np.array([from_on[y] for y in years], dtype=float)
    cost[col["v_expansion"]] = expansion_cost * from_on_factor[s["year_of"]["v_expansion"]]
    projects = {project.name: project for project in data.projects}
    cost[col["v_build"]] = [
        annual_cost(data, projects[name]) * sum(discount[y] for y in years if start <= y <= start + life - 1)
        for name, start, life in s["build_rows"]
    ]
    holding = {st.key: st.holding_cost for st in data.stockpiles}
    cost[col["v_stock"]] = np.array([holding[key] for key in s["stock_keys"]], dtype=float) * yearly("v_stock")
    penalty = float(data.settings["unmet_demand_penalty"])
    cost[col["v_cover_shortfall"]] = penalty * yearly("v_cover_shortfall")
    cost[col["v_min_flow_shortfall"]] = penalty * yearly("v_min_flow_shortfall")

    col_lower = np.zeros(n_cols)
    col_upper = np.full(n_cols, np.inf)
    expansion_max = facility_field("expansion", expansion, "expansion_max", "expansion max")
    col_upper[col["v_expansion"]] = expansion_max.astype(float)
    col_upper[col["v_build"]] = 1.0

    # ---- the numbers of the rows ----------------------------------------
    recipe_coef = np.array(
        [-c for q in data.processes.values() for c in q.inputs.values()]
        + [c for q in data.processes.values() for c in q.outputs.values()],
        dtype=float,
    )
    flow_coef = recipe_coef[s["flow_recipe"]]
    made_coef = recipe_coef[s["made_recipe"]]
    initial = np.array([-st.initial for st in data.stockpiles if st.initial > 0], dtype=float)
    rhs = np.zeros(s["n_balance"])
    rhs[s["initial_rows"]] = initial
    capacity = facility_field("candidates", s["candidates"], "capacity", "capacity").astype(float)
    sizes = {p.name: p.capacity for p in data.projects}
    online_size = np.array([sizes[p] for p in s["online_projects"]], dtype=float)
    additions_max = (
        facility_field("candidates", s["candidates"], "expansion_max", "expansion max").astype(float)
        if len(years) > 1
        else np.inf
    )
    needed = demand_field("unmet", unmet, "quantity")
    max_flow = np.array([np.nan if t.max_flow is None else t.max_flow for t in trade_list], dtype=float)
    shares: dict[tuple[int, str, int], float] = {}
    demand_of = s["demand_of"]
    for year, view in views.items():
        for c in view.exposure_caps:
            if c.max_share < 1:
                shares[demand_of[c.country, c.product], c.stage, year] = c.max_share
    cap_share = np.array([shares[key] for key in s["cap_keys"]], dtype=float)
    cap_limit = cap_share * demand_field("caps", s["cap_heads"], "quantity")
    capex = {p.name: p.capex for p in data.projects}
    funded_capex = np.array([capex[p] for p in s["funded_projects"]], dtype=float)
    budget = [data.budgets[funder][int(year)] for funder, year in s["budget_heads"]]
    stockpiles = {st.key: st for st in data.stockpiles}
    demanded = {
        year: {(d.country, d.product): d.quantity for d in view.demands.values()} for year, view in views.items()
    }
    required = [stockpiles[k, p].min_days / DAYS_PER_YEAR * demanded[y].get((k, p), 0.0) for k, p, y in s["cover_rows"]]
    stock_max = [stockpiles[k, p].max for k, p, _ in s["stock_max_heads"]]
    minimum = [sets.min_flows[key] for key in sets.offtake]

    numbers = {
        "balance_constraint": (rhs, rhs),
        "capacity_constraint": (-np.inf, capacity),
        "expansion_limit_constraint": (-np.inf, additions_max),
        "demand_constraint": (needed, needed),
        "no_reexport_constraint": (-np.inf, 0.0),
        "quota_constraint": (-np.inf, max_flow[s["quota_present"]]),
        "exposure_cap_constraint": (-np.inf, cap_limit),
        "build_once_constraint": (-np.inf, 1.0),
        "budget_constraint": (-np.inf, budget),
        "cover_constraint": (required, np.inf),
        "stock_max_constraint": (-np.inf, stock_max),
        "min_flow_constraint": (minimum, np.inf),
    }
    coefficients = {"flow": flow_coef, "made": -made_coef, "online": -online_size, "capex": funded_capex}
    row_lower, row_upper = [], []
    for name, (first, last) in s["row_blocks"].items():
        lower, upper = numbers[name]
        row_lower.append(_spread(lower, last - first))
        row_upper.append(_spread(upper, last - first))
    values = [_spread(coefficients[coefs] if isinstance(coefs, str) else coefs, n) for coefs, n in s["entry_values"]]
    lp = MatrixLP(
        cost=cost,
        col_lower=col_lower,
        col_upper=col_upper,
        row_lower=np.concatenate(row_lower),
        row_upper=np.concatenate(row_upper),
        rows=s["rows"],
        cols=s["cols"],
        values=np.concatenate(values).astype(float) if values else np.zeros(0),
        column_blocks=s["column_blocks"],
        row_blocks=dict(s["row_blocks"]),
        integer=s["integer"],
    )
    return compact(lp)


def _structure(data: ModelData, sets: ModelSets, views: dict[int, YearData], by_year_cached: Callable) -> dict:
    """The structural part of :func:`build_matrix`: columns, row keys and entry positions (no costs or bounds).

    Entries' coefficients are given as a constant or as the name of a number
    array computed per build (``flow``: recipe coefficients, ``made``: output
    coefficients negated, ``online``: project sizes negated, ``capex``).
    """
    years = list(sets.years)
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
    expansion, build, stock = frames["v_expansion"], frames["v_build"], frames["v_stock"]
    shortfall, offtake = frames["v_cover_shortfall"], frames["v_min_flow_shortfall"]

    entry_rows: list[np.ndarray] = []
    entry_cols: list[np.ndarray] = []
    entry_values: list[tuple[object, int]] = []  # (constant or name of a number array, count)
    row_blocks: dict[str, tuple[int, int]] = {}

    def add_block(name: str, count: int) -> int:
        first = max((last for _, last in row_blocks.values()), default=0)
        row_blocks[name] = (first, first + count)
        return first

    def add(rows: np.ndarray, cols: np.ndarray, coefs) -> None:
        entry_rows.append(np.asarray(rows))
        entry_cols.append(np.asarray(cols))
        entry_values.append((coefs, len(cols)))

    def facility_field(frame: pd.DataFrame, name: str, what: str) -> np.ndarray:
        return by_year(
            frame,
            views,
            lambda view: view.facilities,
            lambda facilities: (list(facilities), [getattr(f, name) for f in facilities.values()]),
            ["facility"],
            what,
        )

    trade_index = pd.MultiIndex.from_frame(rows_of["trades"][TRADE + extra])
    shipment["trade"] = positions(trade_index, shipment[TRADE + extra], "shipment → trade")
    shipment_trade = shipment["trade"].to_numpy(dtype=np.int64)
    whole = {project.name for project in data.projects if project.all_or_nothing}
    integer = col["v_build"][build["project"].isin(whole).to_numpy(dtype=bool)]

    year_of = {name: pd.Index(years).get_indexer(frame["year"]) for name, frame in frames.items()}
    if any((found < 0).any() for found in year_of.values()):
        raise ValueError("a variable's year is not a model year; the matrix build has drifted from the index sets")

    # ---- recipe entries of activities (inputs −, outputs +) ---------------
    demand_country = np.array([d.country for d in data.demands], dtype=object)
    demand_product = np.array([d.product for d in data.demands], dtype=object)
    facility_country = {name: f.country for name, f in data.facilities.items()}
    recipe = pd.DataFrame(
        [(q.name, p, False) for q in data.processes.values() for p in q.inputs]
        + [(q.name, p, True) for q in data.processes.values() for p in q.outputs],
        columns=["process", "product", "output"],
    )
    recipe["recipe"] = np.arange(len(recipe))
    activity["country"] = activity["facility"].map(facility_country)
    drawn = pd.DataFrame(
        {
            "tag": activity["tag"],
            "stage": activity["process"].map({name: q.stage for name, q in data.processes.items()}),
            "restricted": facility_field(activity, "restricted", "restricted flag").astype(bool),
        }
    )
    outputs = drawn.drop_duplicates()
    outputs["out_tag"] = [sets.output_tag(t, st, r) for t, st, r in outputs.itertuples(index=False)]
    activity["out_tag"] = drawn.merge(outputs, how="left", on=["tag", "stage", "restricted"])["out_tag"].to_numpy()
    flows = activity.merge(recipe, on="process")
    flows["node_tag"] = np.where(flows["output"], flows["out_tag"], flows["tag"])
    delivery["country"] = demand_country[delivery["demand"].to_numpy(dtype=np.int64)]
    delivery["product"] = demand_product[delivery["demand"].to_numpy(dtype=np.int64)]

    def node(frame: pd.DataFrame, country: str, product: str, tag: str) -> pd.DataFrame:
        return frame[[country, product, tag, *extra]].set_axis(NODE + extra, axis=1)

    # ---- balance rows ------------------------------------------------------
    balance = pd.MultiIndex.from_frame(rows_of["balance"][NODE + extra])
    initial = [
        (st.country, st.product, sets.label(st.initial_tag), years[0]) for st in data.stockpiles if st.initial > 0
    ]
    if initial:
        table = pd.DataFrame(initial, columns=[*NODE, "year"])
        initial_rows = positions(balance, table[NODE + extra], "initial stock")
    else:
        initial_rows = np.zeros(0, dtype=np.int64)
    first = add_block("balance_constraint", len(balance))
    carried = stock[stock["year"] < years[-1]].assign(year=lambda frame: frame["year"] + 1)
    for keys, columns, coefs in [
        (node(flows, "country", "product", "node_tag"), flows["column"].to_numpy(), "flow"),
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

    # ---- capacity rows -----------------------------------------------------
    facility_columns = ["facility", *extra]
    candidates = pd.DataFrame(
        [(name, year) for year, view in views.items() for name in view.facilities], columns=["facility", "year"]
    ).astype({"year": np.int64})
    capacity = pd.MultiIndex.from_frame(candidates[facility_columns])
    first = add_block("capacity_constraint", len(capacity))
    add(positions(capacity, activity[facility_columns], "capacity") + first, col["v_activity"], 1.0)
    slots = candidates.assign(row=np.arange(len(candidates))).rename(columns={"year": "row_year"})
    added = expansion[["facility", "year", "column"]].merge(slots, on="facility")
    added = added[added["row_year"] >= added["year"]]
    add(added["row"].to_numpy() + first, added["column"].to_numpy(), -1.0)
    online = build[["project", "year", "column"]].assign(
        facility=build["project"].map({p.name: p.facility for p in data.projects}),
        end=build["year"] + build["project"].map({p.name: p.life - 1 for p in data.projects}),
    )
    online = online.merge(slots, on="facility")
    online = online[(online["row_year"] >= online["year"]) & (online["row_year"] <= online["end"])]
    add(online["row"].to_numpy() + first, online["column"].to_numpy(), "online")
    if len(years) > 1:
        first = add_block("expansion_limit_constraint", len(candidates))
        add(added["row"].to_numpy() + first, added["column"].to_numpy(), 1.0)
    else:
        add_block("expansion_limit_constraint", 0)

    # ---- demand rows -------------------------------------------------------
    demand = pd.MultiIndex.from_frame(unmet[["demand", *extra]])
    first = add_block("demand_constraint", len(demand))
    add(positions(demand, delivery[["demand", *extra]], "demand") + first, col["v_delivery"], 1.0)
    add(np.arange(len(demand)) + first, col["v_unmet_demand"], 1.0)

    # ---- no re-export rows -------------------------------------------------
    exports = pd.MultiIndex.from_frame(rows_of["exports"][NODE + extra])
    first = add_block("no_reexport_constraint", len(exports))
    add(positions(exports, node(shipment, "origin", "product", "tag"), "no re-export") + first, col["v_shipment"], 1.0)
    made = flows[flows["output"]]
    found = exports.get_indexer(pd.MultiIndex.from_frame(node(made, "country", "product", "out_tag")))
    keep = found >= 0  # output that is not exported has no row
    add(found[keep] + first, made["column"].to_numpy()[keep], "made")
    made_recipe = made["recipe"].to_numpy()[keep]

    # ---- quota rows --------------------------------------------------------
    limited_mask = np.array([t.max_flow is not None for t in sets.trades.values()], dtype=bool)[shipment_trade]
    limited = shipment[limited_mask] if len(shipment) else shipment
    present = np.unique(limited["trade"].to_numpy(dtype=np.int64))  # trades in trade order
    first = add_block("quota_constraint", len(present))
    add(np.searchsorted(present, limited["trade"].to_numpy(dtype=np.int64)) + first, limited["column"].to_numpy(), 1.0)

    # ---- exposure cap rows (order: first place of each cap) ---------------
    demand_of = cap_index(data)
    cap_keys: dict[tuple[int, str, int], None] = {}
    for year, view in views.items():
        for c in view.exposure_caps:
            if c.max_share < 1:
                cap_keys[demand_of[c.country, c.product], c.stage, year] = None
    caps = pd.DataFrame(list(cap_keys), columns=["demand", "stage", "year"]).astype(
        {"demand": np.int64, "year": np.int64}
    )
    caps["order"] = np.arange(len(caps))
    members = delivery[["demand", "tag", "year", "column"]].astype({"demand": np.int64, "year": np.int64})
    members = members.merge(caps, on=["demand", "year"])
    pairs = members[["tag", "stage"]].drop_duplicates()
    counts = {(t, st): exposed(sets.tags[t], st) for t, st in zip(pairs["tag"], pairs["stage"], strict=True)}
    mask = np.array([counts[t, st] for t, st in zip(members["tag"], members["stage"], strict=True)], dtype=bool)
    members = members[mask]
    group = members.groupby("order", sort=True)
    row = group.ngroup().to_numpy()
    heads = group.first()
    cap_list = list(cap_keys)
    heads_order = heads.index.to_numpy(dtype=np.int64)
    heads_keys = [cap_list[order] for order in heads_order]
    first = add_block("exposure_cap_constraint", len(heads))
    add(row + first, members["column"].to_numpy(), 1.0)

    # ---- build once --------------------------------------------------------
    once = build.groupby("project", sort=False)["column"]
    several = build["project"].map(once.size()).to_numpy() > 1
    chosen = build[several]
    row = chosen.groupby("project", sort=False).ngroup().to_numpy()
    first = add_block("build_once_constraint", int(row.max()) + 1 if len(row) else 0)
    add(row + first, chosen["column"].to_numpy(), 1.0)

    # ---- budgets -----------------------------------------------------------
    funded = build.assign(
        funder=build["project"].map({p.name: p.funder for p in data.projects}),
        decided=np.maximum(
            years[0], build["year"] - build["project"].map({p.name: p.lead_time for p in data.projects})
        ),
    )
    funded = funded[funded["funder"].notna()]
    group = funded.groupby(["funder", "decided"], sort=False)
    row = group.ngroup().to_numpy()
    budget_heads = list(group.size().index)
    first = add_block("budget_constraint", len(budget_heads))
    add(row + first, funded["column"].to_numpy(), "capex")

    # ---- stock cover -------------------------------------------------------
    cover_columns = ["country", "product", *extra]
    cover = pd.MultiIndex.from_frame(shortfall[cover_columns])
    first = add_block("cover_constraint", len(cover))
    add(np.arange(len(cover)) + first, col["v_cover_shortfall"], 1.0)
    found = cover.get_indexer(pd.MultiIndex.from_frame(stock[cover_columns])) if len(stock) else np.zeros(0, int)
    add(found[found >= 0] + first, col["v_stock"][found >= 0], 1.0)  # years without a cover have no row

    # ---- largest stock -----------------------------------------------------
    stock_keys = list(zip(stock["country"], stock["product"], strict=True))
    has_max = {st.key: st.max is not None for st in data.stockpiles}
    capped = stock[np.array([has_max[key] for key in stock_keys], dtype=bool)]
    group = capped.groupby(["country", "product", "year"], sort=False)
    row = group.ngroup().to_numpy()
    stock_max_heads = list(group.size().index)
    first = add_block("stock_max_constraint", len(stock_max_heads))
    add(row + first, capped["column"].to_numpy(), 1.0)

    # ---- contracted offtakes -----------------------------------------------
    contracts = pd.MultiIndex.from_frame(offtake[TRADE + extra])
    first = add_block("min_flow_constraint", len(contracts))
    found = contracts.get_indexer(pd.MultiIndex.from_frame(shipment[TRADE + extra])) if len(shipment) else np.zeros(0)
    found = np.asarray(found, dtype=np.int64)
    add(found[found >= 0] + first, col["v_shipment"][found >= 0], 1.0)  # trades without a min_flow have no row
    add(np.arange(len(contracts)) + first, col["v_min_flow_shortfall"], 1.0)

    return {
        "frames": frames,
        "col": col,
        "extra": extra,
        "n_cols": n_cols,
        "column_blocks": column_blocks,
        "year_of": year_of,
        "shipment_trade": shipment_trade,
        "build_rows": list(
            zip(build["project"], build["year"], [data_life(data, p) for p in build["project"]], strict=True)
        ),
        "stock_keys": stock_keys,
        "integer": np.asarray(integer, dtype=np.int64),
        "flow_recipe": flows["recipe"].to_numpy(),
        "made_recipe": made_recipe,
        "n_balance": len(balance),
        "initial_rows": initial_rows,
        "candidates": candidates,
        "online_projects": online["project"].to_numpy(),
        "quota_present": present,
        "demand_of": demand_of,
        "cap_keys": heads_keys,
        "cap_heads": caps.iloc[heads_order][["demand", "year"]].reset_index(drop=True),
        "funded_projects": funded["project"].to_numpy(),
        "budget_heads": budget_heads,
        "cover_rows": list(zip(shortfall["country"], shortfall["product"], shortfall["year"], strict=True)),
        "stock_max_heads": stock_max_heads,
        "row_blocks": row_blocks,
        "rows": np.concatenate(entry_rows).astype(np.int64) if entry_rows else np.zeros(0, dtype=np.int64),
        "cols": np.concatenate(entry_cols).astype(np.int64) if entry_cols else np.zeros(0, dtype=np.int64),
        "entry_values": entry_values,
    }


def data_life(data: ModelData, project: str) -> int:
    """The life in years of the project named ``project``."""
    return next(p.life for p in data.projects if p.name == project)


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
