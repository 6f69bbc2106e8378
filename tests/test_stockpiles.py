"""Hand cases for stockpiles (SPEC.md Part 2, "Stockpiles").

Each test states the plan, objective and stock levels it expects, with the
arithmetic in a comment, derived from SPEC.md alone.  Costs in USD,
quantities in t/yr; discount_rate 0 throughout, so yearly costs simply add up.

A simplex vertex never buys and releases the same tagged stock in the same
year (the two columns are exact opposites), so purchases and releases below
are the net movements.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from model.pipeline import load_data, solve_data
from tests.conftest import row_of, summary_value
from tests.helpers import write_case

PENALTY = 1000.0

YEAR_HEADERS = {
    "lanes": ["from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow", "year"],
    "demand": ["country", "product", "quantity", "unmet_penalty", "growth", "year"],
    "exposure_caps": ["country", "product", "stage", "max_share", "year"],
}


@pytest.fixture
def solve_case(tmp_path: Path):
    def _solve(sheets: dict[str, list[list]], name: str = "case"):
        path = write_case(tmp_path / f"{name}.xlsx", sheets, YEAR_HEADERS)
        return solve_data(load_data(path))

    return _solve


def stock(
    country="A",
    product="ore",
    initial=None,
    initial_exposed=None,
    min_days=None,
    maximum=None,
    holding=2,
    from_year=None,
):
    return [country, product, initial, initial_exposed, min_days, maximum, holding, from_year]


def ore_case(years, lanes, demand, stockpiles, b_restricted="no", settings=()):
    """A has no mine and needs ore; B mines it at 15, +5 transport: 20 USD/t landed in A."""
    return {
        "settings": [["unmet_demand_penalty", PENALTY], *settings],
        "years": years,
        "countries": [["A", "no"], ["B", b_restricted]],
        "products": [["ore", 0, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["mine B", "B", 1000, None, 0, None]],
        "facility_processes": [["mine B", "mine", 15]],
        "lanes": lanes,
        "demand": demand,
        "stockpiles": stockpiles,
    }


BAN_IN_2026 = [
    ["B", "A", "ore", 5, None, None, None, None],
    ["B", "A", "ore", 5, None, "no", None, 2026],
    ["B", "A", "ore", 5, None, "yes", None, 2027],
]


def stock_row(outcome, year, country="A", product="ore"):
    return row_of(outcome.report.sheets["stockpiles"], country=country, product=product, year=year)


# --------------------------------------------------------------------------
# 5. A stockpile that covers a one-year ban.


def test_stockpile_bought_before_a_ban_and_released_during_it(solve_case):
    # B (restricted) is A's only supplier; B→A banned in 2026, allowed again from 2027.
    # A needs 30 t a year; holding 2 USD/t on the stock at the end of each year.
    # 2025: import 30 + 30 for the stock: 60·20 = 1200, holding 30·2 = 60.
    # 2026: release the 30 t (stock 0 at the end, no holding).  Cheaper than 30 t unmet (30 000).
    # 2027: import 30: 600.  Objective 1860; cost_holding 60.
    # The released ore keeps its tag {mining}: 2026 deliveries are 100 % exposed.
    # Marginal cost in 2026: one more tonne bought in 2025 and held: 20 + 2 = 22.
    case = ore_case([[2025], [2026], [2027]], BAN_IN_2026, [["A", "ore", 30]], [stock(holding=2)], b_restricted="yes")
    outcome = solve_case(case)
    assert outcome.objective == pytest.approx(1860.0)
    assert summary_value(outcome, "cost_holding") == pytest.approx(60.0)
    for year, level, bought, released in ((2025, 30.0, 30.0, 0.0), (2026, 0.0, 0.0, 30.0), (2027, 0.0, 0.0, 0.0)):
        row = stock_row(outcome, year)
        assert row["stock"] == pytest.approx(level), year
        assert row["purchases"] == pytest.approx(bought), year
        assert row["releases"] == pytest.approx(released), year
    assert stock_row(outcome, 2025)["exposed_share"] == pytest.approx(1.0)
    deliveries = outcome.report.sheets["deliveries"]
    banned = row_of(deliveries, country="A", year=2026)
    assert banned["delivered"] == pytest.approx(30.0)
    assert banned["unmet"] == pytest.approx(0.0)
    assert banned["exposure_any"] == pytest.approx(1.0)
    assert banned["exposure_mining"] == pytest.approx(1.0)
    assert banned["marginal_cost"] == pytest.approx(22.0)
    trade = outcome.report.sheets["trade"]
    assert row_of(trade, year=2025)["quantity"] == pytest.approx(60.0)
    assert row_of(trade, year=2025)["exposed_quantity"] == pytest.approx(60.0)
    costs = outcome.report.sheets["costs_by_year"]
    assert row_of(costs, year=2025, component="cost_holding")["cost"] == pytest.approx(60.0)


def test_released_stock_keeps_its_tag_under_a_cap(solve_case):
    # As above, plus a clean supplier C landing ore at 35 + 5 = 40, and a cap of 50 %
    # exposure (any stage) on A's ore.  The ban in 2026 is a wildcard row (*, A, ore).
    # 2025 and 2027: 15 t from B (20) + 15 t from C (40) = 900.
    # 2026 is covered from stock, whose exposed part must stay ≤ 15 t: stock bought
    # in 2025 = 15 t from B + 15 t from C = 900, holding 30·2 = 60.
    # Objective 900 + 900 + 60 + 900 = 2760.  (Were the tag lost on release, the stock
    # would be all B ore: 600 + 60, objective 2460.)
    # Stock at the end of 2025: 30 t, half exposed.  2026 deliveries 50 % exposed.
    # Marginal cost in 2026, the cap scaling: 0.5·(20 + 2) + 0.5·(40 + 2) = 32.
    lanes = [
        ["B", "A", "ore", 5, None, None, None, None],
        ["C", "A", "ore", 5, None, None, None, None],
        ["*", "A", "ore", None, None, "no", None, 2026],
        ["*", "A", "ore", None, None, "yes", None, 2027],
    ]
    case = ore_case([[2025], [2026], [2027]], lanes, [["A", "ore", 30]], [stock(holding=2)], b_restricted="yes")
    case["countries"].append(["C", "no"])
    case["facilities"].append(["mine C", "C", 1000, None, 0, None])
    case["facility_processes"].append(["mine C", "mine", 35])
    case["exposure_caps"] = [["A", "ore", "any", 0.5]]
    outcome = solve_case(case)
    assert outcome.objective == pytest.approx(2760.0)
    end_2025 = stock_row(outcome, 2025)
    assert end_2025["stock"] == pytest.approx(30.0)
    assert end_2025["exposed_share"] == pytest.approx(0.5)
    assert stock_row(outcome, 2026)["releases"] == pytest.approx(30.0)
    banned = row_of(outcome.report.sheets["deliveries"], country="A", year=2026)
    assert banned["delivered"] == pytest.approx(30.0)
    assert banned["exposure_any"] == pytest.approx(0.5)
    assert banned["marginal_cost"] == pytest.approx(32.0)
    trade = outcome.report.sheets["trade"]
    assert len(trade[(trade["year"] == 2026) & (trade["quantity"] > 1e-9)]) == 0


# --------------------------------------------------------------------------
# 6. Minimum cover, its shortfall, and stock_release.
#
# A needs 73 t a year (clean ore from B at 20), so one day of demand is 0.2 t
# and min_days 50 asks for 50/365·73 = 10 t at the end of every year.


def test_binding_minimum_cover(solve_case):
    # 2025: import 73 + 10 = 83: 1660, holding 10·2 = 20.
    # 2026: import 73: 1460, the 10 t stay: holding 20.  Objective 3160.
    # days_of_cover = 10 / 73 · 365 = 50.  Marginal cost (covers held fixed): 20.
    case = ore_case([[2025], [2026]], [["B", "A", "ore", 5]], [["A", "ore", 73]], [stock(min_days=50)])
    outcome = solve_case(case)
    assert outcome.objective == pytest.approx(3160.0)
    assert summary_value(outcome, "cost_holding") == pytest.approx(40.0)
    for year, bought in ((2025, 10.0), (2026, 0.0)):
        row = stock_row(outcome, year)
        assert row["stock"] == pytest.approx(10.0), year
        assert row["purchases"] == pytest.approx(bought), year
        assert row["releases"] == pytest.approx(0.0), year
        assert row["days_of_cover"] == pytest.approx(50.0), year
        assert row["min_days"] == pytest.approx(50.0), year
        assert row["cover_shortfall"] == pytest.approx(0.0), year
        assert row["exposed_share"] == pytest.approx(0.0), year
        deliveries = outcome.report.sheets["deliveries"]
        assert row_of(deliveries, country="A", year=year)["marginal_cost"] == pytest.approx(20.0), year


def test_cover_applies_from_its_from_year(solve_case):
    # As above with from_year 2026: no cover at the end of 2025, so the 10 t are bought
    # in 2026 (not a year early, which would add 20 of holding).
    # 2025: 73·20 = 1460.  2026: 83·20 = 1660, holding 20.  Objective 3140.
    case = ore_case([[2025], [2026]], [["B", "A", "ore", 5]], [["A", "ore", 73]], [stock(min_days=50, from_year=2026)])
    outcome = solve_case(case)
    assert outcome.objective == pytest.approx(3140.0)
    assert stock_row(outcome, 2025)["stock"] == pytest.approx(0.0)
    assert stock_row(outcome, 2025)["cover_shortfall"] == pytest.approx(0.0)
    assert stock_row(outcome, 2026)["stock"] == pytest.approx(10.0)
    assert stock_row(outcome, 2026)["purchases"] == pytest.approx(10.0)


def test_cover_above_max_is_a_priced_shortfall_with_a_warning(solve_case):
    # max 6 t < the 10 t cover: the stock stays at 6, shortfall 4 t a year at the
    # unmet_demand_penalty (1000).
    # 2025: import 79: 1580, holding 12, shortfall 4000.
    # 2026: import 73: 1460, holding 12, shortfall 4000.  Objective 11 064.
    # cost_holding 24, cost_shortfall_penalty 8000.
    case = ore_case([[2025], [2026]], [["B", "A", "ore", 5]], [["A", "ore", 73]], [stock(min_days=50, maximum=6)])
    outcome = solve_case(case)
    assert outcome.objective == pytest.approx(11064.0)
    assert summary_value(outcome, "cost_holding") == pytest.approx(24.0)
    assert summary_value(outcome, "cost_shortfall_penalty") == pytest.approx(8000.0)
    for year in (2025, 2026):
        row = stock_row(outcome, year)
        assert row["stock"] == pytest.approx(6.0), year
        assert row["cover_shortfall"] == pytest.approx(4.0), year
        assert row["days_of_cover"] == pytest.approx(30.0), year
    # SPEC: "a `max` below a required cover gets a warning".
    assert any("max" in message and "cover" in message for message in outcome.warnings), outcome.warnings


@pytest.mark.parametrize(
    ("release", "objective", "levels"),
    [
        # stock_release = yes in 2026: the stock may end 2026 empty.
        # 2025: import 73 + 73 (for 2026): 2920, holding 73·2 = 146.
        # 2026: release 73, stock 0.  2027: import 73 + 10 (cover again): 1660, holding 20.
        # Objective 2920 + 146 + 1660 + 20 = 4746.
        ("yes", 4746.0, (73.0, 0.0, 10.0)),
        # stock_release = no: the 10 t cover must be there at the end of 2026 as well,
        # so 2025 buys 73 + 73 + 10 = 156: 3120, holding 83·2 = 166; 2026: holding 20;
        # 2027: import 73: 1460, holding 20.  Objective 4786 (40 more: the 10 t held
        # through 2026 and bought in 2025 rather than 2027 at the same price).
        ("no", 4786.0, (83.0, 10.0, 10.0)),
    ],
)
def test_stock_release_year_lets_the_stock_fall_below_cover(solve_case, release, objective, levels):
    # A needs 73 t a year, cover 50 days = 10 t, B→A banned in 2026 (B clean).
    # Unmet demand (1000/t) and a cover shortfall (1000/t) are far dearer than
    # buying early and holding (22/t), so the whole 2026 demand comes from stock.
    case = ore_case(
        [[2025, "no"], [2026, release], [2027, "no"]], BAN_IN_2026, [["A", "ore", 73]], [stock(min_days=50)]
    )
    outcome = solve_case(case)
    assert outcome.objective == pytest.approx(objective)
    for year, level in zip((2025, 2026, 2027), levels, strict=True):
        row = stock_row(outcome, year)
        assert row["stock"] == pytest.approx(level), year
        assert row["cover_shortfall"] == pytest.approx(0.0), year
    assert stock_row(outcome, 2026)["releases"] == pytest.approx(73.0)
    banned = row_of(outcome.report.sheets["deliveries"], country="A", year=2026)
    assert banned["unmet"] == pytest.approx(0.0)


# --------------------------------------------------------------------------
# The initial stock's tag.


def oxide_case(initial_exposed):
    """A alone (not restricted) mines ore at 10 and separates it into oxide at 5: 15 USD/t of oxide.

    A needs 30 t of oxide, with at most half exposed at the separation stage; it holds
    30 t of oxide in stock at the start (no holding cost).
    """
    return {
        "settings": [["unmet_demand_penalty", PENALTY]],
        "years": [[2025]],
        "countries": [["A", "no"]],
        "products": [["ore", 0, 0], ["oxide", 0, 0]],
        "processes": [
            ["mine", "mining", "ore", 1],
            ["separate", "separation", "ore", -1],
            ["separate", "separation", "oxide", 1],
        ],
        "facilities": [["mine A", "A", 100, None, 0, None], ["plant A", "A", 100, None, 0, None]],
        "facility_processes": [["mine A", "mine", 10], ["plant A", "separate", 5]],
        "demand": [["A", "oxide", 30]],
        "exposure_caps": [["A", "oxide", "separation", 0.5]],
        "stockpiles": [stock(product="oxide", initial=30, initial_exposed=initial_exposed, holding=None)],
    }


def test_initial_stock_carries_every_upstream_stage(solve_case):
    # initial_exposed blank = yes: the stock's tag is every stage of the processes that can
    # make oxide, directly or through their inputs, restricted or not: {mining, separation}.
    # The separation cap lets 15 t of it be delivered; A makes the other 15 at 15: 225.
    # 15 t stay in stock (still exposed).  Deliveries 50 % exposed at both stages.
    outcome = solve_case(oxide_case(None))
    assert outcome.objective == pytest.approx(225.0)
    row = stock_row(outcome, 2025, product="oxide")
    assert row["stock"] == pytest.approx(15.0)
    assert row["releases"] == pytest.approx(15.0)
    assert row["exposed_share"] == pytest.approx(1.0)
    delivery = row_of(outcome.report.sheets["deliveries"], country="A", product="oxide")
    assert delivery["exposure_separation"] == pytest.approx(0.5)
    assert delivery["exposure_mining"] == pytest.approx(0.5)
    assert delivery["exposure_any"] == pytest.approx(0.5)


def test_initial_stock_not_exposed_when_told(solve_case):
    # initial_exposed = no: the 30 t are clean and cover the whole demand at no cost.
    outcome = solve_case(oxide_case("no"))
    assert outcome.objective == pytest.approx(0.0)
    row = stock_row(outcome, 2025, product="oxide")
    assert row["stock"] == pytest.approx(0.0)
    assert row["releases"] == pytest.approx(30.0)
    delivery = row_of(outcome.report.sheets["deliveries"], country="A", product="oxide")
    assert delivery["exposure_any"] == pytest.approx(0.0)
