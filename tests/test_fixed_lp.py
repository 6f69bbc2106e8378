"""A MIP's phase 1: the relaxation first, branch and bound only when it is fractional, the fixed LP from its basis."""

import numpy as np
import pyomo.environ as pyo
import pytest

from model.solver.backend import HighsBackend, choose_method
from model.solver.handoff import integer_columns, standard_form
from model.solver.solve import cost_optimal_mip, solve_model


def whole_relaxation() -> pyo.ConcreteModel:
    """min x + 20 y  s.t.  x + 10 y ≥ 5 (demand),  x ≤ 100,  y binary.

    Covering one unit of demand costs 1 by x and 20/10 = 2 by y, so the LP
    relaxation takes x = 5, y = 0: already whole, hence the MIP optimum,
    objective 5.  With y fixed at 0 the demand row's dual is 1 (x is basic,
    one more unit of demand costs one more x); y's reduced cost 20 − 10 = 10.
    """
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 100))
    m.y = pyo.Var(domain=pyo.Binary)
    m.demand = pyo.Constraint(expr=m.x + 10 * m.y >= 5)
    m.cost = pyo.Objective(expr=m.x + 20 * m.y)
    return m


def fractional_relaxation() -> pyo.ConcreteModel:
    """min x_a + 5 x_b + 30 open  s.t.  x_a + x_b ≥ 10,  x_a ≤ 100 open,  open binary.

    Relaxation: open = 0.1 lets x_a = 10 at 1 + 30/100 = 1.3 a unit, objective
    13 (fractional).  MIP: open = 1 costs 30 + 10 = 40 against x_b alone at
    50, so z* = 40; with open fixed at 1 the demand row's dual is 1 (x_a's
    cost) and the capacity row (x_a = 10 < 100) has dual 0.
    """
    m = pyo.ConcreteModel()
    m.x_a = pyo.Var(domain=pyo.NonNegativeReals)
    m.x_b = pyo.Var(domain=pyo.NonNegativeReals)
    m.open = pyo.Var(domain=pyo.Binary)
    m.demand = pyo.Constraint(expr=m.x_a + m.x_b >= 10)
    m.capacity = pyo.Constraint(expr=m.x_a <= 100 * m.open)
    m.cost = pyo.Objective(expr=m.x_a + 5 * m.x_b + 30 * m.open)
    return m


def phase_one(m: pyo.ConcreteModel):
    form = standard_form(m)
    integer = integer_columns(form)
    backend = HighsBackend()
    backend.load(form, integer)
    backend.set_method("auto", mip_gap=1e-6)
    notes: list[str] = []
    return cost_optimal_mip(backend, integer, None, notes), backend, form, notes


def test_whole_relaxation_is_the_optimum_without_branch_and_bound():
    m = whole_relaxation()
    phase, backend, form, notes = phase_one(m)
    assert not phase.branch_and_bound and phase.optimal and not notes
    assert phase.objective == pytest.approx(5.0) and phase.mip_gap == pytest.approx(0.0, abs=1e-12)
    row = form.rows.index(m.demand)
    assert phase.row_duals[row] == pytest.approx(1.0)
    columns = {id(v): i for i, v in enumerate(form.columns)}
    assert phase.values[columns[id(m.y)]] == 0.0 and phase.values[columns[id(m.x)]] == pytest.approx(5.0)
    # The backend holds the fixed LP (y's bounds 0..0, every column continuous) for the least-exposure phases.
    assert not backend.is_mip and backend.col_upper[columns[id(m.y)]] == 0.0


def test_fractional_relaxation_runs_branch_and_bound_then_the_fixed_lp_from_the_relaxation_basis():
    m = fractional_relaxation()
    phase, backend, form, _ = phase_one(m)
    assert phase.branch_and_bound and phase.optimal
    assert phase.objective == pytest.approx(40.0)
    assert phase.row_duals[form.rows.index(m.demand)] == pytest.approx(1.0)
    assert phase.row_duals[form.rows.index(m.capacity)] == pytest.approx(0.0)
    assert 0.0 <= phase.mip_gap <= 1e-6


@pytest.mark.parametrize("make", [whole_relaxation, fractional_relaxation])
def test_duals_and_objective_match_the_fixed_lp_solved_from_nothing(make):
    """Same objective and (here unique) duals as a cold solve of the LP with the integer choices fixed."""
    m = make()
    result = solve_model(m, {}, [], mip_gap=1e-6)
    form = result.form
    cold = HighsBackend()
    cold.load(form)
    cold.set_method("simplex")
    cold.fix_columns(result.integer, np.round(result.column_values[result.integer]))
    cold.run()
    assert result.objective == pytest.approx(cold.objective(), rel=1e-9)
    assert np.allclose(result.row_duals, cold.row_duals(), atol=1e-9)


def test_auto_solves_a_mip_by_simplex_whatever_its_size():
    assert choose_method("auto", 10**6, is_mip=True) == "simplex"
    assert choose_method("auto", 10**6) == "ipm" and choose_method("auto", 10) == "simplex"
    assert choose_method("ipm", 10, is_mip=True) == "ipm"
