"""Sparse index sets of the LP, derived from the data.

Exposure tags
-------------
A tag is the set of stages at which a lot of material passed through a
restricted facility (the empty tag = clean).  Activity of process ``q`` at a
restricted facility turns input tag ``t`` into output tag ``t ∪ {stage(q)}``;
elsewhere the output keeps ``t``.  A recipe draws all its inputs with one tag
``t``; inputs with smaller tags are relabelled upward to ``t`` first.

Only reachable tags are created.  A fixed point over the network computes,
for each node (country k, product p):

* ``produced[k, p]``: tags of p made in k,
* ``available[k, p]``: tags made in k or importable from a country that makes
  p and may ship it to k (no re-export: only producers ship),
* ``activity_tags[f, q]``: tags an activity can draw = unions of one
  available tag per input (a source draws only the clean tag),

and the relabelling targets ``needed[k, p]`` = the activity tags of
processes in k that consume p.  Variables exist only on these sets.

Years
-----
Tags are computed once, over the union of every year's network (pairs,
trades, and the tags of initial stocks); each year then has variables only
for what exists in it: the pairs of its facilities, its trades, its demand
rows.

Trades
------
A trade (origin o, destination d, product p) is created only where o has a
facility that makes p and d has a use for p (a facility consuming it or a
demand row).  Its lane columns are resolved rule by rule (see
:mod:`model.wildcards`); banned trades and zero quotas create nothing.

Contracted offtakes
-------------------
A lane's ``min_flow`` (SPEC Part 4) applies, per year, to each trade the
row matches among those that could exist (origin makes the product,
destination uses it), and always to the trade a row names in all three key
cells.  Each gets a shortfall (``offtake``, ``min_flows``); where the trade
cannot carry it (banned, a zero quota, no maker or no user) the whole
min_flow is shortfall, with a warning, as it is where a quota is below it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from model.data import ModelData, YearData
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
from model.workbook.schema import WILDCARD
from model.workbook.validate import lane_table

Tag = frozenset
CLEAN_LABEL = "clean"


def tag_label(tag: frozenset, stages: list[str]) -> str:
    """Readable name of a tag: stages in chain order joined by '+'."""
    return "+".join(s for s in stages if s in tag) or CLEAN_LABEL


@dataclass(frozen=True)
class Trade:
    origin: str
    destination: str
    product: str
    transport_cost: float  # USD/t
    tariff_rate: float  # fraction of product value
    tariff_cost: float  # USD/t = tariff_rate × value
    max_flow: float | None  # t/yr quota, None = unlimited


@dataclass
class ModelSets:
    """Index sets (lists of named keys, in a stable order) and tag bookkeeping.

    Each list is the index of one variable family (``v_<family>``) or row
    family; the position of a key in its list is the variable's index.
    """

    stages: list[str]
    years: list[int]
    tags: dict[str, frozenset]  # label -> set of stages
    trades: dict[TradeKey, Trade]
    activity: list[ActivityKey]
    shipment: list[ShipmentKey]
    relabel: list[RelabelKey]
    delivery: list[DeliveryKey]
    unmet: list[DemandKey]
    surplus: list[NodeKey]
    balance: list[NodeKey]
    exports: list[NodeKey]  # origin, product, tag with shipments
    expansion: list[FacilityKey]  # facilities that may expand, in the year of the addition
    build: list[BuildKey] = field(default_factory=list)  # projects, in the years they may come online
    stock: list[StockKey] = field(default_factory=list)
    cover: list[StockpileKey] = field(default_factory=list)  # stockpiles with a cover target in the year
    warnings: list[str] = field(default_factory=list)
    offtake: list[TradeKey] = field(default_factory=list)  # trades with a min_flow, year by year (SPEC Part 4)
    min_flows: dict[TradeKey, float] = field(default_factory=dict)  # t/yr that must flow on each of them
    _output_tags: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def output_tag(self, tag: str, stage: str, restricted: bool) -> str:
        """Tag of the output of an activity drawing ``tag`` (memoised)."""
        if not restricted:
            return tag
        key = (tag, stage)
        out = self._output_tags.get(key)
        if out is None:
            out = self._output_tags[key] = self.label(self.tags[tag] | {stage})
        return out

    def label(self, tag: frozenset) -> str:
        return tag_label(tag, self.stages)


def resolve_trades(data: ModelData, view: YearData) -> dict[TradeKey, Trade]:
    """Allowed trades of one year between producers and users, lane columns resolved.

    Users are countries with a facility consuming the product, a demand row
    for it, or a stockpile of it.
    """
    makers, users = trade_ends(data, view)
    table = lane_table(view.lane_rules)
    trades = {}
    for product in data.products:
        for origin in sorted(makers[product]):
            for destination in sorted(users[product]):
                if origin == destination:
                    continue
                resolved, _ = table.resolve((origin, destination, product))
                allowed = resolved.get("allowed", (True, 0))[0]
                max_flow = resolved.get("max_flow", (None, 0))[0]
                if not allowed or max_flow == 0:
                    continue
                tariff_rate = float(resolved.get("tariff", (0.0, 0))[0])
                trades[TradeKey(origin, destination, product, view.year)] = Trade(
                    origin,
                    destination,
                    product,
                    float(resolved.get("transport_cost", (data.default_transport_cost, 0))[0]),
                    tariff_rate,
                    tariff_rate * view.products[product].value,
                    max_flow,
                )
    return trades


def trade_ends(data: ModelData, view: YearData) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per product, the countries that make it and those that use it in one year."""
    makers: dict[str, set[str]] = defaultdict(set)
    users: dict[str, set[str]] = defaultdict(set)
    for pair in view.facility_processes:
        process = data.processes[pair.process]
        country = view.facilities[pair.facility].country
        for product in process.outputs:
            makers[product].add(country)
        for product in process.inputs:
            users[product].add(country)
    for demand in view.demands.values():
        users[demand.product].add(demand.country)
    for stockpile in data.stockpiles:
        users[stockpile.product].add(stockpile.country)
    return makers, users


