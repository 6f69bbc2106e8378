"""The hand-off reads the formulation's rows directly, in the NumPy build's column order, and changes nothing.

Three claims of ``model/solver/handoff.py`` and ``model/formulation/build.py``:

* :func:`read_linear` gives exactly the arrays of Pyomo's standard-form
  compiler (:func:`compile_form`): same columns and rows (the same Pyomo
  objects in the same order), costs, bounds and entries, bit for bit; and it
  declines (None, so the compiler runs) every model it was not written for.
* The columns are those of the NumPy build (:mod:`model.bench.matrix`) in the
  same order, so HiGHS does the same work on either route: the same simplex
  iterations and the same objective to the last bit.
* ``build_model`` pauses the garbage collector only while it builds.
"""

from __future__ import annotations

import gc
from dataclasses import replace

import numpy as np
import pyomo.environ as pyo
import pytest
from scipy.sparse import coo_array

from model.bench.matrix import build_matrix
from model.bench.synthetic import Size, synthetic_data
from model.formulation.build import build_model
from model.formulation.sets import build_sets
from model.pipeline import load_data
from model.solver.backend import HighsBackend
from model.solver.handoff import StandardForm, compile_form, integer_columns, read_linear, standard_form
from model.solver.solve import cost_optimal_mip
from tests.test_reference_cases import BASE_CASE

SMALL = Size(countries=6, stages=4, products_per_stage=3, facilities_per_stage=8, demand_countries=2)


def assert_same_form(ours: StandardForm, theirs: StandardForm) -> None:
    assert len(ours.columns) == len(theirs.columns)
    assert all(a is b for a, b in zip(ours.columns, theirs.columns, strict=True))
    assert len(ours.rows) == len(theirs.rows)
    assert all(a is b for a, b in zip(ours.rows, theirs.rows, strict=True))
    for name in ("cost", "row_lower", "row_upper", "col_lower", "col_upper"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name), err_msg=name)
    assert ours.offset == theirs.offset
    a, b = ours.matrix.tocsc(), theirs.matrix.tocsc()
    a.sort_indices()
    b.sort_indices()
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


def product_cases():
    yield "base case (2025-2035, projects, budgets, stockpiles)", load_data(BASE_CASE)
    yield "synthetic, one year", synthetic_data(SMALL)
    yield "synthetic, 4 years, all-or-nothing projects", synthetic_data(replace(SMALL, years=4, all_or_nothing=True))


@pytest.mark.parametrize("case", range(3))
def test_direct_read_is_the_compilers_standard_form(case):
    name, data = list(product_cases())[case]
    model = build_model(data, build_sets(data))
    ours = read_linear(model)
    assert ours is not None, f"{name}: the product's own model fell back to the compiler"
    assert_same_form(ours, compile_form(model))


def test_direct_read_drops_rows_left_empty_as_the_compiler_does():
    """x + y ≥ 1, 0·x ≤ 5 (no entry: 0 ≤ 5 holds, dropped), 2x − 2x + y ≤ 3 (x cancels: y ≤ 3); min x + 2y."""
    from model.formulation.terms import linear

    m = pyo.ConcreteModel()
    m.v_activity = pyo.Var(range(2), domain=pyo.NonNegativeReals)
    x, y = m.v_activity[0], m.v_activity[1]
    m.rows = pyo.Constraint(
        range(3),
        rule=lambda _, i: [
            (1.0, linear([(1.0, x), (1.0, y)]), None),
            (None, linear([(0.0, x)]), 5.0),
            (None, linear([(2.0, x), (-2.0, x), (1.0, y)]), 3.0),
        ][i],
    )
    m.cost = pyo.Objective(expr=linear([(1.0, x), (2.0, y)]))
    ours = read_linear(m)
    assert ours is not None
    assert [row.index() for row in ours.rows] == [0, 2]
    assert ours.matrix.toarray().tolist() == [[1.0, 1.0], [0.0, 1.0]]
    assert_same_form(ours, compile_form(m))


