"""Contracted offtakes: lanes ``min_flow`` (SPEC.md Part 4).

Hand cases small enough to solve on paper; each states the plan, the
objective and the duals it expects, with the arithmetic in a comment.  Costs
in USD, quantities in t/yr.  The row is

    Σ_t shipment[o, d, p, t, y] + shortfall[o, d, p, y] ≥ min_flow_odpy   ↔ φ ≥ 0

with the shortfall priced at ``unmet_demand_penalty``; φ (HiGHS' row dual,
d objective / d min_flow) is what one more contracted tonne costs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from model.cli import main
from model.pipeline import load_data, solve_data
from model.results.verify import verify_solution
from tests.conftest import row_of, summary_value
from tests.helpers import assert_line, run_refused, write_case
from tests.test_matrix import assert_same_lp

PENALTY = 1000.0
LANE_HEADER = ["from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow", "min_flow"]
HEADERS = {"lanes": LANE_HEADER}
YEAR_HEADERS = {"lanes": [*LANE_HEADER, "year"]}


def ore_case(lanes: list[list], b_capacity: float = 100.0, settings: list[list] = ()) -> dict[str, list[list]]:
    """A needs 70 t of ore.  A's mine: 100 t at 10 USD/t.  B's mine: ``b_capacity`` at 15 USD/t.

    C's mine: 100 t at 12 USD/t; D has no mine.  Transport is 0 unless a lane row prices it.
    """
    return {
        "settings": [["unmet_demand_penalty", PENALTY], *settings],
        "countries": [["A", "no"], ["B", "no"], ["C", "no"], ["D", "no"]],
        "products": [["ore", 20, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [
            ["mine A", "A", 100, None, 0, None],
            ["mine B", "B", b_capacity, None, 0, None],
            ["mine C", "C", 100, None, 0, None],
        ],
        "facility_processes": [["mine A", "mine", 10], ["mine B", "mine", 15], ["mine C", "mine", 12]],
        "lanes": lanes,
        "demand": [["A", "ore", 70, None]],
    }


@pytest.fixture
def solve_case(tmp_path: Path):
    def _solve(sheets: dict[str, list[list]], headers: dict[str, list[str]] = HEADERS, name: str = "case"):
        path = write_case(tmp_path / f"{name}.xlsx", sheets, headers)
        return solve_data(load_data(path))

    return _solve


def duals(outcome) -> dict[tuple, float]:
    return {tuple(key): value for key, value in outcome.solution.duals["min_flow_constraint"].items()}


def assert_costs_add_up(outcome) -> None:
    """summary: objective = Σ cost_* − surplus_credit (the verifier checks it too; here from the sheet)."""
    summary = outcome.report.sheets["summary"].set_index("item")["value"]
    costs = sum(float(v) for k, v in summary.items() if str(k).startswith("cost_"))
    assert costs - float(summary["surplus_credit"]) == pytest.approx(float(summary["objective"]), abs=1e-6)


def test_binding_min_flow_forces_the_dearer_route(solve_case):
    # Without a contract A mines all 70 t at 10: 700.  With B → A min_flow 30 (B's tonne 15 + 5
    # transport = 20): A mines 40 (400) and B ships 30 (600): 1000.  The contract binds, nothing is
    # short.  One more contracted tonne replaces an A tonne (10) by a B tonne (20): φ = 10.
    # One more tonne of demand comes from A's spare capacity: marginal cost 10.
    outcome = solve_case(ore_case([["B", "A", "ore", 5, None, None, None, 30]]))
    assert outcome.objective == pytest.approx(1000.0)
    shipment = row_of(outcome.report.sheets["trade"], **{"from": "B", "to": "A"})
    assert shipment["quantity"] == pytest.approx(30.0)
    assert shipment["min_flow"] == pytest.approx(30.0)
    assert shipment["shortfall"] == pytest.approx(0.0)
    assert duals(outcome) == {("B", "A", "ore", 0): pytest.approx(10.0)}
    assert shipment["min_flow_value"] == pytest.approx(10.0)
    assert row_of(outcome.report.sheets["deliveries"], country="A")["marginal_cost"] == pytest.approx(10.0)
    assert summary_value(outcome, "min_flow_shortfall_total") == pytest.approx(0.0)
    assert summary_value(outcome, "cost_shortfall_penalty") == pytest.approx(0.0)
    assert_costs_add_up(outcome)


def test_min_flow_that_is_not_binding_has_no_value(solve_case):
    # A contract of 30 on the cheaper route C → A (12 < 20 from B, but 12 > 10 at home) binds too:
    # A 40 · 10 + C 30 · 12 = 760, φ = 12 − 10 = 2.  A contract below what flows anyway would have
    # φ = 0: with A's mine at 20 t, C ships 50 (cheaper than B), a min_flow of 30 is slack.
    outcome = solve_case(ore_case([["C", "A", "ore", None, None, None, None, 30]]))
    assert outcome.objective == pytest.approx(760.0)
    assert duals(outcome)[("C", "A", "ore", 0)] == pytest.approx(2.0)
    case = ore_case([["C", "A", "ore", None, None, None, None, 30]])
    case["facilities"][0][2] = 20
    outcome = solve_case(case, name="slack")
    # A 20 · 10 + C 50 · 12 = 800.
    assert outcome.objective == pytest.approx(800.0)
    assert row_of(outcome.report.sheets["trade"], **{"from": "C"})["quantity"] == pytest.approx(50.0)
    assert duals(outcome)[("C", "A", "ore", 0)] == pytest.approx(0.0)


def test_shortfall_is_priced_at_the_unmet_penalty(solve_case):
    # B can mine only 20 t against a contract of 30: B ships 20 (20 · 20 = 400), A mines 50 (500),
    # 10 t short at 1000: 10 000.  Objective 10 900; the demand is met in full.
    # One more contracted tonne can only be short: φ = 1000.
    outcome = solve_case(ore_case([["B", "A", "ore", 5, None, None, None, 30]], b_capacity=20))
    assert outcome.objective == pytest.approx(10900.0)
    shipment = row_of(outcome.report.sheets["trade"], **{"from": "B", "to": "A"})
    assert shipment["quantity"] == pytest.approx(20.0)
    assert shipment["shortfall"] == pytest.approx(10.0)
    assert summary_value(outcome, "min_flow_shortfall_total") == pytest.approx(10.0)
    assert summary_value(outcome, "cost_shortfall_penalty") == pytest.approx(10000.0)
    assert summary_value(outcome, "unmet_total") == pytest.approx(0.0)
    assert duals(outcome)[("B", "A", "ore", 0)] == pytest.approx(PENALTY)
    assert_costs_add_up(outcome)


def test_banned_trade_with_a_min_flow_is_all_shortfall_with_a_warning(solve_case):
    # B → A banned: A mines 70 (700) and the whole contract of 30 is short: 30 000.  Objective 30 700.
    # The trade sheet still has the B → A row (quantity 0, shortfall 30) and a warning names the row.
    outcome = solve_case(ore_case([["B", "A", "ore", 5, None, "no", None, 30]]))
    assert outcome.objective == pytest.approx(30700.0)
    shipment = row_of(outcome.report.sheets["trade"], **{"from": "B", "to": "A"})
    assert shipment["quantity"] == pytest.approx(0.0)
    assert shipment["transport_cost"] == pytest.approx(0.0)
    assert shipment["min_flow"] == pytest.approx(30.0)
    assert shipment["shortfall"] == pytest.approx(30.0)
    assert shipment["min_flow_value"] == pytest.approx(PENALTY)
    assert summary_value(outcome, "cost_shortfall_penalty") == pytest.approx(30000.0)
    assert any(w.startswith("lanes row 2: min_flow 30") and "banned" in w for w in outcome.warnings), outcome.warnings
    warnings = outcome.report.sheets["warnings"]
    assert any((warnings["sheet"] == "lanes") & (warnings["row"] == 2))
    assert_costs_add_up(outcome)


def test_quota_below_the_min_flow_is_warned_and_the_difference_short(solve_case):
    # B → A quota 20, contract 30: B ships 20 (400), A mines 50 (500), 10 short (10 000): 10 900.
    outcome = solve_case(ore_case([["B", "A", "ore", 5, None, None, 20, 30]]))
    assert outcome.objective == pytest.approx(10900.0)
    assert row_of(outcome.report.sheets["trade"], **{"from": "B"})["shortfall"] == pytest.approx(10.0)
    assert any("above its max_flow of 20" in w for w in outcome.warnings), outcome.warnings


def test_wildcard_min_flow_applies_to_each_matching_trade(solve_case):
    # * → A ore min_flow 10: B → A and C → A must each carry 10 (D makes no ore: no contract there;
    # A → * trades do not match).  A 50 · 10 + B 10 · (15 + 5) + C 10 · 12 = 500 + 200 + 120 = 820.
    # φ(B → A) = 20 − 10 = 10, φ(C → A) = 12 − 10 = 2.
    lanes = [["*", "A", "ore", None, None, None, None, 10], ["B", "A", "ore", 5, None, None, None, None]]
    outcome = solve_case(ore_case(lanes))
    assert outcome.objective == pytest.approx(820.0)
    assert duals(outcome) == {("B", "A", "ore", 0): pytest.approx(10.0), ("C", "A", "ore", 0): pytest.approx(2.0)}
    trade = outcome.report.sheets["trade"]
    assert sorted(trade["from"]) == ["B", "C"]
    assert list(trade["min_flow"]) == pytest.approx([10.0, 10.0])


def test_min_flow_from_a_year_on_is_discounted(solve_case):
    # Years 2025, 2026, discount_rate 0.1.  The B → A row of 2026 bans the trade and contracts 30 t.
    # 2025: A mines 70 = 700.  2026: 700 + 30 short · 1000 = 30 700, weighted 1/1.1.
    # Objective 700 + 30 700 / 1.1 = 28 609.09; cost_shortfall_penalty 30 000 / 1.1 = 27 272.73.
    case = ore_case(
        [["B", "A", "ore", 5, None, None, None, None, None], ["B", "A", "ore", 5, None, "no", None, 30, 2026]],
        settings=[["discount_rate", 0.1]],
    )
    case["years"] = [[2025], [2026]]
    outcome = solve_case(case, headers=YEAR_HEADERS)
    assert outcome.objective == pytest.approx(700 + 30700 / 1.1)
    assert summary_value(outcome, "cost_shortfall_penalty") == pytest.approx(30000 / 1.1)
    trade = outcome.report.sheets["trade"]
    row = row_of(trade, **{"from": "B"}, year=2026)
    assert row["shortfall"] == pytest.approx(30.0)
    # The dual is present value (1000 / 1.1); the sheet gives it in 2026's USD: the penalty, 1000.
    assert duals(outcome)[("B", "A", "ore", 2026)] == pytest.approx(PENALTY / 1.1)
    assert row["min_flow_value"] == pytest.approx(PENALTY)
    assert len(trade[trade["year"] == 2025]) == 0
    assert any("in 2026" in w and "banned" in w for w in outcome.warnings), outcome.warnings
    assert_costs_add_up(outcome)


def test_verifier_catches_a_missing_shortfall(solve_case):
    # The verifier recomputes shipped + shortfall ≥ min_flow from the lanes rows: with the
    # shortfall of the banned contract set to 0 the solution must fail it.
    outcome = solve_case(ore_case([["B", "A", "ore", 5, None, "no", None, 30]]))
    broken = outcome.solution.min_flow_shortfall.assign(value=0.0, raw_value=0.0)
    solution = dataclasses.replace(outcome.solution, min_flow_shortfall=broken)
    result = verify_solution(outcome.data, outcome.sets, solution, outcome.objective)
    assert any(f.startswith("min_flow of B → A ore") for f in result.failures), result.failures
    # ... and the cost identity no longer holds either (30 000 of shortfall penalty missing).
    assert any("cost components add up" in f for f in result.failures), result.failures


def test_summary_and_trade_columns_without_contracts(solve_case):
    # Without any min_flow the columns are there, blank / 0, and nothing else changes (objective 700).
    outcome = solve_case(ore_case([["B", "A", "ore", 5, None, None, None, None]]))
    assert outcome.objective == pytest.approx(700.0)
    assert summary_value(outcome, "min_flow_shortfall_total") == 0.0
    assert "cost_shortfall_penalty" not in set(outcome.report.sheets["summary"]["item"])
    trade = outcome.report.sheets["trade"]
    assert list(trade.columns)[-3:] == ["min_flow", "shortfall", "min_flow_value"]
    assert trade["min_flow"].isna().all() and trade["min_flow_value"].isna().all()
    assert outcome.sets.offtake == []


@pytest.mark.parametrize(
    "lanes, headers",
    [
        ([["B", "A", "ore", 5, None, None, None, 30]], HEADERS),
        ([["B", "A", "ore", 5, None, "no", None, 30]], HEADERS),
        ([["*", "A", "ore", None, None, None, 25, 10], ["B", "A", "ore", 5, None, None, None, None]], HEADERS),
        (
            [["B", "A", "ore", 5, None, None, None, 30, None], ["B", "A", "ore", 5, None, "no", None, 30, 2026]],
            YEAR_HEADERS,
        ),
    ],
)
def test_matrix_build_has_the_min_flow_rows(tmp_path, lanes, headers):
    case = ore_case(lanes, b_capacity=20)
    if headers is YEAR_HEADERS:
        case["years"] = [[2025], [2026]]
    data = load_data(write_case(tmp_path / "case.xlsx", case, headers))
    assert data.has_min_flow()
    assert_same_lp(data)


def test_written_workbook_has_the_columns(tmp_path, capsys):
    source = write_case(tmp_path / "case.xlsx", ore_case([["B", "A", "ore", 5, None, "no", None, 30]]), HEADERS)
    output = tmp_path / "result.xlsx"
    assert main([str(source), "-o", str(output)]) == 0, capsys.readouterr().err
    sheets = pd.read_excel(output, sheet_name=None, engine="openpyxl")
    row = row_of(sheets["trade"], **{"from": "B"})
    assert row["min_flow"] == pytest.approx(30.0) and row["shortfall"] == pytest.approx(30.0)
    summary = sheets["summary"].set_index("item")
    assert float(summary.loc["min_flow_shortfall_total", "value"]) == pytest.approx(30.0)
    legend = sheets["legend"]
    assert {"min_flow", "shortfall"} <= set(legend[legend["sheet"] == "trade"]["column"])


# ---- bad input ----------------------------------------------------------------


def test_negative_min_flow_is_refused(tmp_path, capsys):
    err = run_refused(tmp_path, capsys, HEADERS, ore_case([["B", "A", "ore", 5, None, None, None, -3]]))
    assert_line(err, ["sheet 'lanes'", "row 2", "column 'min_flow'", "-3"])


def test_text_min_flow_is_refused(tmp_path, capsys):
    err = run_refused(tmp_path, capsys, HEADERS, ore_case([["B", "A", "ore", 5, None, None, None, "1,000"]]))
    assert_line(err, ["sheet 'lanes'", "row 2", "column 'min_flow'", "1,000"])


def test_conflicting_min_flows_are_refused(tmp_path, capsys):
    # (B, *, ore) and (*, A, ore) are equally specific and both apply to B → A with different min_flows.
    lanes = [["B", "*", "ore", None, None, None, None, 10], ["*", "A", "ore", None, None, None, None, 20]]
    err = run_refused(tmp_path, capsys, HEADERS, ore_case(lanes))
    assert_line(err, ["sheet 'lanes'", "row 3", "column 'min_flow'", "conflicts with row 2"])
