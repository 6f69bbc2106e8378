"""Hand cases for planning over years (SPEC.md Part 2, "Years" and "Results over years").

Each test states the plan, objective and duals it expects, with the arithmetic
in a comment, derived from SPEC.md alone.  Costs in USD, quantities in t/yr.
Discounting: year y's cost is weighted by δ_y = (1 + r)^−(y − first year).
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

# The Part 1 sheets with the optional `year` column (and `growth` on demand).
YEAR_HEADERS = {
    "facilities": ["facility", "country", "capacity", "restricted", "expansion_max", "expansion_cost", "year"],
    "lanes": ["from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow", "year"],
    "demand": ["country", "product", "quantity", "unmet_penalty", "growth", "year"],
    "exposure_caps": ["country", "product", "stage", "max_share", "year"],
}

PART1_TABLES = ("deliveries", "exposure_caps", "facilities", "activity", "trade", "sourcing", "surplus")


@pytest.fixture
def solve_years(tmp_path: Path):
    """solve_years(sheets) -> RunOutcome, with `year` columns on the yearly sheets."""

    def _solve(sheets: dict[str, list[list]], name: str = "case", headers: dict[str, list[str]] | None = None):
        path = write_case(tmp_path / f"{name}.xlsx", sheets, {**YEAR_HEADERS, **(headers or {})})
        return solve_data(load_data(path))

    return _solve


def in_year(frame: pd.DataFrame, year: int, **keys):
    return row_of(frame, year=year, **keys)


# --------------------------------------------------------------------------
# 1. A one-year `years` sheet changes nothing but the `year` columns.


def capped_case() -> dict[str, list[list]]:
    """A mines 40 at 10 and may add 20 at 3/unit; B (restricted) mines at 15, +5 transport.

    A needs 70 t of ore with at most 10% exposed at any stage.
    """
    return {
        "settings": [["unmet_demand_penalty", PENALTY]],
        "countries": [["A", "no"], ["B", "yes"]],
        "products": [["ore", 20, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["mine A", "A", 40, None, 20, 3], ["mine B", "B", 100, None, 0, None]],
        "facility_processes": [["mine A", "mine", 10], ["mine B", "mine", 15]],
        "lanes": [["B", "A", "ore", 5, None, None, None]],
        "demand": [["A", "ore", 70, None]],
        "exposure_caps": [["A", "ore", "any", 0.1]],
    }


def test_one_model_year_solves_as_the_single_year_case(solve):
    # A's tonne costs 10 (13 from the expansion), B's 20 but is exposed, unmet 1000.
    # A runs 40 + 20 expanded = 60: 600 + 20·3 = 660; B ships 0.1·70 = 7 (cap): 140;
    # 3 t unmet: 3000.  Objective 3800, with or without a one-year `years` sheet.
    # Cap shadow price: 0.01 more share = 0.7 t from B instead of unmet: 0.7·(1000 − 20) = 686.
    # Marginal cost: one more tonne raises the cap by 0.1 t: 0.1·20 + 0.9·1000 = 902.
    # Capacity value of mine A: one more unit replaces an unmet tonne: 1000 − 10 = 990.
    plain = solve(capped_case(), name="plain")
    case = capped_case()
    case["years"] = [[2025]]
    yearly = solve(case, name="yearly")
    for outcome in (plain, yearly):
        assert outcome.objective == pytest.approx(3800.0)
        cap = row_of(outcome.report.sheets["exposure_caps"], country="A", stage="any")
        assert cap["shadow_price_per_pp"] == pytest.approx(686.0)
        delivery = row_of(outcome.report.sheets["deliveries"], country="A")
        assert delivery["unmet"] == pytest.approx(3.0)
        assert delivery["marginal_cost"] == pytest.approx(902.0)
        facility = row_of(outcome.report.sheets["facilities"], facility="mine A")
        assert facility["expansion"] == pytest.approx(20.0)
        assert facility["capacity_value"] == pytest.approx(990.0)
        assert summary_value(outcome, "cost_expansion") == pytest.approx(60.0)
    # SPEC "Results over years": every Part 1 results table gains a `year` column
    # after its key columns, and only with a `years` sheet.
    for sheet in PART1_TABLES:
        without = list(plain.report.sheets[sheet].columns)
        with_years = list(yearly.report.sheets[sheet].columns)
        assert "year" not in without, sheet
        assert "year" in with_years, sheet
        assert [c for c in with_years if c != "year"] == without, sheet
    for sheet, keys in (
        ("deliveries", ["country", "product"]),
        ("trade", ["from", "to", "product"]),
        ("exposure_caps", ["country", "product", "stage"]),
        ("surplus", ["country", "product"]),
    ):
        columns = list(yearly.report.sheets[sheet].columns)
        assert columns[: len(keys) + 1] == [*keys, "year"], sheet
    assert set(yearly.report.sheets["deliveries"]["year"]) == {2025}
    assert set(yearly.report.sheets["facilities"]["year"]) == {2025}


# --------------------------------------------------------------------------
# The from-year rule on products, facility_processes and lanes.


def test_rows_apply_from_their_year_and_replace_earlier_rows_entirely(solve_years):
    # A needs 30 t of ore a year.  B mines at 15.  Lanes: (*, *, *) transport 3;
    # (B, A, ore) transport 5 until 2025; from 2026 a (B, A, ore) row with only a 50 % tariff:
    # it replaces the 2025 row entirely, so its blank transport comes from the less
    # specific (*, *, *) row: 3, not 5.
    # Product value 20, from 2027 40 (tariff base).
    # mine A's pairing with `mine` exists from 2026 at 25, from 2027 at 35.
    # 2025: only B, no tariff: 30·(15 + 5) = 600.
    # 2026: B lands at 15 + 3 + 0.5·20 = 28 > A's 25 → A: 750.
    # 2027: B lands at 15 + 3 + 0.5·40 = 38 > A's 35 → A: 1050.
    # Objective (r = 0) 600 + 750 + 1050 = 2400.
    case = {
        "settings": [["unmet_demand_penalty", PENALTY]],
        "years": YEARS,
        "countries": [["A", "no"], ["B", "no"]],
        "products": [["ore", 20, 0, None], ["ore", 40, 0, 2027]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["mine A", "A", 100, None, 0, None], ["mine B", "B", 100, None, 0, None]],
        "facility_processes": [["mine B", "mine", 15], ["mine A", "mine", 25, 2026], ["mine A", "mine", 35, 2027]],
        "lanes": [
            ["*", "*", "*", 3],
            ["B", "A", "ore", 5, None, None, None, None],
            ["B", "A", "ore", None, 0.5, None, None, 2026],
        ],
        "demand": [["A", "ore", 30]],
    }
    headers = {
        "products": ["product", "value", "surplus_price", "year"],
        "facility_processes": ["facility", "process", "unit_cost", "year"],
    }
    outcome = solve_years(case, headers=headers)
    assert outcome.objective == pytest.approx(2400.0)
    trade = outcome.report.sheets["trade"]
    shipped = in_year(trade, 2025, **{"from": "B"})
    assert shipped["quantity"] == pytest.approx(30.0)
    assert shipped["transport_cost"] == pytest.approx(150.0)
    assert shipped["tariff_cost"] == pytest.approx(0.0)
    assert trade[trade["year"] > 2025]["quantity"].sum() == pytest.approx(0.0)
    activity = outcome.report.sheets["activity"]
    assert activity[(activity["facility"] == "mine A") & (activity["year"] == 2025)]["activity"].sum() == 0
    for year in (2026, 2027):
        assert in_year(activity, year, facility="mine A")["activity"] == pytest.approx(30.0)
    costs = outcome.report.sheets["costs_by_year"]
    assert in_year(costs, 2027, component="cost_operating_mining")["cost"] == pytest.approx(1050.0)


def test_later_lane_row_prices_the_trade_from_its_year(solve_years):
    # As above without mine A: B ships 30 t every year.
    # 2025: 30·(15 + 5) = 600 (transport 150).
    # 2026: 30·(15 + 3 + 10) = 840 (transport 90, tariff 300).
    # 2027: 30·(15 + 3 + 20) = 1140 (transport 90, tariff 600).  Objective 2580.
    case = {
        "settings": [["unmet_demand_penalty", PENALTY], ["default_transport_cost", 50]],
        "years": YEARS,
        "countries": [["A", "no"], ["B", "no"]],
        "products": [["ore", 20, 0, None], ["ore", 40, 0, 2027]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["mine B", "B", 100, None, 0, None]],
        "facility_processes": [["mine B", "mine", 15]],
        "lanes": [
            ["*", "*", "*", 3],
            ["B", "A", "ore", 5, None, None, None, None],
            ["B", "A", "ore", None, 0.5, None, None, 2026],
        ],
        "demand": [["A", "ore", 30]],
    }
    outcome = solve_years(case, headers={"products": ["product", "value", "surplus_price", "year"]})
    assert outcome.objective == pytest.approx(2580.0)
    trade = outcome.report.sheets["trade"]
    for year, transport, tariff in ((2025, 150.0, 0.0), (2026, 90.0, 300.0), (2027, 90.0, 600.0)):
        shipped = in_year(trade, year, **{"from": "B"})
        assert shipped["transport_cost"] == pytest.approx(transport), year
        assert shipped["tariff_cost"] == pytest.approx(tariff), year
    assert summary_value(outcome, "cost_tariff") == pytest.approx(900.0)


# --------------------------------------------------------------------------
# 7. A cap that tightens from year to year.


def two_supplier_case(settings=()) -> dict[str, list[list]]:
    """A needs 100 t of ore a year; B (restricted) lands it at 15 + 5 = 20, C (clean) at 25 + 5 = 30."""
    return {
        "settings": [["unmet_demand_penalty", PENALTY], *settings],
        "years": YEARS,
        "countries": [["A", "no"], ["B", "yes"], ["C", "no"]],
        "products": [["ore", 0, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["mine B", "B", 1000, None, 0, None], ["mine C", "C", 1000, None, 0, None]],
        "facility_processes": [["mine B", "mine", 15], ["mine C", "mine", 25]],
        "lanes": [["B", "A", "ore", 5], ["C", "A", "ore", 5]],
        "demand": [["A", "ore", 100]],
        "exposure_caps": [["A", "ore", "any", 0.5], ["A", "ore", "any", 0.2, 2027]],
    }


def test_exposure_cap_tightening_over_years(solve_years):
    # Cap 0.5 in 2025 and 2026 (first row, blank year = 2025, until 2026), 0.2 from 2027.
    # 2025, 2026: 50 t from B (20) + 50 t from C (30) = 2500
    #   (operating 50·15 + 50·25 = 2000, transport 100·5 = 500).
    # 2027: 20 t from B + 80 t from C = 400 + 2400 = 2800 (operating 300 + 2000 = 2300).
    # r = 0.1: objective = 2500 + 2500/1.1 + 2800/1.21 = 7086.78.
    # Every cap binds; 0.01 more share = 1 t from B instead of C: 10 USD in that
    # year's USD (SPEC: duals in that year's USD).  Marginal cost of a tonne of
    # demand with its cap scaling: 0.5·20 + 0.5·30 = 25 (2025, 2026), 0.2·20 + 0.8·30 = 28 (2027).
    outcome = solve_years(two_supplier_case(settings=[["discount_rate", 0.1]]))
    assert outcome.objective == pytest.approx(2500 + 2500 / 1.1 + 2800 / 1.21)
    caps = outcome.report.sheets["exposure_caps"]
    deliveries = outcome.report.sheets["deliveries"]
    for year, share, marginal in ((2025, 0.5, 25.0), (2026, 0.5, 25.0), (2027, 0.2, 28.0)):
        cap = in_year(caps, year, country="A", product="ore", stage="any")
        assert cap["max_share"] == pytest.approx(share)
        assert cap["achieved_share"] == pytest.approx(share)
        assert cap["binding"] == "yes"
        assert cap["shadow_price_per_pp"] == pytest.approx(10.0)
        assert in_year(deliveries, year, country="A")["marginal_cost"] == pytest.approx(marginal)
        assert in_year(deliveries, year, country="A")["exposure_any"] == pytest.approx(share)
    costs = outcome.report.sheets["costs_by_year"]
    assert list(costs.columns[:4]) == ["year", "component", "cost", "discount_factor"]
    for year, operating, factor in ((2025, 2000.0, 1.0), (2026, 2000.0, 1 / 1.1), (2027, 2300.0, 1 / 1.21)):
        row = in_year(costs, year, component="cost_operating_mining")
        assert row["cost"] == pytest.approx(operating)
        assert row["discount_factor"] == pytest.approx(factor)
        assert in_year(costs, year, component="cost_transport")["cost"] == pytest.approx(500.0)
    # summary components are summed over years and discounted.
    assert summary_value(outcome, "cost_operating_mining") == pytest.approx(2000 + 2000 / 1.1 + 2300 / 1.21)
    assert summary_value(outcome, "cost_transport") == pytest.approx(500 + 500 / 1.1 + 500 / 1.21)
    # The weighted costs_by_year add up to the objective (surplus_credit is a positive credit).
    sign = costs["component"].map(lambda c: -1.0 if c == "surplus_credit" else 1.0)
    assert (sign * costs["cost"] * costs["discount_factor"]).sum() == pytest.approx(outcome.objective)


# --------------------------------------------------------------------------
# 8. Demand growth and discounting.


def test_demand_growth_and_discounting(solve_years):
    # One mine in A at 10/t (capacity 1000); B and C import from A at +5: 15/t.
    # demand_growth 0.1; discount_rate 0.1; quantity_y = q·(1 + g)^(y − row's first year).
    #   A: 100, growth blank → 0.1:        100, 110, 121     cost 1000, 1100, 1210
    #   B: 20, growth 0 (not the default): 20, 20, 20        cost 300 each year
    #   C: 50 from 2026, growth 0.2:       —, 50, 60         cost 750, 900
    #   (no C demand in 2025: before a key's first row the key does not exist)
    # yearly cost: 1300, 2150, 2410
    # objective = 1300 + 2150/1.1 + 2410/1.21 = 5246.28
    # demand_total (summed over years) = 331 + 60 + 110 = 501.
    case = {
        "settings": [["unmet_demand_penalty", PENALTY], ["discount_rate", 0.1], ["demand_growth", 0.1]],
        "years": YEARS,
        "countries": [["A", "no"], ["B", "no"], ["C", "no"]],
        "products": [["ore", 0, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["mine A", "A", 1000, None, 0, None]],
        "facility_processes": [["mine A", "mine", 10]],
        "lanes": [["A", "B", "ore", 5], ["A", "C", "ore", 5]],
        "demand": [
            ["A", "ore", 100, None, None, None],
            ["B", "ore", 20, None, 0, None],
            ["C", "ore", 50, None, 0.2, 2026],
        ],
    }
    outcome = solve_years(case)
    assert outcome.objective == pytest.approx(1300 + 2150 / 1.1 + 2410 / 1.21)
    deliveries = outcome.report.sheets["deliveries"]
    expected = {
        ("A", 2025): 100.0,
        ("A", 2026): 110.0,
        ("A", 2027): 121.0,
        ("B", 2025): 20.0,
        ("B", 2026): 20.0,
        ("B", 2027): 20.0,
        ("C", 2026): 50.0,
        ("C", 2027): 60.0,
    }
    for (country, year), quantity in expected.items():
        row = in_year(deliveries, year, country=country)
        assert row["quantity"] == pytest.approx(quantity), (country, year)
        assert row["delivered"] == pytest.approx(quantity), (country, year)
    early_c = deliveries[(deliveries["country"] == "C") & (deliveries["year"] == 2025)]
    assert (early_c["quantity"] == 0).all()
    assert summary_value(outcome, "demand_total") == pytest.approx(501.0)
    assert summary_value(outcome, "delivered_total") == pytest.approx(501.0)
    costs = outcome.report.sheets["costs_by_year"]
    assert in_year(costs, 2027, component="cost_operating_mining")["cost"] == pytest.approx(2010.0)
    assert in_year(costs, 2027, component="cost_transport")["cost"] == pytest.approx(400.0)
    assert in_year(costs, 2027, component="cost_operating_mining")["discount_factor"] == pytest.approx(1 / 1.21)


# --------------------------------------------------------------------------
# 9. Continuous expansion over years.


def expansion_case(mine_rows, demand_rows) -> dict[str, list[list]]:
    """A's mine at 10/t (rows given), B's ore lands at 15 + 5 = 20; A needs ore."""
    return {
        "settings": [["unmet_demand_penalty", PENALTY]],
        "years": YEARS,
        "countries": [["A", "no"], ["B", "no"]],
        "products": [["ore", 0, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [*mine_rows, ["mine B", "B", 1000, None, 0, None]],
        "facility_processes": [["mine A", "mine", 10], ["mine B", "mine", 15]],
        "lanes": [["B", "A", "ore", 5]],
        "demand": demand_rows,
    }


def test_expansion_stays_and_is_paid_every_year_from_its_year(solve_years):
    # mine A: capacity 40; 2025 row: expansion_max 10 at 3; 2026 row: expansion_max 30 at 4.
    # A needs 50 in 2025, 70 from 2026.  A tonne from A saves 20 − 10 = 10 over B.
    # x_y = capacity added in y; x25 ≤ 10, x25 + x26 ≤ 30, x25 + x26 + x27 ≤ 30.
    # x25 is paid 3 in 2025, 2026, 2027 (its own year's cost, not the later 4): 9 per unit,
    #   and saves 10 in each of 3 years (2025 needs 10 more, later years 30): net 21 per unit → x25 = 10.
    # x26 is paid 4 in 2026 and 2027: 8 per unit, saves 20: → x26 = 20 (to reach 70).
    # Costs: 2025: 50·10 + 10·3 = 530; 2026: 70·10 + 30 + 20·4 = 810; 2027: 810.
    # Objective (r = 0) 2150; cost_expansion 30 + 110 + 110 = 250.
    # facilities: capacity 50, 70, 70; expansion (added up to the year) 10, 30, 30.
    mine = [["mine A", "A", 40, None, 10, 3, None], ["mine A", "A", 40, None, 30, 4, 2026]]
    demand = [["A", "ore", 50], ["A", "ore", 70, None, None, 2026]]
    outcome = solve_years(expansion_case(mine, demand))
    assert outcome.objective == pytest.approx(2150.0)
    assert summary_value(outcome, "cost_expansion") == pytest.approx(250.0)
    facilities = outcome.report.sheets["facilities"]
    for year, capacity, expansion in ((2025, 50.0, 10.0), (2026, 70.0, 30.0), (2027, 70.0, 30.0)):
        row = in_year(facilities, year, facility="mine A")
        assert row["capacity"] == pytest.approx(capacity), year
        assert row["expansion"] == pytest.approx(expansion), year
        assert row["activity"] == pytest.approx(capacity), year
    costs = outcome.report.sheets["costs_by_year"]
    for year, cost in ((2025, 30.0), (2026, 110.0), (2027, 110.0)):
        assert in_year(costs, year, component="cost_expansion")["cost"] == pytest.approx(cost), year
    assert len(outcome.report.sheets["trade"].query("quantity > 1e-9")) == 0


def test_cumulative_expansion_is_bounded_by_each_years_max(solve_years):
    # mine A: capacity 40, expansion_max 30 at 3; from 2027 expansion_max 20 (same cost).
    # A needs 70 every year.  Expansions stay, and those up to 2027 must total ≤ 20,
    # so at most 20 is ever added (x25 + x26 + x27 ≤ 20): x25 = 20 (13 < 20 per tonne).
    # Each year: 60·10 + 20·3 + 10·20 (from B) = 860; objective 2580.
    # (Bounding each year's addition by its own max alone would give x25 = 30: 790·3 = 2370.)
    mine = [["mine A", "A", 40, None, 30, 3, None], ["mine A", "A", 40, None, 20, 3, 2027]]
    outcome = solve_years(expansion_case(mine, [["A", "ore", 70]]))
    assert outcome.objective == pytest.approx(2580.0)
    facilities = outcome.report.sheets["facilities"]
    for year in (2025, 2026, 2027):
        row = in_year(facilities, year, facility="mine A")
        assert row["expansion"] == pytest.approx(20.0), year
        assert row["capacity"] == pytest.approx(60.0), year
    trade = outcome.report.sheets["trade"]
    assert in_year(trade, 2027, **{"from": "B"})["quantity"] == pytest.approx(10.0)


# --------------------------------------------------------------------------
# 11. Bad input about years: exit 2, one line naming sheet, row and column.

VALID_YEARS_CASE = {
    "settings": [["unmet_demand_penalty", PENALTY]],
    "years": YEARS,
    "countries": [["A", "no"], ["B", "no"]],
    "products": [["ore", 0, 0]],
    "processes": [["mine", "mining", "ore", 1]],
    "facilities": [["mine A", "A", 40, None, 0, None], ["mine B", "B", 100, None, 0, None]],
    "facility_processes": [["mine A", "mine", 10], ["mine B", "mine", 15]],
    "lanes": [["B", "A", "ore", 5]],
    "demand": [["A", "ore", 70]],
}


def where(sheet: str, row: int, column: str) -> list[str]:
    return [f"sheet '{sheet}'", f"row {row}", f"column '{column}'"]


def test_valid_years_case_runs(tmp_path, capsys):
    # The base of the refusals below solves: 40·10 + 30·20 = 1000 per year.
    source = write_case(tmp_path / "case.xlsx", VALID_YEARS_CASE, YEAR_HEADERS)
    code = main([str(source), "-o", str(tmp_path / "result.xlsx")])
    assert code == 0, capsys.readouterr().err


def test_year_cell_without_years_sheet_is_refused(tmp_path, capsys):
    # SPEC: without a years sheet a non-blank `year` cell is an error (say why).
    case = {k: v for k, v in VALID_YEARS_CASE.items() if k != "years"}
    case["demand"] = [["A", "ore", 70], ["A", "ore", 80, None, None, 2026]]
    err = run_refused(tmp_path, capsys, YEAR_HEADERS, case)
    assert_line(err, [*where("demand", 3, "year"), "years"])


def test_year_outside_model_years_is_refused(tmp_path, capsys):
    case = dict(VALID_YEARS_CASE)
    case["lanes"] = [["B", "A", "ore", 5], ["B", "A", "ore", 5, None, "no", None, 2030]]
    err = run_refused(tmp_path, capsys, YEAR_HEADERS, case)
    assert_line(err, [*where("lanes", 3, "year"), "2030"])


def test_non_consecutive_years_are_refused(tmp_path, capsys):
    case = dict(VALID_YEARS_CASE)
    case["years"] = [[2025], [2027]]
    err = run_refused(tmp_path, capsys, YEAR_HEADERS, case)
    assert_line(err, [*where("years", 3, "year"), "2027"])


def test_duplicate_key_and_year_is_refused(tmp_path, capsys):
    # Two demand rows for (A, ore) from 2026: duplicates.  (Rows 2 and 3 differ in year: fine.)
    case = dict(VALID_YEARS_CASE)
    case["demand"] = [["A", "ore", 70], ["A", "ore", 80, None, None, 2026], ["A", "ore", 90, None, None, 2026]]
    err = run_refused(tmp_path, capsys, YEAR_HEADERS, case)
    assert_line(err, ["sheet 'demand'", "row 4", "column '", "duplicate"])
    assert not any("sheet 'demand', row 3," in line for line in err.splitlines())


def test_facility_changing_country_is_refused(tmp_path, capsys):
    case = dict(VALID_YEARS_CASE)
    case["facilities"] = [
        ["mine A", "A", 40, None, 0, None],
        ["mine B", "B", 100, None, 0, None],
        ["mine A", "B", 40, None, 0, None, 2026],
    ]
    err = run_refused(tmp_path, capsys, YEAR_HEADERS, case)
    assert_line(err, where("facilities", 4, "country"))
