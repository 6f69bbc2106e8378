"""Hand cases for projects and the budgets that finance them (SPEC.md Part 2).

Each test states the plan, objective and duals it expects, with the arithmetic
in a comment, derived from SPEC.md alone.  Costs in USD, quantities in t/yr.

The network: A needs ore; its mine makes 40 t/yr at 10 USD/t; B's ore lands
in A at 15 + 5 transport = 20 USD/t (30 with the 50% tariff on value 20 that
some cases impose from 2026).  Projects add capacity to A's mine, so each
unit of project capacity used saves the landed import cost − 10.
Annuity = capex × CRF(capex_rate, life); CRF = 1/n at rate 0.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from model.cli import main
from model.pipeline import load_data, solve_data
from tests.conftest import row_of, summary_value
from tests.helpers import assert_line, run_refused, write_case

PENALTY = 1000.0
YEARS = [[2025], [2026], [2027]]

YEAR_HEADERS = {
    "facilities": ["facility", "country", "capacity", "restricted", "expansion_max", "expansion_cost", "year"],
    "lanes": ["from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow", "year"],
    "demand": ["country", "product", "quantity", "unmet_penalty", "growth", "year"],
}


@pytest.fixture
def solve_case(tmp_path: Path):
    def _solve(sheets: dict[str, list[list]], name: str = "case"):
        path = write_case(tmp_path / f"{name}.xlsx", sheets, YEAR_HEADERS)
        return solve_data(load_data(path))

    return _solve


def crf(rate: float, life: int) -> float:
    if rate == 0:
        return 1 / life
    growth = (1 + rate) ** life
    return rate * growth / (growth - 1)


def project(
    name="expand",
    capacity=30,
    capex=1000,
    earliest_year=None,
    lead_time=None,
    life=10,
    all_or_nothing=None,
    funder=None,
    fixed_cost=None,
) -> list:
    return [name, "mine A", capacity, capex, earliest_year, lead_time, life, all_or_nothing, funder, fixed_cost]


def network(projects, demand=70, years=YEARS, tariff_from_2026=False, settings=(), budgets=None):
    lanes = [["B", "A", "ore", 5, None, None, None, None]]
    if tariff_from_2026:
        # replaces the first row from 2026: same transport, and a tariff of 0.5 × 20 = 10 USD/t
        lanes.append(["B", "A", "ore", 5, 0.5, None, None, 2026])
    case = {
        "settings": [["unmet_demand_penalty", PENALTY], *settings],
        "countries": [["A", "no"], ["B", "no"]],
        "products": [["ore", 20, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["mine A", "A", 40, None, 0, None], ["mine B", "B", 1000, None, 0, None]],
        "facility_processes": [["mine A", "mine", 10], ["mine B", "mine", 15]],
        "lanes": lanes,
        "demand": [["A", "ore", demand]],
        "projects": list(projects),
    }
    if years is not None:
        case["years"] = years
    if budgets is not None:
        case["budgets"] = budgets
    return case


def project_row(outcome, name="expand"):
    return row_of(outcome.report.sheets["projects"], project=name)


def facility_capacity(outcome, year):
    return row_of(outcome.report.sheets["facilities"], facility="mine A", year=year)["capacity"]


# --------------------------------------------------------------------------
# 2. When to build.
#
# With the tariff from 2026 and no project: 2025: 40·10 + 30·20 = 1000;
# 2026, 2027: 400 + 30·30 = 1300 (tariff 300).  Undiscounted total 3600.
# A whole project (30 units) saves S_2025 = 30·(20 − 10) = 300, S_2026 = S_2027 = 30·(30 − 10) = 600.
# capex 2500, life 10: annuity 250 at rate 0, 2500·CRF(0.1, 10) = 406.86 at rate 0.1.
# Builds are divisible and every cost is linear in them, so the whole project
# goes to the single best online year.


def test_project_needed_from_the_first_year_is_built_then(solve_case):
    # r = 0: online from 2025 saves (300 − 250) + 2·(600 − 250) = 750; from 2026: 700; 2027: 350.
    # Built in 2025: A runs 70 every year: 700 + 250 = 950 a year → objective 2850
    # (= 3600 − 750; annuities 3·250 + operating 3·700).
    outcome = solve_case(network([project(capex=2500)], tariff_from_2026=True))
    assert outcome.objective == pytest.approx(2850.0)
    row = project_row(outcome)
    assert row["online_year"] == 2025
    assert row["built_share"] == pytest.approx(1.0)
    assert row["capacity_added"] == pytest.approx(30.0)
    assert row["annual_cost"] == pytest.approx(250.0)
    assert row["country"] == "A"
    assert row["facility"] == "mine A"
    assert row["capex"] == pytest.approx(2500.0)
    assert summary_value(outcome, "cost_projects") == pytest.approx(750.0)
    for year in (2025, 2026, 2027):
        assert facility_capacity(outcome, year) == pytest.approx(70.0)
        costs = outcome.report.sheets["costs_by_year"]
        assert row_of(costs, year=year, component="cost_projects")["cost"] == pytest.approx(250.0)


def test_discounting_makes_waiting_better(solve_case):
    # r = 0.1 (capex_rate defaults to it): annuity a = 2500·CRF(0.1, 10) = 406.86 > S_2025 = 300.
    # δ = 1, 1/1.1, 1/1.21.  Net saving of coming online in
    #   2025: (300 − a) + (600 − a)(1/1.1 + 1/1.21) = −106.86 + 335.20 = 228.34
    #   2026: (600 − a)(1/1.1 + 1/1.21) = 335.20
    #   2027: (600 − a)/1.21 = 159.62
    # → online 2026.  Objective = 1000 + (700 + a)(1/1.1 + 1/1.21) = 2921.00.
    # cost_projects (discounted) = a·(1/1.1 + 1/1.21).
    outcome = solve_case(network([project(capex=2500)], tariff_from_2026=True, settings=[["discount_rate", 0.1]]))
    annuity = 2500 * crf(0.1, 10)
    later = 1 / 1.1 + 1 / 1.21
    assert outcome.objective == pytest.approx(1000 + (700 + annuity) * later)
    row = project_row(outcome)
    assert row["online_year"] == 2026
    assert row["built_share"] == pytest.approx(1.0)
    assert row["annual_cost"] == pytest.approx(annuity)
    assert summary_value(outcome, "cost_projects") == pytest.approx(annuity * later)
    assert facility_capacity(outcome, 2025) == pytest.approx(40.0)
    assert facility_capacity(outcome, 2026) == pytest.approx(70.0)
    costs = outcome.report.sheets["costs_by_year"]
    assert row_of(costs, year=2025, component="cost_projects")["cost"] == pytest.approx(0.0)
    assert row_of(costs, year=2026, component="cost_projects")["cost"] == pytest.approx(annuity)
    assert row_of(costs, year=2026, component="cost_projects")["discount_factor"] == pytest.approx(1 / 1.1)


def test_lead_time_delays_the_first_allowed_year_and_fixed_cost_is_paid_while_online(solve_case):
    # r = 0, lead_time 1: first allowed year = 2025 + 1 = 2026.  fixed_cost 10/yr while online.
    # Online 2026–2027: saves 2·(600 − 250 − 10) = 680 → objective 3600 − 680 = 2920.
    # annual_cost = annuity + fixed_cost = 260; cost_projects = 2·260 = 520.
    outcome = solve_case(network([project(capex=2500, lead_time=1, fixed_cost=10)], tariff_from_2026=True))
    assert outcome.objective == pytest.approx(2920.0)
    row = project_row(outcome)
    assert row["online_year"] == 2026
    assert row["annual_cost"] == pytest.approx(260.0)
    assert summary_value(outcome, "cost_projects") == pytest.approx(520.0)
    assert facility_capacity(outcome, 2025) == pytest.approx(40.0)
    assert facility_capacity(outcome, 2027) == pytest.approx(70.0)


def test_life_ends_the_capacity(solve_case):
    # r = 0, capex 500, life 2: annuity 250, online in y and y + 1 only.
    #   online 2025 (2025, 2026): (300 − 250) + (600 − 250) = 400
    #   online 2026 (2026, 2027): 2·(600 − 250) = 700
    #   online 2027 (2027 only within the horizon): 350
    # → online 2026, objective 3600 − 700 = 2900.  (Ignoring the life would make
    # 2025 worth 750 and give 2850.)
    outcome = solve_case(network([project(capex=500, life=2)], tariff_from_2026=True))
    assert outcome.objective == pytest.approx(2900.0)
    assert project_row(outcome)["online_year"] == 2026
    assert facility_capacity(outcome, 2025) == pytest.approx(40.0)
    assert facility_capacity(outcome, 2027) == pytest.approx(70.0)


# --------------------------------------------------------------------------
# 3. A binding budget and its shadow price.
#
# No tariff: a whole project saves 300 a year; capex 1000, life 10, r = 0:
# annuity 100, net 200 a year per whole project.  Without the project: 1000 a year.


def test_budget_covers_half_the_project(solve_case):
    # Funder DFC: 500 in 2025 (blank year), 0 from 2026.  lead_time 0: decision year = online year.
    # build_2025 ≤ 500/1000 = 0.5, build_2026 = build_2027 = 0.
    # Each year: A runs 55 (550), imports 15 (300), annuity 0.5·100 = 50: 900 → objective 2700.
    # Shadow prices (USD of objective saved per USD of budget, present value = nominal at r = 0):
    #   2025: one more USD builds 0.001 more from 2025: 3 years · 200 · 0.001 = 0.6
    #   2026: budget 0, one more USD builds 0.001 from 2026: 2 · 200 · 0.001 = 0.4
    #   2027: 0.2
    # value (objective increase if it could not be built) = 3000 − 2700 = 300.
    budgets = [["DFC", 500, None], ["DFC", 0, 2026]]
    outcome = solve_case(network([project(funder="DFC")], budgets=budgets))
    assert outcome.objective == pytest.approx(2700.0)
    row = project_row(outcome)
    assert row["built_share"] == pytest.approx(0.5)
    assert row["online_year"] == 2025
    assert row["capacity_added"] == pytest.approx(15.0)
    assert row["annual_cost"] == pytest.approx(50.0)
    assert row["funder"] == "DFC"
    table = outcome.report.sheets["budgets"]
    for year, budget, committed, price in ((2025, 500.0, 500.0, 0.6), (2026, 0.0, 0.0, 0.4), (2027, 0.0, 0.0, 0.2)):
        line = row_of(table, funder="DFC", year=year)
        assert line["budget"] == pytest.approx(budget), year
        assert line["committed"] == pytest.approx(committed), year
        assert line["shadow_price"] == pytest.approx(price), year
    for year in (2025, 2026, 2027):
        assert facility_capacity(outcome, year) == pytest.approx(55.0)
        mine = row_of(outcome.report.sheets["facilities"], facility="mine A", year=year)
        assert mine["capacity_value"] == pytest.approx(10.0)
    assert row["value"] == pytest.approx(300.0)


def test_budget_is_charged_in_the_decision_year(solve_case):
    # lead_time 1: online from 2026 at the earliest; the decision year of a build online
    # in y is max(2025, y − 1), so 2025's budget (500) pays for the 2026 build: build_2026 ≤ 0.5;
    # 2026's budget (0) would pay for a 2027 build: build_2027 = 0.
    # 2025: 1000; 2026, 2027: 900 → objective 2800.
    # Shadow prices: 2025: 0.001 more online from 2026: 2·200·0.001 = 0.4; 2026: 0.2 (a 2027 build);
    # 2027: nothing online within the horizon is decided in 2027: 0.
    budgets = [["DFC", 500, None], ["DFC", 0, 2026]]
    outcome = solve_case(network([project(funder="DFC", lead_time=1)], budgets=budgets))
    assert outcome.objective == pytest.approx(2800.0)
    row = project_row(outcome)
    assert row["built_share"] == pytest.approx(0.5)
    assert row["online_year"] == 2026
    table = outcome.report.sheets["budgets"]
    for year, committed, price in ((2025, 500.0, 0.4), (2026, 0.0, 0.2), (2027, 0.0, 0.0)):
        line = row_of(table, funder="DFC", year=year)
        assert line["committed"] == pytest.approx(committed), year
        assert line["shadow_price"] == pytest.approx(price), year


def test_budget_shadow_price_is_in_present_value(solve_case):
    # As test_budget_covers_half_the_project with discount_rate 0.1 and capex_rate 0
    # (annuity stays 1000/10 = 100): build_2025 = 0.5, saving 100 a year.
    # D = 1 + 1/1.1 + 1/1.21 = 2.735537.  Objective = 900·D = 2461.98.
    # Shadow prices in present value (SPEC: "USD of objective, present value"):
    #   2025: 0.001·200·D = 0.547107; 2026: 0.2·(1/1.1 + 1/1.21) = 0.347107; 2027: 0.2/1.21 = 0.165289.
    # value = (1000 − 900)·D = 273.55 (objective increase, present value).
    # capacity_value of mine A stays 10 in each year's own USD.
    budgets = [["DFC", 500, None], ["DFC", 0, 2026]]
    settings = [["discount_rate", 0.1], ["capex_rate", 0]]
    outcome = solve_case(network([project(funder="DFC")], budgets=budgets, settings=settings))
    factors = {2025: 1.0, 2026: 1 / 1.1, 2027: 1 / 1.21}
    total = sum(factors.values())
    assert outcome.objective == pytest.approx(900 * total)
    table = outcome.report.sheets["budgets"]
    for year in (2025, 2026, 2027):
        remaining = sum(factor for y, factor in factors.items() if y >= year)
        assert row_of(table, funder="DFC", year=year)["shadow_price"] == pytest.approx(0.2 * remaining), year
        mine = row_of(outcome.report.sheets["facilities"], facility="mine A", year=year)
        assert mine["capacity_value"] == pytest.approx(10.0), year
    row = project_row(outcome)
    assert row["annual_cost"] == pytest.approx(50.0)
    assert row["value"] == pytest.approx(100 * total)


# --------------------------------------------------------------------------
# 4. All or nothing: the MIP optimum is not the LP relaxation's.
#
# Single-year case (no years sheet), A needs 50: 40 from its mine, 10 imported at 20.
# Without a project: 400 + 200 = 600.  A project of 30 units, life 10, r = 0,
# built fraction f: only 10 units are useful.  For f ≤ 1/3:
# cost(f) = 600 − 300 f + annuity·f, rising beyond 1/3 (500 + annuity·f).


def test_all_or_nothing_project_not_worth_building_whole(solve_case):
    # capex 1500: annuity 150.  LP relaxation: f = 1/3, cost 600 − 100 + 50 = 550.
    # MIP: f = 0 → 600, f = 1 → 500 + 150 = 650.  Optimum 600, not built.
    # Duals with the build fixed at 0: a tonne more comes from B: marginal cost 20;
    # mine A's capacity value 20 − 10 = 10.  value 0 (not built).
    outcome = solve_case(network([project(capex=1500, all_or_nothing="yes")], demand=50, years=None))
    assert outcome.objective == pytest.approx(600.0)
    row = project_row(outcome)
    assert row["built_share"] == pytest.approx(0.0)
    assert pd.isna(row["online_year"])
    assert row["value"] == pytest.approx(0.0)
    assert row_of(outcome.report.sheets["deliveries"], country="A")["marginal_cost"] == pytest.approx(20.0)
    assert row_of(outcome.report.sheets["facilities"], facility="mine A")["capacity_value"] == pytest.approx(10.0)
    assert 0 <= summary_value(outcome, "mip_gap") <= 1e-4


def test_divisible_project_builds_the_fraction_the_lp_wants(solve_case):
    # Same as above without all_or_nothing: f = 1/3, objective 550; capacity 40 + 10 = 50.
    # Online in the single year, but online_year is blank: no `year` setting.
    outcome = solve_case(network([project(capex=1500)], demand=50, years=None))
    assert outcome.objective == pytest.approx(550.0)
    row = project_row(outcome)
    assert row["built_share"] == pytest.approx(1 / 3)
    assert row["capacity_added"] == pytest.approx(10.0)
    assert row["annual_cost"] == pytest.approx(50.0)
    assert pd.isna(row["online_year"])
    # One more tonne: 1/30 more of the project (150/30 = 5 per unit of capacity) and 10 of mining: 15.
    # One more unit of mine A's capacity saves 1/30 of the project: capacity value 5.
    assert row_of(outcome.report.sheets["deliveries"], country="A")["marginal_cost"] == pytest.approx(15.0)
    assert row_of(outcome.report.sheets["facilities"], facility="mine A")["capacity_value"] == pytest.approx(5.0)
    # value = 600 − 550
    assert row["value"] == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("year_setting", "earliest_year", "objective", "online_year"),
    [
        # The model year is the `year` setting (2025); earliest_year 2026 is later: not built.
        (2025, 2026, 600.0, None),
        # earliest_year 2025 allows it: capex 900 → annuity 90, f = 1/3: 600 − 100 + 30 = 530;
        # with the `year` setting the online_year is that year.
        (2025, 2025, 530.0, 2025),
        # Without the `year` setting, earliest_year is ignored: built, online_year blank.
        (None, 2026, 530.0, None),
    ],
)
def test_single_year_case_reads_earliest_year_against_the_year_setting(
    solve_case, year_setting, earliest_year, objective, online_year
):
    settings = [] if year_setting is None else [["year", year_setting]]
    case = network([project(capex=900, earliest_year=earliest_year)], demand=50, years=None, settings=settings)
    outcome = solve_case(case)
    assert outcome.objective == pytest.approx(objective)
    row = project_row(outcome)
    assert row["built_share"] == pytest.approx(0.0 if objective == 600.0 else 1 / 3)
    if online_year is None:
        assert pd.isna(row["online_year"])
    else:
        assert row["online_year"] == online_year


def test_all_or_nothing_project_built_whole_and_duals_with_it_fixed(solve_case):
    # capex 900: annuity 90.  LP relaxation: f = 1/3, 600 − 100 + 30 = 530.
    # MIP: f = 1 → 500 + 90 = 590 < 600 → built whole.  Objective 590.
    # Duals of the LP with f fixed at 1: mine A has 70 units for 50 t, so a tonne more
    # costs 10 (the relaxation would say 13) and capacity is worth 0.
    # value = 600 − 590 = 10.
    outcome = solve_case(network([project(capex=900, all_or_nothing="yes")], demand=50, years=None))
    assert outcome.objective == pytest.approx(590.0)
    row = project_row(outcome)
    assert row["built_share"] == pytest.approx(1.0)
    assert row["capacity_added"] == pytest.approx(30.0)
    assert row_of(outcome.report.sheets["deliveries"], country="A")["marginal_cost"] == pytest.approx(10.0)
    mine = row_of(outcome.report.sheets["facilities"], facility="mine A")
    assert mine["capacity"] == pytest.approx(70.0)
    assert mine["capacity_value"] == pytest.approx(0.0)
    assert 0 <= summary_value(outcome, "mip_gap") <= 1e-4
    assert row["value"] == pytest.approx(10.0)


# --------------------------------------------------------------------------
# 10. A project's value is what losing it would cost.


def test_project_value_counts_the_next_best_alternative(solve_case):
    # Two candidates of 30 units each for A's mine, r = 0, life 10, no tariff:
    #   cheap: capex 1000 → annuity 100, net saving 200 a year
    #   dear:  capex 1600 → annuity 160, net saving 140 a year
    # Only 30 units are useful: cheap is built in 2025: 3·(700 + 100) = 2400.
    # Without cheap, dear would be built: 3·(700 + 160) = 2580 → value of cheap = 180.
    # dear is not built: value 0.
    outcome = solve_case(network([project("cheap", capex=1000), project("dear", capex=1600)]))
    assert outcome.objective == pytest.approx(2400.0)
    cheap, dear = project_row(outcome, "cheap"), project_row(outcome, "dear")
    assert cheap["built_share"] == pytest.approx(1.0)
    assert cheap["online_year"] == 2025
    assert dear["built_share"] == pytest.approx(0.0)
    assert pd.isna(dear["online_year"])
    assert dear["value"] == pytest.approx(0.0)
    assert cheap["value"] == pytest.approx(180.0)


# --------------------------------------------------------------------------
# 11. Bad input about projects: exit 2, one line naming sheet, row and column.


def test_valid_project_case_runs(tmp_path, capsys):
    source = write_case(
        tmp_path / "case.xlsx", network([project(funder="DFC")], budgets=[["DFC", 500, None]]), YEAR_HEADERS
    )
    code = main([str(source), "-o", str(tmp_path / "result.xlsx")])
    assert code == 0, capsys.readouterr().err


def test_funder_without_budget_row_is_refused(tmp_path, capsys):
    err = run_refused(tmp_path, capsys, YEAR_HEADERS, network([project(funder="DFC")], budgets=[["JBIC", 500, None]]))
    assert_line(err, ["sheet 'projects'", "row 2", "column 'funder'", "DFC"])


def test_funder_without_budgets_sheet_is_refused(tmp_path, capsys):
    err = run_refused(tmp_path, capsys, YEAR_HEADERS, network([project(funder="DFC")]))
    assert_line(err, ["sheet 'projects'", "row 2", "column 'funder'", "DFC"])


def test_non_integer_lead_time_is_refused(tmp_path, capsys):
    err = run_refused(tmp_path, capsys, YEAR_HEADERS, network([project(lead_time=1.5)]))
    assert_line(err, ["sheet 'projects'", "row 2", "column 'lead_time'", "1.5"])


# --------------------------------------------------------------------------
# The results workbook through the command line.


def test_results_workbook_has_the_part2_sheets(tmp_path, capsys):
    # Budget 500 every year (blank year): build 0.5 online 2025 and 0.5 online 2026
    # (capex 1000, annuity 100, net 200 a year per whole project, r = 0).
    # 2025: 550 + 300 + 50 = 900; 2026, 2027: 700 + 100 = 800.  Objective 2500.
    # online_year = the first year with a build: 2025; built_share 1; capacity_added 30.
    # An idle stockpile (no cover, no initial stock, ore costs 20 to buy) stays empty and
    # changes nothing, but gives the stockpiles sheet its rows.
    case = network([project(funder="DFC")], budgets=[["DFC", 500, None]])
    case["stockpiles"] = [["A", "ore"]]
    source = write_case(tmp_path / "case.xlsx", case, YEAR_HEADERS)
    output = tmp_path / "result.xlsx"
    assert main([str(source), "-o", str(output)]) == 0, capsys.readouterr().err
    sheets = pd.read_excel(output, sheet_name=None, engine="openpyxl")
    expected = {
        "costs_by_year": ["year", "component", "cost", "discount_factor"],
        "projects": [
            "project",
            "facility",
            "country",
            "funder",
            "capex",
            "built_share",
            "online_year",
            "capacity_added",
            "annual_cost",
            "value",
        ],
        "budgets": ["funder", "year", "budget", "committed", "shadow_price"],
        "stockpiles": [
            "country",
            "product",
            "year",
            "stock",
            "purchases",
            "releases",
            "days_of_cover",
            "min_days",
            "cover_shortfall",
            "exposed_share",
        ],
    }
    legend = sheets["legend"]
    for sheet, columns in expected.items():
        assert sheet in sheets, sheet
        assert list(sheets[sheet].columns)[: len(columns)] == columns, sheet
        documented = set(legend[legend["sheet"] == sheet]["column"])
        assert set(columns) <= documented, (sheet, set(columns) - documented)
    summary = sheets["summary"].set_index("item")["value"]
    assert float(summary["objective"]) == pytest.approx(2500.0)
    built = sheets["projects"].iloc[0]
    assert built["built_share"] == pytest.approx(1.0)
    assert built["online_year"] == 2025
    assert built["capacity_added"] == pytest.approx(30.0)
    budgets = sheets["budgets"]
    assert list(budgets["year"]) == [2025, 2026, 2027]
    assert list(budgets["committed"]) == pytest.approx([500.0, 500.0, 0.0])
    assert pd.api.types.is_numeric_dtype(sheets["costs_by_year"]["cost"])
    assert list(sheets["stockpiles"]["year"]) == [2025, 2026, 2027]
    assert list(sheets["stockpiles"]["stock"]) == pytest.approx([0.0, 0.0, 0.0])
