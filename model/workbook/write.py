"""Write the results workbook whole or not at all.

The workbook is written to a temporary file in the destination folder and
renamed into place, so a reader never sees a half-written file and a failed
run leaves the previous results intact.

Every cell is written by its type, never guessed from its text: names a user
typed (``=1+1``, ``https://…``, ``mailto:…``, ``-2``) stay text, never become
formulas, links or numbers (the workbook options that would convert them are
off too).  Text longer than a cell holds (32,767 UTF-16 units) is cut, ends
with a visible mark, and the cut is reported (:func:`write_workbook` returns
the messages and lists them in a ``warnings`` sheet when the results have
one).  NaN is a blank cell; ±inf, which Excel cannot hold, is a blank cell and
a warning; numpy scalars are written as the numbers or flags they are.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import numbers
import os
import re
import stat
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

# Charts: model/workbook/charts.py draws them on the 'charts' sheet.  To add one, write a function from the
# result tables to a list of ChartPlan and register_chart() it (or append it to CHART_BUILDERS).
from model.workbook.charts import (  # noqa: F401  (re-exported for callers)
    CHART_BUILDERS,
    CHART_NAME_LIMIT,
    ChartPlan,
    chart_name,
    register_chart,
)

EXCEL_TEXT_LIMIT = 32_767  # UTF-16 code units in one cell
CUT_MARK = " …[cut: {length:,} characters in all; a cell holds {limit:,}]"
COLUMN_WIDTH = (10, 60)  # characters, at least and at most


NUMBER_FORMATS = {
    "share": "0.0%",
    "money": "#,##0",
    "ratio": "#,##0.00",
    "tonnes": "#,##0.0",
    "count": "#,##0",
    "year": "0",
    "factor": "0.0000",
    "seconds": "#,##0.00",
    "mixed": "#,##0.###",
}
HEADER_STYLE = {"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "valign": "top"}
LINK_STYLE = {"font_color": "#0563C1", "underline": 1}
FILTER_BUTTON = 3  # characters of width the auto-filter button takes in a header cell

# The results sheets in the order an analyst reads them, with what each holds (the summary's contents
# column links to each).  A sheet not listed here keeps its place among the others, before warnings and
# legend; add new sheets here (name: one line of what it holds) to place and describe them.
SHEET_CONTENTS: dict[str, str] = {
    "summary": "The run: status, total cost and its components, totals, timings",
    "charts": "The results as charts, each with its figures beside it",
    "deliveries": "Per consumer: demand, delivered, unmet, exposure by stage, marginal cost",
    "exposure_caps": "Each exposure cap: achieved share, binding, value of one more point",
    "explanations": "Why demand was not met, found by relaxing limits in turn",
    "comparison": "Scenarios side by side: cost, unmet demand, exposure",
    "frontier": "Cost and unmet demand as the exposure cap tightens",
    "stochastic": "The two-stage plan's outcome in each scenario",
    "samples": "Monte Carlo draws: the factors and the outcome of each",
    "percentiles": "Monte Carlo outcomes: 10th, 50th and 90th percentiles",
    "calibration": "Observed flows against the model's",
    "costs_by_year": "Cost of each year by component, and the discount factor",
    "facilities": "Per plant: capacity, activity, utilisation, expansion, value of capacity",
    "projects": "Candidate projects: built or not, when, cost, value",
    "project_timeline": "Built projects: first year online and years online",
    "capacity_by_stage": "Capacity available per stage and year",
    "budgets": "Per funder and year: budget, capex committed, value of one more USD",
    "stockpiles": "Per stockpile and year: stock, purchases, releases, cover",
    "sourcing": "Per consumer and stage: which countries its supply came from",
    "trade": "Shipments between countries with their transport and tariff cost",
    "activity": "Activity per plant and process",
    "surplus": "Output nobody in the model uses (by-products)",
    "warnings": "Warnings of the run",
    "legend": "Every column of every sheet: meaning and unit",
}
_LAST = ("warnings", "legend")


def reading_order(names: list[str]) -> list[str]:
    """``names`` in the order an analyst reads them: :data:`SHEET_CONTENTS`'s order; a sheet not listed
    there keeps its place relative to the others and comes before warnings and legend."""
    rank = {name: index for index, name in enumerate(SHEET_CONTENTS)}
    known = sorted((n for n in names if n in rank), key=rank.__getitem__)
    unknown = [n for n in names if n not in rank]
    middle = [n for n in known if n not in _LAST]
    # An unknown sheet goes after the known sheet it followed in ``names`` (or first after summary).
    for name in unknown:
        before = names[: names.index(name)]
        anchor = next((n for n in reversed(before) if n in middle), None)
        middle.insert(middle.index(anchor) + 1 if anchor is not None else min(1, len(middle)), name)
    return middle + [n for n in known if n in _LAST]


def number_format(column: str, unit: object = None) -> str | None:
    """The Excel number format of a column, from its unit (the legend's) or, without one, its name.

    Shares (``share 0..1``) as percentages with one decimal; USD with thousands separators and no
    decimals (USD per USD with two); tonnes and activity units with one decimal; years without a
    separator; days, counts with none.  A unit naming several (``t/yr or share``) gets up to three
    decimals.  None: text, or a number left as Excel shows it.
    """
    text = unit.strip().lower() if isinstance(unit, str) else ""
    if text:
        if " or " in text or text.startswith("see"):
            return NUMBER_FORMATS["mixed"]
        if "share" in text or "probability" in text or text in ("%", "percent"):
            return NUMBER_FORMATS["share"]
        if "per usd" in text:
            return NUMBER_FORMATS["ratio"]
        if text.startswith("usd"):
            return NUMBER_FORMATS["money"]
        if text == "t" or text.startswith(("t/", "t ")) or "activity unit" in text or text.startswith("tonne"):
            return NUMBER_FORMATS["tonnes"]
        if text == "year":
            return NUMBER_FORMATS["year"]
        if text in ("days", "days of cover"):
            return NUMBER_FORMATS["tonnes"]
        if text in ("years", "count", "draws", "number"):
            return NUMBER_FORMATS["count"]
        if text == "factor":
            return NUMBER_FORMATS["factor"]
        if text in ("s", "seconds"):
            return NUMBER_FORMATS["seconds"]
        if text in ("yes/no", "relative", "text"):
            return None
    return _format_by_name(column)


_SHARE_NAMES = ("share", "utilisation", "probability", "max_share", "achieved_share", "exposed_share")
_MONEY_WORDS = ("cost", "objective", "price", "capex", "budget", "committed", "value", "penalty")
_TONNE_WORDS = (
    "quantity", "delivered", "unmet", "capacity", "activity", "expansion", "stock", "purchases", "releases",
    "min_flow", "shortfall", "flow", "observed", "modelled", "deviation", "days",
)  # fmt: skip


def _format_by_name(column: str) -> str | None:
    """A number format guessed from a column name (for columns the legend gives no unit)."""
    name = column.lower()
    if name in ("year", "online_year", "sample", "row", "seed") or name.endswith("_year"):
        return NUMBER_FORMATS["year"]
    if name.startswith("exposure") or name.endswith(("_share", "utilisation")) or name in _SHARE_NAMES:
        return NUMBER_FORMATS["share"]
    if re.fullmatch(r"p\d{1,2}|mean|median", name):  # percentiles of figures in different units
        return NUMBER_FORMATS["mixed"]
    if name.startswith("factor_") or name == "discount_factor":
        return NUMBER_FORMATS["factor"]
    if name.endswith("_seconds"):
        return NUMBER_FORMATS["seconds"]
    if any(word in name for word in _MONEY_WORDS):
        return NUMBER_FORMATS["money"]
    if any(word in name for word in _TONNE_WORDS):
        return NUMBER_FORMATS["tonnes"]
    return None


def _units(sheets: dict[str, pd.DataFrame]) -> dict[tuple[str, str], str]:
    """(sheet, column) -> unit, from the ``legend`` sheet when there is one."""
    legend = sheets.get("legend")
    if legend is None or not {"sheet", "column", "unit"} <= set(legend.columns):
        return {}
    return {
        (str(sheet), str(column)): unit
        for sheet, column, unit in legend[["sheet", "column", "unit"]].itertuples(index=False)
        if isinstance(unit, str)
    }


def _add_study_charts(workbook, sheets: dict[str, pd.DataFrame]) -> None:
    """The cost–exposure frontier: cost and unmet demand against the cap (a line chart, unmet on a second axis)."""
    frontier = sheets.get("frontier")
    if frontier is None or not len(frontier):
        return
    columns = list(frontier.columns)
    rows = len(frontier)
    chart = workbook.add_chart({"type": "line"})
    for column, extra in (("objective", {}), ("unmet_total", {"y2_axis": True})):
        index = columns.index(column)
        chart.add_series(
            {
                "name": ["frontier", 0, index],
                "categories": ["frontier", 1, 0, rows, 0],
                "values": ["frontier", 1, index, rows, index],
                "marker": {"type": "circle"},
                **extra,
            }
        )
    chart.set_title({"name": "Cost and unmet demand against the cap on exposure"})
    chart.set_x_axis({"name": "exposure cap (share of each demand row, any stage)", "num_format": "0%"})
    chart.set_y_axis({"name": "objective (USD)", "num_format": "#,##0"})
    chart.set_y2_axis({"name": "unmet demand (t)", "num_format": "#,##0"})
    chart.set_size({"width": 800, "height": 400})
    workbook.get_worksheet_by_name("frontier").insert_chart(rows + 3, 0, chart)


def write_workbook(sheets: dict[str, pd.DataFrame], destination: Path) -> list[str]:
    """Write ``sheets`` to ``destination`` atomically (temporary file + rename).

    XlsxWriter in constant-memory mode streams rows to disk (measured 2.3×
    faster than openpyxl on 200k-row sheets).  Returns the warnings of the
    writing (text cut to a cell's limit, infinite numbers left blank), which
    also go to the ``warnings`` sheet when ``sheets`` has one.  Raises
    ``OSError`` subclasses unchanged (permission, disk full, file held open);
    the caller turns them into messages.
    """
    import xlsxwriter

    sheets, notes = _fit_to_excel(sheets)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.stem}-", suffix=".xlsx.tmp", dir=destination.parent)
    os.close(handle)
    replaced = False
    try:
        workbook = xlsxwriter.Workbook(
            temporary,
            {
                "constant_memory": True,
                # Text is text: never a formula, a link or a number because of how it reads.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": True,  # never reached: non-finite numbers are written blank
            },
        )
        _write_sheets(workbook, sheets)
        _add_study_charts(workbook, sheets)
        _add_comparison_chart(workbook, sheets)
        workbook.close()
        # mkstemp made the file 0600 whatever the umask: give it the permissions a new file would have,
        # so that colleagues can read the results where the folder lets them.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, destination)
        replaced = True
    finally:
        if not replaced:  # any failure, Ctrl-C included: no half-written file is left behind
            Path(temporary).unlink(missing_ok=True)
    return notes


def _write_sheets(workbook, sheets: dict[str, pd.DataFrame]) -> None:
    """Every sheet in reading order (:func:`reading_order`), the ``charts`` sheet second when there are charts.

    Each table: a styled, frozen header with an auto-filter; number formats from the legend's units
    (:func:`number_format`); widths fitted to the header and the first rows as shown.  The summary's
    ``value`` cells are formatted by their row's unit, and its ``sheet`` column links to every sheet.
    """
    from model.workbook.charts import CHART_SHEET, draw_charts, plan_charts

    cache: dict[str, object] = {}

    def fmt(number: str | None):
        if number is None:
            return None
        if number not in cache:
            cache[number] = workbook.add_format({"num_format": number})
        return cache[number]

    header = workbook.add_format(HEADER_STYLE)
    number_header = workbook.add_format({**HEADER_STYLE, "align": "right"})
    plans = plan_charts(sheets) if CHART_SHEET not in sheets else []
    order = reading_order([*sheets, *([CHART_SHEET] if plans else [])])
    worksheets = {name: workbook.add_worksheet(name) for name in order}
    units = _units(sheets)
    for name, frame in sheets.items():
        ws = worksheets[name]
        columns = [str(c) for c in frame.columns]
        formats = [number_format(column, units.get((name, column))) for column in columns]
        for index, column in enumerate(columns):
            numeric = formats[index] is not None and frame.dtypes.iloc[index].kind in "iuf"
            ws.write_string(0, index, column, number_header if numeric else header)
        ws.freeze_panes(1, 0)
        if columns:
            ws.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
        # Printed: landscape A4, one page wide, the header on every page.
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)
        for index, column in enumerate(columns):
            ws.set_column(index, index, _width(column, frame.iloc[:200, index], formats[index]))
        column_formats = [fmt(f) for f in formats]
        if name == "summary" and columns[:3] == ["item", "value", "unit"]:
            _write_summary(ws, frame, order, fmt, header, workbook.add_format(LINK_STYLE))
            continue
        for row_number, row in enumerate(frame.itertuples(index=False, name=None), start=1):
            for index, value in enumerate(row):
                _write_cell(ws, row_number, index, value, column_formats[index])
    if plans:
        draw_charts(workbook, worksheets[CHART_SHEET], plans, fmt)


SUMMARY_CONTENTS = 4  # column E: the summary's list of sheets (after a blank column)


def _write_summary(ws, frame: pd.DataFrame, order: list[str], fmt, header, link) -> None:
    """The summary's rows, each value formatted by its unit, and beside them a linked list of the sheets."""
    sheets = [name for name in order if name != "summary"]
    ws.write_string(0, SUMMARY_CONTENTS, "sheet", header)
    ws.write_string(0, SUMMARY_CONTENTS + 1, "contents", header)
    ws.set_column(SUMMARY_CONTENTS - 1, SUMMARY_CONTENTS - 1, 3)
    ws.set_column(SUMMARY_CONTENTS, SUMMARY_CONTENTS, max([10, *(len(n) + 2 for n in sheets)]))
    described = [SHEET_CONTENTS.get(name, "See the legend sheet") for name in sheets]
    ws.set_column(SUMMARY_CONTENTS + 1, SUMMARY_CONTENTS + 1, min(COLUMN_WIDTH[1], max([10, *map(len, described)]) + 2))
    rows = list(frame.itertuples(index=False, name=None))
    for row_number in range(1, max(len(rows), len(sheets)) + 1):
        if row_number <= len(rows):
            row = rows[row_number - 1]
            unit = row[2] if len(row) > 2 else None
            value_format = fmt(number_format(str(row[0]), unit) or None) if isinstance(row[1], numbers.Real) else None
            for index, value in enumerate(row):
                _write_cell(ws, row_number, index, value, value_format if index == 1 else None)
        if row_number <= len(sheets):
            name = sheets[row_number - 1]
            ws.write_url(row_number, SUMMARY_CONTENTS, f"internal:'{name}'!A1", link, string=name, tip=f"Go to {name}")
            ws.write_string(row_number, SUMMARY_CONTENTS + 1, described[row_number - 1])


def _add_comparison_chart(workbook, sheets: dict[str, pd.DataFrame]) -> None:
    """``--all-scenarios``: cost (columns) and unmet demand (line, right axis) by scenario."""
    table = sheets.get("comparison")
    if table is None or not len(table) or "objective" not in table.columns:
        return
    columns = list(table.columns)
    last = len(table)
    cost = workbook.add_chart({"type": "column"})
    cost.add_series(
        {
            "name": ["comparison", 0, columns.index("objective")],
            "categories": ["comparison", 1, 0, last, 0],
            "values": ["comparison", 1, columns.index("objective"), last, columns.index("objective")],
        }
    )
    unmet = workbook.add_chart({"type": "line"})
    unmet.add_series(
        {
            "name": ["comparison", 0, columns.index("unmet_total")],
            "categories": ["comparison", 1, 0, last, 0],
            "values": ["comparison", 1, columns.index("unmet_total"), last, columns.index("unmet_total")],
            "y2_axis": True,
            "marker": {"type": "circle"},
        }
    )
    cost.combine(unmet)
    cost.set_title({"name": "Cost and unmet demand by scenario"})
    cost.set_y_axis({"name": "cost (million USD)", "num_format": "#,##0,,"})
    unmet.set_y2_axis({"name": "unmet demand (t)"})
    cost.set_size({"width": 960, "height": 420})
    workbook.get_worksheet_by_name("comparison").insert_chart(last + 3, 0, cost)


def _write_cell(ws, row: int, column: int, value, cell_format) -> None:
    """One cell, by the value's type (see :func:`_cell`); blank cells are left out."""
    kind = type(value)
    if kind is str:  # the common cases first
        ws.write_string(row, column, value, cell_format)
        return
    if kind is float:
        if math.isfinite(value):
            ws.write_number(row, column, value, cell_format)
        return
    value = _cell(value)
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_boolean(row, column, value, cell_format)
    elif isinstance(value, float):
        ws.write_number(row, column, value, cell_format)
    else:
        ws.write_string(row, column, value, cell_format)


def _cell(value) -> bool | float | str | None:
    """A value as the cell will hold it: a flag, a finite number, text, or None for a blank.

    numpy and pandas scalars count as the Python values they stand for; NaN,
    None, pandas' NA and NaT and ±inf are blank; dates and anything else are
    written as their text.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if hasattr(value, "item") and not isinstance(value, (pd.Timestamp, pd.Timedelta)):
        try:
            value = value.item()  # numpy scalar -> Python value
        except (TypeError, ValueError):  # an array or an object without a scalar value
            return str(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        try:
            number = float(value)
        except OverflowError:  # an int beyond any float: keep its digits
            return str(value)
        return number if math.isfinite(number) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return value.isoformat()
    return str(value)


def _utf16_length(text: str) -> int:
    """Length as Excel counts it: characters outside the Basic Multilingual Plane count twice."""
    if len(text) <= EXCEL_TEXT_LIMIT // 2:  # cannot exceed the limit, skip the count
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int = EXCEL_TEXT_LIMIT) -> str:
    """``text`` shortened to ``limit`` UTF-16 units, ending with :data:`CUT_MARK`."""
    mark = CUT_MARK.format(length=len(text), limit=limit)
    room = limit - _utf16_length(mark)
    kept = text[:room]
    while (excess := _utf16_length(kept) - room) > 0:  # characters outside the BMP count twice
        kept = kept[: len(kept) - (excess + 1) // 2]
    return kept + mark


def _fit_to_excel(sheets: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Sheets whose every text fits in a cell, and a warning per cell that had to be cut or left blank.

    Column names and text cells longer than a cell holds are cut
    (:func:`_cut`); infinite numbers are noted (the writer leaves them blank).
    A sheet is copied only when something in it changes.
    """
    from xlsxwriter.utility import xl_rowcol_to_cell

    notes: list[str] = []
    fitted = {}
    for name, frame in sheets.items():
        changed = None
        header = [str(c) for c in frame.columns]
        if any(_too_long(text) for text in header):
            for index, text in enumerate(header):
                if _too_long(text):
                    notes.append(
                        f"{name}!{xl_rowcol_to_cell(0, index)}: a column name of {len(text):,} characters was cut "
                        f"to the {EXCEL_TEXT_LIMIT:,} a cell holds; it ends with '…[cut: …]'"
                    )
            changed = frame.copy()
            changed.columns = [
                _cut(text) if _too_long(text) else column for text, column in zip(header, frame.columns, strict=True)
            ]
        for index in range(len(header)):
            values = frame.iloc[:, index].to_numpy()
            if values.dtype.kind == "f":
                infinite = [int(i) for i in np.flatnonzero(np.isinf(values))]
            elif values.dtype == object:
                infinite = [i for i, v in enumerate(values) if _is_infinite(v)]
                for position in [i for i, v in enumerate(values) if _too_long(v)]:
                    text = values[position]
                    notes.append(
                        f"{name}!{xl_rowcol_to_cell(position + 1, index)} ({header[index]}): text of "
                        f"{len(text):,} characters was cut to the {EXCEL_TEXT_LIMIT:,} a cell holds; it ends with "
                        "'…[cut: …]'"
                    )
                    changed = frame.copy() if changed is None else changed
                    changed.iat[position, index] = _cut(text)
            else:
                infinite = []
            for position in infinite:
                notes.append(
                    f"{name}!{xl_rowcol_to_cell(position + 1, index)} ({header[index]}): an infinite number, "
                    "which a cell cannot hold, was left blank"
                )
        fitted[name] = frame if changed is None else changed
    if notes and "warnings" in fitted and {"sheet", "row", "message"} <= set(fitted["warnings"].columns):
        rows = pd.DataFrame([{"sheet": "(results)", "row": None, "message": note} for note in notes])
        fitted["warnings"] = pd.concat([fitted["warnings"], rows], ignore_index=True)
    return fitted, notes


def _too_long(text) -> bool:
    return isinstance(text, str) and len(text) > EXCEL_TEXT_LIMIT // 2 and _utf16_length(text) > EXCEL_TEXT_LIMIT


def _is_infinite(value) -> bool:
    if not isinstance(value, (numbers.Real, decimal.Decimal)) or isinstance(value, bool):
        return False
    try:
        return math.isinf(value)
    except (OverflowError, ValueError):  # an int beyond any float is not infinite
        return False


def _width(column: str, values: pd.Series, number: str | None = None) -> int:
    """Column width from the header (and its filter button) and the first rows as shown, long text capped
    (it wraps in the cell anyway)."""
    low, high = COLUMN_WIDTH
    width = len(column) + FILTER_BUTTON
    for value in values:
        width = max(width, len(value) if isinstance(value, str) else len(_shown(value, number)))
        if width >= high:
            break
    return min(high, max(low, width + 2))


def _shown(value, number: str | None = None) -> str:
    """A cell as Excel shows it in ``number`` format, near enough to size its column."""
    value = _cell(value)
    if not isinstance(value, float) or isinstance(value, bool):
        return "" if value is None else str(value)
    if number == NUMBER_FORMATS["share"]:
        return f"{value * 100:.1f}%"
    if number in (NUMBER_FORMATS["year"],):
        return f"{value:.0f}"
    if number in (NUMBER_FORMATS["money"], NUMBER_FORMATS["count"]):
        return f"{value:,.0f}"
    if number == NUMBER_FORMATS["tonnes"]:
        return f"{value:,.1f}"
    if number in (NUMBER_FORMATS["ratio"], NUMBER_FORMATS["seconds"]):
        return f"{value:,.2f}"
    if number in (NUMBER_FORMATS["factor"], NUMBER_FORMATS["mixed"]):
        return f"{value:,.4f}"
    return f"{value:.10g}"


def is_read_only(path: Path) -> bool:
    """An existing file whose owner may not write it (kept, never replaced)."""
    return path.exists() and not path.stat().st_mode & stat.S_IWUSR


def timestamped(path: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return path.with_name(f"{path.stem}-{stamp}{path.suffix}")


def write_results(
    sheets: dict[str, pd.DataFrame], destination: Path, warnings: list[str] | None = None
) -> tuple[Path, str | None]:
    """Write the results; if ``destination`` cannot be replaced, write beside it.

    Returns the path written and, when it differs, a message saying why.  A
    read-only results file, or one the system refuses to replace (held open
    by Excel on Windows), is left untouched and the results go to
    ``<name>-<YYYYmmdd-HHMMSS>.xlsx`` in the same folder.  The writing's own
    warnings (:func:`write_workbook`) are appended to ``warnings`` when given.
    """
    notes = warnings if warnings is not None else []
    if is_read_only(destination):
        target = timestamped(destination)
        notes += write_workbook(sheets, target)
        return target, f"'{destination}' is read-only, so it was left as it is"
    try:
        notes += write_workbook(sheets, destination)
    except PermissionError:
        if not destination.exists():
            raise
        target = timestamped(destination)
        notes += write_workbook(sheets, target)
        return target, f"'{destination}' could not be replaced (is it open in Excel?), so it was left as it is"
    return destination, None
