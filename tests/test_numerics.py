"""Implausible magnitudes are warned about before solving, naming the rows."""

from __future__ import annotations

from model.cli import main
from tests.helpers import write_case
from tests.test_constraints import ore_case


def test_kilograms_and_huge_costs_are_flagged(tmp_path, capsys):
    case = ore_case()
    case["facilities"][1][2] = 5e10  # mine B capacity typed in kilograms
    case["facility_processes"][0][2] = 3e12  # unit cost with extra zeros
    case["processes"] = [
        ["mine", "mining", "ore", 1],
        ["refine", "refining", "ore", -1],
        ["refine", "refining", "metal", 1e-6],
    ]
    case["products"].append(["metal", 0, 0])
    source = write_case(tmp_path / "case.xlsx", case)
    assert main([str(source), "-o", str(tmp_path / "out.xlsx")]) == 0
    err = capsys.readouterr().err
    assert "facilities rows 3: capacity above 1,000,000,000" in err
    assert "facility_processes rows 2: unit_cost above 1,000,000,000" in err
    assert "recipe 'refine' has coefficients from 1e-06 to 1" in err


def test_sane_case_has_no_numeric_warning(tmp_path, capsys):
    source = write_case(tmp_path / "case.xlsx", ore_case())
    assert main([str(source), "-o", str(tmp_path / "out.xlsx")]) == 0
    assert "warning" not in capsys.readouterr().err
