"""Named keys, readable labels and the results' own description of themselves."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pyomo.environ as pyo
import pytest

from model.cli import main
from model.formulation.build import build_model
from model.formulation.keys import ActivityKey, label, lp_name
from model.formulation.labels import column_keys, readable, row_keys
from model.formulation.sets import build_sets
from model.pipeline import load_data
from tests.helpers import write_case

YEAR_HEADERS = {
    "years": ["year", "stock_release"],
    "demand": ["country", "product", "quantity", "unmet_penalty", "growth", "year"],
    "projects": ["project", "facility", "capacity", "capex", "earliest_year", "lead_time", "life", "all_or_nothing"],
    "stockpiles": ["country", "product", "initial", "initial_exposed", "min_days", "max", "holding_cost"],
}


def small_case(years: bool) -> dict[str, list[list]]:
    """Ore mined in A (clean, 20 USD/t) or C (restricted, 10 USD/t) for demand in A."""
    sheets = {
        "countries": [["A", "no"], ["C", "yes"]],
        "products": [["ore", 100, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["mine A", "A", 30, None, 0, None], ["mine C", "C", 100, None, 0, None]],
        "facility_processes": [["mine A", "mine", 20], ["mine C", "mine", 10]],
        "demand": [["A", "ore", 40, None, 0.1, None]],
        "exposure_caps": [["A", "ore", "any", 0.5]],
    }
    if years:
        sheets["years"] = [[2025, "no"], [2026, "no"]]
        sheets["projects"] = [["P", "mine A", 10, 100, None, 0, 5, "yes"]]
        sheets["stockpiles"] = [["A", "ore", 5, "no", 10, None, 1]]
    else:
        sheets["demand"] = [["A", "ore", 40, None, None, None]]
    return sheets


def test_a_key_reads_by_name_and_prints_readably():
    key = ActivityKey("Lynas Kalgoorlie", "crack", "clean", 2025)
    assert (key.facility, key.year) == ("Lynas Kalgoorlie", 2025)
    assert key == ("Lynas Kalgoorlie", "crack", "clean", 2025)  # a tuple: dictionary keys and DataFrame rows
    assert label("v_activity", key) == "v_activity[facility=Lynas Kalgoorlie, process=crack, tag=clean, year=2025]"
    assert lp_name("v_activity", key) == "v_activity(Lynas_Kalgoorlie,crack,clean,2025)"


def test_every_column_and_row_of_a_built_model_has_a_readable_label(tmp_path: Path):
    data = load_data(write_case(tmp_path / "case.xlsx", small_case(True), YEAR_HEADERS))
    sets = build_sets(data)
    model = build_model(data, sets)
    columns = readable(column_keys(model, sets))
    rows = readable(row_keys(model))
    variables = list(model.component_data_objects(pyo.Var))
    constraints = list(model.component_data_objects(pyo.Constraint))
    assert len(columns) == len(variables) and all(id(v) in columns for v in variables)
    assert len(rows) == len(constraints) and all(id(c) in rows for c in constraints)
    assert "capacity_constraint[facility=mine A, year=2026]" in rows.values()
    assert "v_build[project=P, year=2025]" in columns.values()


def test_write_lp_names_rows_and_columns_by_their_keys(tmp_path: Path):
    source = write_case(tmp_path / "case.xlsx", small_case(True), YEAR_HEADERS)
    lp = tmp_path / "case.lp"
    assert main([str(source), "-o", str(tmp_path / "out.xlsx"), "--write-lp", str(lp)]) == 0
    text = lp.read_text()
    assert "capacity_constraint(mine_A,2026):" in text
    assert "v_build(P,2025)" in text and "cover_constraint(A,ore,2025):" in text


def test_write_lp_path_is_checked_before_solving(tmp_path: Path, capsys):
    source = write_case(tmp_path / "case.xlsx", small_case(False))
    assert main([str(source), "-o", str(tmp_path / "out.xlsx"), "--write-lp", str(tmp_path / "x.txt")]) == 2
    assert ".lp or .mps" in capsys.readouterr().err
    assert not (tmp_path / "out.xlsx").exists()


@pytest.mark.parametrize("years", [False, True])
def test_legend_describes_every_column_of_every_sheet(tmp_path: Path, years: bool):
    source = write_case(tmp_path / "case.xlsx", small_case(years), YEAR_HEADERS)
    output = tmp_path / "out.xlsx"
    assert main([str(source), "-o", str(output)]) == 0
    workbook = openpyxl.load_workbook(output, read_only=True)
    legend = {(row[0], row[1]) for row in workbook["legend"].iter_rows(min_row=2, values_only=True)}
    for sheet in workbook.sheetnames:
        header = next(workbook[sheet].iter_rows(max_row=1, values_only=True), ())
        missing = [column for column in header if column is not None and (sheet, column) not in legend]
        assert not missing, f"{sheet}: columns without a legend row: {missing}"
    expected = {"costs_by_year", "projects", "budgets", "stockpiles"}
    assert expected <= set(workbook.sheetnames) if years else not expected & set(workbook.sheetnames)
    deliveries = next(workbook["deliveries"].iter_rows(max_row=1, values_only=True))
    assert (deliveries[2] == "year") == years  # the year column comes right after the key columns
