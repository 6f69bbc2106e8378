"""Build small input workbooks from Python tables, for hand cases."""

from __future__ import annotations

import shutil
import zipfile
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
    "years": ["year", "stock_release"],
    "projects": [
        "project",
        "facility",
        "capacity",
        "capex",
        "earliest_year",
        "lead_time",
        "life",
        "all_or_nothing",
        "funder",
        "fixed_cost",
    ],
    "budgets": ["funder", "budget", "year"],
    "stockpiles": ["country", "product", "initial", "initial_exposed", "min_days", "max", "holding_cost", "from_year"],
}


def write_case(path: Path, sheets: dict[str, list[list]], headers: dict[str, list[str]] | None = None) -> Path:
    """Write ``sheets`` (name -> rows, header row from HEADERS unless given).

    A sheet whose header is neither given nor in HEADERS gets no header row
    (its rows, if any, start in row 1).
    """
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        ws = workbook.create_sheet(name)
        header = (headers or {}).get(name, HEADERS.get(name))
        if header is not None:
            ws.append(header)
        for row in rows:
            ws.append(list(row))
    workbook.save(path)
    return path


def patch_sheet_xml(path: Path, replacements: dict[bytes, bytes]) -> Path:
    """Rewrite the worksheets' XML of ``path`` in place, replacing bytes.

    For cell contents openpyxl cannot write, e.g. a stored ``NaN`` or ``INF``:
    write a unique sentinel number with :func:`write_case`, then replace it.
    """
    original = path.with_name(path.name + ".orig")
    shutil.move(path, original)
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                for old, new in replacements.items():
                    data = data.replace(old, new)
            target.writestr(item, data)
    original.unlink()
    return path


def run_refused(tmp_path: Path, capsys, headers: dict[str, list[str]], sheets: dict[str, list[list]]) -> str:
    """Run ``sheets`` through the command line; it must exit 2 with no traceback and no results. Returns stderr."""
    from model.cli import main

    source = write_case(tmp_path / "case.xlsx", sheets, headers)
    output = tmp_path / "out" / "result.xlsx"
    code = main([str(source), "-o", str(output)])
    err = capsys.readouterr().err
    assert code == 2, f"exit {code}; stderr:\n{err}"
    assert "Traceback" not in err
    assert not output.exists()
    return err


def assert_line(err: str, parts: list[str]) -> None:
    """Some single line of ``err`` contains every one of ``parts``."""
    assert any(all(part in line for part in parts) for line in err.splitlines()), (
        f"no line of stderr contains all of {parts}; stderr was:\n{err}"
    )
