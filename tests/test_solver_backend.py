"""The HiGHS backend, the MIP path and the least-exposure step on hand-solvable models."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest

from model.solver.backend import HighsBackend, new_highs
from model.solver.handoff import integer_columns, standard_form
from model.solver.least_exposure import least_exposure
from model.solver.solve import solve_model

ROOT = Path(__file__).resolve().parent.parent


def loaded(model: pyo.ConcreteModel) -> tuple[HighsBackend, object]:
    form = standard_form(model)
    backend = HighsBackend()
    backend.load(form, integer_columns(form))
    backend.set_method("simplex", threads=1)
    return backend, form


def column(form, var) -> int:
    return next(i for i, v in enumerate(form.columns) if v is var)


def row(form, con) -> int:
    return next(i for i, c in enumerate(form.rows) if c is con)


# --------------------------------------------------------------------- (a) LP
def two_sources() -> pyo.ConcreteModel:
    """min 2x + 3y + 5  s.t.  x + y ≥ 4 (demand),  x + 2y ≤ 100 (loose),  0 ≤ x ≤ 3,  0 ≤ y ≤ 10."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 3))
    m.y = pyo.Var(bounds=(0, 10))
    m.demand = pyo.Constraint(expr=m.x + m.y >= 4)
    m.loose = pyo.Constraint(expr=m.x + 2 * m.y <= 100)
    m.cost = pyo.Objective(expr=2 * m.x + 3 * m.y + 5)
    return m


def test_lp_objective_values_and_duals_by_hand():
    m = two_sources()
    backend, form = loaded(m)
    assert backend.run() == "Optimal"
    # x is cheaper: x = 3 (its bound), the remaining 1 from y; cost 2·3 + 3·1 + 5 = 14.
    assert backend.objective() == pytest.approx(14.0)
    values = backend.values()
    assert values[column(form, m.x)] == pytest.approx(3.0)
    assert values[column(form, m.y)] == pytest.approx(1.0)
    # One more unit of demand is served by y: dual of demand = 3; the loose row has dual 0.
    duals = backend.row_duals()
    assert duals[row(form, m.demand)] == pytest.approx(3.0)
    assert duals[row(form, m.loose)] == pytest.approx(0.0)
    # Reduced costs d = c - Aᵀy: x 2 - 3 = -1 (worth 1 per unit of more bound), y 3 - 3 = 0.
    reduced = backend.column_duals()
    assert reduced[column(form, m.x)] == pytest.approx(-1.0)
    assert reduced[column(form, m.y)] == pytest.approx(0.0)
    assert backend.mip_gap() is None and not backend.is_mip
    assert backend.version().count(".") == 2


def test_bound_changes_by_hand():
    m = two_sources()
    backend, form = loaded(m)
    backend.run()
    # Raise x's bound to 5: x = 4 serves all demand, cost 8 + 5 = 13; then the demand dual is x's cost, 2.
    backend.change_column_bounds([column(form, m.x)], 0.0, 5.0)
    backend.run()
    assert backend.objective() == pytest.approx(13.0)
    assert backend.row_duals()[row(form, m.demand)] == pytest.approx(2.0)
    # Demand 6 instead of 4: x = 5, y = 1, cost 10 + 3 + 5 = 18.
    backend.change_row_bounds([row(form, m.demand)], 6.0, np.inf)
    backend.run()
    assert backend.objective() == pytest.approx(18.0)
    # Fix y at 2: x = 4, cost 8 + 6 + 5 = 19.
    backend.fix_columns([column(form, m.y)], 2.0)
    backend.run()
    assert backend.objective() == pytest.approx(19.0)
    assert backend.values()[column(form, m.x)] == pytest.approx(4.0)


