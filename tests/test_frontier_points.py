"""Frontier points solved as chains on one model equal independent runs at each cap (SPEC Part 3).

The case: four years (2025-2028), oxide demand in the US (100 t/yr growing
10 %/yr) and Japan (60 t/yr, 5 %/yr) at 1,000 USD/t unmet; a Chinese mine
(restricted, 300 t/yr at 10 USD/t), a US mine (30 t/yr at 40) and a Japanese
site with no capacity (35 USD/t); three all-or-nothing projects on the US and
Japanese mines.  Uncapped, China supplies everything and nothing is built; as
the cap tightens, projects become worth building whole, and the LP
relaxation is fractional at every share from 0.8 to 0.1 (measured), so those
points need branch and bound: the frontier's own tactics (its chains warm
started, its branch and bound without HiGHS' sub-MIP heuristics) meet every
independent run's optimum to within the MIP gap.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from model.cli import main
from model.pipeline import load_data, load_scenario, solve_data
from model.studies.frontier import (
    CHAIN_POINTS,
    DEFAULT_SHARES,
    SUB_MIP_HEURISTICS,
    FrontierCache,
    chains,
    solve_chain,
    solve_frontier,
)
from model.workbook.read import read_workbook
from tests.helpers import write_case

MIP_GAP = 1e-4  # the product's default (setting mip_gap)
YEAR_HEADERS = {
    "facilities": ["facility", "country", "capacity", "restricted", "expansion_max", "expansion_cost", "year"],
    "demand": ["country", "product", "quantity", "unmet_penalty", "growth", "year"],
}


def projects_over_years() -> dict[str, list[list]]:
    """The case of the module docstring."""
    return {
        "settings": [
            ["case_name", "projects over years"],
            ["unmet_demand_penalty", 1000],
            ["discount_rate", 0.05],
            ["capex_rate", 0.08],
        ],
        "countries": [["CHN", "yes"], ["USA", "no"], ["JPN", "no"]],
        "products": [["oxide", 50, 0]],
        "processes": [["mine", "mining", "oxide", 1]],
        "facilities": [
            ["cn", "CHN", 300, None, 0, None],
            ["us", "USA", 30, None, 0, None],
            ["jp", "JPN", 0, None, 0, None],
        ],
        "facility_processes": [["cn", "mine", 10], ["us", "mine", 40], ["jp", "mine", 35]],
        "demand": [["USA", "oxide", 100, 1000, 0.1], ["JPN", "oxide", 60, 1000, 0.05]],
        "years": [[2025], [2026], [2027], [2028]],
        "projects": [
            ["us big", "us", 70, 9000, 2026, None, 10, "yes", None, 100],
            ["us small", "us", 25, 2500, None, None, 10, "yes", None, 50],
            ["jp", "jp", 45, 4000, 2025, 1, 10, "yes", None, 0],
        ],
    }


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Path:
    return write_case(tmp_path_factory.mktemp("frontier") / "projects.xlsx", projects_over_years(), YEAR_HEADERS)


@pytest.fixture(scope="module")
def frontier(case) -> pd.DataFrame:
    return solve_frontier(read_workbook(case), DEFAULT_SHARES, mip_gap=MIP_GAP, workers=1)


def within_gap(ours: float, theirs: float) -> bool:
    """Two optima of the same MIP, each proven to the relative gap: |z1 − z2| ≤ gap·max|z| + 1e-6·max(1, max|z|)."""
    scale = max(abs(ours), abs(theirs))
    return abs(ours - theirs) <= MIP_GAP * scale + 1e-6 * max(1.0, scale)


def test_each_point_equals_an_independent_run_at_its_cap(case, frontier):
    assert list(frontier["exposure_cap"]) == list(DEFAULT_SHARES)
    assert (frontier["status"] == "optimal").all(), frontier["message"].tolist()
    for row in frontier.itertuples(index=False):
        alone = solve_data(load_data(case, row.exposure_cap))  # what `run.py --exposure-cap SHARE` solves
        assert alone.status == "optimal"
        assert within_gap(row.objective, alone.objective), (row.exposure_cap, row.objective, alone.objective)


def test_cap_1_is_the_uncapped_run_and_tightening_costs(case, frontier):
    uncapped = solve_data(load_data(case))  # the case has no caps of its own
    first = frontier.iloc[0]
    assert first["objective"] == pytest.approx(uncapped.objective, rel=1e-9)
    assert first["shadow_price_per_pp"] == 0 and first["binding_stage"] == ""
    objectives = frontier["objective"].tolist()
    assert all(tighter >= looser * (1 - MIP_GAP) for looser, tighter in zip(objectives, objectives[1:], strict=False))
    assert objectives[-1] > 10 * objectives[0]  # with no Chinese oxide at all, projects and unmet demand pay
    assert (frontier["binding_stage"].iloc[1:] == "any").all()


def test_the_order_the_shares_are_given_in_does_not_change_a_point(case, frontier):
    """Shares given tightest first and with a repeat: the same points, in the order given."""
    shares = (0.0, 0.5, 1.0, 0.5, 0.25)
    table = solve_frontier(read_workbook(case), shares, mip_gap=MIP_GAP, workers=1)
    assert list(table["exposure_cap"]) == list(shares)
    by_share = frontier.set_index("exposure_cap")["objective"]
    for row in table.itertuples(index=False):
        if row.exposure_cap in by_share.index:
            assert within_gap(row.objective, by_share[row.exposure_cap])
        else:
            assert within_gap(row.objective, solve_data(load_data(case, row.exposure_cap)).objective)


def test_two_dask_workers_give_exactly_the_in_process_frontier(case, frontier):
    """Chains depend on the shares only, and each starts from a fresh HiGHS instance: same numbers, bit for bit."""
    on_dask = solve_frontier(read_workbook(case), DEFAULT_SHARES, mip_gap=MIP_GAP, workers=2)
    pd.testing.assert_frame_equal(on_dask, frontier, check_exact=True)


def test_chains_cover_every_point_once_loosest_first_and_spread_the_tight_ones():
    shares = (0.3, 1.0, 0.0, 0.5, 0.7, 0.1, 0.9, 0.2, 0.6, 0.4, 0.8, 0.05, 0.15)
    parts = chains(shares)
    assert sorted(p for part in parts for p in part) == list(range(len(shares)))
    assert len(parts) == -(-len(shares) // CHAIN_POINTS) and all(len(part) <= CHAIN_POINTS for part in parts)
    for part in parts:
        assert [shares[p] for p in part] == sorted((shares[p] for p in part), reverse=True)
    assert {shares[parts[0][-1]], shares[parts[1][-1]], shares[parts[2][-1]]} == {0.0, 0.05, 0.1}
    assert chains((0.5,)) == [[0]] and chains(()) == [[]]


def test_frontier_branch_and_bound_runs_without_the_sub_mip_heuristics(case):
    cache = FrontierCache()
    (summary,) = solve_chain(read_workbook(case), [0.5], cache=cache)
    assert summary.ok and summary.objective == pytest.approx(solve_data(load_data(case, 0.5)).objective, rel=MIP_GAP)
    highs = cache.loaded.backend.highs
    values = [highs.getOptionValue(name) for name in SUB_MIP_HEURISTICS]  # (status, value) in highspy 1.16
    assert [value[-1] if isinstance(value, tuple) else value for value in values] == [False] * len(values)


# ---------------------------------------------------------------- the command line
SCENARIO_HEADERS = {
    **YEAR_HEADERS,
    "scenarios": ["scenario", "description"],
    "changes": ["scenario", "sheet", "column", "operation", "value", "match"],
}


def frontier_sheet(path: Path) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name="frontier", engine="calamine")


def summary_objective(path: Path) -> float:
    summary = pd.read_excel(path, sheet_name="summary", engine="calamine").set_index("item")["value"]
    return float(summary["objective"])


def test_the_run_itself_is_the_cap_1_point_when_nothing_caps_any(tmp_path: Path, capsys):
    """No `any` cap in the workbook: the frontier's share-1 row is the run's own summary, not solved again.

    The console shows the frontier too: each cap's cost and its rise over the loosest cap.
    """
    path = write_case(tmp_path / "case.xlsx", projects_over_years(), YEAR_HEADERS)
    out = tmp_path / "out.xlsx"
    assert main([str(path), "-o", str(out), "--frontier", "1,0.5"]) == 0
    table = frontier_sheet(out)
    assert table["objective"].iloc[0] == summary_objective(out)  # the same number, written twice
    assert within_gap(table["objective"].iloc[1], solve_data(load_data(path, 0.5)).objective)
    printed = capsys.readouterr().out
    assert "Cost–exposure frontier" in printed and "USD, present value" in printed and "vs 100%" in printed
    z1, z05 = table["objective"]
    assert f"   100%  {z1:>20,.0f}  {0:>+20,.0f}" in printed
    assert f"    50%  {z05:>20,.0f}  {z05 - z1:>+20,.0f}" in printed


def test_with_an_any_cap_the_cap_1_point_is_solved_as_exposure_cap_1_would(tmp_path: Path):
    """default_exposure_cap 0.5: the run is capped, the frontier's share 1 is not (it is --exposure-cap 1)."""
    sheets = projects_over_years()
    sheets["settings"].append(["default_exposure_cap", 0.5])
    path = write_case(tmp_path / "capped.xlsx", sheets, YEAR_HEADERS)
    out = tmp_path / "out.xlsx"
    assert main([str(path), "-o", str(out), "--frontier", "1,0.5"]) == 0
    table = frontier_sheet(out)
    at_1 = solve_data(load_data(path, 1.0)).objective
    assert within_gap(table["objective"].iloc[0], at_1)
    assert within_gap(table["objective"].iloc[1], summary_objective(out))  # the run is the point at 0.5
    assert at_1 < 0.5 * summary_objective(out)  # so share 1 was not taken from the run


