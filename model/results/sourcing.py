"""Where delivered material came from at each stage, traced through the exposure tags.

The LP keeps material apart by its exposure tag: node (country k, product p,
tag t) is its own balance.  The tracing follows the same tagged pools, so
that what it attributes to restricted facilities is exactly what the tags,
and therefore the reported exposure, count:

    for every demand row j, year y and stage s:
        Σ_{c} share_j(s, c, restricted) · delivered_jy  =  Σ_{t ∋ s} delivery[j, t, y]  =  exposure_s · quantity_jy

(shares are of the delivered quantity, exposure of the demand quantity; they
agree when the demand is met).  A *mix* m(s, c, r) is the fraction of a pool
whose stage-s step is attributed to country c at a restricted (r = yes) or
other (r = no) facility.  Rules, one per way material moves in the LP:

* **Activity.**  A facility f in country k running process q (stage σ) on
  inputs drawn with tag t, from the pools (k, p, t), in input-mass weights
  a⁻_qp · x:
  - a stage s ∉ t: the input-mass-weighted average of the inputs' stage-s
    mixes (an input that never went through s adds nothing, so the mix sums
    to at most 1);
  - a stage s ∈ t: the inputs' restricted stage-s attributions, in
    input-mass weights, rescaled to sum to 1 (see relabelling);
  - the stage σ itself: (k, restricted) = 1 at a restricted facility (the
    output tag gains σ); at another facility (k, no) = 1, unless σ ∈ t
    already (a restricted σ step earlier in the history): then the input's
    restricted attribution is kept, since the tag keeps it too.  Otherwise a
    stage met twice keeps its later step.
* **Joint outputs.**  Every output of an activity (oxide and its lanthanum
  by-product) carries the activity's whole mix, per tonne: nothing is
  allocated by value or by mass between co-products.
* **Trade.**  A country ships only what it made (no re-export), so a
  shipment of tag t carries the mix of the exporter's own production of
  tag t; what the exporter keeps of its production is its production less
  its exports.
* **Pools.**  The pool (k, p, t) mixes what is kept of its own production,
  imports, relabelled material, and stock carried in from the year before;
  process inputs, deliveries, surplus and the stock held at the end of the
  year all draw the pool's mix (well mixed).
* **Relabelling** (u → t ⊃ u, counting material as more exposed than it
  is, so that a recipe can combine inputs of different histories): the
  material keeps its attributions for the stages of u and outside t; for a
  stage s ∈ t \\ u it has no restricted step of its own, so its stage-s
  attribution is dropped, and wherever it is drawn (by an activity or a
  delivery) the restricted stage-s attributions of the material drawn with
  it are rescaled to cover it.  Relabelled dysprosium in a magnet recipe
  whose NdPr oxide was separated in China is thus attributed to that
  Chinese separation, as its tag counts it; in mass terms the magnet's
  separation would be 90 % Chinese, by its tag 100 %, and this sheet
  reports the tag.  Should no material drawn with it carry a restricted
  attribution of s (a relabelling the least-relabelling phase leaves for
  no reason; not met in tests), it is reported as ``unattributed``, still
  restricted, so the identity holds.
* **Stocks.**  The stock held at the end of a year has its pool's mix and
  enters the pool the next year.  An initial stock's origin is unknown:
  the stages of its tag are attributed to ``initial stock`` (restricted);
  other stages to nothing.

The mixes are solved by sweeps (at most 200, until no fraction moves by
1e-12): exact after as many sweeps as the chain has steps when no product
flows in a cycle.  Rows with share ≤ 1e-9 are left out.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from model.data import ModelData
from model.formulation.sets import ModelSets
from model.results.extract import Solution

Source = tuple[str, str, bool]  # stage, country, restricted
Mix = dict[Source, float]
Node = tuple[str, str, str]  # country, product, tag

MAX_SWEEPS = 200
CONVERGED = 1e-12
SMALL = 1e-9
INITIAL_STOCK = "initial stock"
UNATTRIBUTED = "unattributed"
COLUMNS = ["country", "product", "year", "stage", "source_country", "share", "restricted"]


def _average(parts: list[tuple[float, Mix]]) -> Mix:
    """Σ weight · mix / Σ weight over the parts (an empty mix where the weights are 0)."""
    total = sum(weight for weight, _ in parts)
    mix: Mix = defaultdict(float)
    if total <= 0:
        return mix
    for weight, part in parts:
        if weight <= 0:
            continue
        for source, fraction in part.items():
            mix[source] += weight * fraction / total
    return mix


def _drawn(parts: list[tuple[float, Mix]], tag: frozenset) -> Mix:
    """The mix of material drawn together from pools of one tag (an activity's inputs, a delivery).

    Stages outside the tag: the weighted average.  Stages in the tag: the
    restricted attributions only, in their weights, rescaled to sum to 1
    (covering relabelled material, whose attribution of the stage was dropped).
    """
    mix = _average(parts)
    out: Mix = {source: fraction for source, fraction in mix.items() if source[0] not in tag}
    for stage in tag:
        restricted = {source: fraction for source, fraction in mix.items() if source[0] == stage and source[2]}
        total = sum(restricted.values())
        if total > SMALL:
            out.update({source: fraction / total for source, fraction in restricted.items()})
        else:
            out[stage, UNATTRIBUTED, True] = 1.0
    return out


def _change(new: dict[Node, Mix], old: dict[Node, Mix]) -> float:
    change = 0.0
    for node, mix in new.items():
        before = old.get(node, {})
        for source in set(mix) | set(before):
            change = max(change, abs(mix.get(source, 0.0) - before.get(source, 0.0)))
    return change


def trace_sources(data: ModelData, sets: ModelSets, solution: Solution) -> pd.DataFrame:
    """Rows (country, product, year, stage, source_country, share, restricted) per demand row and year.

    ``restricted`` is yes where the stage ran at a restricted facility; a
    country can appear twice at a stage (a Chinese-owned plant in Malaysia
    and a Malaysian one).  Shares are of the row's delivered quantity.
    """
    rows: list[tuple] = []
    carried: dict[Node, tuple[float, Mix]] = {}
    for stockpile in data.stockpiles:
        if stockpile.initial > 0:
            tag = sets.label(stockpile.initial_tag)
            mix = {(stage, INITIAL_STOCK, True): 1.0 for stage in stockpile.initial_tag}
            carried[stockpile.country, stockpile.product, tag] = (stockpile.initial, mix)
    for year in sets.years:
        pools, delivered = _trace_year(data, sets, solution.in_year(year), carried, year)
        for index, parts in sorted(delivered.items()):
            demand = data.demands[index]
            total = sum(weight for weight, _, _ in parts)
            if total <= SMALL:
                continue
            mix: Mix = defaultdict(float)
            for weight, tag, node in parts:
                for source, fraction in _drawn([(1.0, pools.get(node, {}))], sets.tags[tag]).items():
                    mix[source] += weight * fraction / total
            for stage in data.stages:
                found = [(source, share) for source, share in mix.items() if source[0] == stage and share > SMALL]
                for (_, country, restricted), share in sorted(found, key=lambda item: (-item[1], item[0][1:])):
                    rows.append((demand.country, demand.product, year, stage, country, share, restricted))
        stock = solution.in_year(year).stock
        carried = {}
        for country, product, tag, value in stock[["country", "product", "tag", "value"]].itertuples(index=False):
            if value > SMALL:
                carried[country, product, tag] = (value, pools.get((country, product, tag), {}))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["restricted"] = frame["restricted"].map({True: "yes", False: "no"})
    return frame


def _trace_year(
    data: ModelData, sets: ModelSets, solution: Solution, carried: dict[Node, tuple[float, Mix]], year: int
) -> tuple[dict[Node, Mix], dict[int, list[tuple[float, str, Node]]]]:
    """Mixes of every pool in ``year`` (``solution`` holds that year's flows), and per demand row its
    deliveries (t/yr, tag, pool)."""
    facilities = data.at(year).facilities
    activities = []  # (facility country, restricted, process, tag, level)
    for facility, process, tag, value in solution.activity[["facility", "process", "tag", "value"]].itertuples(
        index=False
    ):
        if value > SMALL:
            where = facilities[facility]
            activities.append((where.country, where.restricted, data.processes[process], tag, value))
    exports: dict[Node, float] = defaultdict(float)
    imports: dict[Node, list[tuple[float, Node]]] = defaultdict(list)
    for origin, destination, product, tag, value in solution.shipment[
        ["origin", "destination", "product", "tag", "value"]
    ].itertuples(index=False):
        if value > SMALL:
            exports[origin, product, tag] += value
            imports[destination, product, tag].append((value, (origin, product, tag)))
    relabelled: dict[Node, list[tuple[float, Node, frozenset]]] = defaultdict(list)
    for country, product, source, target, value in solution.relabel[
        ["country", "product", "from_tag", "to_tag", "value"]
    ].itertuples(index=False):
        if value > SMALL:
            dropped = sets.tags[target] - sets.tags[source]
            relabelled[country, product, target].append((value, (country, product, source), dropped))
    delivered: dict[int, list[tuple[float, str, Node]]] = defaultdict(list)
    for index, tag, value in solution.delivery[["demand", "tag", "value"]].itertuples(index=False):
        if value > SMALL:
            demand = data.demands[index]
            delivered[index].append((value, tag, (demand.country, demand.product, tag)))

    pools: dict[Node, Mix] = {}
    for _ in range(MAX_SWEEPS):
        made: dict[Node, list[tuple[float, Mix]]] = defaultdict(list)
        for country, restricted, process, tag, level in activities:
            tags = sets.tags[tag]
            inputs = [(coef * level, pools.get((country, p, tag), {})) for p, coef in process.inputs.items()]
            mix = _drawn(inputs, tags)
            stage = process.stage
            if restricted or stage not in tags:
                mix = {source: fraction for source, fraction in mix.items() if source[0] != stage}
                mix[stage, country, restricted] = 1.0
            out = sets.output_tag(tag, stage, restricted)
            for product, coef in process.outputs.items():
                made[country, product, out].append((coef * level, mix))
        own = {node: _average(parts) for node, parts in made.items()}
        produced = {node: sum(weight for weight, _ in parts) for node, parts in made.items()}
        new: dict[Node, Mix] = {}
        for node in set(made) | set(imports) | set(relabelled) | set(carried):
            parts = [(max(0.0, produced.get(node, 0.0) - exports.get(node, 0.0)), own.get(node, {}))]
            parts += [(value, own.get(origin, {})) for value, origin in imports.get(node, [])]
            for value, source, dropped in relabelled.get(node, []):
                kept = {s: f for s, f in pools.get(source, {}).items() if s[0] not in dropped}
                parts.append((value, kept))
            if node in carried:
                parts.append(carried[node])
            new[node] = dict(_average(parts))
        change = _change(new, pools)
        pools = new
        if change < CONVERGED:
            break
    return pools, delivered