# -------------------------------------------------------------- (b) warm start
def transport(n_sources: int = 4, n_sinks: int = 5) -> pyo.ConcreteModel:
    """Sources with supply 30, sinks with demand 20 (feasible while 30·sources ≥ 20·sinks), unit cost 1 + s + 2t."""
    m = pyo.ConcreteModel()
    m.S, m.T = pyo.RangeSet(n_sources), pyo.RangeSet(n_sinks)
    m.ship = pyo.Var(m.S, m.T, domain=pyo.NonNegativeReals)
    m.supply = pyo.Constraint(m.S, rule=lambda m, s: sum(m.ship[s, t] for t in m.T) <= 30)
    m.demand = pyo.Constraint(m.T, rule=lambda m, t: sum(m.ship[s, t] for s in m.S) >= 20)
    m.cost = pyo.Objective(expr=sum((1 + s + 2 * t) * m.ship[s, t] for s in m.S for t in m.T))
    return m


def fresh_objective(form, cost: np.ndarray, row_upper: np.ndarray) -> float:
    backend = HighsBackend()
    backend.load(dataclasses.replace(form, cost=cost, row_upper=row_upper))
    backend.set_method("simplex")
    assert backend.run() == "Optimal"
    return backend.objective()


def test_warm_started_resolves_match_fresh_solves():
    m = transport()
    backend, form = loaded(m)
    backend.run()
    base = backend.get_basis()
    # From the optimal basis of the unchanged model, a re-solve takes no iteration: the basis is used.
    backend.set_basis(base)
    backend.run()
    assert backend.simplex_iterations() == 0
    rng = np.random.default_rng(7)
    supply_rows = [row(form, m.supply[s]) for s in m.S]
    for _ in range(6):
        positions = rng.choice(backend.num_columns, size=6, replace=False)
        backend.change_costs(positions, rng.uniform(0.0, 15.0, size=6))
        capacity = rng.uniform(25.0, 40.0, size=len(supply_rows))  # total ≥ 100: always feasible
        backend.change_row_bounds(supply_rows, -np.inf, capacity)
        backend.set_basis(base)
        assert backend.run() == "Optimal"
        expected = fresh_objective(form, backend.cost.copy(), backend.row_upper.copy())
        assert backend.objective() == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_time_limit_counts_per_run_not_per_instance():
    # HiGHS compares time_limit with the instance's run time summed over all runs.  After enough
    # cold runs that the sum exceeds 0.2 s, a warm re-solve after a cost change (a few iterations:
    # well under 0.1 s) must still end optimal under a 0.1 s limit.
    backend, _ = loaded(transport(8, 10))
    while backend.highs.getRunTime() < 0.2:
        backend.clear_solver()
        backend.run()
    backend.set_method("simplex", time_limit=0.1)
    backend.change_costs([0, 1, 2], 30.0)
    assert backend.run() == "Optimal" and backend.simplex_iterations() > 0


# --------------------------------------------------------------------- (c) MIP
def fixed_charge() -> pyo.ConcreteModel:
    """Demand 10 from a (1 USD/t, open at 30 USD, capacity 100 if open) or b (5 USD/t, capacity 20).

    LP relaxation: open_a = x_a / 100 makes a cost 1 + 30/100 = 1.3 per t:
    x_a = 10, open_a = 0.1, cost 13, demand dual 1.3.
    MIP: open a (10·1 + 30 = 40) or not (10·5 = 50) → 40, open_a = 1.
    LP with open_a fixed at 1: the capacity row x_a ≤ 100 is loose, the next
    tonne comes from a at 1 → demand dual 1, capacity dual 0.
    """
    m = pyo.ConcreteModel()
    m.open_a = pyo.Var(domain=pyo.Binary)
    m.x_a = pyo.Var(domain=pyo.NonNegativeReals)
    m.x_b = pyo.Var(bounds=(0, 20))
    m.demand = pyo.Constraint(expr=m.x_a + m.x_b >= 10)
    m.capacity_a = pyo.Constraint(expr=m.x_a <= 100 * m.open_a)
    m.cost = pyo.Objective(expr=m.x_a + 5 * m.x_b + 30 * m.open_a)
    return m


def test_relaxation_of_the_fixed_charge_case_is_fractional():
    m = fixed_charge()
    form = standard_form(m)
    backend = HighsBackend()
    backend.load(form)  # no integrality: the LP relaxation
    backend.run()
    assert backend.objective() == pytest.approx(13.0)
    assert backend.row_duals()[row(form, m.demand)] == pytest.approx(1.3)


