"""Native Excel charts of the results, on their own ``charts`` sheet.

Every chart is described by a :class:`ChartPlan`: a title and a small table
whose first column holds the categories (the axis labels) and whose every
other column is one series.  :func:`draw_charts` writes each plan's table on
the ``charts`` sheet beside its chart (so the figures can be read and copied)
and draws the chart from that table, one chart per printed page.

Adding a chart (scenario comparison, frontier, …): write a function
``builder(sheets) -> list[ChartPlan]`` that reads the result tables it needs
(``sheets`` maps sheet name to DataFrame, as handed to the writer) and returns
no plan when its sheet is absent, then append it to :data:`CHART_BUILDERS`
(or call :func:`register_chart`).  Example, a frontier sheet's line chart::

    def frontier_chart(sheets):
        frontier = sheets.get("frontier")
        if frontier is None or frontier.empty:
            return []
        return [ChartPlan("Cost and unmet demand against the exposure cap",
                          frontier[["exposure_cap", "objective", "unmet_total"]],
                          kind="line", value_axis="USD", secondary=["unmet_total"], secondary_axis="t",
                          category_format="0%", source="frontier")]

Colours: countries whose plants count as exposure are drawn in reds, the
others in a fixed palette, the same country in the same colour on every chart
of the workbook (:func:`country_colours`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

CHART_SHEET = "charts"
CHART_NAME_LIMIT = 255  # a chart series name
# XlsxWriter reads a series name of this shape as a reference to a cell (chart.py, _process_names).
_REFERENCE_LIKE = re.compile(r"^=?[^!]+!\$?[A-Z]+\$?\d+")
TABLE_COLUMN = 13  # column N: each chart's table, right of the chart (columns A-M, 13 × 64 px)
CHART_WIDTH = 820  # px, fits a landscape A4 page at 100 %
ROW_PIXELS = 20  # default row height
TOP_N = 15  # plants shown in the most used / bottleneck charts
MOST_CONSUMERS = 24  # consumers charted one by one (the largest demand rows of the last year)
MOST_LINES = 16  # consumers on the exposure-over-the-years chart
MOST_BARS = 30  # consumers (or caps) on one bar chart

RESTRICTED_COLOURS = ["#C0392B", "#E67E22", "#922B21", "#F1948A", "#A04000"]
PALETTE = [
    "#1F77B4",
    "#2CA02C",
    "#17BECF",
    "#9467BD",
    "#8C564B",
    "#BCBD22",
    "#7F7F7F",
    "#AEC7E8",
    "#98DF8A",
    "#C5B0D5",
    "#C49C94",
    "#9EDAE5",
    "#DBDB8D",
    "#393B79",
    "#637939",
]
GRID = {"visible": True, "line": {"color": "#D9D9D9", "width": 0.75}}
FONT = {"size": 9, "color": "#404040"}


@dataclass
class ChartPlan:
    """One native chart and the table it draws.

    ``table``: first column the categories, every other column one series
    (named by its column).  ``kind``: an XlsxWriter chart type (``column``,
    ``bar`` (horizontal), ``line``, ``area``, ``scatter``); ``subtype`` e.g.
    ``stacked``.  ``value_format``: Excel number format of the value axis and,
    unless ``table_format`` says otherwise, of the table.  ``colours``: series
    name → ``#RRGGBB``; ``point_colours``: one colour per category (a
    single-series bar chart coloured bar by bar).  ``lines``: series drawn as
    markers over the bars (a cap over the achieved share).  ``secondary``:
    series on a second value axis titled ``secondary_axis``.  ``hidden``:
    series drawn without fill (the offset of a timeline bar).  ``note``: one
    sentence written above the table (which year, what a bar means).
    ``source``: the sheet the figures come from.
    """

    title: str
    table: pd.DataFrame
    kind: str = "column"
    subtype: str | None = None
    value_axis: str = ""
    value_format: str = "#,##0"
    table_format: str | None = None
    category_axis: str = ""
    category_format: str | None = None
    value_min: float | None = None
    value_max: float | None = None
    colours: Mapping[str, str] = field(default_factory=dict)
    point_colours: Sequence[str | None] = ()
    lines: Sequence[str] = ()
    secondary: Sequence[str] = ()
    secondary_axis: str = ""
    secondary_format: str = "#,##0"
    hidden: Sequence[str] = ()
    labels: bool = False
    label_format: str | None = None
    dashes: Mapping[str, str] = field(default_factory=dict)
    category_rotation: int | None = None  # degrees, for long category labels under columns
    note: str = ""
    source: str | None = None
    height: int = 400
    major_unit: float | None = None


ChartBuilder = Callable[[Mapping[str, pd.DataFrame]], list[ChartPlan]]


def plan_charts(sheets: Mapping[str, pd.DataFrame]) -> list[ChartPlan]:
    """Every chart the registered builders make of ``sheets``, in builder order."""
    plans: list[ChartPlan] = []
    for builder in CHART_BUILDERS:
        plans += [plan for plan in builder(sheets) if len(plan.table) and len(plan.table.columns) > 1]
    return plans


def block_rows(plan: ChartPlan) -> int:
    """Rows a chart and its table take on the charts sheet (a page each)."""
    return max(math.ceil(plan.height / ROW_PIXELS) + 2, len(plan.table) + 4)


def draw_charts(workbook, worksheet, plans: Sequence[ChartPlan], number_format: Callable[[str], object]) -> None:
    """Write each plan's table and chart on ``worksheet``, top to bottom (row order, for constant-memory mode).

    ``number_format(fmt)`` returns the workbook's cell format for an Excel
    number format.  Chart ``i`` starts at row :func:`chart_rows` ``[i]``,
    column A; its table at column N; a page break before each chart and the
    print area on columns A-M make one chart per printed page.
    """
    bold = workbook.add_format({"bold": True, "bottom": 1, "bg_color": "#F2F2F2"})
    title_format = workbook.add_format({"bold": True, "font_size": 12})
    note_format = workbook.add_format({"italic": True, "font_color": "#595959"})
    worksheet.hide_gridlines(2)
    worksheet.set_landscape()
    worksheet.set_paper(9)  # A4
    worksheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    widths: dict[int, int] = {}
    tops = chart_rows(plans)
    for plan, top in zip(plans, tops, strict=True):
        table = plan.table
        columns = [str(c) for c in table.columns]
        worksheet.write_string(top, TABLE_COLUMN, plan.title, title_format)
        worksheet.write_string(top + 1, TABLE_COLUMN, _note(plan), note_format)
        for index, column in enumerate(columns):
            worksheet.write_string(top + 2, TABLE_COLUMN + index, column, bold)
            widths[index] = max(widths.get(index, 8), min(40, len(column) + 2))
        cell = number_format(plan.table_format or plan.value_format)
        category = number_format(plan.category_format) if plan.category_format else None
        for offset, row in enumerate(table.itertuples(index=False, name=None)):
            for index, value in enumerate(row):
                where = (top + 3 + offset, TABLE_COLUMN + index)
                if isinstance(value, str):
                    worksheet.write_string(*where, value)
                    widths[index] = max(widths.get(index, 8), min(40, len(value) + 2))
                elif value is not None and not (isinstance(value, float) and not math.isfinite(value)):
                    worksheet.write_number(*where, float(value), category if index == 0 else cell)
        worksheet.insert_chart(top, 0, _chart(workbook, plan, top), {"x_offset": 8, "y_offset": 4})
    for index, width in widths.items():
        worksheet.set_column(TABLE_COLUMN + index, TABLE_COLUMN + index, width)
    if tops:
        worksheet.set_h_pagebreaks(tops[1:])
        worksheet.print_area(0, 0, tops[-1] + block_rows(plans[-1]) - 1, TABLE_COLUMN - 1)


def chart_rows(plans: Sequence[ChartPlan]) -> list[int]:
    """First row (0-based) of each chart on the charts sheet."""
    tops, row = [], 1
    for plan in plans:
        tops.append(row)
        row += block_rows(plan)
    return tops


def chart_name(text: str) -> str:
    """A chart series name that shows ``text`` as written: never read as a cell reference, at most
    255 characters."""
    if _REFERENCE_LIKE.match(text):
        text = text.replace("!", "!\u200b", 1)  # a zero-width space keeps it text
    if len(text) > CHART_NAME_LIMIT:
        text = text[: CHART_NAME_LIMIT - 1] + "…"
    return text


def _note(plan: ChartPlan) -> str:
    source = f"Figures from the '{plan.source}' sheet." if plan.source else ""
    return " ".join(part for part in (plan.note, source) if part)


def _chart(workbook, plan: ChartPlan, top: int):
    chart = workbook.add_chart({"type": plan.kind, **({"subtype": plan.subtype} if plan.subtype else {})})
    rows = len(plan.table)
    first, last = top + 3, top + 2 + rows
    categories = [CHART_SHEET, first, TABLE_COLUMN, last, TABLE_COLUMN]
    overlay = workbook.add_chart({"type": "line"}) if plan.lines else None
    for index, column in enumerate(plan.table.columns[1:], start=1):
        name = str(column)
        series = {
            "name": chart_name(name),
            "categories": categories,
            "values": [CHART_SHEET, first, TABLE_COLUMN + index, last, TABLE_COLUMN + index],
        }
        colour = plan.colours.get(name) or PALETTE[(index - 1) % len(PALETTE)]
        if name in plan.hidden:
            series |= {"fill": {"none": True}, "border": {"none": True}}
        elif name in plan.lines:
            series |= {
                "line": {"none": True},
                "marker": {"type": "diamond", "size": 9, "fill": {"color": "#000000"}, "border": {"color": "#000000"}},
            }
            overlay.add_series(series)
            continue
        elif plan.kind in ("line", "scatter"):
            series |= {
                "line": {"color": colour, "width": 2.25, "dash_type": plan.dashes.get(name, "solid")},
                "marker": {"type": "circle", "size": 5, "fill": {"color": colour}, "border": {"color": colour}},
            }
        else:
            series |= {"fill": {"color": colour}, "border": {"none": True}, "gap": 60}
            if plan.point_colours:
                series["points"] = [{"fill": {"color": c}} if c else None for c in plan.point_colours]
        if name in plan.secondary:
            series["y2_axis"] = True
        if plan.labels:
            series["data_labels"] = {"value": True, "num_format": plan.label_format or plan.value_format, "font": FONT}
        chart.add_series(series)
    if overlay is not None:
        chart.combine(overlay)
    chart.set_title({"name": chart_name(plan.title), "name_font": {"size": 12, "bold": True, "color": "#262626"}})
    value_axis = {
        "name": plan.value_axis,
        "num_format": plan.value_format,
        "major_gridlines": GRID,
        "num_font": FONT,
        "name_font": {**FONT, "bold": False},
        "line": {"none": True},
    }
    if plan.value_min is not None:
        value_axis["min"] = plan.value_min
    if plan.value_max is not None:
        value_axis["max"] = plan.value_max
    if plan.major_unit is not None:
        value_axis["major_unit"] = plan.major_unit
    category_axis = {
        "name": plan.category_axis,
        "num_font": FONT,
        "name_font": {**FONT, "bold": False},
        "line": {"color": "#BFBFBF"},
    }
    if plan.category_format:
        category_axis["num_format"] = plan.category_format
    if plan.category_rotation is not None:
        category_axis["num_font"] = {**FONT, "rotation": plan.category_rotation}
    if plan.kind == "bar":  # horizontal: categories top to bottom in table order, values along the bottom
        category_axis |= {"reverse": True, "crossing": "max"}  # keeps the value axis at the bottom
        chart.set_x_axis(value_axis)
        chart.set_y_axis(category_axis)
    else:
        chart.set_x_axis(category_axis)
        chart.set_y_axis(value_axis)
    if plan.secondary:
        chart.set_y2_axis(
            {
                "name": plan.secondary_axis,
                "num_format": plan.secondary_format,
                "num_font": FONT,
                "name_font": {**FONT, "bold": False},
            }
        )
    series_count = len(plan.table.columns) - 1 - len(plan.hidden)
    if series_count <= 1 and not plan.lines:
        chart.set_legend({"none": True})
    else:
        chart.set_legend({"position": "bottom", "font": FONT, "delete_series": _hidden_indexes(plan)})
    chart.set_chartarea({"border": {"none": True}})
    chart.set_size({"width": CHART_WIDTH, "height": plan.height})
    return chart


def _hidden_indexes(plan: ChartPlan) -> list[int]:
    names = [str(c) for c in plan.table.columns[1:] if str(c) not in plan.lines]
    return [i for i, name in enumerate(names) if name in plan.hidden]


# ---------------------------------------------------------------------------
# The results' own charts.


def country_colours(sheets: Mapping[str, pd.DataFrame], countries: Sequence[str]) -> dict[str, str]:
    """A colour per country: reds for countries with a plant that counts as exposure, a palette for the rest."""
    facilities = sheets.get("facilities")
    restricted: set[str] = set()
    if facilities is not None and {"country", "restricted"} <= set(facilities.columns):
        restricted = set(facilities.loc[facilities["restricted"] == "yes", "country"].astype(str))
    colours, reds, others = {}, iter(RESTRICTED_COLOURS), iter(PALETTE)
    for country in countries:
        pool = reds if country in restricted else others
        colours[country] = next(pool, None) or "#A6A6A6"
    return colours


def table_of(sheets: Mapping[str, pd.DataFrame], name: str, *columns: str) -> pd.DataFrame | None:
    """Sheet ``name`` when it has rows and every one of ``columns``, else None (no chart)."""
    frame = sheets.get(name)
    if frame is None or frame.empty or not set(columns) <= set(map(str, frame.columns)):
        return None
    return frame


def _last_year(frame: pd.DataFrame) -> tuple[pd.DataFrame, int | None]:
    """The rows of the last model year (all rows when the table has no year column) and that year."""
    if "year" not in frame.columns or frame.empty:
        return frame, None
    year = int(frame["year"].max())
    return frame[frame["year"] == year], year


def _in(year: int | None) -> str:
    return f", {year}" if year is not None else ""


def _money_unit(sheets: Mapping[str, pd.DataFrame]) -> str:
    summary = sheets.get("summary")
    if summary is not None and "objective" in set(summary.get("item", ())):
        unit = summary.loc[summary["item"] == "objective", "unit"].iloc[0]
        if isinstance(unit, str) and unit:
            return unit
    return "USD/yr"


COMPONENT_COLOURS = {
    "cost_transport": "#7F7F7F",
    "cost_tariff": "#BCBD22",
    "cost_expansion": "#2CA02C",
    "cost_projects": "#98DF8A",
    "cost_holding": "#17BECF",
    "cost_unmet_penalty": "#C0392B",
    "cost_shortfall_penalty": "#E67E22",
    "surplus_credit": "#9467BD",
}
STAGE_COLOURS = ["#9467BD", "#1F77B4", "#17BECF", "#BCBD22", "#7F7F7F", "#8C564B"]  # distinct, none red
STAGE_BLUES = ["#08306B", "#2171B5", "#4292C6", "#6BAED6", "#9ECAE1", "#C6DBEF"]


def money_scale(largest: float) -> tuple[str, str, str]:
    """(unit prefix, axis format, label format) for amounts up to ``largest`` USD: millions from 10 million up."""
    if largest >= 1e7:
        return "million ", "#,##0,,", "#,##0.0,,"
    return "", "#,##0", "#,##0"


def _component_label(name: str) -> str:
    if name.startswith("cost_operating_"):
        return f"operating: {name.removeprefix('cost_operating_')}"
    if name == "surplus_credit":
        return "surplus credit (−)"
    return name.removeprefix("cost_").replace("_", " ")


def _component_colour(name: str, stages: Sequence[str]) -> str:
    if name.startswith("cost_operating_"):
        stage = name.removeprefix("cost_operating_")
        index = list(stages).index(stage) if stage in stages else 0
        return STAGE_BLUES[index % len(STAGE_BLUES)]
    return COMPONENT_COLOURS.get(name, "#A6A6A6")


def _is_component(item: str) -> bool:
    return item.startswith("cost_") or item == "surplus_credit"


def cost_charts(sheets: Mapping[str, pd.DataFrame]) -> list[ChartPlan]:
    """Cost by stage and component (summary), and with years the cost of each year by component."""
    plans = []
    summary = table_of(sheets, "summary", "item", "value")
    if summary is None:
        return plans
    rows = [
        (str(item), float(value))
        for item, value in zip(summary["item"], summary["value"], strict=True)
        if isinstance(item, str) and _is_component(item) and isinstance(value, (int, float)) and value
    ]
    stages = [item.removeprefix("cost_operating_") for item, _ in rows if item.startswith("cost_operating_")]
    unit = _money_unit(sheets)
    if rows:
        table = pd.DataFrame(
            [(_component_label(i), -v if i == "surplus_credit" else v) for i, v in rows],
            columns=["component", unit],
        )
        scale, axis_format, label_format = money_scale(max(abs(v) for _, v in rows))
        plans.append(
            ChartPlan(
                "Cost by stage and component",
                table,
                kind="bar",
                value_axis=f"{scale}{unit}",
                value_format=axis_format,
                label_format=label_format,
                table_format="#,##0",
                point_colours=[_component_colour(i, stages) for i, _ in rows],
                labels=True,
                note="Operating cost per stage, then transport, tariffs, investment and penalties; "
                "a surplus credit is negative.",
                source="summary",
                height=max(260, 60 + 32 * len(rows)),
            )
        )
    by_year = table_of(sheets, "costs_by_year", "year", "component", "cost")
    if by_year is not None:
        wide = by_year.pivot_table(index="year", columns="component", values="cost", aggfunc="sum", sort=False)
        wide = wide.loc[:, [c for c in wide.columns if (wide[c].abs() > 0).any()]]
        if "surplus_credit" in wide.columns:
            wide["surplus_credit"] = -wide["surplus_credit"]
        order = [c for c in by_year["component"].drop_duplicates() if c in wide.columns]
        stages = [c.removeprefix("cost_operating_") for c in order if c.startswith("cost_operating_")]
        table = wide[order].reset_index()
        table["year"] = table["year"].astype(int)
        table.columns = ["year", *(_component_label(c) for c in order)]
        scale, axis_format, _ = money_scale(float(wide.abs().sum(axis=1).max()))
        plans.append(
            ChartPlan(
                "Cost of each year by component",
                table,
                kind="column",
                subtype="stacked",
                value_axis=f"{scale}USD of the year (not discounted)",
                value_format=axis_format,
                table_format="#,##0",
                category_format="0",
                colours={_component_label(c): _component_colour(c, stages) for c in order},
                note="USD spent in each year, before discounting.",
                source="costs_by_year",
            )
        )
    return plans


def largest_consumers(sheets: Mapping[str, pd.DataFrame], count: int) -> set[tuple[str, str]] | None:
    """The ``count`` largest (country, product) demand rows of the last year, or None when all of them fit."""
    deliveries = table_of(sheets, "deliveries", "country", "product", "quantity")
    if deliveries is None:
        return None
    rows, _ = _last_year(deliveries)
    sizes = rows.groupby(["country", "product"], sort=False)["quantity"].sum()
    if len(sizes) <= count:
        return None
    return set(sizes.sort_values(ascending=False, kind="stable").head(count).index)


def _kept(frame: pd.DataFrame, keep: set[tuple[str, str]] | None) -> pd.DataFrame:
    if keep is None:
        return frame
    pairs = zip(frame["country"], frame["product"], strict=True)
    return frame[[pair in keep for pair in pairs]]


def _of_largest(keep: set | None, count: int) -> str:
    return f" The {count} largest demand rows of the last year are shown." if keep is not None else ""


def _stage_order(sheets: Mapping[str, pd.DataFrame], found: Sequence[str]) -> list[str]:
    deliveries = sheets.get("deliveries")
    stages = []
    if deliveries is not None:
        stages = [c.removeprefix("exposure_") for c in deliveries.columns if str(c).startswith("exposure_")]
    ordered = [s for s in stages if s in found and s != "any"]
    return ordered + [s for s in found if s not in ordered]


def supply_charts(sheets: Mapping[str, pd.DataFrame]) -> list[ChartPlan]:
    """For each consumer (country and product), where each stage of its supply ran: stacked bars by source country."""
    sourcing = table_of(sheets, "sourcing", "country", "product", "stage", "source_country", "share")
    if sourcing is None:
        return []
    rows, year = _last_year(sourcing)
    totals = rows.groupby("source_country", sort=False)["share"].sum().sort_values(ascending=False)
    colours = country_colours(sheets, [str(c) for c in totals.index])
    restricted_first = [c for c in totals.index if colours[c] in RESTRICTED_COLOURS] + [
        c for c in totals.index if colours[c] not in RESTRICTED_COLOURS
    ]
    plans = []
    keep = largest_consumers(sheets, MOST_CONSUMERS)
    kept = _kept(rows, keep)
    # One reshape for all consumers (a pivot per consumer costs 20 ms each).
    every = (
        kept.groupby(["country", "product", "stage", "source_country"], sort=False)["share"]
        .sum()
        .unstack()
        .sort_index()
    )
    for country, product in dict.fromkeys(zip(kept["country"], kept["product"], strict=True)):
        wide = every.loc[(country, product)].dropna(axis=1, how="all")
        stages = _stage_order(sheets, list(wide.index))
        sources = [c for c in restricted_first if c in wide.columns]
        table = wide.reindex(index=stages, columns=sources).fillna(0.0).reset_index()
        table.columns = ["stage", *sources]
        plans.append(
            ChartPlan(
                f"{country} {product}: where each stage of its supply ran{_in(year)}",
                table,
                kind="bar",
                subtype="stacked",
                value_axis="share of the delivered quantity",
                value_format="0%",
                value_min=0,
                value_max=1,
                major_unit=0.2,
                colours=colours,
                note="Share of the delivered quantity whose stage took place in each country (proportional tracing); "
                "reds are countries whose plants count as exposure." + _of_largest(keep, MOST_CONSUMERS),
                source="sourcing",
                height=max(240, 110 + 42 * len(stages)),
            )
        )
    return plans


def exposure_charts(sheets: Mapping[str, pd.DataFrame]) -> list[ChartPlan]:
    """Exposure per consumer and stage; each cap against the share achieved (binding caps in red)."""
    plans = []
    deliveries = table_of(sheets, "deliveries", "country", "product", "exposure_any")
    if deliveries is not None:
        rows, year = _last_year(deliveries)
        keep = largest_consumers(sheets, MOST_BARS)
        rows = _kept(rows, keep)
        columns = [c for c in deliveries.columns if str(c).startswith("exposure_")]
        table = rows[columns].copy()
        table.insert(0, "consumer", [f"{c} {p}" for c, p in zip(rows["country"], rows["product"], strict=True)])
        table.columns = ["consumer", *(str(c).removeprefix("exposure_") for c in columns)]
        colours = {"any": "#C0392B"} | {
            str(c).removeprefix("exposure_"): STAGE_COLOURS[i % len(STAGE_COLOURS)] for i, c in enumerate(columns[1:])
        }
        plans.append(
            ChartPlan(
                f"Exposure by consumer and stage{_in(year)}",
                table.reset_index(drop=True),
                kind="bar",
                value_axis="share of the demand that passed through a restricted plant",
                value_format="0%",
                value_min=0,
                value_max=1,
                major_unit=0.2,
                colours=colours,
                note="any = at one stage or more." + _of_largest(keep, MOST_BARS),
                source="deliveries",
                height=max(300, 90 + 14 * len(table) * len(columns) // 2),
            )
        )
    caps = table_of(sheets, "exposure_caps", "country", "product", "stage", "max_share", "achieved_share", "binding")
    if caps is not None:
        rows, year = _last_year(caps)
        if len(rows) > MOST_BARS:  # the binding caps first, then the closest to binding
            rows = rows.assign(_gap=rows["max_share"] - rows["achieved_share"])
            rows = rows.sort_values(["binding", "_gap"], ascending=[False, True], kind="stable").head(MOST_BARS)
        table = pd.DataFrame(
            {
                "cap": [
                    f"{c} {p} · {s}" for c, p, s in zip(rows["country"], rows["product"], rows["stage"], strict=True)
                ],
                "achieved share (red where the cap binds)": rows["achieved_share"].to_numpy(),
                "cap share": rows["max_share"].to_numpy(),
            }
        )
        plans.append(
            ChartPlan(
                f"Exposure against its cap, by consumer and stage{_in(year)}",
                table,
                kind="column",
                value_axis="exposed share of the demand",
                value_format="0%",
                value_min=0,
                value_max=1,
                major_unit=0.2,
                colours={"achieved share (red where the cap binds)": "#4292C6"},
                point_colours=["#C0392B" if b == "yes" else "#4292C6" for b in rows["binding"]],
                lines=["cap share"],
                category_rotation=-45 if len(table) > 5 else None,
                note="Bars: exposed share achieved (red where the cap binds); diamonds: the cap.",
                source="exposure_caps",
                height=420,
            )
        )
    return plans


def plant_charts(sheets: Mapping[str, pd.DataFrame]) -> list[ChartPlan]:
    """The most used plants (utilisation) and the bottlenecks (value of one more unit of capacity)."""
    facilities = table_of(
        sheets, "facilities", "facility", "country", "restricted", "activity", "utilisation", "capacity_value"
    )
    if facilities is None:
        return []
    plans = []
    rows, year = _last_year(facilities)
    used = rows[rows["activity"] > 1e-9].sort_values(["utilisation", "activity"], ascending=False).head(TOP_N)
    if not used.empty:
        table = pd.DataFrame(
            {
                "plant": [f"{f} ({c})" for f, c in zip(used["facility"], used["country"], strict=True)],
                "utilisation": used["utilisation"].to_numpy(),
            }
        )
        plans.append(
            ChartPlan(
                f"Most used plants{_in(year)}",
                table,
                kind="bar",
                value_axis="utilisation (activity / capacity available)",
                value_format="0%",
                value_min=0,
                value_max=1,
                major_unit=0.2,
                point_colours=["#C0392B" if r == "yes" else "#2171B5" for r in used["restricted"]],
                labels=True,
                note=f"The {TOP_N} plants with the highest utilisation; red where the plant counts as exposure.",
                source="facilities",
                height=max(260, 80 + 26 * len(table)),
            )
        )
    valued = facilities[facilities["capacity_value"] > 1e-9]
    if not valued.empty:
        best = valued.sort_values("capacity_value", ascending=False).drop_duplicates("facility").head(TOP_N)
        years = "year" in best.columns and facilities["year"].nunique() > 1
        table = pd.DataFrame(
            {
                "plant": [
                    f"{f} ({c}{', ' + str(int(y)) if years else ''})"
                    for f, c, y in zip(
                        best["facility"], best["country"], best.get("year", best["facility"]), strict=True
                    )
                ],
                "capacity_value": best["capacity_value"].to_numpy(),
            }
        )
        plans.append(
            ChartPlan(
                "Bottleneck plants: value of one more unit of capacity",
                table,
                kind="bar",
                value_axis="USD/yr saved per unit of capacity" + (" (that year's USD)" if years else ""),
                value_format="#,##0",
                point_colours=["#C0392B" if r == "yes" else "#E67E22" for r in best["restricted"]],
                labels=True,
                note="Plants whose capacity limits the plan, by the dual of their capacity"
                + ("; each at its largest year." if years else "."),
                source="facilities",
                height=max(260, 80 + 26 * len(table)),
            )
        )
    return plans


def year_charts(sheets: Mapping[str, pd.DataFrame]) -> list[ChartPlan]:
    """With years: exposure over the years, capacity by stage and year, projects on a timeline, stocks."""
    plans = []
    deliveries = table_of(sheets, "deliveries", "country", "product", "year", "exposure_any")
    if deliveries is not None and deliveries["year"].nunique() > 1:
        keep = largest_consumers(sheets, MOST_LINES)
        deliveries = _kept(deliveries, keep)
        frame = deliveries.assign(
            consumer=[f"{c} {p}" for c, p in zip(deliveries["country"], deliveries["product"], strict=True)]
        )
        wide = frame.pivot_table(index="year", columns="consumer", values="exposure_any", aggfunc="sum", sort=False)
        table = wide.reset_index().rename_axis(columns=None)
        table["year"] = table["year"].astype(int)
        products = list(dict.fromkeys(deliveries["product"].astype(str)))
        countries = list(dict.fromkeys(deliveries["country"].astype(str)))
        dash_types = ["solid", "dash", "round_dot", "long_dash", "dash_dot"]
        pairs = list(
            dict.fromkeys(zip(deliveries["country"].astype(str), deliveries["product"].astype(str), strict=True))
        )
        plans.append(
            ChartPlan(
                "Exposure (any stage) by consumer over the years",
                table,
                kind="line",
                value_axis="share of the demand",
                value_format="0%",
                value_min=0,
                value_max=1,
                major_unit=0.2,
                category_format="0",
                colours={f"{c} {p}": PALETTE[products.index(p) % len(PALETTE)] for c, p in pairs},
                dashes={f"{c} {p}": dash_types[countries.index(c) % len(dash_types)] for c, p in pairs},
                note="Share of each demand row that passed through a restricted plant at one stage or more; "
                "one colour per product, one line style per country." + _of_largest(keep, MOST_LINES),
                source="deliveries",
                height=460,
            )
        )
    capacity = table_of(sheets, "capacity_by_stage", "year")
    if capacity is not None and len(capacity.columns) > 1:
        table = capacity.copy()
        table["year"] = table["year"].astype(int)
        plans.append(
            ChartPlan(
                "Capacity available by stage and year",
                table,
                kind="column",
                value_axis="activity units/yr",
                value_format="#,##0",
                category_format="0",
                colours={str(c): STAGE_BLUES[i % len(STAGE_BLUES)] for i, c in enumerate(capacity.columns[1:])},
                note="Input capacity, expansions and projects online; a plant counts at the stage of its first "
                "process.",
                source="capacity_by_stage",
            )
        )
    timeline = table_of(sheets, "project_timeline", "project", "online_year", "years_online")
    if timeline is not None:
        first = int(timeline["online_year"].min())
        years = table_of(sheets, "capacity_by_stage", "year")
        if years is not None:  # the axis starts with the first model year
            first = min(first, int(years["year"].min()))
        last = int((timeline["online_year"] + timeline["years_online"]).max())
        table = pd.DataFrame(
            {
                "project": timeline["project"].astype(str).to_numpy(),
                "online from": timeline["online_year"].astype(int).to_numpy(),
                "years online": timeline["years_online"].astype(int).to_numpy(),
            }
        )
        plans.append(
            ChartPlan(
                "Projects built: years online",
                table,
                kind="bar",
                subtype="stacked",
                value_axis="year",
                value_format="0",
                value_min=first,
                value_max=last,
                major_unit=1,
                hidden=["online from"],
                colours={"years online": "#2CA02C"},
                note="Each bar runs from the first year the project's capacity is available to the end of the horizon "
                "or of its life.",
                source="project_timeline",
                height=max(220, 90 + 30 * len(table)),
            )
        )
    stocks = table_of(sheets, "stockpiles", "country", "product", "year", "stock")
    if stocks is not None:
        frame = stocks.assign(stockpile=[f"{c} {p}" for c, p in zip(stocks["country"], stocks["product"], strict=True)])
        wide = frame.pivot_table(index="year", columns="stockpile", values="stock", aggfunc="sum", sort=False)
        table = wide.reset_index().rename_axis(columns=None)
        table["year"] = table["year"].astype(int)
        plans.append(
            ChartPlan(
                "Stock at the end of each year",
                table,
                kind="line",
                value_axis="t",
                value_format="#,##0",
                category_format="0",
                note="One line per stockpile (country and product).",
                source="stockpiles",
            )
        )
    return plans


CHART_BUILDERS: list[ChartBuilder] = [cost_charts, supply_charts, exposure_charts, plant_charts, year_charts]


def register_chart(builder: ChartBuilder) -> ChartBuilder:
    """Add ``builder`` to the charts every results workbook draws (usable as a decorator)."""
    if builder not in CHART_BUILDERS:
        CHART_BUILDERS.append(builder)
    return builder
