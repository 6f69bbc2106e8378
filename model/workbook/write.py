"""Write the results workbook whole or not at all.

The workbook is written to a temporary file in the destination folder and
renamed into place, so a reader never sees a half-written file and a failed
run leaves the previous results intact.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import tempfile
from pathlib import Path

import pandas as pd

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
    summary = sheets["summary"]
    items = [str(item) for item in summary["item"]]
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

    deliveries = sheets["deliveries"]
    if len(deliveries):
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
                    "name": f"{keys[start][0]} {keys[start][1]}",
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


def write_workbook(sheets: dict[str, pd.DataFrame], destination: Path) -> None:
    """Write ``sheets`` to ``destination`` atomically (temporary file + rename).

    XlsxWriter in constant-memory mode streams rows to disk (measured 2.3×
    faster than openpyxl on 200k-row sheets).  Raises ``OSError``
    subclasses unchanged (permission, disk full, file held open); the
    caller turns them into messages.
    """
    import xlsxwriter

    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.stem}-", suffix=".xlsx.tmp", dir=destination.parent)
    os.close(handle)
    replaced = False
    try:
        workbook = xlsxwriter.Workbook(temporary, {"constant_memory": True, "nan_inf_to_errors": True})
        bold = workbook.add_format({"bold": True})
        formats = {fmt: workbook.add_format({"num_format": fmt}) for fmt in set(NUMBER_FORMATS.values())}
        formats["#,##0.##"] = workbook.add_format({"num_format": "#,##0.##"})
        for name, frame in sheets.items():
            ws = workbook.add_worksheet(name)
            columns = [str(c) for c in frame.columns]
            ws.write_row(0, 0, columns, bold)
            ws.freeze_panes(1, 0)
            column_formats = []
            for index, column in enumerate(columns):
                fmt = _format_for(name, column) or ("#,##0.##" if name == "summary" and column == "value" else None)
                column_formats.append(formats[fmt] if fmt else None)
                width = max([len(column)] + [len(_shown(v)) for v in frame[column].head(200)])
                ws.set_column(index, index, min(60, max(10, width + 2)))
            for row_number, row in enumerate(frame.itertuples(index=False, name=None), start=1):
                for index, value in enumerate(row):
                    value = _cell(value)
                    if value is not None:
                        ws.write(row_number, index, value, column_formats[index])
        _add_charts(workbook, sheets)
        _add_year_charts(workbook, sheets)
        workbook.close()
        os.replace(temporary, destination)
        replaced = True
    finally:
        if not replaced:  # any failure, Ctrl-C included: no half-written file is left behind
            Path(temporary).unlink(missing_ok=True)


def _cell(value):
    if hasattr(value, "item"):  # numpy scalar -> Python number
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def is_read_only(path: Path) -> bool:
    """An existing file whose owner may not write it (kept, never replaced)."""
    return path.exists() and not path.stat().st_mode & stat.S_IWUSR


def timestamped(path: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return path.with_name(f"{path.stem}-{stamp}{path.suffix}")


def write_results(sheets: dict[str, pd.DataFrame], destination: Path) -> tuple[Path, str | None]:
    """Write the results; if ``destination`` cannot be replaced, write beside it.

    Returns the path written and, when it differs, a message saying why.  A
    read-only results file, or one the system refuses to replace (held open
    by Excel on Windows), is left untouched and the results go to
    ``<name>-<YYYYmmdd-HHMMSS>.xlsx`` in the same folder.
    """
    if is_read_only(destination):
        target = timestamped(destination)
        write_workbook(sheets, target)
        return target, f"'{destination}' is read-only, so it was left as it is"
    try:
        write_workbook(sheets, destination)
    except PermissionError:
        if not destination.exists():
            raise
        target = timestamped(destination)
        write_workbook(sheets, target)
        return target, f"'{destination}' could not be replaced (is it open in Excel?), so it was left as it is"
    return destination, None
