"""One hand case per constraint family, small enough to solve on paper.

Each test states the optimal plan, objective and duals it expects, with the
arithmetic in a comment.  Costs in USD, quantities in t/yr.
"""

from __future__ import annotations

import pytest

from tests.conftest import row_of, summary_value

PENALTY = 1000.0


def ore_case(
    a_capacity=40.0,
    b_capacity=100.0,
    lane=None,
    expansion_max=0.0,
    expansion_cost=None,
    demand=70.0,
    settings=None,
    extra_lanes=(),
):
    """Two countries A and B mine ore; A needs ore.

    A's mine: capacity a_capacity, 10 USD/t.  B's mine: b_capacity, 15 USD/t.
    Lane B→A: transport 5 USD/t unless ``lane`` overrides the row.
    """
    return {
        "settings": [["unmet_demand_penalty", PENALTY], *(settings or [])],
        "countries": [["A", "no"], ["B", "no"]],
        "products": [["ore", 20, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [
            ["mine A", "A", a_capacity, None, expansion_max, expansion_cost],
            ["mine B", "B", b_capacity, None, 0, None],
        ],
        "facility_processes": [["mine A", "mine", 10], ["mine B", "mine", 15]],
        "lanes": [lane or ["B", "A", "ore", 5, None, None, None], *extra_lanes],
        "demand": [["A", "ore", demand, None]],
    }


def test_balance_and_capacity_duals(solve):
    # A mines its 40 t at 10; B supplies 30 t at 15 + 5 transport = 20.
    # cost = 40·10 + 30·20 = 1000.  One more tonne of demand comes from B: 20.
    # One more unit of A's capacity replaces a B tonne: saves 20 − 10 = 10.
    outcome = solve(ore_case())
    assert outcome.objective == pytest.approx(1000.0)
    deliveries = outcome.report.sheets["deliveries"]
    assert row_of(deliveries, country="A")["marginal_cost"] == pytest.approx(20.0)
    facilities = outcome.report.sheets["facilities"]
    assert row_of(facilities, facility="mine A")["capacity_value"] == pytest.approx(10.0)
    assert row_of(facilities, facility="mine A")["utilisation"] == pytest.approx(1.0)
    assert row_of(facilities, facility="mine B")["capacity_value"] == pytest.approx(0.0)
    trade = outcome.report.sheets["trade"]
    shipment = row_of(trade, **{"from": "B", "to": "A"})
    assert shipment["quantity"] == pytest.approx(30.0)
    assert shipment["transport_cost"] == pytest.approx(150.0)
    assert summary_value(outcome, "cost_operating_mining") == pytest.approx(850.0)


def test_expansion_is_bought_when_cheaper_than_imports(solve):
    # Expansion of A at 3/unit: a tonne from A costs 10 + 3 = 13 < 20 from B.
    # A runs 70 (expansion 30): cost = 70·10 + 30·3 = 790; marginal = 13;
    # capacity value of A = 3 (one more unit of capacity saves one unit of expansion).
    outcome = solve(ore_case(expansion_max=50, expansion_cost=3))
    assert outcome.objective == pytest.approx(790.0)
    facility = row_of(outcome.report.sheets["facilities"], facility="mine A")
    assert facility["expansion"] == pytest.approx(30.0)
    assert facility["capacity_value"] == pytest.approx(3.0)
    assert row_of(outcome.report.sheets["deliveries"], country="A")["marginal_cost"] == pytest.approx(13.0)
    assert summary_value(outcome, "cost_expansion") == pytest.approx(90.0)


def test_expansion_at_its_bound(solve):
    # expansion_max 20: A runs 60, B ships 10: 600 + 20·3 + 10·20 = 860.
    # One more unit of existing capacity at A saves a B tonne (20) for 10: value 10.
    outcome = solve(ore_case(expansion_max=20, expansion_cost=3))
    assert outcome.objective == pytest.approx(860.0)
    facility = row_of(outcome.report.sheets["facilities"], facility="mine A")
    assert facility["expansion"] == pytest.approx(20.0)
    assert facility["capacity_value"] == pytest.approx(10.0)


def test_ban_leaves_demand_unmet_at_its_penalty(solve):
    # B→A banned: A gets its own 40 t, 30 t unmet at 1000: 400 + 30 000 = 30 400.
    outcome = solve(ore_case(lane=["B", "A", "ore", 5, None, "no", None]))
    assert outcome.objective == pytest.approx(30400.0)
    row = row_of(outcome.report.sheets["deliveries"], country="A")
    assert row["unmet"] == pytest.approx(30.0)
    assert row["marginal_cost"] == pytest.approx(PENALTY)
    assert len(outcome.report.sheets["trade"]) == 0


def test_quota_limits_the_lane(solve):
    # Quota 20 on B→A: 40·10 + 20·20 + 10·1000 = 10 800; the quota binds.
    outcome = solve(ore_case(lane=["B", "A", "ore", 5, None, None, 20]))
    assert outcome.objective == pytest.approx(10800.0)
    assert row_of(outcome.report.sheets["trade"], **{"from": "B"})["quantity"] == pytest.approx(20.0)
    assert row_of(outcome.report.sheets["deliveries"], country="A")["unmet"] == pytest.approx(10.0)
    (quota,) = outcome.solution.duals["quota_constraint"].items()
    assert (quota[0].origin, quota[0].destination, quota[0].product) == ("B", "A", "ore")
    assert quota[1] == pytest.approx(-(PENALTY - 20.0))


def test_ad_valorem_tariff(solve):
    # Tariff 50% of the value 20 = 10 USD/t: a B tonne costs 15 + 5 + 10 = 30.
    # cost = 400 + 30·30 = 1300 of which tariff 300; marginal 30.
    outcome = solve(ore_case(lane=["B", "A", "ore", 5, 0.5, None, None]))
    assert outcome.objective == pytest.approx(1300.0)
    assert summary_value(outcome, "cost_tariff") == pytest.approx(300.0)
    assert row_of(outcome.report.sheets["trade"], **{"from": "B"})["tariff_cost"] == pytest.approx(300.0)
    assert row_of(outcome.report.sheets["deliveries"], country="A")["marginal_cost"] == pytest.approx(30.0)


def test_lane_columns_resolve_one_by_one(solve):
    # (*,*,*) sets transport 2; the more specific (B,A,*) row sets only a tariff of 0.25
    # (5 USD/t), so transport still comes from the wildcard row: 15 + 2 + 5 = 22.
    # The default_transport_cost setting (50) is never used: a lane row prices it.
    case = ore_case(
        lane=["B", "A", "*", None, 0.25, None, None],
        extra_lanes=[["*", "*", "*", 2, None, None, None]],
        settings=[["default_transport_cost", 50]],
    )
    outcome = solve(case)
    assert outcome.objective == pytest.approx(400 + 30 * 22.0)
    shipment = row_of(outcome.report.sheets["trade"], **{"from": "B"})
    assert shipment["transport_cost"] == pytest.approx(60.0)
    assert shipment["tariff_cost"] == pytest.approx(150.0)


def test_default_transport_cost_applies_without_lanes(solve):
    # No lane row matches: transport = default 7: 400 + 30·(15 + 7) = 1060.
    case = ore_case(settings=[["default_transport_cost", 7]])
    case["lanes"] = []
    assert solve(case).objective == pytest.approx(1060.0)


def test_no_reexport_through_a_third_country(solve):
    # B→A is banned; C may import from B and ship to A, but may not re-export
    # what it imported.  C needs 10 t itself, A needs 10 t.
    # C gets 10 from B (15); A gets nothing: 10·15 + 10·1000 = 10 150.
    case = {
        "settings": [["unmet_demand_penalty", PENALTY]],
        "countries": [["A", "no"], ["B", "no"], ["C", "no"]],
        "products": [["ore", 0, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["mine B", "B", 100, None, 0, None]],
        "facility_processes": [["mine B", "mine", 15]],
        "lanes": [["B", "A", "*", None, None, "no", None]],
        "demand": [["A", "ore", 10, None], ["C", "ore", 10, None]],
    }
    outcome = solve(case)
    assert outcome.objective == pytest.approx(10150.0)
    assert row_of(outcome.report.sheets["deliveries"], country="A")["unmet"] == pytest.approx(10.0)
    assert row_of(outcome.report.sheets["deliveries"], country="C")["delivered"] == pytest.approx(10.0)


def test_by_product_surplus_with_a_price(solve):
    # Separation: 1 ore → 0.5 X + 0.5 Y at 20 per unit; ore mined at 10.
    # 30 t of X needs 60 units: 60·(10 + 20) = 1800; 30 t of Y left over,
    # credited 4 USD/t: objective 1800 − 120 = 1680.
    # Marginal cost of X: 2 units × 30 − 1 t of Y × 4 = 56.
    case = {
        "countries": [["A", "no"]],
        "products": [["ore", 0, 0], ["X", 0, 0], ["Y", 0, 4]],
        "processes": [
            ["mine", "mining", "ore", 1],
            ["separate", "separation", "ore", -1],
            ["separate", "separation", "X", 0.5],
            ["separate", "separation", "Y", 0.5],
        ],
        "facilities": [["mine", "A", 100, None, 0, None], ["plant", "A", 100, None, 0, None]],
        "facility_processes": [["mine", "mine", 10], ["plant", "separate", 20]],
        "demand": [["A", "X", 30, None]],
    }
    outcome = solve(case)
    assert outcome.objective == pytest.approx(1680.0)
    assert row_of(outcome.report.sheets["surplus"], product="Y")["quantity"] == pytest.approx(30.0)
    assert summary_value(outcome, "surplus_credit") == pytest.approx(120.0)
    assert row_of(outcome.report.sheets["deliveries"], product="X")["marginal_cost"] == pytest.approx(56.0)


def test_restricted_override_on_facility(solve):
    # A is not restricted but its mine is (ownership override): the ore is
    # exposed at mining even though it never left A.
    case = ore_case(b_capacity=0)
    case["facilities"][0][3] = "yes"
    outcome = solve(case)
    row = row_of(outcome.report.sheets["deliveries"], country="A")
    assert row["exposure_mining"] == pytest.approx(40 / 70)
    assert row["exposure_any"] == pytest.approx(40 / 70)
    assert row_of(outcome.report.sheets["facilities"], facility="mine A")["restricted"] == "yes"


def test_marginal_cost_of_a_demand_row_of_quantity_zero_is_its_first_tonne(solve):
    # A needs 0 t.  Its first tonne would come from A's own mine at 10 USD/t (capacity 40, nothing else
    # uses it), so marginal_cost = 10, not 0.  B needs 0 t too, with a cap of 0 on anything exposed at
    # mining; B is restricted here, so its own mine (15 USD/t) is exposed and its first tonne must come
    # from A: 10 + 5 transport (lane A→B) = 15 — but the cap is max_share × quantity, which scales with
    # the tonne: 0 × 1 = 0, so the restricted mine cannot serve it.  At quantity 0 both duals are
    # degenerate (any value from 0 up to these costs is an optimal dual), so the product re-solves.
    sheets = ore_case(demand=0.0)
    sheets["countries"] = [["A", "no"], ["B", "yes"]]
    sheets["lanes"].append(["A", "B", "ore", 5, None, None, None])
    sheets["demand"].append(["B", "ore", 0, None])
    sheets["exposure_caps"] = [["B", "ore", "any", 0.0]]
    outcome = solve(sheets)
    assert outcome.objective == pytest.approx(0.0)
    deliveries = outcome.report.sheets["deliveries"]
    assert row_of(deliveries, country="A")["marginal_cost"] == pytest.approx(10.0)
    assert row_of(deliveries, country="B")["marginal_cost"] == pytest.approx(15.0)