def resolve_min_flows(
    data: ModelData, view: YearData, trades: dict[TradeKey, Trade]
) -> tuple[dict[TradeKey, float], list[str]]:
    """Contracted offtakes of one year: min_flow (t/yr) per trade, and warnings where it cannot all flow.

    A warning holds ``{years}`` where the years it applies to go (:func:`offtake_warnings`).

    Candidates are the trades that could exist (origin makes, destination
    uses the product) and the trades lane rows with a min_flow name in full;
    each takes its min_flow column from the most specific matching row with
    a value, like every lane column.  ``trades`` are the year's allowed
    trades (:func:`resolve_trades`).
    """
    if not any(rule.min_flow for rule in view.lane_rules):
        return {}, []
    makers, users = trade_ends(data, view)
    candidates = {
        (origin, destination, product)
        for product in data.products
        for origin in makers[product]
        for destination in users[product]
        if origin != destination
    }
    named = [rule for rule in view.lane_rules if rule.min_flow and WILDCARD not in rule.keys]
    candidates |= {rule.keys for rule in named if rule.product in data.products}
    table = lane_table(view.lane_rules)
    found: dict[TradeKey, float] = {}
    notes: list[str] = []
    for origin, destination, product in sorted(candidates):
        resolved, _ = table.resolve((origin, destination, product))
        value, row = resolved.get("min_flow", (None, 0))
        if not value:
            continue
        key = TradeKey(origin, destination, product, view.year)
        found[key] = float(value)
        trade = trades.get(key)
        where = f"lanes row {row}: min_flow {value:g} t/yr on {origin} → {destination} {product}"
        if trade is None:
            if not resolved.get("allowed", (True, 0))[0]:
                why = f"the trade is banned (allowed = no, lanes row {resolved['allowed'][1]})"
            elif resolved.get("max_flow", (None, 0))[0] == 0:
                why = f"its max_flow is 0 (lanes row {resolved['max_flow'][1]})"
            elif origin not in makers[product]:
                why = f"no facility in {origin} makes {product}"
            else:
                why = f"nothing in {destination} uses {product}"
            notes.append(f"{where} cannot flow{{years}}: {why}; all of it is priced as a shortfall")
        elif trade.max_flow is not None and trade.max_flow < value:
            notes.append(
                f"{where} is above its max_flow of {trade.max_flow:g} t/yr{{years}}; at least the difference is "
                "priced as a shortfall"
            )
    return found, notes


def offtake_warnings(data: ModelData, notes: list[tuple[int, str]]) -> list[str]:
    """Each (year, warning) once, naming the years it holds in where the case has years."""
    years: dict[str, list[int]] = defaultdict(list)
    for year, note in notes:
        years[note].append(year)
    out = []
    for note, found in years.items():
        if not data.has_years:
            when = ""
        elif len(found) == 1:
            when = f" in {found[0]}"
        else:
            when = f" in {', '.join(str(y) for y in found)}"
        out.append(note.replace("{years}", when))
    return out


