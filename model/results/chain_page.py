"""A self-contained HTML page picturing the optimal chain: a Sankey diagram per year.

The page (``results/<case>.html``, beside the results workbook) shows where each
consumer's delivered product was mined, separated, refined and made, as bands
mine country → separation country → metal/magnet country → consumer, with a
year slider where the case has years and the run's summary figures.  plotly's
JavaScript is inlined: the page opens without any network.

How multi-stage flows are attributed (path tracing)
---------------------------------------------------
The LP keeps material of each exposure tag apart: node (k, p, t) is country k's
pool of product p whose tag t is the set of stages at which it passed a
restricted facility (:mod:`model.formulation.sets`).  Deliveries from a pool of
tag t ≠ ∅ are exactly the exposed deliveries of the ``deliveries`` sheet, so a
band's colour (exposed or clean) is the model's own, not an estimate.

Within one tagged pool, units are taken as mixed in proportion (as in
:mod:`model.results.sourcing`, here per tag): each pool carries a distribution
over *paths*, a path being the steps ((stage, country), …) its material went
through, in the order they happened:

    made[f, q, t]  = Σ_{p in} a⁻_qp · pool[k, p, t] / Σ_{p in} a⁻_qp
                     with each path's step at stage(q) dropped and (stage(q), k) appended
    own[k, p, t']  = Σ_{f in k, q} a⁺_qp · x_fqt · made[f, q, t] / Σ a⁺_qp · x_fqt   (t' = output tag of t)
    pool[k, p, t]  = ( a⁺ production · own[k, p, t]
                     + Σ_o ship_okpt · own[o, p, t]            (exports are own production: no re-export)
                     + Σ_s relabel_kpst · pool[k, p, s]
                     + release_kpt · {((stock, k),): 1} )      (stock released: its history is not traced)
                     / (sum of the weights)

solved by fixed-point sweeps (exact after as many sweeps as the chain has
steps when it has no cycle).  Delivery d of demand row j from pool (k, p, t)
then sends ``d × share(path)`` tonnes along each path's steps and on to the
consumer.  A band's width is therefore tonnes of the *delivered* product
(t/yr) attributed to that pair of steps, not tonnes of ore or oxide; inputs of
a recipe are weighted by their mass (coefficients).  The stage marginals of
these paths, summed over tags, are the ``sourcing`` sheet's shares only when
each pool holds one tag; otherwise they are the finer, tag-aware split.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from model.console import money
from model.data import ModelData
from model.formulation.sets import ModelSets
from model.results.extract import Solution
from model.workbook.schema import ANY_STAGE

STOCK = "stock"  # pseudo-stage of material released from a stock (its history is not traced)
SMALL = 1e-9  # t/yr or share below which a flow is dropped
MAX_SWEEPS = 200
CONVERGED = 1e-12

Step = tuple[str, str]  # (stage, country)
Route = tuple[Step, ...]  # steps in the order they happened
Mix = dict[Route, float]  # route -> share of the pool

EXPOSED_LINK = "rgba(213, 94, 0, 0.50)"  # vermillion (Okabe–Ito): material exposed at some stage
CLEAN_LINK = "rgba(0, 114, 178, 0.40)"  # blue: never passed a restricted facility
UNMET_LINK = "rgba(150, 150, 150, 0.45)"  # grey: demand not delivered
RESTRICTED_NODE = "rgb(170, 60, 0)"
OPEN_NODE = "rgb(90, 110, 130)"
UNMET_NODE = "rgb(150, 150, 150)"


@dataclass
class ChainFlows:
    """Traced flows of one year: tonnes per (demand row, route, exposed)."""

    year: int
    delivered: dict[tuple[int, Route, bool], float] = field(default_factory=dict)
    unmet: dict[int, float] = field(default_factory=dict)  # demand row -> t/yr not delivered
    restricted_share: dict[Step, float] = field(default_factory=dict)  # stage, country -> share of activity


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """The rows of ``frame``'s ``columns`` as plain tuples (column by column: much faster than itertuples)."""
    return list(zip(*(frame[column].tolist() for column in columns), strict=True)) if len(frame) else []


