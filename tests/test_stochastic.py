"""The two-stage choice against disruption (--stochastic): extensive form, hand values, VSS, mpi-sppy."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from model.cli import main
from model.errors import InputError
from model.pipeline import solve_data
from model.scenarios import apply_scenario
from model.studies.stochastic import scenario_creator, scenario_names, solve_stochastic
from model.workbook.read import read_workbook
from model.workbook.validate import validate
from tests.helpers import HEADERS, write_case

SCENARIO_HEADERS = {
    **HEADERS,
    "scenarios": ["scenario", "description", "based_on", "probability", "source"],
    "changes": ["scenario", "sheet", "column", "operation", "value", "match"],
}


def hedge_case(tmp_path: Path, probabilities=(0.7, 0.3), name: str = "hedge.xlsx", project: bool = False) -> Path:
    """USA needs 100 t of oxide (penalty 1,000 USD/t).  A Chinese mine makes it at 10 USD/t; a US mine
    does not exist yet: up to 100 t/yr of capacity may be added at 15 USD per t/yr (annualised),
    then it runs at 20 USD/t.  Scenario `open` (p 0.7) changes nothing; `ban` (p 0.3) bans CHN→USA.

    The expansion x is shared.  open: all from China, 1,000 + 15x.  ban: the US mine makes x,
    the rest is unmet: 20x + 1,000·(100 − x) + 15x = 100,000 − 965x.
      z(x) = 0.7·(1,000 + 15x) + 0.3·(100,000 − 965x) = 30,700 − 279x  →  x = 100, z* = 2,800
      (open 2,500, ban 3,500: 0.7·2,500 + 0.3·3,500 = 2,800).
    The base workbook alone (no ban) builds nothing (x = 0, cost 1,000); in expectation that plan costs
      EEV = 0.7·1,000 + 0.3·100,000 = 30,700, so VSS = 30,700 − 2,800 = 27,900.
    """
    sheets = {
        "settings": [["case_name", "hedge"]],
        "countries": [["CHN", "yes"], ["USA", "no"]],
        "products": [["oxide", 0, 0]],
        "processes": [["mine_cn", "mining", "oxide", 1], ["mine_us", "mining", "oxide", 1]],
        "facilities": [["cn", "CHN", 100, None, 0, None], ["us", "USA", 0, None, 100, 15]],
        "facility_processes": [["cn", "mine_cn", 10], ["us", "mine_us", 20]],
        "demand": [["USA", "oxide", 100, 1000]],
        "scenarios": [
            ["open", "no ban", None, probabilities[0], None],
            ["ban", "China bans", None, probabilities[1], None],
        ],
        "changes": [["ban", "lanes", "allowed", "set", "no", "from=CHN;to=USA;product=oxide"]],
    }
    if project:  # the US mine as an all-or-nothing project of the same cost (see the MIP test)
        sheets["facilities"][1] = ["us", "USA", 0, None, 0, None]
        sheets["projects"] = [["us_mine", "us", 100, 1500, None, 0, 1, "yes", None, 0]]
    return write_case(tmp_path / name, sheets, SCENARIO_HEADERS)


def test_hedging_pays_values_derived(tmp_path: Path):
    outcome, solutions = solve_stochastic(read_workbook(hedge_case(tmp_path)))
    assert outcome.objective == pytest.approx(2_800.0, rel=1e-9)
    table = outcome.sheets["stochastic"].set_index("scenario")
    assert table.loc["open", "objective"] == pytest.approx(2_500.0, rel=1e-9)
    assert table.loc["ban", "objective"] == pytest.approx(3_500.0, rel=1e-9)
    assert table.loc["open", "probability"] == 0.7
    assert table.loc["ban", "unmet_total"] == pytest.approx(0.0, abs=1e-7)
    assert table.loc["open", "exposure_any_USA_oxide"] == pytest.approx(1.0)  # cheaper Chinese oxide while allowed
    assert table.loc["ban", "exposure_any_USA_oxide"] == pytest.approx(0.0)
    expansions = outcome.sheets["shared_expansions"]
    assert list(expansions["facility"]) == ["us"] and expansions["expansion"].iloc[0] == pytest.approx(100.0)
    for solution in solutions.values():  # the same expansion in both scenarios
        assert solution.expansion["value"].sum() == pytest.approx(100.0)
    assert outcome.expected_cost_of_base_plan == pytest.approx(30_700.0, rel=1e-9)
    assert outcome.value_of_stochastic_solution == pytest.approx(27_900.0, rel=1e-9)


def test_hedging_with_an_all_or_nothing_project_is_a_mip_with_the_same_values(tmp_path: Path):
    """The US mine as a project instead of an expansion: 100 t/yr, capex 1,500, life 1, all or nothing, so
    its annual cost is 1,500 × CRF(0, 1) = 1,500 = 15 × 100, the expansion's: the same z* = 2,800 with the
    project built (binary 1) in both scenarios, EEV 30,700 (the base alone builds nothing), VSS 27,900."""
    raw = read_workbook(hedge_case(tmp_path, project=True))
    outcome, solutions = solve_stochastic(raw)
    assert outcome.objective == pytest.approx(2_800.0, rel=1e-9)
    summary = outcome.sheets["summary"].set_index("item")["value"]
    assert "mip_gap" in summary.index  # solved as a MIP
    projects = outcome.sheets["shared_projects"]
    assert projects["built_share"].tolist() == pytest.approx([1.0])
    assert all(s.build["value"].sum() == pytest.approx(1.0) for s in solutions.values())
    assert outcome.value_of_stochastic_solution == pytest.approx(27_900.0, rel=1e-9)


def test_a_case_that_decomposes_equals_the_weighted_scenario_optima(tmp_path: Path):
    """Nothing shared (no projects, no expansions, branch = first year): z* = Σ p_s z*_s of separate runs."""
    sheets = {
        "countries": [["CHN", "yes"], ["USA", "no"], ["AUS", "no"]],
        "products": [["ore", 0, 0], ["oxide", 50, 0]],
        "processes": [
            ["mine", "mining", "ore", 1],
            ["refine", "separation", "ore", -1.5],
            ["refine", "separation", "oxide", 1],
        ],
        "facilities": [["m_cn", "CHN", 200], ["m_au", "AUS", 90], ["r_cn", "CHN", 150], ["r_us", "USA", 40]],
        "facility_processes": [
            ["m_cn", "mine", 8],
            ["m_au", "mine", 14],
            ["r_cn", "refine", 30],
            ["r_us", "refine", 55],
        ],
        "lanes": [["*", "*", "*", 3, 0.05, "yes", None]],
        "demand": [["USA", "oxide", 100, 2000]],
        "exposure_caps": [["USA", "oxide", "separation", 0.6]],
        "scenarios": [
            ["calm", None, None, 0.5, None],
            ["cut", None, None, 0.3, None],
            ["surge", None, "cut", 0.2, None],
        ],
        "changes": [
            ["cut", "facilities", "capacity", "scale", 0.4, "facility=m_cn"],
            ["surge", "demand", "quantity", "scale", 1.3, None],
        ],
    }
    path = write_case(tmp_path / "decomposes.xlsx", sheets, SCENARIO_HEADERS)
    raw = read_workbook(path)
    outcome, _ = solve_stochastic(raw, with_vss=False)
    separate = {name: solve_data(validate(apply_scenario(raw, name))).objective for name in ("calm", "cut", "surge")}
    expected = 0.5 * separate["calm"] + 0.3 * separate["cut"] + 0.2 * separate["surge"]
    assert outcome.objective == pytest.approx(expected, rel=1e-9)
    table = outcome.sheets["stochastic"].set_index("scenario")
    for name, value in separate.items():
        assert table.loc[name, "objective"] == pytest.approx(value, rel=1e-9)
    assert separate["surge"] > separate["cut"] > separate["calm"]  # the scenarios do differ


def test_probabilities_must_sum_to_one(tmp_path: Path, capsys):
    path = hedge_case(tmp_path, (0.7, 0.2))
    with pytest.raises(InputError, match="probabilities summing to 1"):
        solve_stochastic(read_workbook(path))
    out = tmp_path / "out.xlsx"
    assert main([str(path), "-o", str(out), "--stochastic"]) == 2
    err = capsys.readouterr().err
    assert "sheet 'scenarios', column 'probability': 0.9 — probabilities summing to 1" in err
    assert "row 2 open 0.7, row 3 ban 0.2" in err
    assert not out.exists()


def test_cli_writes_the_plan_and_the_stochastic_sheet(tmp_path: Path, capsys):
    out = tmp_path / "out.xlsx"
    assert main([str(hedge_case(tmp_path)), "-o", str(out), "--stochastic"]) == 0
    printed = capsys.readouterr().out
    assert "Value of the stochastic solution: 27,900" in printed
    book = load_workbook(out, read_only=True)
    rows = list(book["stochastic"].iter_rows(values_only=True))
    assert rows[0][:4] == ("scenario", "probability", "objective", "unmet_total")
    assert "exposure_any_USA_oxide" in rows[0]
    summary = {r[0]: r[1] for r in book["summary"].iter_rows(values_only=True)}
    assert summary["objective"] == pytest.approx(2_800.0)
    assert summary["value_of_stochastic_solution"] == pytest.approx(27_900.0)
    assert {"shared_projects", "shared_expansions", "legend"} <= set(book.sheetnames)


def test_branch_year_shares_early_decisions_and_scenarios_must_agree_before_it(tmp_path: Path):
    """Two years; the ban comes in 2027.  With branch_year 2027 the 2026 flows are shared (and equal, as the
    scenarios agree in 2026); a scenario that changes 2026 too is refused, naming it."""
    sheets = {
        "settings": [["branch_year", 2027]],
        "years": [[2026, None], [2027, None]],
        "countries": [["CHN", "yes"], ["USA", "no"]],
        "products": [["oxide", 0, 0]],
        "processes": [["mine_cn", "mining", "oxide", 1], ["mine_us", "mining", "oxide", 1]],
        "facilities": [["cn", "CHN", 100, None, 0, None], ["us", "USA", 0, None, 100, 15]],
        "facility_processes": [["cn", "mine_cn", 10], ["us", "mine_us", 20]],
        "demand": [["USA", "oxide", 100, 1000]],
        "scenarios": [["open", None, None, 0.5, None], ["ban", None, None, 0.5, None]],
        "changes": [["ban", "lanes", "allowed", "set", "no", "from=CHN;to=USA;product=oxide;year=2027"]],
    }
    headers = {**SCENARIO_HEADERS, "lanes": [*HEADERS["lanes"], "year"]}
    path = write_case(
        tmp_path / "years.xlsx", {**sheets, "lanes": [["CHN", "USA", "oxide", 0, 0, "yes", None, 2026]]}, headers
    )
    outcome, solutions = solve_stochastic(read_workbook(path), with_vss=False)
    early = {
        name: s.activity[s.activity["year"] == 2026].set_index(["facility", "process", "tag"])["value"]
        for name, s in solutions.items()
    }
    assert early["open"].to_dict() == pytest.approx(early["ban"].to_dict())

    sheets["changes"].append(["ban", "demand", "quantity", "scale", 1.1, None])
    path = write_case(
        tmp_path / "disagree.xlsx", {**sheets, "lanes": [["CHN", "USA", "oxide", 0, 0, "yes", None, 2026]]}, headers
    )
    with pytest.raises(InputError) as caught:
        solve_stochastic(read_workbook(path))
    message = str(caught.value)
    assert "sheet 'scenarios', row 3, column 'scenario': 'ban'" in message
    assert "before branch_year 2027" in message and "demand 2026" in message


def test_scenario_creator_for_mpi_sppy(tmp_path: Path):
    """mpi-sppy's extensive form over scenario_creator gives the same optimum as ours (2,800)."""
    pytest.importorskip("mpisppy", reason="mpi-sppy is not installed (optional extra: pip install -e '.[hpc]')")
    from mpisppy.opt.ef import ExtensiveForm
    from pyomo.contrib.solver.common.factory import SolverFactory

    solver = "highs"
    if not SolverFactory(solver).available():
        pytest.skip("Pyomo's HiGHS interface is not available to mpi-sppy")
    path = str(hedge_case(tmp_path))
    names = scenario_names(path)
    assert names == ["open", "ban"]
    model = scenario_creator("ban", path=path)
    assert model._mpisppy_probability == 0.3
    ef = ExtensiveForm({"solver": solver}, names, scenario_creator, scenario_creator_kwargs={"path": path})
    ef.solve_extensive_form()
    assert ef.get_objective_value() == pytest.approx(2_800.0, rel=1e-7)


def test_stochastic_does_not_combine_with_other_studies(tmp_path: Path, capsys):
    path = str(hedge_case(tmp_path))
    assert main([path, "-o", str(tmp_path / "o.xlsx"), "--stochastic", "--frontier"]) == 2
    assert "--stochastic solves every scenario with a probability at once; drop --frontier" in capsys.readouterr().err
    assert main([path, "-o", str(tmp_path / "o.xlsx"), "--all-scenarios", "--samples", "3"]) == 2
    assert "use them with --scenario NAME, not --all-scenarios" in capsys.readouterr().err


def test_a_broken_scenario_is_an_input_error_naming_its_change(tmp_path: Path, capsys):
    path = hedge_case(tmp_path)
    raw = read_workbook(path)
    raw.records["changes"][0]["column"] = "alowed"
    with pytest.raises(InputError) as caught:
        solve_stochastic(raw)
    assert "sheet 'changes', row 2, column 'column': 'alowed'" in str(caught.value)
