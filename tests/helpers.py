"""Build small input workbooks from Python tables, for hand cases."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

HEADERS = {
    "settings": ["setting", "value"],
    "countries": ["country", "restricted"],
    "products": ["product", "value", "surplus_price"],
    "processes": ["process", "stage", "product", "coefficient"],
    "facilities": ["facility", "country", "capacity", "restricted", "expansion_max", "expansion_cost"],
    "facility_processes": ["facility", "process", "unit_cost"],
    "lanes": ["from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow"],
    "demand": ["country", "product", "quantity", "unmet_penalty"],
    "exposure_caps": ["country", "product", "stage", "max_share"],
}


def write_case(path: Path, sheets: dict[str, list[list]], headers: dict[str, list[str]] | None = None) -> Path:
    """Write ``sheets`` (name -> rows, header row from HEADERS unless given)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        ws = workbook.create_sheet(name)
        ws.append((headers or {}).get(name, HEADERS.get(name)))
        for row in rows:
            ws.append(list(row))
    workbook.save(path)
    return path
