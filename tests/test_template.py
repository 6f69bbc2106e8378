"""The input template (``python run.py --template``) and the guidance added to existing workbooks.

The shipped ``inputs/template.xlsx`` must equal a freshly generated one
(sheets, cells, header comments, validations, defined names, frozen panes),
read and validate with the product's reader without a warning, and run;
a new user filling it in with openpyxl from its instructions (replacing the
examples) gets a run whose cost is checked by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from model.cli import main
from model.workbook.read import _scan_sheets, read_workbook
from model.workbook.schema import DOCUMENTATION_SHEETS, SETTINGS, SHEETS
from model.workbook.template import (
    EXAMPLES,
    INSTRUCTIONS,
    LAST_ROW,
    SETTINGS_LIST,
    build_template,
    decorate_workbook,
    fill_order,
    list_name,
    write_template,
)
from model.workbook.validate import validate

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "inputs" / "template.xlsx"
BASE_CASE = ROOT / "inputs" / "base_case.xlsx"
REGENERATE = "regenerate it: PYTHONPATH=. python -m model.workbook.template inputs/template.xlsx"

# Key columns that name another sheet's names though their own name differs from that sheet's key column.
ALIASES = {"from": "country", "to": "country", "source_country": "country", "based_on": "scenario"}


def _owners() -> dict[str, str]:
    """Name -> the sheet defining such names: a sheet keyed by one column owns it; processes own process and stage."""
    owners = {spec.key[0]: name for name, spec in SHEETS.items() if len(spec.key) == 1}
    owners.update(process="processes", stage="processes")
    return owners


# ---------------------------------------------------------------------------------------------------------------------
# The schema's references


def test_every_key_column_naming_another_sheets_names_has_refers_to():
    owners, missing, wrong = _owners(), [], []
    for name, spec in SHEETS.items():
        for column in spec.columns:
            if column.kind != "key":
                continue
            meant = ALIASES.get(column.name, column.name)
            owner = owners.get(meant)
            if owner is None or (owner == name and column.name == meant):
                continue  # not a name of another sheet, or the column that defines the names
            if column.refers_to is None:
                missing.append(f"{name}.{column.name}")
            elif column.refers_to != (owner, meant):
                wrong.append(f"{name}.{column.name} -> {column.refers_to}, expected {(owner, meant)}")
    assert not missing, f"key columns without refers_to (add them to REFERENCES in schema.py): {missing}"
    assert not wrong, wrong


def test_refers_to_names_an_existing_sheet_and_column():
    for name, spec in SHEETS.items():
        for column in spec.columns:
            if column.refers_to is not None:
                sheet, target = column.refers_to
                assert sheet in SHEETS, f"{name}.{column.name} refers to a sheet '{sheet}' the schema lacks"
                assert any(c.name == target for c in SHEETS[sheet].columns), f"{name}.{column.name} -> {sheet}"
    assert SHEETS["facility_processes"].column("process").refers_to == ("processes", "process")
    assert SHEETS["exposure_caps"].column("stage").refers_to == ("processes", "stage")
    assert SHEETS["projects"].column("funder").refers_to == ("budgets", "funder")


def test_fill_order_puts_every_sheet_after_the_sheets_it_names():
    order = fill_order()
    assert sorted(order) == sorted(SHEETS)
    for name in order:
        for column in SHEETS[name].columns:
            if column.refers_to and column.refers_to[0] != name:
                assert order.index(column.refers_to[0]) < order.index(name), (name, column.name)
    required = [n for n in order if SHEETS[n].required]
    assert order[: len(required)] == required, "required sheets come first"
    assert order[0] == "countries" and order[-1] == "settings"


# ---------------------------------------------------------------------------------------------------------------------
# The shipped file equals the generated one


def _snapshot(path: Path) -> dict:
    """Everything the template is made of, comparable: sheets, cells, comments, validations, names, panes."""
    workbook = load_workbook(path)
    sheets = {}
    for ws in workbook.worksheets:
        cells = {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}
        comments = {c.coordinate: c.comment.text for row in ws.iter_rows() for c in row if c.comment is not None}
        validations = sorted(
            (str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.formula2, dv.errorStyle, dv.error)
            for dv in ws.data_validations.dataValidation
        )
        sheets[ws.title] = {"cells": cells, "comments": comments, "validations": validations, "panes": ws.freeze_panes}
    names = {name: item.attr_text for name, item in workbook.defined_names.items()}
    return {"order": workbook.sheetnames, "sheets": sheets, "names": names}


def test_shipped_template_matches_the_schema(tmp_path):
    fresh = write_template(tmp_path / "fresh.xlsx")
    expected, shipped = _snapshot(fresh), _snapshot(SHIPPED)
    assert shipped["order"] == expected["order"], f"sheets differ; {REGENERATE}"
    assert shipped["names"] == expected["names"], f"defined names differ; {REGENERATE}"
    for name in expected["order"]:
        for part in ("cells", "comments", "validations", "panes"):
            assert shipped["sheets"][name][part] == expected["sheets"][name][part], (
                f"sheet '{name}': {part} differ from the schema; {REGENERATE}"
            )


# ---------------------------------------------------------------------------------------------------------------------
# What the template holds


def test_every_sheet_has_its_header_comments_frozen_row_and_examples():
    workbook = load_workbook(SHIPPED)
    assert workbook.sheetnames == [INSTRUCTIONS, *fill_order()]
    for name, spec in SHEETS.items():
        ws = workbook[name]
        assert [c.value for c in ws[1]] == [c.name for c in spec.columns], name
        assert ws.freeze_panes == "A2", name
        for cell, column in zip(ws[1], spec.columns, strict=True):
            assert cell.font.bold and cell.fill.fgColor.rgb.endswith(("1F4E78", "5B7FA6")), (name, column.name)
            text = cell.comment.text
            assert (column.description or column.name) in text, (name, column.name)
            assert column.unit in text, (name, column.name)
            if column.kind == "number":
                assert column.expectation() in text, (name, column.name)
            if column.default is not None and not column.required:
                assert "Blank = " in text, (name, column.name)
            if column.refers_to is not None:
                assert f"'{column.refers_to[0]}' sheet" in text, (name, column.name)
        examples = len(EXAMPLES.get(name, []))
        assert examples >= 2, f"sheet '{name}' has no example rows: add two to EXAMPLES in model/workbook/template.py"
        assert ws.max_row == 1 + examples, name


def test_instructions_list_every_sheet_in_order_with_units_and_the_settings():
    ws = load_workbook(SHIPPED)[INSTRUCTIONS]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    table = [r for r in rows if isinstance(r[0], int)]
    assert [r[1] for r in table] == fill_order()
    for step, name, need, purpose, columns in (r[:5] for r in table):
        spec = SHEETS[name]
        assert step == fill_order().index(name) + 1
        assert need == ("required" if spec.required else "optional")
        assert purpose and columns
        for column in spec.columns:
            assert column.name in columns and column.unit in columns, (name, column.name)
    settings = load_workbook(SHIPPED).defined_names[SETTINGS_LIST].attr_text
    first, last = map(int, re.fullmatch(r"'instructions'!\$A\$(\d+):\$A\$(\d+)", settings).groups())
    assert [ws.cell(row=r, column=1).value for r in range(first, last + 1)] == list(SETTINGS)


def _letter(sheet: str, column: str) -> str:
    """The template's column letter of ``sheet.column`` (columns in the schema's order)."""
    return get_column_letter([c.name for c in SHEETS[sheet].columns].index(column) + 1)


def _validation_of(ws, letter: str):
    found = [dv for dv in ws.data_validations.dataValidation if f"{letter}2:{letter}{LAST_ROW}" in str(dv.sqref)]
    assert len(found) <= 1, (ws.title, letter, found)
    return found[0] if found else None


def test_dropdowns_point_at_the_rows_below_the_header_of_the_sheet_named():
    workbook = load_workbook(SHIPPED)
    names = {name: item.attr_text for name, item in workbook.defined_names.items()}
    checked = 0
    for name, spec in SHEETS.items():
        ws = workbook[name]
        for index, column in enumerate(spec.columns, 1):
            validation = _validation_of(ws, get_column_letter(index))
            if column.refers_to is not None:
                target, target_column = column.refers_to
                letter = get_column_letter([c.name for c in SHEETS[target].columns].index(target_column) + 1)
                assert validation.type == "list" and validation.formula1 == list_name(target, target_column)
                sheet = f"'{target}'"
                assert names[validation.formula1] == (
                    f"OFFSET({sheet}!${letter}$2,0,0,MAX(1,COUNTA({sheet}!${letter}:${letter})"
                    f"-COUNTA({sheet}!${letter}$1:${letter}$1)),1)"
                )
                assert validation.errorStyle == "warning" and validation.showErrorMessage
                checked += 1
            elif column.kind == "yesno":
                assert validation.type == "list" and validation.formula1 == '"yes,no"', (name, column.name)
            elif column.kind == "number" and (column.minimum is not None or column.maximum is not None):
                assert validation is not None and validation.errorStyle == "stop", (name, column.name)
                assert validation.type in ("whole" if column.integer else "decimal", "custom"), (name, column.name)
    assert checked >= 16
    assert _validation_of(workbook["settings"], "A").formula1 == SETTINGS_LIST


def test_number_validation_follows_the_bounds():
    workbook = load_workbook(SHIPPED)
    share = _validation_of(workbook["exposure_caps"], _letter("exposure_caps", "max_share"))
    assert (share.type, share.operator, share.formula1, share.formula2) == ("decimal", "between", "0", "1")
    capacity = _validation_of(workbook["facilities"], _letter("facilities", "capacity"))
    assert (capacity.type, capacity.operator, capacity.formula1, capacity.formula2) == (
        "decimal",
        "between",
        "0",
        "1000000000",
    )
    year = _validation_of(workbook["demand"], _letter("demand", "year"))
    assert (year.type, year.formula1, year.formula2) == ("whole", "1900", "2200")
    # > 0 and ≤ 1e10: a formula, since 'between' includes 0
    penalty = _validation_of(workbook["demand"], _letter("demand", "unmet_penalty"))
    cell = f"{_letter('demand', 'unmet_penalty')}2"
    assert penalty.type == "custom" and penalty.formula1 == f"AND(ISNUMBER({cell}),{cell}>0,{cell}<=10000000000)"
    coefficient = _validation_of(workbook["processes"], _letter("processes", "coefficient"))
    cell = f"{_letter('processes', 'coefficient')}2"
    assert coefficient.formula1 == f"AND(ISNUMBER({cell}),{cell}<>0,{cell}>=-1000000,{cell}<=1000000)"


# ---------------------------------------------------------------------------------------------------------------------
# The product reads it and runs it


def test_template_reads_and_validates_without_a_warning():
    assert INSTRUCTIONS in DOCUMENTATION_SHEETS
    raw = read_workbook(SHIPPED)
    assert raw.problems == [] and raw.warnings == []
    for name in SHEETS:
        assert len(raw.records[name]) == len(EXAMPLES[name]), name
    data = validate(raw)
    assert data.warnings == []
    assert data.case_name == "Template example"
    scans = _scan_sheets(SHIPPED, set(SHEETS))
    for name, spec in SHEETS.items():  # calamine's used range: the table, not the validated million rows
        assert (scans[name].last_row, scans[name].last_column) == (len(EXAMPLES[name]), len(spec.columns) - 1)
        assert not scans[name].sparse, name


def test_shipped_template_runs(tmp_path, capsys):
    output = tmp_path / "template_results.xlsx"
    assert main([str(SHIPPED), "-o", str(output)]) == 0
    err = capsys.readouterr().err
    assert "warning" not in err, err
    assert load_workbook(output, read_only=True)["summary"] is not None


def _run_py(*arguments: str) -> str:
    """``python run.py ARGUMENTS`` from the project folder, as a user types it; must exit 0. Returns stdout."""
    done = subprocess.run(
        [sys.executable, "run.py", *arguments],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr}"
    assert "warning" not in done.stderr, done.stderr
    return done.stdout


def test_a_new_user_fills_in_the_template_and_runs_it(tmp_path):
    """As the instructions say: replace the example rows, delete the optional sheets not needed, run.

    The user's case, by hand: an Australian mine (cost 10 USD/t) ships concentrate to Japan (transport
    2 USD/t, tariff 0.1 of its 500 USD/t value = 50 USD/t); a Chinese mine costs 5 USD/t with transport 1
    and no tariff but Japan may take at most 40 % of its 10 t from China (stage mining). Cheapest: 4 t from
    China at 5 + 1 = 6 and 6 t from Australia at 10 + 2 + 50 = 62: 24 + 372 = 396 USD/yr.
    """
    path = tmp_path / "my_case.xlsx"
    _run_py("--template", str(path))
    workbook = load_workbook(path)
    rows = {
        "countries": [["AU", "Australia", "no"], ["CN", "China", "yes"], ["JP", "Japan", "no"]],
        "products": [["concentrate", "t", 500, 0]],
        "processes": [["mine", "mining", "concentrate", 1]],
        "facilities": [["AU_Mine", "AU", 100], ["CN_Mine", "CN", 100]],
        "facility_processes": [["AU_Mine", "mine", 10], ["CN_Mine", "mine", 5]],
        "lanes": [["AU", "JP", "concentrate", 2, 0.1], ["CN", "JP", "*", 1]],
        "demand": [["JP", "concentrate", 10]],
        "exposure_caps": [["JP", "concentrate", "mining", 0.4]],
        "settings": [["case_name", "my first case"]],
    }
    for name in SHEETS:
        ws = workbook[name]
        if name not in rows:
            del workbook[name]  # an optional sheet this case does not need
            continue
        ws.delete_rows(2, ws.max_row)
        for row in rows[name]:
            ws.append(row)
    assert all(SHEETS[name].required is False for name in SHEETS if name not in rows)
    workbook.save(path)
    assert _validation_of(load_workbook(path)["facilities"], "B").formula1 == list_name("countries", "country")
    output = tmp_path / "my_results.xlsx"
    _run_py(str(path), "-o", str(output))
    summary = {r[0]: r[1] for r in load_workbook(output)["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["case_name"] == "my first case"
    assert summary["objective"] == pytest.approx(396, rel=1e-9)
    assert summary["unmet_total"] == pytest.approx(0, abs=1e-9)


# ---------------------------------------------------------------------------------------------------------------------
# Existing workbooks and the command line


def test_decorate_workbook_adds_the_guidance_and_changes_no_value(tmp_path):
    path = tmp_path / "base_case.xlsx"
    shutil.copy(BASE_CASE, path)
    before = read_workbook(path)
    names = decorate_workbook(path)
    decorate_workbook(path)  # twice: nothing stacks
    after = read_workbook(path)
    assert after.records == {k: v for k, v in before.records.items()} and after.warnings == before.warnings
    assert after.problems == before.problems == []
    workbook = load_workbook(path)
    assert names and set(names) <= set(workbook.defined_names)
    for name, spec in SHEETS.items():
        if name not in workbook.sheetnames:
            continue
        ws = workbook[name]
        header = {c.value: c for c in ws[1] if c.value is not None}
        for column in spec.columns:
            if column.name not in header:
                continue
            cell = header[column.name]
            assert cell.comment is not None and column.description in cell.comment.text, (name, column.name)
            if column.refers_to is None or column.refers_to[0] not in workbook.sheetnames:
                continue
            validation = _validation_of(ws, cell.column_letter)
            assert validation.formula1 == list_name(*column.refers_to)
            target_ws = workbook[column.refers_to[0]]
            letter = next(c.column_letter for c in target_ws[1] if c.value == column.refers_to[1])
            assert f"'{column.refers_to[0]}'!${letter}$2," in workbook.defined_names[validation.formula1].attr_text
    setting = _validation_of(workbook["settings"], "A")  # no instructions sheet: the settings typed in the list
    assert setting.type == "list" and setting.formula1 == '"' + ",".join(SETTINGS) + '"'


def test_template_flag_writes_a_new_file_and_never_overwrites(tmp_path, capsys):
    path = tmp_path / "new" / "case.xlsx"
    assert main(["--template", str(path)]) == 0
    assert "instructions" in capsys.readouterr().out
    assert load_workbook(path).sheetnames == [INSTRUCTIONS, *fill_order()]
    path.write_bytes(b"my data")
    assert main(["--template", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err and path.read_bytes() == b"my data"
    assert main(["--template", str(tmp_path / "case.xls")]) == 2
    assert "must end in .xlsx" in capsys.readouterr().err
    assert main(["--template", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_build_template_is_the_same_every_time():
    first, second = build_template(), build_template()
    assert first.sheetnames == second.sheetnames
    for a, b in zip(first.worksheets, second.worksheets, strict=True):
        assert [[c.value for c in r] for r in a.iter_rows()] == [[c.value for c in r] for r in b.iter_rows()]


def test_decorate_finds_a_header_below_a_title_and_columns_in_any_order(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    countries = workbook.active
    countries.title = "Countries "  # matched as the reader matches sheet names
    countries.append(["Countries of my case"])
    countries.append([])
    countries.append(["name", "restricted", "country"])
    countries.append(["China", "yes", "CN"])
    facilities = workbook.create_sheet("facilities")
    facilities.append(["capacity", "facility", "country"])
    facilities.append([10, "CN_Mine", "CN"])
    path = tmp_path / "mine.xlsx"
    workbook.save(path)
    assert decorate_workbook(path) == [list_name("countries", "country")]
    workbook = load_workbook(path)
    formula = workbook.defined_names[list_name("countries", "country")].attr_text
    sheet = "'Countries '"
    assert formula == f"OFFSET({sheet}!$C$4,0,0,MAX(1,COUNTA({sheet}!$C:$C)-COUNTA({sheet}!$C$1:$C$3)),1)"
    country = [dv for dv in workbook["facilities"].data_validations.dataValidation if dv.type == "list"]
    assert [str(dv.sqref) for dv in country] == [f"C2:C{LAST_ROW}"]
    capacity = [dv for dv in workbook["facilities"].data_validations.dataValidation if dv.type == "decimal"]
    assert [str(dv.sqref) for dv in capacity] == [f"A2:A{LAST_ROW}"]
    assert workbook["Countries "]["C3"].comment is not None and workbook["Countries "]["A1"].comment is None
    assert workbook["Countries "]["A4"].value == "China" and workbook["facilities"]["A2"].value == 10


def test_a_sheet_added_to_the_schema_appears_with_its_comments_dropdowns_and_checks(monkeypatch):
    """A new sheet declared in the schema (here 'trial') is in the template without touching the template code."""
    from model.workbook import template
    from model.workbook.schema import ColumnSpec, SheetSpec

    spec = SheetSpec(
        "trial",
        "A sheet added later",
        (
            ColumnSpec("kind", "key", required=True, description="What is observed", choices=("a", "b")),
            ColumnSpec("country", "key", description="Where", refers_to=("countries", "country")),
            ColumnSpec("observed", "number", unit="t/yr", description="How much", minimum=0, maximum=5),
        ),
        key=("kind", "country"),
        required=False,
    )
    monkeypatch.setitem(SHEETS, "trial", spec)
    monkeypatch.setitem(template.EXAMPLES, "trial", [{"kind": "a", "country": "US", "observed": 1}])
    workbook = build_template()
    assert "trial" in workbook.sheetnames and "trial" in fill_order()
    assert fill_order().index("trial") > fill_order().index("countries")
    ws = workbook["trial"]
    assert [c.value for c in ws[1]] == ["kind", "country", "observed"] and ws["A2"].value == "a"
    assert "Valid: a, b (dropdown)." in ws["A1"].comment.text and "t/yr" in ws["C1"].comment.text
    assert _validation_of(ws, "A").formula1 == '"a,b"'
    assert _validation_of(ws, "B").formula1 == list_name("countries", "country")
    assert (_validation_of(ws, "C").formula1, _validation_of(ws, "C").formula2) == ("0", "5")
    instructions = [[c.value for c in row] for row in workbook[INSTRUCTIONS].iter_rows()]
    assert any(row[1] == "trial" and row[3] == "A sheet added later" for row in instructions)
