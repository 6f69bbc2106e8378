"""Dantzig's transportation problem, as in the GAMS model library (trnsport).

Plants seattle (350 cases) and san-diego (600); markets new-york (325),
chicago (300), topeka (275).  Freight 90 USD per case per thousand miles,
costs in thousands of USD.  GAMS reports objective 153.675 and demand
marginals 0.225, 0.153, 0.126.
"""

from __future__ import annotations

import pytest

from tests.conftest import row_of

DISTANCE = {
    "seattle": {"new-york": 2.5, "chicago": 1.7, "topeka": 1.8},
    "san-diego": {"new-york": 2.5, "chicago": 1.8, "topeka": 1.4},
}
DEMAND = {"new-york": 325, "chicago": 300, "topeka": 275}


def trnsport_case():
    return {
        "countries": [[city, "no"] for city in [*DISTANCE, *DEMAND]],
        "products": [["cases", 0, 0]],
        "processes": [["produce", "supply", "cases", 1]],
        "facilities": [
            ["seattle plant", "seattle", 350, None, 0, None],
            ["san-diego plant", "san-diego", 600, None, 0, None],
        ],
        "facility_processes": [["seattle plant", "produce", 0], ["san-diego plant", "produce", 0]],
        "lanes": [
            [plant, market, "*", 90 * miles / 1000, None, None, None]
            for plant, row in DISTANCE.items()
            for market, miles in row.items()
        ],
        "demand": [[market, "cases", quantity, None] for market, quantity in DEMAND.items()],
    }


def test_trnsport_objective_flows_and_marginals(solve):
    outcome = solve(trnsport_case())
    assert outcome.objective == pytest.approx(153.675, rel=1e-9)
    deliveries = outcome.report.sheets["deliveries"]
    for market, marginal in {"new-york": 0.225, "chicago": 0.153, "topeka": 0.126}.items():
        assert row_of(deliveries, country=market)["marginal_cost"] == pytest.approx(marginal, abs=1e-9)
    trade = outcome.report.sheets["trade"]
    shipped = {(r["from"], r["to"]): r["quantity"] for _, r in trade.iterrows()}
    # Unique: chicago from seattle, topeka from san-diego.  New York is 2.5
    # thousand miles from both plants, so its 325 cases may come from either
    # (GAMS reports 50 from seattle, 275 from san-diego): any split is optimal.
    assert shipped[("seattle", "chicago")] == pytest.approx(300)
    assert shipped[("san-diego", "topeka")] == pytest.approx(275)
    assert shipped.get(("seattle", "new-york"), 0) + shipped.get(("san-diego", "new-york"), 0) == pytest.approx(325)
    assert set(shipped) <= {
        ("seattle", "chicago"),
        ("san-diego", "topeka"),
        ("seattle", "new-york"),
        ("san-diego", "new-york"),
    }
