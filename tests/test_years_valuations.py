"""A project value's branch and bound, offered the plan, runs without HiGHS' plan-finding sub-MIPs; same values.

The hand case is ``three_sources`` of ``tests/test_valuations.py``:

    min x_a + 5 x_b + 3 x_c + 30 open_a + 12 open_c
    s.t. x_a + x_b + x_c ≥ 10, x_a ≤ 100 open_a, x_c ≤ 100 open_c, open binary.

z* = 40 (open a: 30 + 10·1).  Forgo a: the relaxation L = 31.2 (open_c = 0.1)
and the plan without a, U = 50 (x_b = 10), are far apart at any small gap,
so branch and bound runs; its answer is to open c: 12 + 10·3 = 42, so a is
worth 42 − 40 = 2.  Forgo c (not built): z = 40, worth 0.
"""

from __future__ import annotations

import pytest

from model.solver.backend import HighsBackend
from model.solver.forgo import PLAN_SEARCHES, resolved_without
from tests.test_valuations import groups, solved, three_sources


@pytest.fixture
def searches(monkeypatch) -> list[dict[str, bool]]:
    """The plan-finding options of every branch and bound run, as HiGHS holds them when the run starts."""
    seen: list[dict[str, bool]] = []
    run = HighsBackend.run

    def spy(self):
        if self.is_mip:
            seen.append({name: self.highs.getOptionValue(name)[1] for name in PLAN_SEARCHES})
        return run(self)

    monkeypatch.setattr(HighsBackend, "run", spy)
    return seen


@pytest.mark.parametrize("offer_the_plan", [True, False])
def test_value_by_hand_with_and_without_the_plan_finding_heuristics(searches, offer_the_plan):
    m = three_sources()
    result = solved(m)
    searches.clear()  # phase 1's own branch and bound (if any) is not a project value's
    forgo_a, forgo_c = resolved_without(
        result.form,
        result.integer,
        groups(result, m.open_a, m.open_c),
        start=result.column_values if offer_the_plan else None,
        mip_gap=1e-6,
        bases=result.bases,
    )
    assert forgo_a.branch_and_bound
    assert forgo_a.objective - result.objective == pytest.approx(2.0)  # 42 − 40
    assert forgo_c.objective - result.objective == pytest.approx(0.0, abs=1e-9)
    # One search per value the LP bounds left open; offered the plan, each runs without the sub-MIPs.
    assert searches, "branch and bound should have run"
    assert all(options == dict.fromkeys(PLAN_SEARCHES, not offer_the_plan) for options in searches)