def _mix(parts: Iterable[tuple[float, Mix]]) -> Mix:
    """Σ weight · mix / Σ weight (parts with an empty mix still count in the total: untraced mass)."""
    parts = [(weight, mix) for weight, mix in parts if weight > SMALL]
    total = sum(weight for weight, _ in parts)
    out: Mix = defaultdict(float)
    if total <= 0:
        return out
    for weight, mix in parts:
        for route, share in mix.items():
            out[route] += weight * share / total
    return out


def _extend(mix: Mix, step: Step) -> Mix:
    """The route of each unit after ``step``: an earlier step at the same stage is replaced; untraced mass
    starts its route here."""
    out: Mix = defaultdict(float)
    for route, share in mix.items():
        out[tuple(s for s in route if s[0] != step[0]) + (step,)] += share
    untraced = 1.0 - sum(mix.values())
    if untraced > SMALL:
        out[(step,)] += untraced
    return out


def trace_routes(data: ModelData, sets: ModelSets, solution: Solution, year: int) -> ChainFlows:
    """Tonnes delivered to each demand row in ``year`` by route and exposure (see the module's docstring)."""
    facilities = data.at(year).facilities
    activity = solution.activity[(solution.activity["year"] == year) & (solution.activity["value"] > SMALL)]
    steps = []  # (country, stage, input tag, output tag, inputs {product: weight}, outputs {product: weight})
    restricted: dict[Step, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for facility_name, process_name, tag, level in _rows(activity, ["facility", "process", "tag", "value"]):
        process = data.processes[process_name]
        facility = facilities[facility_name]
        out_tag = sets.output_tag(tag, process.stage, facility.restricted)
        steps.append(
            (
                facility.country,
                process.stage,
                tag,
                out_tag,
                {p: c * level for p, c in process.inputs.items()},
                {p: c * level for p, c in process.outputs.items()},
            )
        )
        shares = restricted[process.stage, facility.country]
        shares[0] += level * facility.restricted
        shares[1] += level

    def rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
        frame = frame[(frame["year"] == year) & (frame["value"] > SMALL)]
        return _rows(frame, columns)

    shipments = rows(solution.shipment, ["origin", "destination", "product", "tag", "value"])
    relabels = rows(solution.relabel, ["country", "product", "from_tag", "to_tag", "value"])
    releases = _releases(data, sets, solution, year)

    pool: dict[tuple[str, str, str], Mix] = {}
    own: dict[tuple[str, str, str], Mix] = {}
    for _ in range(MAX_SWEEPS):
        made_parts: dict[tuple[str, str, str], list[tuple[float, Mix]]] = defaultdict(list)
        for country, stage, tag, out_tag, inputs, outputs in steps:
            drawn = _mix((weight, pool.get((country, p, tag), {})) for p, weight in inputs.items())
            made = _extend(drawn, (stage, country))
            for product, weight in outputs.items():
                made_parts[country, product, out_tag].append((weight, made))
        new_own = {node: _mix(parts) for node, parts in made_parts.items()}
        inflows: dict[tuple[str, str, str], list[tuple[float, Mix]]] = defaultdict(list)
        for node, parts in made_parts.items():
            inflows[node].append((sum(w for w, _ in parts), new_own[node]))
        for origin, destination, product, tag, value in shipments:
            inflows[destination, product, tag].append((value, own.get((origin, product, tag), {})))
        for country, product, from_tag, to_tag, value in relabels:
            inflows[country, product, to_tag].append((value, pool.get((country, product, from_tag), {})))
        for node, value in releases.items():
            inflows[node].append((value, {((STOCK, node[0]),): 1.0}))
        new_pool = {node: _mix(parts) for node, parts in inflows.items()}
        change = max(
            (
                abs(new_pool[n].get(r, 0.0) - pool.get(n, {}).get(r, 0.0))
                for n in new_pool
                for r in set(new_pool[n]) | set(pool.get(n, {}))
            ),
            default=0.0,
        )
        pool, own = new_pool, new_own
        if change < CONVERGED:
            break

    flows = ChainFlows(year=year)
    for (stage, country), (exposed, total) in restricted.items():
        flows.restricted_share[stage, country] = exposed / total if total > 0 else 0.0
    delivery = solution.delivery[(solution.delivery["year"] == year) & (solution.delivery["value"] > SMALL)]
    for index, tag, value in _rows(delivery, ["demand", "tag", "value"]):
        demand = data.demands[index]
        mix = pool.get((demand.country, demand.product, tag), {})
        exposed = bool(sets.tags[tag])
        untraced = 1.0 - sum(mix.values())
        parts = list(mix.items()) + ([((), untraced)] if untraced > SMALL else [])
        for route, share in parts:
            if share * value > SMALL:
                key = (index, route, exposed)
                flows.delivered[key] = flows.delivered.get(key, 0.0) + share * value
    unmet = solution.unmet[(solution.unmet["year"] == year) & (solution.unmet["value"] > SMALL)]
    for index, value in _rows(unmet, ["demand", "value"]):
        flows.unmet[index] = flows.unmet.get(index, 0.0) + value
    return flows


def _releases(data: ModelData, sets: ModelSets, solution: Solution, year: int) -> dict[tuple[str, str, str], float]:
    """Stock released into each pool (country, product, tag) in ``year``: max(0, stock_{y−1} − stock_y) (t)."""
    stock = solution.stock.groupby(["country", "product", "tag", "year"])["value"].sum()
    before: dict[tuple[str, str, str], float] = defaultdict(float)
    if year == sets.years[0]:
        for stockpile in data.stockpiles:
            if stockpile.initial > 0:
                before[stockpile.country, stockpile.product, sets.label(stockpile.initial_tag)] += stockpile.initial
    else:
        for (country, product, tag, y), value in stock.items():
            if y == year - 1:
                before[country, product, tag] += value
    out = {}
    for node, previous in before.items():
        released = previous - float(stock.get((*node, year), 0.0))
        if released > SMALL:
            out[node] = released
    return out


# ----------------------------------------------------------------------------------------------- the figure


def _step_label(step: Step) -> str:
    stage, country = step
    return f"{country} · {'released from stock' if stage == STOCK else stage}"


EXPOSED, CLEAN, UNMET = "exposed", "clean", "unmet"
LINK_COLOURS = {EXPOSED: EXPOSED_LINK, CLEAN: CLEAN_LINK, UNMET: UNMET_LINK}
NOTHING = 1e-9  # t/yr: the one invisible link of a year with no flow at all (plotly cannot draw an empty Sankey)


def sankey_links(data: ModelData, flows: ChainFlows) -> tuple[list[str], list[tuple[int, int, float, str]], dict]:
    """Node labels and links (source, target, t/yr, kind) of one year's Sankey, plus node facts for colours.

    Nodes: one per (stage, country) a route went through and one per consumer (demand row);
    a route's tonnes flow along its consecutive steps, then from its last step to the consumer
    (kind ``exposed`` or ``clean``); unmet demand flows from an "unmet demand" node (kind ``unmet``).
    """
    nodes: dict[tuple, int] = {}

    def node(key: tuple) -> int:
        return nodes.setdefault(key, len(nodes))

    links: dict[tuple[int, int, str], float] = defaultdict(float)
    for (index, route, exposed), tonnes in sorted(flows.delivered.items(), key=lambda item: -item[1]):
        demand = data.demands[index]
        chain = [("step", *s) for s in route] or [("step", "untraced", "")]
        chain.append(("consumer", demand.country, demand.product))
        for source, target in zip(chain, chain[1:], strict=False):
            links[node(source), node(target), EXPOSED if exposed else CLEAN] += tonnes
    for index, tonnes in sorted(flows.unmet.items()):
        demand = data.demands[index]
        links[node(("unmet",)), node(("consumer", demand.country, demand.product)), UNMET] += tonnes
    drawn = [(s, t, v, kind) for (s, t, kind), v in links.items() if v > SMALL]
    if not drawn:
        drawn = [(node(("nothing", "in")), node(("nothing", "out")), NOTHING, CLEAN)]
    labels = []
    for key in nodes:
        if key[0] == "consumer":
            labels.append(f"{key[1]} demand: {key[2]}")
        elif key[0] == "unmet":
            labels.append("unmet demand")
        elif key[0] == "nothing":
            labels.append("nothing delivered" if key[1] == "in" else "and no demand")
        elif key[1] == "untraced":
            labels.append("not traced")
        else:
            labels.append(_step_label((key[1], key[2])))
    return labels, drawn, {"keys": list(nodes)}


def _shade(share: float) -> str:
    """Blue (0) to vermillion (1)."""
    share = min(1.0, max(0.0, share))
    low, high = (0, 114, 178), (213, 94, 0)
    r, g, b = (round(a + (h - a) * share) for a, h in zip(low, high, strict=True))
    return f"rgb({r}, {g}, {b})"


class _Cap(NamedTuple):
    stage: str
    max_share: float
    binding: str


def _consumer_facts(report_sheets: dict[str, pd.DataFrame], year: int, has_years: bool) -> dict[tuple, dict]:
    """(consumer country, product) -> its row of the deliveries sheet in ``year`` and the caps that applied."""
    deliveries = report_sheets["deliveries"]
    caps = report_sheets["exposure_caps"]
    if has_years:
        deliveries = deliveries[deliveries["year"] == year]
        caps = caps[caps["year"] == year]
    by_row: dict[tuple[str, str], list[_Cap]] = defaultdict(list)
    for country, product, stage, max_share, binding in _rows(
        caps, ["country", "product", "stage", "max_share", "binding"]
    ):
        by_row[country, product].append(_Cap(stage, max_share, binding))
    columns = ["country", "product", "quantity", "delivered", "unmet", "exposure_any", "marginal_cost"]
    return {
        (country, product): {
            "quantity": quantity,
            "delivered": delivered,
            "unmet": unmet,
            "exposure": exposure,
            "marginal_cost": marginal_cost,
            "caps": by_row.get((country, product), []),
        }
        for country, product, quantity, delivered, unmet, exposure, marginal_cost in _rows(deliveries, columns)
    }


def _cap_text(caps: list) -> str:
    if not caps:
        return "no cap"
    parts = []
    for cap in sorted(caps, key=lambda c: (c.stage != ANY_STAGE, c.stage)):
        binding = ", binding" if cap.binding == "yes" else ""
        parts.append(f"≤ {cap.max_share:.0%} {cap.stage}{binding}")
    return "; ".join(parts)


def chain_figure(data: ModelData, sets: ModelSets, solution: Solution, report_sheets: dict[str, pd.DataFrame]):
    """The plotly figure: per year a Sankey and a table of the consumers; a slider chooses the year."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(
        rows=2,
        cols=1,
        specs=[[{"type": "sankey"}], [{"type": "table"}]],
        row_heights=[0.64, 0.36],
        vertical_spacing=0.04,
    )
    years = list(sets.years)
    for position, year in enumerate(years):
        flows = trace_routes(data, sets, solution, year)
        labels, links, facts = sankey_links(data, flows)
        consumers = _consumer_facts(report_sheets, year, data.has_years)
        colours, hovers = [], []
        for key in facts["keys"]:
            if key[0] == "consumer":
                fact = consumers.get((key[1], key[2]), {})
                colours.append(_shade(fact.get("exposure", 0.0)))
                hovers.append(
                    f"demand {fact.get('quantity', 0.0):,.1f} t/yr, delivered {fact.get('delivered', 0.0):,.1f}, "
                    f"exposed {fact.get('exposure', 0.0):.1%} ({_cap_text(fact.get('caps', []))})"
                )
            elif key[0] in ("unmet", "nothing"):
                colours.append(UNMET_NODE)
                hovers.append("demand not delivered (priced at the unmet penalty)" if key[0] == "unmet" else "")
            elif key[1] in (STOCK, "untraced"):
                colours.append(OPEN_NODE)
                hovers.append("material whose earlier steps are not traced (stock)")
            else:
                share = flows.restricted_share.get((key[1], key[2]), 0.0)
                colours.append(RESTRICTED_NODE if share > 0.5 else OPEN_NODE)
                hovers.append(f"{share:.0%} of this activity at restricted facilities")
        figure.add_trace(
            go.Sankey(
                name=str(year),
                visible=position == 0,
                arrangement="snap",
                valueformat=",.1f",
                valuesuffix=" t/yr",
                node={
                    "label": labels,
                    "color": colours,
                    "customdata": hovers,
                    "hovertemplate": "%{label}<br>%{value} through here<br>%{customdata}<extra></extra>",
                    "pad": 14,
                    "thickness": 16,
                },
                link={
                    "source": [s for s, _, _, _ in links],
                    "target": [t for _, t, _, _ in links],
                    "value": [v for _, _, v, _ in links],
                    "color": [LINK_COLOURS[kind] for _, _, _, kind in links],
                    "customdata": [kind for _, _, _, kind in links],
                    "hovertemplate": "%{source.label} → %{target.label}<br>%{value}, %{customdata}<extra></extra>",
                },
            ),
            row=1,
            col=1,
        )
        rows = sorted(consumers.items())
        figure.add_trace(
            go.Table(
                name=f"consumers {year}",
                visible=position == 0,
                columnwidth=[0.6, 1.1, 0.9, 0.9, 0.8, 0.8, 1.9, 0.9],
                header={
                    "values": [
                        "consumer",
                        "product",
                        "demand t/yr",
                        "delivered t/yr",
                        "unmet t/yr",
                        "exposed",
                        "caps",
                        "marginal USD/t",
                    ],
                    "fill_color": "rgb(230, 234, 240)",
                    "align": "left",
                },
                cells={
                    "values": [
                        [country for (country, _), _ in rows],
                        [product for (_, product), _ in rows],
                        [f"{f['quantity']:,.1f}" for _, f in rows],
                        [f"{f['delivered']:,.1f}" for _, f in rows],
                        [f"{f['unmet']:,.1f}" for _, f in rows],
                        [f"{f['exposure']:.1%}" for _, f in rows],
                        [_cap_text(f["caps"]) for _, f in rows],
                        [f"{f['marginal_cost']:,.0f}" for _, f in rows],
                    ],
                    "align": "left",
                    "fill_color": [[_row_fill(f) for _, f in rows]],
                },
            ),
            row=2,
            col=1,
        )
    if len(years) > 1:
        steps = []
        for position, year in enumerate(years):
            visible = [False] * (2 * len(years))
            visible[2 * position] = visible[2 * position + 1] = True
            steps.append({"label": str(year), "method": "update", "args": [{"visible": visible}]})
        figure.update_layout(
            sliders=[
                {
                    "active": 0,
                    "currentvalue": {"prefix": "Year: ", "font": {"size": 14}},
                    "x": 0.0,
                    "y": 1.0,
                    "len": 0.45,  # short, so that its year ticks are not read as the diagram's columns
                    "xanchor": "left",
                    "yanchor": "bottom",
                    "pad": {"t": 0, "b": 10},
                    "steps": steps,
                }
            ]
        )
    figure.update_layout(
        height=1150,
        margin={"l": 20, "r": 20, "t": 110 if len(years) > 1 else 30, "b": 20},
        font={"size": 12},
    )
    return figure


def _row_fill(fact: dict) -> str:
    if fact["unmet"] > 1e-6:
        return "rgb(255, 225, 210)"
    if any(cap.binding == "yes" for cap in fact["caps"]):
        return "rgb(255, 243, 205)"
    return "white"


def _summary_html(data: ModelData, report_sheets: dict[str, pd.DataFrame], status: str) -> str:
    summary = dict(zip(report_sheets["summary"]["item"], report_sheets["summary"]["value"], strict=True))
    basis = "present value" if data.has_years else "per year"
    cost_rows = "".join(
        f"<tr><td>{html.escape(str(item))}</td><td class='n'>{money(float(value))}</td></tr>"
        for item, value in summary.items()
        if (str(item).startswith("cost_") or item == "surplus_credit") and abs(float(value)) > 0.5
    )
    tonnes = "t over the years" if data.has_years else "t/yr"
    figures = [
        ("Status", html.escape(str(status))),
        (f"Total cost ({basis})", money(float(summary.get("objective", 0.0)))),
        ("Demand", f"{float(summary.get('demand_total', 0.0)):,.1f} {tonnes}"),
        ("Delivered", f"{float(summary.get('delivered_total', 0.0)):,.1f} {tonnes}"),
        ("Unmet", f"{float(summary.get('unmet_total', 0.0)):,.1f} {tonnes}"),
    ]
    cells = "".join(f"<div class='fig'><div class='k'>{k}</div><div class='v'>{v}</div></div>" for k, v in figures)
    years = f"{data.years[0]}–{data.years[-1]}" if data.has_years else ""
    return (
        f"<h1>{html.escape(data.case_name)} <span class='years'>{years}</span></h1>"
        f"<div class='figs'>{cells}</div>"
        f"<details><summary>Cost by component ({basis})</summary><table>{cost_rows}</table></details>"
        "<p class='legend'>Bands: tonnes of each consumer's delivered product (t/yr) by where each stage ran; "
        "<span style='color:rgb(213,94,0)'>■</span> exposed (passed a restricted facility at some stage, "
        "as counted against the caps), <span style='color:rgb(0,114,178)'>■</span> clean, "
        "<span style='color:rgb(150,150,150)'>■</span> unmet demand. Country boxes in dark "
        "red ran mostly at restricted facilities; consumer boxes shade from blue (0 % exposed) to vermillion "
        "(100 %). Within a pool of one exposure, countries are attributed in proportion (see docs).</p>"
    )


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Arial, Helvetica, sans-serif; margin: 12px 20px; color: #222; }}
h1 {{ font-size: 20px; margin: 4px 0 8px; }} h1 .years {{ color: #666; font-weight: normal; }}
.figs {{ display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 6px; }}
.fig {{ border: 1px solid #d0d6de; border-radius: 4px; padding: 4px 10px; background: #f6f8fa; }}
.fig .k {{ font-size: 11px; color: #555; }} .fig .v {{ font-size: 16px; font-weight: bold; }}
table td {{ padding: 1px 10px 1px 0; }} td.n {{ text-align: right; }}
details {{ font-size: 13px; margin: 4px 0; }} .legend {{ font-size: 12px; color: #444; margin: 4px 0; }}
</style></head><body>
{summary}
{figure}
</body></html>
"""


def chain_page_html(
    data: ModelData, sets: ModelSets, solution: Solution, report_sheets: dict[str, pd.DataFrame], status: str
) -> str:
    """The whole page as text: summary figures, then the figure with plotly.js inlined (no network)."""
    figure = chain_figure(data, sets, solution, report_sheets)
    body = figure.to_html(full_html=False, include_plotlyjs=True, include_mathjax=False, config={"responsive": True})
    return PAGE.format(
        title=html.escape(f"{data.case_name}: the chain"),
        summary=_summary_html(data, report_sheets, status),
        figure=body,
    )


def write_chain_page(
    path: Path,
    data: ModelData,
    sets: ModelSets,
    solution: Solution,
    report_sheets: dict[str, pd.DataFrame],
    status: str,
) -> Path:
    """Write the page to ``path`` (its folder created) as the results workbook is written: into a hidden
    temporary file beside it, renamed into place when whole, removed on any failure.  Raises ``OSError``."""
    text = chain_page_html(data, sets, solution, report_sheets, status)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".html.tmp", dir=path.parent)
    replaced = False
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        mask = os.umask(0)  # mkstemp made it 0600: the permissions a new file would have
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, path)
        replaced = True
    finally:
        if not replaced:
            Path(temporary).unlink(missing_ok=True)
    return path