def declined_models():
    """Models read_linear must leave to the compiler, each with the reason."""
    from model.formulation.terms import linear

    def base(name: str = "v_activity") -> pyo.ConcreteModel:
        m = pyo.ConcreteModel()
        m.add_component(name, pyo.Var(range(2), bounds=(0, 10)))
        v = m.component(name)
        m.cost = pyo.Objective(expr=linear([(1.0, v[0]), (3.0, v[1])]))
        m.demand = pyo.Constraint(expr=(4.0, linear([(1.0, v[0]), (1.0, v[1])]), None))
        return m

    m = base("x")  # no family of the formulation
    yield "foreign variables", m
    m = base()
    m.extra = pyo.Var(bounds=(0, 1))
    m.uses = pyo.Constraint(expr=m.extra + m.v_activity[0] <= 3)
    yield "a variable outside the families", m
    m = base()
    m.v_activity[1].fix(2.0)
    yield "a fixed variable", m
    m = base()
    m.ranged = pyo.Constraint(expr=(1.0, linear([(1.0, m.v_activity[0])]), 2.0))
    yield "a ranged row", m
    m = base()
    m.summed = pyo.Constraint(expr=m.v_activity[0] + 2 * m.v_activity[1] <= 8)  # a SumExpression
    yield "another expression type", m
    m = base()
    m.price = pyo.Param(initialize=2.0, mutable=True)
    m.priced = pyo.Constraint(expr=(None, linear([(m.price, m.v_activity[0])]), 8.0))
    yield "a parameter", m
    m = base()
    m.cost.deactivate()
    yield "no active objective", m
    m = base()
    m.block = pyo.Block()
    m.block.z = pyo.Var(bounds=(0, 1))
    yield "a block", m


@pytest.mark.parametrize("case", range(8))
def test_direct_read_declines_other_models_and_the_compiler_reads_them(case):
    reason, model = list(declined_models())[case]
    assert read_linear(model) is None, reason
    if reason == "no active objective":
        return  # the compiler writes no cost row then; nothing more to compare
    assert_same_form(standard_form(model), compile_form(model))


def test_direct_read_leaves_an_infeasible_empty_row_to_the_compilers_error():
    """0·x ≥ 1 cannot hold: read_linear declines, and the compiler refuses the model naming the row."""
    from pyomo.common.errors import InfeasibleConstraintException

    from model.formulation.terms import linear

    m = pyo.ConcreteModel()
    m.v_activity = pyo.Var(range(1), domain=pyo.NonNegativeReals)
    m.cost = pyo.Objective(expr=linear([(1.0, m.v_activity[0])]))
    m.impossible = pyo.Constraint(expr=(1.0, linear([(0.0, m.v_activity[0])]), None))
    assert read_linear(m) is None
    with pytest.raises(InfeasibleConstraintException, match="impossible"):
        standard_form(m)


def test_columns_in_the_numpy_builds_order_so_highs_does_the_same_work():
    """Over 4 years with all-or-nothing projects: column j of the Pyomo hand-off is column j of the NumPy build,
    and phase 1 (relaxation, then branch and bound or not, then the fixed LP) takes as many simplex
    iterations on either and ends in the same objective, bit for bit."""
    data = synthetic_data(replace(SMALL, years=4, all_or_nothing=True))
    sets = build_sets(data)
    form = standard_form(build_model(data, sets))
    lp = build_matrix(data, sets)
    column = np.array([lp.column(v.parent_component().name, v.index()) for v in form.columns])
    np.testing.assert_array_equal(column, np.arange(lp.shape[1]))

    matrix = coo_array((lp.values, (lp.rows, lp.cols)), shape=lp.shape).tocsc()
    numpy_form = StandardForm(
        lp.cost, 0.0, matrix, lp.row_lower, lp.row_upper, lp.col_lower, lp.col_upper, columns=[], rows=[]
    )
    runs = []
    for loaded, integer in ((form, integer_columns(form)), (numpy_form, lp.integer.astype(np.int32))):
        backend = HighsBackend()
        backend.load(loaded, integer)
        backend.set_method("auto", threads=1, mip_gap=1e-4)
        iterations = []
        run = backend.run

        def counted(run=run, iterations=iterations, backend=backend):
            status = run()
            iterations.append(backend.simplex_iterations())
            return status

        backend.run = counted
        phase1 = cost_optimal_mip(backend, integer, None, [])
        runs.append((phase1.objective, iterations))
    assert len(integer_columns(form)) > 0, "the case should be a MIP"
    assert runs[0] == runs[1]
    assert sum(runs[0][1]) > 0


@pytest.mark.parametrize("enabled", [True, False])
def test_build_pauses_the_garbage_collector_only_while_building(enabled):
    data = synthetic_data(SMALL)
    sets = build_sets(data)
    seen = []
    original = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        from model.formulation import build as build_module

        define = build_module.define_objective

        def spy(*args):
            seen.append(gc.isenabled())
            return define(*args)

        build_module.define_objective = spy
        try:
            build_model(data, sets)
        finally:
            build_module.define_objective = define
        assert seen == [False]
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if original else gc.disable)()


def test_the_built_model_joins_the_oldest_generation_and_is_still_collected():
    """After the build the model is in generation 2 (not left for the young collections to scan), and a model
    that is dropped while part of a reference cycle is still freed by a full collection."""
    import weakref

    data = synthetic_data(SMALL)
    sets = build_sets(data)
    model = build_model(data, sets)
    assert any(obj is model for obj in gc.get_objects(generation=2))
    model.cycle = [model]  # a reference cycle: only the cyclic collector can free it
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None
