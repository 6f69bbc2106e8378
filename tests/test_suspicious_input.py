"""Input that is valid but probably not what was meant gets a warning naming the rows; reserved names an error.

Each case is the small ore case of test_constraints with one slip, run end to end: the warning must be printed
and listed in the results' ``warnings`` sheet with its sheet and row.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import openpyxl
import pytest

from model.cli import main
from model.pipeline import load_data, solve_data
from tests.helpers import write_case


def ore_case() -> dict[str, list[list]]:
    """Ore mined in A (clean, 20 USD/t, 100 t) or C (restricted, 10 USD/t, 100 t), 50 t demanded in A."""
    return {
        "countries": [["A", "no"], ["C", "yes"]],
        "products": [["ore", 100, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["mine A", "A", 100, None, 0, None], ["mine C", "C", 100, None, 0, None]],
        "facility_processes": [["mine A", "mine", 20], ["mine C", "mine", 10]],
        "lanes": [["C", "A", "ore", 1, None, None, None]],
        "demand": [["A", "ore", 50, None]],
    }


def run(tmp_path: Path, sheets, capsys, headers=None) -> tuple[int, str, list[tuple]]:
    source = write_case(tmp_path / "case.xlsx", sheets, headers)
    output = tmp_path / "out.xlsx"
    status = main([str(source), "-o", str(output)])
    err = capsys.readouterr().err
    rows = []
    if output.exists():
        rows = list(openpyxl.load_workbook(output, read_only=True)["warnings"].iter_rows(min_row=2, values_only=True))
    return status, err, rows


def test_stages_differing_only_by_case_are_named(tmp_path, capsys):
    # A cap on 'mining' would silently miss a process staged 'Mining': both rows are named.
    sheets = ore_case()
    sheets["processes"] = [["mine", "mining", "ore", 1], ["dig", "Mining", "ore", 1]]
    sheets["facility_processes"].append(["mine A", "dig", 25])
    status, err, rows = run(tmp_path, sheets, capsys)
    assert status == 0
    assert "processes rows 2 and 3: stage names 'mining' (row 2) and 'Mining' (row 3) differ only by case" in err
    assert any((sheet, row) == ("processes", 2) and "differ only by case" in message for sheet, row, message in rows)


def test_full_width_country_is_flagged_and_decomposed_accents_are_the_same_name(tmp_path, capsys):
    decomposed = unicodedata.normalize("NFD", "Montréal")
    composed = unicodedata.normalize("NFC", "Montréal")
    assert decomposed != composed
    sheets = ore_case()
    sheets["countries"].append(["Ａ", "no"])  # full-width A
    sheets["facilities"].append([decomposed, "A", 10, None, 0, None])
    sheets["facility_processes"].append([composed, "mine", 1])  # the same name in another form: must match
    status, err, _ = run(tmp_path, sheets, capsys)
    assert status == 0, err
    assert "countries rows 2 and 4: country names 'A' (row 2) and 'Ａ' (row 4)" in err
    # Montréal at 1 USD/t is the cheapest source: its 10 t are used, so the two spellings are one facility.
    outcome = solve_data(load_data(tmp_path / "case.xlsx"))
    activity = outcome.report.sheets["activity"]
    assert activity.loc[activity["facility"] == composed, "activity"].sum() == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("sheet", "index", "column"),
    [("countries", 0, "country"), ("products", 0, "product"), ("facilities", 0, "facility")],
)
def test_star_cannot_name_anything(tmp_path, capsys, sheet, index, column):
    sheets = ore_case()
    sheets[sheet] = [list(row) for row in sheets[sheet]] + [["*", *sheets[sheet][index][1:]]]
    status, err, _ = run(tmp_path, sheets, capsys)
    assert status == 2
    assert f"sheet '{sheet}', row {len(sheets[sheet]) + 1}, column '{column}': '*'" in err
    assert not (tmp_path / "out.xlsx").exists()


def test_tariff_typed_as_a_percentage(tmp_path, capsys):
    sheets = ore_case()
    sheets["lanes"] = [["C", "A", "ore", 1, 32.1, None, None]]
    status, err, rows = run(tmp_path, sheets, capsys)
    assert status == 0
    assert "lanes rows 2: tariff above 1" in err and "did you mean 0.321?" in err
    assert ("lanes", 2) in {(sheet, row) for sheet, row, _ in rows}


def test_growth_typed_as_a_percentage(tmp_path, capsys):
    sheets = ore_case()
    sheets["years"] = [[2025], [2026]]
    sheets["demand"] = [["A", "ore", 50, None, 3]]
    headers = {"years": ["year"], "demand": ["country", "product", "quantity", "unmet_penalty", "growth"]}
    status, err, rows = run(tmp_path, sheets, capsys, headers)
    assert status == 0
    assert "demand rows 2: growth above 1" in err
    assert ("demand", 2) in {(sheet, row) for sheet, row, _ in rows}


def test_recipes_that_make_material_from_nothing(tmp_path, capsys):
    # 1 t ore -> 1 t concentrate -> 1.5 t ore: a loop with gain 1.5.
    sheets = ore_case()
    sheets["products"].append(["conc", 100, 0])
    sheets["processes"] += [
        ["concentrate", "mining", "ore", -1],
        ["concentrate", "mining", "conc", 1],
        ["regrind", "mining", "conc", -1],
        ["regrind", "mining", "ore", 1.5],
    ]
    status, err, _ = run(tmp_path, sheets, capsys)
    assert status == 0
    assert "'concentrate'" in err and "'regrind'" in err and "from nothing" in err


def test_a_loop_that_loses_material_is_not_flagged(tmp_path, capsys):
    sheets = ore_case()
    sheets["products"].append(["conc", 100, 0])
    sheets["processes"] += [
        ["concentrate", "mining", "ore", -1],
        ["concentrate", "mining", "conc", 0.9],
        ["regrind", "mining", "conc", -1],
        ["regrind", "mining", "ore", 1.1],  # 0.9 × 1.1 = 0.99 < 1
    ]
    status, err, _ = run(tmp_path, sheets, capsys)
    assert status == 0 and "from nothing" not in err


def test_no_demand_at_all(tmp_path, capsys):
    sheets = ore_case()
    sheets["demand"] = []
    status, err, rows = run(tmp_path, sheets, capsys)
    assert status == 0
    assert "nothing to supply" in err
    assert any(sheet == "demand" and "nothing to supply" in message for sheet, _, message in rows)
