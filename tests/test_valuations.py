"""Re-solving a MIP with a choice forgone: LP bounds first, branch and bound only where they leave more than the gap."""

import numpy as np
import pyomo.environ as pyo
import pytest

from model.solver.forgo import objectives_without, resolved_without
from model.solver.solve import solve_model


def three_sources() -> pyo.ConcreteModel:
    """min x_a + 5 x_b + 3 x_c + 30 open_a + 12 open_c
    s.t.  x_a + x_b + x_c ≥ 10,  x_a ≤ 100 open_a,  x_c ≤ 100 open_c,  open binary.

    Per unit: a costs 1 + 30/100 = 1.3 in the relaxation, c 3 + 12/100 = 3.12, b 5.
    z* = 40 (open a: 30 + 10); the relaxation is 13 (open_a = 0.1, fractional).
    Forgo a (open_a = 0): relaxation L = 31.2 (open_c = 0.1, fractional); the plan
    with a removed and c still closed, U = 50 (x_b = 10); the MIP: open c, 12 + 30 = 42.
    Forgo c (not built): the plan stands, z = 40.
    """
    m = pyo.ConcreteModel()
    m.x_a = pyo.Var(domain=pyo.NonNegativeReals)
    m.x_b = pyo.Var(domain=pyo.NonNegativeReals)
    m.x_c = pyo.Var(domain=pyo.NonNegativeReals)
    m.open_a = pyo.Var(domain=pyo.Binary)
    m.open_c = pyo.Var(domain=pyo.Binary)
    m.demand = pyo.Constraint(expr=m.x_a + m.x_b + m.x_c >= 10)
    m.capacity_a = pyo.Constraint(expr=m.x_a <= 100 * m.open_a)
    m.capacity_c = pyo.Constraint(expr=m.x_c <= 100 * m.open_c)
    m.cost = pyo.Objective(expr=m.x_a + 5 * m.x_b + 3 * m.x_c + 30 * m.open_a + 12 * m.open_c)
    return m


def two_sources() -> pyo.ConcreteModel:
    """three_sources without c: forgo a and only x_b = 10 is left, 50, a whole relaxation (no branch and bound)."""
    m = three_sources()
    m.open_c.fix(0)
    m.x_c.fix(0)
    return m


def solved(m: pyo.ConcreteModel):
    result = solve_model(m, {}, [], mip_gap=1e-6)
    assert result.objective == pytest.approx(40.0)
    return result


def groups(result, *variables) -> list[np.ndarray]:
    return [np.array([result.column_position[id(v)]]) for v in variables]


def brute_force(make, forgone: str) -> float:
    """The same question the slow way: a new model with the choice fixed at 0, solved from nothing."""
    m = make()
    getattr(m, forgone).fix(0)
    return solve_model(m, {}, [], mip_gap=1e-9).objective


def test_forgoing_needs_branch_and_bound_when_the_lp_bounds_are_far_apart():
    m = three_sources()
    result = solved(m)
    assert set(result.bases) == {"relaxation", "fixed"}  # phase 1's bases, to start the two LP bounds from
    forgo_a, forgo_c = resolved_without(
        result.form,
        result.integer,
        groups(result, m.open_a, m.open_c),
        start=result.column_values,
        mip_gap=1e-6,
        bases=result.bases,
    )
    assert forgo_a.branch_and_bound and forgo_a.objective == pytest.approx(42.0) == brute_force(three_sources, "open_a")
    assert forgo_c.objective == pytest.approx(40.0) == pytest.approx(brute_force(three_sources, "open_c"))
    assert 0.0 <= forgo_a.gap <= 1e-6


