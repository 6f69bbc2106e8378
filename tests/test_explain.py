"""Unmet demand is explained in words, with the input rows behind it."""

from __future__ import annotations

import pytest

from tests.conftest import row_of
from tests.test_constraints import ore_case
from tests.test_exposure import magnet_case


def reason(outcome, **keys) -> str:
    return row_of(outcome.report.sheets["explanations"], **keys)["reason"]


def test_no_explanations_when_everything_is_delivered(solve):
    assert len(solve(ore_case()).report.sheets["explanations"]) == 0


def test_cap_is_named_with_its_row(solve):
    case = magnet_case(caps=[["USA", "magnet", "any", 0.25]])
    case["facility_processes"] = [fp for fp in case["facility_processes"] if fp[1] != "dy_free"]
    text = reason(solve(case), product="magnet")
    assert "75.0 t unmet" in text
    assert "exposure caps" in text and "exposure_caps row 2" in text
    assert "capacity is short" not in text and "bans" not in text


def test_capacity_shortage_is_named_with_the_facilities(solve):
    # A 40 + B 10 = 50 t for a demand of 70 t: 20 t unmet, capacity alone is the reason.
    # One more unit at A saves the penalty 1000 for a cost of 10: 990; at B 1000 − 20 = 980.
    text = reason(solve(ore_case(b_capacity=10)), country="A")
    assert "20.0 t unmet" in text
    assert "capacity is short" in text
    assert "mine A (facilities row 2, 990 USD/yr per extra unit), mine B (facilities row 3, 980 USD/yr" in text
    assert "exposure caps" not in text and "bans" not in text


def test_ban_is_named_with_its_lane_row(solve):
    text = reason(solve(ore_case(lane=["B", "A", "ore", 5, None, "no", None])), country="A")
    assert "30.0 t unmet" in text
    assert "bans and quotas" in text and "lanes rows 2" in text
    assert "exposure caps" not in text


def test_penalty_below_cost_is_explained(solve):
    # Penalty 12 < A's cost 10? no: A supplies at 10 < 12, B at 20 > 12 → 30 t left unmet on purpose.
    case = ore_case()
    case["demand"] = [["A", "ore", 70, 12]]
    outcome = solve(case)
    assert outcome.objective == pytest.approx(40 * 10 + 30 * 12)
    assert "unmet penalty (12 USD/t)" in reason(outcome, country="A")


def test_explanations_can_be_switched_off(solve):
    case = ore_case(b_capacity=10, settings=[["explain_unmet", "no"]])
    outcome = solve(case)
    assert row_of(outcome.report.sheets["deliveries"], country="A")["unmet"] == pytest.approx(20.0)
    assert len(outcome.report.sheets["explanations"]) == 0
    assert list(outcome.report.sheets["explanations"].columns) == [
        "country",
        "product",
        "quantity",
        "unmet",
        "reason",
        "input_rows",
    ]
