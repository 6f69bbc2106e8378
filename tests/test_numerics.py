"""Implausible magnitudes are warned about before solving, naming the rows."""

from __future__ import annotations

import pytest

from model.cli import main
from tests.helpers import write_case
from tests.test_constraints import ore_case


def test_kilograms_and_huge_costs_are_flagged(tmp_path, capsys):
    case = ore_case()
    case["facilities"][1][2] = 5e7  # mine B capacity typed in kilograms (50,000 t as 5e7 kg)
    case["facility_processes"][0][2] = 3e8  # unit cost with extra zeros
    case["processes"] = [
        ["mine", "mining", "ore", 1],
        ["refine", "refining", "ore", -1],
        ["refine", "refining", "metal", 1e-6],
    ]
    case["products"].append(["metal", 0, 0])
    source = write_case(tmp_path / "case.xlsx", case)
    assert main([str(source), "-o", str(tmp_path / "out.xlsx")]) == 0
    err = capsys.readouterr().err
    assert "facilities rows 3: capacity above 10,000,000" in err
    assert "facility_processes rows 2: unit_cost above 10,000,000" in err
    assert "recipe 'refine' has coefficients from 1e-06 to 1" in err


def test_sane_case_has_no_numeric_warning(tmp_path, capsys):
    source = write_case(tmp_path / "case.xlsx", ore_case())
    assert main([str(source), "-o", str(tmp_path / "out.xlsx")]) == 0
    assert "warning" not in capsys.readouterr().err


def test_numbers_beyond_the_valid_ranges_are_refused_naming_the_cell(tmp_path, capsys):
    # A capacity at the solver's infinity and a penalty of 1e11 used to end in exit 1 after the solve.
    case = ore_case()
    case["facilities"][1][2] = 1e20
    case["demand"][0][3] = 1e11
    source = write_case(tmp_path / "case.xlsx", case)
    assert main([str(source), "-o", str(tmp_path / "out.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "sheet 'facilities', row 3, column 'capacity'" in err and "between 0 and 1,000,000,000" in err
    assert "sheet 'demand', row 2, column 'unmet_penalty'" in err and "≤ 10,000,000,000" in err
    assert not (tmp_path / "out.xlsx").exists()


def test_the_largest_accepted_numbers_solve_to_a_verified_optimum(tmp_path, capsys):
    # Every magnitude at its bound at once: capacities and demand of 1e9 t, costs of 1e9 USD/t, a penalty of
    # 1e10 USD/t, a disposal cost of 1e9 USD/t.  Demand 1e9 in A: A's mine (1e9 t at 10 USD/t) covers it,
    # B's (1e9 at 1e9 USD/t) is idle; objective 1e10.  It must solve and pass the product's own checks.
    case = ore_case(a_capacity=1e9, b_capacity=1e9, demand=1e9)
    case["facility_processes"][1][2] = 1e9
    case["demand"][0][3] = 1e10
    case["products"] = [["ore", 1e9, -1e9]]
    source = write_case(tmp_path / "case.xlsx", case)
    output = tmp_path / "out.xlsx"
    assert main([str(source), "-o", str(output)]) == 0
    import openpyxl

    summary = {row[0]: row[1] for row in openpyxl.load_workbook(output)["summary"].iter_rows(values_only=True)}
    assert summary["objective"] == pytest.approx(1e10, rel=1e-9)
    assert summary["largest_violation"] <= 1e-6
