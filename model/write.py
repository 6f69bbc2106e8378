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
    from openpyxl.chart import BarChart, Reference

    summary = sheets["summary"]
    ws = workbook["summary"]
    cost_rows = [
        i for i, item in enumerate(summary["item"]) if str(item).startswith("cost_") or item == "surplus_credit"
    ]
    if cost_rows:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Annual cost by component (USD/yr)"
        chart.legend = None
        first, last = cost_rows[0] + 2, cost_rows[-1] + 2
        chart.add_data(Reference(ws, min_col=2, min_row=first, max_row=last), titles_from_data=False)
        chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
        chart.height, chart.width = 9, 18
        ws.add_chart(chart, "E2")

    deliveries = sheets["deliveries"]
    if len(deliveries):
        ws = workbook["deliveries"]
        chart = BarChart()
        chart.type = "col"
        chart.title = "Exposed share of each demand row, by stage"
        chart.y_axis.title = "share of quantity"
        chart.y_axis.number_format = "0%"
        stage_columns = [i for i, c in enumerate(deliveries.columns) if c.startswith("exposure_")]
        for index in stage_columns:
            chart.add_data(
                Reference(ws, min_col=index + 1, min_row=1, max_row=len(deliveries) + 1), titles_from_data=True
            )
        labels_col = len(deliveries.columns) + 2
        ws.cell(row=1, column=labels_col, value="label")
        for row, (country, product) in enumerate(
            zip(deliveries["country"], deliveries["product"], strict=True), start=2
        ):
            ws.cell(row=row, column=labels_col, value=f"{country} {product}")
        chart.set_categories(Reference(ws, min_col=labels_col, min_row=2, max_row=len(deliveries) + 1))
        chart.height, chart.width = 10, 24
        ws.add_chart(chart, ws.cell(row=len(deliveries) + 4, column=1).coordinate)


def write_workbook(sheets: dict[str, pd.DataFrame], destination: Path) -> None:
    """Write ``sheets`` to ``destination`` atomically (temporary file + rename).

    Raises ``OSError`` subclasses unchanged (permission, disk full, file
    held open); the caller turns them into messages.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)

    destination.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, frame in sheets.items():
        ws = workbook.create_sheet(name)
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            ws.append([_cell(value) for value in row])
        ws.freeze_panes = "A2"
        for index, column in enumerate(frame.columns, start=1):
            letter = get_column_letter(index)
            fmt = _format_for(name, str(column))
            if fmt is None and name == "summary" and column == "value":
                fmt = "#,##0.##"
            if fmt:
                for cell in ws[letter][1:]:
                    if isinstance(cell.value, int | float):
                        cell.number_format = fmt
            width = max([len(str(column))] + [len(_shown(v)) for v in frame[column].head(200)])
            ws.column_dimensions[letter].width = min(60, max(10, width + 2))
        for cell in ws[1]:
            cell.font = bold
    _add_charts(workbook, sheets)

    handle, temporary = tempfile.mkstemp(prefix=f".{destination.stem}-", suffix=".xlsx.tmp", dir=destination.parent)
    os.close(handle)
    try:
        workbook.save(temporary)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