def test_mip_is_solved_then_duals_come_from_the_fixed_lp():
    m = fixed_charge()
    result = solve_model(m, {}, [], mip_gap=1e-6)
    assert result.is_mip and result.optimal and result.status == "optimal"
    assert result.objective == pytest.approx(40.0)
    assert result.value(m.open_a) == 1.0
    assert result.value(m.x_a) == pytest.approx(10.0)
    assert result.row_duals[result.row_position[id(m.demand)]] == pytest.approx(1.0)
    assert result.row_duals[result.row_position[id(m.capacity_a)]] == pytest.approx(0.0)
    assert result.mip_gap is not None and 0.0 <= result.mip_gap <= 1e-6


def test_backend_reports_the_gap_only_for_a_mip():
    m = fixed_charge()
    backend, form = loaded(m)
    assert backend.is_mip and list(backend.integer_columns) == [column(form, m.open_a)]
    backend.run()
    assert backend.objective() == pytest.approx(40.0)
    assert backend.mip_gap() is not None and backend.mip_gap() <= 1e-4
    assert not backend.has_duals
    backend.relax_integrality()
    backend.run()
    assert backend.mip_gap() is None and backend.objective() == pytest.approx(13.0)


def market_split(rows: int = 5, columns: int = 40) -> tuple[pyo.ConcreteModel, np.ndarray, np.ndarray]:
    """min Σ_i (up_i + dn_i)  s.t.  a_i·x + up_i - dn_i = d_i,  x binary: hard for branch and bound."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 100, size=(rows, columns))
    d = a.sum(axis=1) // 2
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(columns), domain=pyo.Binary)
    m.up = pyo.Var(range(rows), domain=pyo.NonNegativeReals)
    m.dn = pyo.Var(range(rows), domain=pyo.NonNegativeReals)
    m.split = pyo.Constraint(
        range(rows),
        rule=lambda m, i: sum(int(a[i, j]) * m.x[j] for j in range(columns)) + m.up[i] - m.dn[i] == int(d[i]),
    )
    m.cost = pyo.Objective(expr=sum(m.up.values()) + sum(m.dn.values()))
    return m, a, d


def test_mip_stopped_by_the_time_limit_is_reported_with_its_incumbent():
    m, a, d = market_split()
    result = solve_model(m, {}, [], time_limit=0.3)
    if result.optimal:
        pytest.skip("branch and bound finished within 0.3 s on this machine")
    assert result.status == "time limit reached" and result.is_mip
    assert result.mip_gap is not None and result.mip_gap > 1e-4
    assert any("time limit" in note for note in result.notes)
    # With x fixed at the incumbent x̂, the LP sets up_i - dn_i = d_i - a_i·x̂ at least cost: the
    # objective is Σ_i |d_i - a_i·x̂| and each row's dual is the sign of its residual (±1; in [-1, 1] if 0).
    chosen = np.array([result.value(m.x[j]) for j in range(a.shape[1])])
    assert set(np.unique(chosen)) <= {0.0, 1.0}
    residual = d - a @ chosen
    assert result.objective == pytest.approx(np.abs(residual).sum())
    duals = np.array([result.row_duals[result.row_position[id(m.split[i])]] for i in range(len(d))])
    assert np.all(np.abs(duals) <= 1 + 1e-9)
    assert np.allclose(duals[residual != 0], np.sign(residual[residual != 0]))


# ------------------------------------------------------------------ (d) silence
# HiGHS writes its banner once per process, from C++ to fd 1, at the first log event of an instance
# whose output is on; its solve log, per instance.  In-process (capfd) this test sees any solve log;
# the banner is checked in a fresh process, where no earlier test can already have written it.
SOLVE_IN_A_FRESH_PROCESS = """
import pyomo.environ as pyo
from model.solver.backend import new_highs
from model.solver.solve import solve_model
new_highs()
m = pyo.ConcreteModel()
m.open = pyo.Var(domain=pyo.Binary)
m.x = pyo.Var(bounds=(0, 10))
m.demand = pyo.Constraint(expr=m.x + 10 * m.open >= 5)
m.cost = pyo.Objective(expr=m.x + 3 * m.open)
assert abs(solve_model(m, {id(m.x): 1.0}, []).objective - 3.0) < 1e-9
"""


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)


def test_no_output_on_either_file_descriptor(capfd):
    highs = new_highs()
    backend, _ = loaded(two_sources())
    backend.run()
    mip = fixed_charge()
    solve_model(mip, {id(mip.x_b): 1.0}, [])
    del highs
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_no_banner_in_a_fresh_process():
    done = run_python(SOLVE_IN_A_FRESH_PROCESS)
    assert done.stdout == "" and done.stderr == ""


def test_the_silence_check_sees_the_banner_of_a_plain_highs():
    """Control for the test above: a fresh process's plain ``highspy.Highs()`` does write to fd 1."""
    if "HiGHS" not in run_python("import highspy; highspy.Highs()").stdout:
        pytest.skip("this highspy writes no banner at construction")


