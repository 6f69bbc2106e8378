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

EXCEL_TEXT_LIMIT = 32_767  # UTF-16 code units in one cell
CHART_NAME_LIMIT = 255  # a chart series name
CUT_MARK = " …[cut: {length:,} characters in all; a cell holds {limit:,}]"
COLUMN_WIDTH = (10, 60)  # characters, at least and at most

# XlsxWriter reads a series name of this shape as a reference to a cell (chart.py, _process_names).
_REFERENCE_LIKE = re.compile(r"^=?[^!]+!\$?[A-Z]+\$?\d+")

NUMBER_FORMATS = {
    "share": "0.0%",
    "money": "#,##0",
    "tonnes": "#,##0.0",
}


def _format_for(sheet: str, column: str) -> str | None:
    if column.startswith("exposure_") or column in ("max_share", "achieved_share", "share", "utilisation"):
        return NUMBER_FORMATS["share"]
    if column in ("transport_cost", "tariff_cost", "marginal_cost", "shadow_price_per_pp", "capacity_value"):
        return NUMBER_FORMATS["money"]
    if column in (
        "quantity",
        "delivered",
        "unmet",
        "capacity",
        "activity",
        "expansion",
        "exposed_activity",
        "exposed_quantity",
    ):
        return NUMBER_FORMATS["tonnes"]
    return None


def _add_charts(workbook, sheets: dict[str, pd.DataFrame]) -> None:
    """Native Excel charts: cost by component, exposure by consumer and stage."""
    summary = sheets.get("summary")
    items = [str(item) for item in summary["item"]] if summary is not None else []
    cost_rows = [i for i, item in enumerate(items) if item.startswith("cost_") or item == "surplus_credit"]
    if cost_rows:
        chart = workbook.add_chart({"type": "bar"})
        chart.add_series(
            {
                "name": "USD/yr",
                "categories": ["summary", cost_rows[0] + 1, 0, cost_rows[-1] + 1, 0],
                "values": ["summary", cost_rows[0] + 1, 1, cost_rows[-1] + 1, 1],
            }
        )
        chart.set_title({"name": "Annual cost by component (million USD/yr)"})
        chart.set_x_axis({"num_format": "#,##0.0,,", "major_gridlines": {"visible": True}})
        chart.set_legend({"none": True})
        chart.set_size({"width": 720, "height": 360})
        workbook.get_worksheet_by_name("summary").insert_chart("E2", chart)

    deliveries = sheets.get("deliveries")
    if deliveries is not None and len(deliveries):
        chart = workbook.add_chart({"type": "column"})
        for index, column in enumerate(deliveries.columns):
            if str(column).startswith("exposure_"):
                chart.add_series(
                    {
                        "name": ["deliveries", 0, index],
                        "categories": ["deliveries", 1, 0, len(deliveries), 1],  # country and product
                        "values": ["deliveries", 1, index, len(deliveries), index],
                    }
                )
        chart.set_title({"name": "Exposed share of each demand row, by stage"})
        chart.set_y_axis({"name": "share of quantity", "num_format": "0%", "max": 1})
        chart.set_size({"width": 960, "height": 400})
        workbook.get_worksheet_by_name("deliveries").insert_chart(len(deliveries) + 3, 0, chart)