def test_a_scenarios_frontier_is_that_scenarios(tmp_path: Path):
    """--scenario X --frontier: each point has X's changes (US demand doubled), as --scenario X --exposure-cap has."""
    sheets = projects_over_years()
    sheets["scenarios"] = [["double_us", "US demand doubled"]]
    sheets["changes"] = [["double_us", "demand", "quantity", "scale", 2, "country=USA"]]
    path = write_case(tmp_path / "scenario.xlsx", sheets, SCENARIO_HEADERS)
    out = tmp_path / "out.xlsx"
    assert main([str(path), "-o", str(out), "--scenario", "double_us", "--frontier", "1,0.3"]) == 0
    table = frontier_sheet(out)
    for row in table.itertuples(index=False):
        alone = solve_data(load_scenario(path, "double_us", row.exposure_cap))
        assert within_gap(row.objective, alone.objective)
        assert not within_gap(row.objective, solve_data(load_data(path, row.exposure_cap)).objective)


def test_the_first_command_answers_what_de_risking_costs(tmp_path: Path):
    """`python run.py`: the base case's `frontier` setting adds its six caps; the run itself is unchanged."""
    out = tmp_path / "base_case.xlsx"
    assert main(["-q", "-o", str(out)]) == 0
    table = frontier_sheet(out)
    assert list(table["exposure_cap"]) == [1, 0.8, 0.6, 0.4, 0.2, 0]
    assert (table["status"] == "optimal").all()
    objective = summary_objective(out)
    assert objective == pytest.approx(90_678_387_944.53, rel=1e-4)  # as without the frontier (2025-2035, issue 9)
    assert table["objective"].iloc[0] == objective  # the run is the point at 1: the base case has no `any` cap
    rises = table["objective"].diff().iloc[1:]
    assert (rises > MIP_GAP * table["objective"].iloc[1:]).all()  # every 20 points of de-risking cost something
    assert rises.iloc[-1] > 2 * rises.iloc[:-1].max()  # and the last 20 the most (README)