# ------------------------------------------------------------ (e) least exposure
def three_sources(clean: str = "b", clean_capacity: float = 10.0) -> pyo.ConcreteModel:
    """Demand 10 from a or b (1 USD/t each: a tie; the clean one up to clean_capacity, the other up to 10)
    or c (2 USD/t, up to 10).  z* = 10: c is never needed."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(["a", "b", "c"], bounds=lambda m, k: (0, clean_capacity if k == clean else 10))
    m.demand = pyo.Constraint(expr=sum(m.x.values()) >= 10)
    m.cost = pyo.Objective(expr=m.x["a"] + m.x["b"] + 2 * m.x["c"])
    return m


@pytest.mark.parametrize("phase", ["exposure", "relabel"])
@pytest.mark.parametrize("exposed", ["a", "b"])
@pytest.mark.parametrize("clean_capacity", [10.0, 6.0])
def test_least_exposure_takes_the_clean_source_of_a_tie(exposed, phase, clean_capacity):
    # Whichever of a, b phase 1 picked, one of the two parametrisations starts at the exposed one.
    # Phase 1's demand dual is 1 (the tie's cost), so c's reduced cost is 2 - 1 = 1 > 0 and the
    # cost-optimal face fixes c at 0: the least-exposed cost-optimal point takes all it can from the
    # clean tie partner and the rest from the exposed one (10 and 0, or 6 and 4), never c.  Without
    # the face, 6 t clean + 4 t from c would have less exposure (0) at a higher cost (14).
    clean = "b" if exposed == "a" else "a"
    m = three_sources(clean, clean_capacity)
    backend, form = loaded(m)
    backend.run()
    phase1 = backend.values()
    weights = np.zeros(backend.num_columns)
    weights[column(form, m.x[exposed])] = 1.0
    zero = np.zeros(backend.num_columns)
    exposure, relabel = (weights, zero) if phase == "exposure" else (zero, weights)
    notes: list[str] = []
    chosen = least_exposure(backend, phase1, exposure, relabel, notes)
    assert notes == []
    assert chosen[column(form, m.x[clean])] == pytest.approx(clean_capacity)
    assert chosen[column(form, m.x[exposed])] == pytest.approx(10.0 - clean_capacity)
    assert chosen[column(form, m.x["c"])] == pytest.approx(0.0)
    assert float(backend.cost @ chosen) == pytest.approx(10.0)  # costs restored, and z* kept
    # Restored: bounds as loaded, and phase 1's basis, from which a re-solve needs no iteration.
    assert np.array_equal(backend.col_upper, form.col_upper) and np.array_equal(backend.row_lower, form.row_lower)
    backend.run()
    assert backend.simplex_iterations() == 0 and backend.objective() == pytest.approx(10.0)


def test_solve_model_reports_least_exposure_at_equal_cost():
    m = three_sources()
    result = solve_model(m, {id(m.x["a"]): 2.0}, [])
    assert result.objective == pytest.approx(10.0) and not result.is_mip and result.mip_gap is None
    assert result.value(m.x["b"]) == pytest.approx(10.0) and result.value(m.x["a"]) == pytest.approx(0.0)