def build_sets(data: ModelData) -> ModelSets:
    """Reachable tags and every sparse index set of the LP, year by year."""
    views = [data.at(year) for year in data.years]
    trades: dict[TradeKey, Trade] = {}
    min_flows: dict[TradeKey, float] = {}
    offtake_notes: list[tuple[int, str]] = []
    for view in views:
        year_trades = resolve_trades(data, view)
        trades.update(year_trades)
        found, notes = resolve_min_flows(data, view, year_trades)
        min_flows.update(found)
        offtake_notes += [(view.year, note) for note in notes]
    destinations: dict[tuple[str, str], set[str]] = defaultdict(set)
    for trade in trades:
        destinations[trade.origin, trade.product].add(trade.destination)

    # Pairs of the union network: (facility, process, restricted) as in any year.
    pair_index: dict[tuple[str, str, bool], int] = {}
    pairs: list[tuple[str, object, str, bool]] = []  # facility, process, country, restricted
    for view in views:
        for pair in view.facility_processes:
            facility = view.facilities[pair.facility]
            key = (pair.facility, pair.process, facility.restricted)
            if key not in pair_index:
                pair_index[key] = len(pairs)
                pairs.append((pair.facility, data.processes[pair.process], facility.country, facility.restricted))
    produced: dict[tuple[str, str], set[frozenset]] = defaultdict(set)
    available: dict[tuple[str, str], set[frozenset]] = defaultdict(set)
    activity_tags: dict[tuple[str, str], set[frozenset]] = defaultdict(set)  # facility, process -> input tags
    drawn: list[set[frozenset]] = [set() for _ in pairs]  # per pair of the union network
    consumers: dict[tuple[str, str], list[int]] = defaultdict(list)  # node -> pairs drawing on it
    for index, (_, process, country, _) in enumerate(pairs):
        for product in process.inputs:
            consumers[country, product].append(index)
    for stockpile in data.stockpiles:
        if stockpile.initial > 0:
            available[stockpile.country, stockpile.product].add(stockpile.initial_tag)
    clean = frozenset()
    # Worklist fixed point: a pair is looked at again only when a node it
    # draws on gained a tag.  First-in first-out, starting in chain order
    # (stages as listed), so that most pairs see all their inputs' tags the
    # first time they are looked at.
    stage_rank = {stage: rank for rank, stage in enumerate(data.stages)}
    pending = deque(sorted(range(len(pairs)), key=lambda i: stage_rank[pairs[i][1].stage]))
    queued = set(pending)
    while pending:
        index = pending.popleft()
        queued.discard(index)
        facility_name, process, country, restricted = pairs[index]
        options = {clean}
        for product in process.inputs:
            options = {a | b for a in options for b in available[country, product]}
            if not options:
                break
        new = options - drawn[index]
        if not new:
            continue
        drawn[index] |= new
        activity_tags[facility_name, process.name] |= new
        for tag in new:
            out = tag | {process.stage} if restricted else tag
            for product in process.outputs:
                if out in produced[country, product]:
                    continue
                produced[country, product].add(out)
                for node in [(country, product), *((d, product) for d in destinations[country, product])]:
                    if out in available[node]:
                        continue
                    available[node].add(out)
                    for waiting in consumers[node]:
                        if waiting not in queued:
                            queued.add(waiting)
                            pending.append(waiting)

    stages = data.stages
    labels: dict[str, frozenset] = {}
    names: dict[frozenset, str] = {}
    sort_keys: dict[frozenset, tuple[int, str]] = {}

    def label(tag: frozenset) -> str:
        name = names.get(tag)
        if name is None:
            name = names[tag] = tag_label(tag, stages)
            labels[name] = tag
        return name

    def ordered(tags: set[frozenset]) -> list[frozenset]:
        for tag in tags:
            if tag not in sort_keys:
                sort_keys[tag] = (len(tag), label(tag))
        return sorted(tags, key=sort_keys.__getitem__)

    activity: list[ActivityKey] = []
    shipment: list[ShipmentKey] = []
    relabel: list[RelabelKey] = []
    delivery: list[DeliveryKey] = []
    unmet: list[DemandKey] = []
    surplus: list[NodeKey] = []
    balance: list[NodeKey] = []
    exports: list[NodeKey] = []
    expansion: list[FacilityKey] = []
    stock: list[StockKey] = []
    cover: list[StockpileKey] = []
    warnings: list[str] = []
    unreachable: set[int] = set()
    stock_tags = {
        (s.country, s.product): ordered(available[s.country, s.product] | ({s.initial_tag} if s.initial > 0 else set()))
        for s in data.stockpiles
    }
    for view in views:
        year = view.year
        needed: dict[tuple[str, str], set[frozenset]] = defaultdict(set)
        made: dict[tuple[str, str], set[frozenset]] = defaultdict(set)
        for pair in view.facility_processes:
            facility = view.facilities[pair.facility]
            process = data.processes[pair.process]
            for tag in ordered(activity_tags[pair.facility, pair.process]):
                activity.append(ActivityKey(pair.facility, pair.process, label(tag), year))
                for product in process.inputs:
                    needed[facility.country, product].add(tag)
                out = tag | {process.stage} if facility.restricted else tag
                for product in process.outputs:
                    made[facility.country, product].add(out)

        year_exports = set()
        for trade in trades:
            if trade.year != year:
                continue
            for tag in ordered(made[trade.origin, trade.product]):
                shipment.append(ShipmentKey(trade.origin, trade.destination, trade.product, label(tag), year))
                year_exports.add(NodeKey(trade.origin, trade.product, label(tag), year))
        exports += sorted(year_exports)

        for (country, product), targets in needed.items():
            for target in ordered(targets):
                for source in ordered(available[country, product]):
                    if source < target:
                        relabel.append(RelabelKey(country, product, label(source), label(target), year))

        for index, demand in view.demands.items():
            tags = available.get((demand.country, demand.product), set())
            if not tags and demand.quantity > 0 and index not in unreachable:
                unreachable.add(index)
                warnings.append(
                    f"{demand.country} demand for {demand.product} (demand row {demand.row}) cannot be reached by "
                    "any facility or allowed trade; it will show as unmet"
                )
            for tag in ordered(tags):
                delivery.append(DeliveryKey(index, label(tag), year))
            unmet.append(DemandKey(index, year))

        surplus += [NodeKey(k, p, label(t), year) for (k, p), tags in made.items() for t in ordered(tags)]
        nodes = set()
        for (k, p), tags in available.items():
            nodes.update(NodeKey(k, p, label(t), year) for t in tags)
        for (k, p), tags in needed.items():
            nodes.update(NodeKey(k, p, label(t), year) for t in tags)
        for (k, p), tags in stock_tags.items():
            nodes.update(NodeKey(k, p, label(t), year) for t in tags)
            stock += [StockKey(k, p, label(t), year) for t in tags]
        balance += sorted(nodes)

        expansion += [FacilityKey(f.name, year) for f in view.facilities.values() if f.expansion_max > 0]
        for stockpile in data.stockpiles:
            if stockpile.min_days > 0 and year >= stockpile.from_year and year not in data.stock_release_years:
                cover.append(StockpileKey(stockpile.country, stockpile.product, year))

    return ModelSets(
        stages=stages,
        years=list(data.years),
        tags=labels,
        trades=trades,
        activity=activity,
        shipment=shipment,
        relabel=relabel,
        delivery=delivery,
        unmet=unmet,
        surplus=surplus,
        balance=balance,
        exports=exports,
        expansion=expansion,
        build=[BuildKey(project.name, year) for project in data.projects for year in project.online_years],
        stock=stock,
        cover=cover,
        warnings=warnings + offtake_warnings(data, offtake_notes),
        offtake=list(min_flows),
        min_flows=min_flows,
    )


