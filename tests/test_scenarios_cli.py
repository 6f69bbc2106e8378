"""--scenario and --all-scenarios from the command line: files, comparison sheet, chart, exit statuses."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from model.cli import main
from tests.helpers import write_case
from tests.test_scenarios import SCENARIO_HEADERS, base_sheets


@pytest.fixture
def case(tmp_path):
    sheets = base_sheets()
    sheets["scenarios"] = [
        ["ban", "CN exports banned", None, None, None],
        ["dear_ban", "ban, and US separation 10 USD/t dearer", "ban", None, None],
        ["broken", "a change that selects nothing", None, None, None],
    ]
    sheets["changes"] = [
        ["ban", "lanes", "allowed", "set", "no", "from=CN;to=*;product=*"],
        ["dear_ban", "facility_processes", "unit_cost", "add", 10, "facility=us_sep"],
        ["broken", "facilities", "capacity", "scale", 2, "facility=nowhere"],
    ]
    return write_case(tmp_path / "case.xlsx", sheets, SCENARIO_HEADERS)


def summary_value(path, item: str) -> float:
    summary = pd.read_excel(path, sheet_name="summary", engine="calamine")
    return float(summary.loc[summary["item"] == item, "value"].iloc[0])


def test_scenario_writes_its_own_results(case, tmp_path, capsys):
    output = tmp_path / "ban.xlsx"
    assert main([str(case), "--scenario", "ban", "-o", str(output)]) == 0
    assert summary_value(output, "objective") == pytest.approx(2500.0)  # AU ore separated in the US: 50 × 50


def test_a_broken_scenario_alone_is_an_input_error_naming_the_change(case, tmp_path, capsys):
    assert main([str(case), "--scenario", "broken", "-o", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "sheet 'changes', row 4, column 'match'" in err and "nowhere" in err
    assert not (tmp_path / "x.xlsx").exists()
    assert main([str(case), "--scenario", "nope", "-o", str(tmp_path / "x.xlsx")]) == 2


@pytest.mark.parametrize("workers", ["1", "2"])
def test_all_scenarios_writes_the_comparison_and_each_scenarios_workbook(case, tmp_path, capsys, workers):
    output = tmp_path / "out" / "comparison.xlsx"
    assert main([str(case), "--all-scenarios", "--workers", workers, "-o", str(output)]) == 0
    table = pd.read_excel(output, sheet_name="comparison", engine="calamine")
    assert list(table.columns) == [
        "scenario",
        "status",
        "objective",
        "objective_change",
        "unmet_total",
        "exposure_any_US_oxide",
        "binding_caps",
        "message",
        "description",
        "results_file",
    ]
    assert list(table["scenario"]) == ["base", "ban", "dear_ban", "broken"]
    assert list(table["status"]) == ["optimal", "optimal", "optimal", "failed"]
    # base 800 (CN chain at 16 USD/t), ban 2,500, dear_ban 3,000 (each checked by hand in tests/test_batch.py)
    assert list(table["objective"][:3]) == pytest.approx([800.0, 2500.0, 3000.0])
    assert list(table["objective_change"][:3]) == pytest.approx([0.0, 1700.0, 2200.0])
    assert list(table["exposure_any_US_oxide"][:3]) == pytest.approx([1.0, 0.0, 0.0])
    assert "'changes', row 4" in table["message"][3]
    folder = tmp_path / "out" / "comparison"
    assert sorted(p.name for p in folder.iterdir()) == ["ban.xlsx", "base.xlsx", "dear_ban.xlsx"]
    assert summary_value(folder / "dear_ban.xlsx", "objective") == pytest.approx(3000.0)
    with zipfile.ZipFile(output) as archive:
        assert any(name.startswith("xl/charts/chart") for name in archive.namelist())
    legend = pd.read_excel(output, sheet_name="legend", engine="calamine")
    assert set(table.columns) <= set(legend["column"])
    assert "scenario 'broken' failed" in capsys.readouterr().err


def test_workers_must_be_a_positive_whole_number(case, capsys):
    assert main([str(case), "--all-scenarios", "--workers", "0"]) == 2
    assert main([str(case), "--scenario", "ban", "--all-scenarios"]) == 2