def test_lp_bounds_settle_it_when_they_are_within_the_gap():
    """mip_gap 0.5: U = 50 and L = 31.2 are close enough, (50 − 31.2) / 50 = 0.376 ≤ 0.5; the true 42 lies between."""
    m = three_sources()
    result = solved(m)
    (forgo_a,) = resolved_without(
        result.form, result.integer, groups(result, m.open_a), start=result.column_values, mip_gap=0.5
    )
    assert not forgo_a.branch_and_bound
    assert forgo_a.objective == pytest.approx(50.0) and forgo_a.gap == pytest.approx((50 - 31.2) / 50)
    truth = brute_force(three_sources, "open_a")
    assert forgo_a.objective * (1 - forgo_a.gap) - 1e-9 <= truth <= forgo_a.objective + 1e-9


def test_a_whole_relaxation_is_the_answer_without_branch_and_bound():
    m = two_sources()
    result = solved(m)
    (forgo_a,) = resolved_without(
        result.form, result.integer, groups(result, m.open_a), start=result.column_values, mip_gap=1e-6
    )
    assert not forgo_a.branch_and_bound and forgo_a.gap == 0.0
    assert forgo_a.objective == pytest.approx(50.0) == brute_force(two_sources, "open_a")


def test_bounds_are_restored_between_questions_and_without_a_start():
    """Asking twice, in either order and without the plan as a start, gives the same answers."""
    m = three_sources()
    result = solved(m)
    columns = groups(result, m.open_a, m.open_c)
    first = objectives_without(result.form, result.integer, columns + columns[::-1], mip_gap=1e-6)
    assert first == pytest.approx([42.0, 40.0, 40.0, 42.0])


def test_worker_processes_give_the_same_answers(monkeypatch):
    """threads = 2: each branch and bound in its own process (one thread each), plain data in; same objectives."""
    import model.solver.forgo as forgo

    monkeypatch.setattr(forgo, "available_cores", lambda: 2)  # even on a one-core machine
    m = three_sources()
    result = solved(m)
    columns = groups(result, m.open_a, m.open_c) * 2
    serial = resolved_without(result.form, result.integer, columns, start=result.column_values, mip_gap=1e-6)
    parallel = resolved_without(
        result.form, result.integer, columns, start=result.column_values, mip_gap=1e-6, threads=2
    )
    assert [one.objective for one in parallel] == pytest.approx([one.objective for one in serial])
    assert [one.objective for one in parallel] == pytest.approx([42.0, 40.0, 42.0, 40.0])
    assert [one.branch_and_bound for one in parallel] == [one.branch_and_bound for one in serial]


def test_a_broken_worker_pool_falls_back_to_one_process(monkeypatch):
    """A script without a `__main__` guard breaks spawn's workers: the searches then run here, same answers."""
    from concurrent.futures.process import BrokenProcessPool

    import model.solver.forgo as forgo

    class Broken:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            raise BrokenProcessPool("a worker died")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(forgo, "available_cores", lambda: 2)
    monkeypatch.setattr(forgo, "ProcessPoolExecutor", Broken)
    m = three_sources()
    result = solved(m)
    found = resolved_without(
        result.form,
        result.integer,
        groups(result, m.open_a, m.open_c),
        start=result.column_values,
        mip_gap=1e-6,
        threads=2,
    )
    assert [one.objective for one in found] == pytest.approx([42.0, 40.0])


def test_the_gap_warning_only_when_the_gap_can_move_a_value():
    """value_p = z_p − z*: with z* proven to gap* and z_p to gap_p the value is known to within
    gap_p·|z_p| + gap*·|z*| USD.  Both gaps 0 (relaxations whole, as in the base case): no warning;
    gap* = 1e-4 on z* = 1e6 and gap_p = 0 on z_p = 1.2e6: within 100 USD, said."""
    from types import SimpleNamespace

    from model.results.valuations import gap_note

    exact = SimpleNamespace(gap=0.0, objective=1.2e6, branch_and_bound=False)
    assert gap_note(SimpleNamespace(mip_gap=0.0, objective=1e6), [exact]) is None
    note = gap_note(SimpleNamespace(mip_gap=1e-4, objective=1e6), [exact])
    assert note is not None and "off by up to 100 USD" in note and "0 of 1 values needed branch and bound" in note