def sets_inputs(data: ModelData) -> tuple:
    """Everything :func:`build_sets` reads from ``data``: equal ``sets_inputs``, equal index sets.

    The structural fields (which facilities, pairs, demand rows, products,
    stockpiles and projects exist in each year and how they connect), the
    few tests on numbers the sets make (a demand quantity above 0, an
    expansion_max above 0, an initial stock above 0, a min_days above 0),
    and whole the numbers the sets carry (every lane rule, with its
    costs, tariffs, quotas and min_flows; each year's product values, of
    which tariffs are a share; the default transport cost).  Capacities,
    unit costs, quantities, penalties, caps, recipes' coefficients,
    projects' capacities and costs are not read.  A batch compares these
    to skip building the sets of a variant that changes only such numbers
    (:mod:`model.batch.reuse`); ``tests/test_fast_sets.py`` changes every
    column of every sheet and requires equal sets wherever these are equal.
    Keep it in step with :func:`build_sets`.
    """
    years = []
    for year in data.years:
        view = data.at(year)
        years.append(
            (
                view.year,
                tuple((pair.facility, pair.process) for pair in view.facility_processes),
                tuple(
                    (name, f.name, f.country, f.restricted, f.expansion_max > 0) for name, f in view.facilities.items()
                ),
                tuple((index, d.country, d.product, d.quantity > 0, d.row) for index, d in view.demands.items()),
                tuple(view.lane_rules),
                tuple((name, product.value) for name, product in view.products.items()),
            )
        )
    return (
        tuple(data.years),
        tuple(data.stages),
        data.has_years,
        frozenset(data.stock_release_years),
        data.default_transport_cost,
        tuple(data.products),
        tuple((name, p.name, p.stage, tuple(p.inputs), tuple(p.outputs)) for name, p in data.processes.items()),
        tuple(
            (s.country, s.product, s.initial > 0, s.initial_tag, s.min_days > 0, s.from_year) for s in data.stockpiles
        ),
        tuple((p.name, p.online_years) for p in data.projects),
        tuple(years),
    )