def _add_year_charts(workbook, sheets: dict[str, pd.DataFrame]) -> None:
    """With years: capacity by stage and year, projects on a timeline, stock levels."""
    capacity = sheets.get("capacity_by_stage")
    if capacity is not None and len(capacity) and len(capacity.columns) > 1:
        chart = workbook.add_chart({"type": "column", "subtype": "stacked"})
        for index in range(1, len(capacity.columns)):
            chart.add_series(
                {
                    "name": ["capacity_by_stage", 0, index],
                    "categories": ["capacity_by_stage", 1, 0, len(capacity), 0],
                    "values": ["capacity_by_stage", 1, index, len(capacity), index],
                }
            )
        chart.set_title({"name": "Capacity by stage and year (activity units/yr)"})
        chart.set_size({"width": 800, "height": 380})
        workbook.get_worksheet_by_name("capacity_by_stage").insert_chart(1, len(capacity.columns) + 1, chart)
    timeline = sheets.get("project_timeline")
    if timeline is not None and len(timeline):
        chart = workbook.add_chart({"type": "bar", "subtype": "stacked"})
        rows = len(timeline)
        chart.add_series(
            {
                "name": "online from",
                "categories": ["project_timeline", 1, 0, rows, 0],
                "values": ["project_timeline", 1, 1, rows, 1],
                "fill": {"none": True},
                "border": {"none": True},
            }
        )
        chart.add_series(
            {
                "name": ["project_timeline", 0, 2],
                "categories": ["project_timeline", 1, 0, rows, 0],
                "values": ["project_timeline", 1, 2, rows, 2],
            }
        )
        first = int(timeline["online_year"].min())
        last = int((timeline["online_year"] + timeline["years_online"]).max())
        chart.set_x_axis({"min": first, "max": last, "major_unit": 1, "num_format": "0", "name": "year"})
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"none": True})
        chart.set_title({"name": "Projects online (years within the horizon)"})
        chart.set_size({"width": 800, "height": max(240, 40 * rows + 120)})
        workbook.get_worksheet_by_name("project_timeline").insert_chart(1, 5, chart)
    stocks = sheets.get("stockpiles")
    if stocks is not None and len(stocks):
        chart = workbook.add_chart({"type": "line"})
        start = 0
        keys = list(zip(stocks["country"], stocks["product"], strict=True))
        while start < len(keys):
            end = start
            while end + 1 < len(keys) and keys[end + 1] == keys[start]:
                end += 1
            chart.add_series(
                {
                    "name": chart_name(f"{keys[start][0]} {keys[start][1]}"),
                    "categories": ["stockpiles", start + 1, 2, end + 1, 2],
                    "values": ["stockpiles", start + 1, 3, end + 1, 3],
                    "marker": {"type": "circle"},
                }
            )
            start = end + 1
        chart.set_title({"name": "Stock at the end of each year (t)"})
        chart.set_y_axis({"name": "t", "num_format": "#,##0"})
        chart.set_size({"width": 800, "height": 380})
        workbook.get_worksheet_by_name("stockpiles").insert_chart(1, len(stocks.columns) + 1, chart)


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
        bold = workbook.add_format({"bold": True})
        formats = {fmt: workbook.add_format({"num_format": fmt}) for fmt in set(NUMBER_FORMATS.values())}
        formats["#,##0.##"] = workbook.add_format({"num_format": "#,##0.##"})
        for name, frame in sheets.items():
            ws = workbook.add_worksheet(name)
            columns = [str(c) for c in frame.columns]
            for index, column in enumerate(columns):
                ws.write_string(0, index, column, bold)
            ws.freeze_panes(1, 0)
            column_formats = []
            for index, column in enumerate(columns):
                fmt = _format_for(name, column) or ("#,##0.##" if name == "summary" and column == "value" else None)
                column_formats.append(formats[fmt] if fmt else None)
                ws.set_column(index, index, _width(column, frame.iloc[:200, index]))
            for row_number, row in enumerate(frame.itertuples(index=False, name=None), start=1):
                for index, value in enumerate(row):
                    _write_cell(ws, row_number, index, value, column_formats[index])
        _add_charts(workbook, sheets)
        _add_year_charts(workbook, sheets)
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


def _width(column: str, values: pd.Series) -> int:
    """Column width from the header and the first rows, long text capped (it wraps in the cell anyway)."""
    low, high = COLUMN_WIDTH
    width = len(column)
    for value in values:
        width = max(width, len(_shown(value)) if not isinstance(value, str) else len(value))
        if width >= high:
            break
    return min(high, max(low, width + 2))


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def chart_name(text: str) -> str:
    """A chart series name that shows ``text`` as written: never read as a cell reference, at most
    255 characters."""
    if _REFERENCE_LIKE.match(text):
        text = text.replace("!", "!\u200b", 1)  # a zero-width space keeps it text
    if len(text) > CHART_NAME_LIMIT:
        text = text[: CHART_NAME_LIMIT - 1] + "…"
    return text


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
