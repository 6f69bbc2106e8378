"""The batch re-solve path made cheaper gives exactly what it gave before.

Each faster piece is compared with the code it replaced (kept here as a
reference where it was replaced): HiGHS' callback handler, the solution
reader's tables, the verification's column reads, the NumPy numbers of a
re-solve.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import weakref
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.batch import Variant
from model.batch.reuse import ModelCache
from model.batch.variants import variant_data
from model.bench.matrix import Plan, _spread, build_matrix, compact
from model.bench.scenarios import variants as bench_variants
from model.bench.synthetic import Size, synthetic_data
from model.formulation.build import build_model
from model.formulation.sets import build_sets
from model.results.extract import (
    FLOW_FAMILIES,
    VARIABLES,
    Solution,
    _key_frame,
    _positions,
    _with_values,
    extract_solution,
)
from model.results.verify import _BALANCE_TERMS, _lane_table, columns, lowest, verify_solution
from model.scenarios import Change
from model.solver import backend as solver_backend
from model.solver.backend import HighsBackend
from model.solver.handoff import integer_columns, standard_form
from model.workbook.read import read_workbook
from model.workbook.validate import lane_table
from tests.test_batch import number_changes, raw  # noqa: F401  (the hand case of the batch tests, a fixture)

BASE_CASE = Path(__file__).resolve().parent.parent / "inputs" / "base_case.xlsx"


# ----------------------------------------------------------------------------- HiGHS' callback handler
@pytest.fixture(scope="module")
def form():
    data = synthetic_data(Size())
    return standard_form(build_model(data, build_sets(data)))


def loaded(form, highspy_handler: bool = False) -> HighsBackend:
    backend = HighsBackend()
    if highspy_handler:  # highspy's own handler, as before: an event object per call, then each subscriber
        highspy.Highs.enableCallbacks(backend.highs)
    backend.load(form, integer_columns(form))
    backend.set_method("simplex")
    return backend


def test_the_interrupt_check_alone_never_builds_highspy_events_and_still_stops_a_run(form, monkeypatch):
    fired = []
    original = highspy.highs.HighsCallback.fire
    monkeypatch.setattr(highspy.highs.HighsCallback, "fire", lambda *a: fired.append(a[1]) or original(*a))
    backend = loaded(form)
    assert backend.run() == "Optimal"
    assert fired == []  # the short cut: HiGHS' interrupt flag set directly
    solver_backend._Interrupt.requested = True  # as interrupt_solve() does while a run is in progress
    with pytest.raises(KeyboardInterrupt):
        backend.clear_solver()
        backend.run()
    assert backend.status_text() == "Interrupted by user"
    assert solver_backend._Interrupt.requested is False
    assert backend.run() == "Optimal"


def test_another_subscriber_gets_highspy_events_beside_the_interrupt_check(form):
    backend = loaded(form)
    seen = []
    backend.highs.cbSimplexInterrupt.subscribe(lambda event: seen.append(event.callback_type))
    assert backend.run() == "Optimal"
    assert seen and set(seen) == {highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt}


def test_runs_with_the_short_cut_equal_runs_with_highspys_handler_bit_for_bit(form, monkeypatch):
    fired = []
    original = highspy.highs.HighsCallback.fire
    monkeypatch.setattr(highspy.highs.HighsCallback, "fire", lambda *a: fired.append(a[1]) or original(*a))
    ours, theirs = loaded(form), loaded(form, highspy_handler=True)
    ours.run()
    assert fired == []
    theirs.run()
    assert fired  # highspy's handler did run (an event per call)
    assert ours.objective() == theirs.objective()
    assert np.array_equal(ours.values(), theirs.values())
    assert np.array_equal(ours.row_duals(), theirs.row_duals())
    assert ours.simplex_iterations() == theirs.simplex_iterations()


def interrupt_subscribers(backend: HighsBackend) -> list:
    highs = backend.highs
    return [highs.cbSimplexInterrupt.callbacks, highs.cbIpmInterrupt.callbacks, highs.cbMipInterrupt.callbacks]


def test_a_backend_without_the_interrupt_check_solves_the_same_and_stops_after_a_requested_run(form):
    quiet, checked = HighsBackend(interruptible=False), loaded(form)
    quiet.load(form, integer_columns(form))
    quiet.set_method("simplex")
    assert interrupt_subscribers(quiet) == [[], [], []]
    assert interrupt_subscribers(checked) == [[solver_backend._stop_if_requested]] * 3
    for backend in (quiet, checked):
        backend.run()
    assert quiet.objective() == checked.objective() and quiet.simplex_iterations() == checked.simplex_iterations()
    assert np.array_equal(quiet.values(), checked.values())
    assert np.array_equal(quiet.row_duals(), checked.row_duals())
    solver_backend._Interrupt.requested = True  # Ctrl-C during the run: it ends, then the run raises
    quiet.clear_solver()
    with pytest.raises(KeyboardInterrupt):
        quiet.run()
    assert quiet.status_text() == "Optimal"
    assert solver_backend._Interrupt.requested is False
    assert quiet.run() == "Optimal"


def test_batch_models_get_the_interrupt_check_only_when_large_and_in_the_main_process(raw, monkeypatch):  # noqa: F811
    cache = ModelCache(reuse=True)
    cache.solve(variant_data(raw, Variant("base")), restart=True)
    assert not cache.loaded.backend.interruptible and interrupt_subscribers(cache.loaded.backend) == [[], [], []]
    monkeypatch.setattr(solver_backend, "INTERRUPT_CHECK_FROM_COLUMNS", 1)
    cache.solve(variant_data(raw, Variant("base")), restart=True)  # a new HiGHS instance
    assert cache.loaded.backend.interruptible
    assert interrupt_subscribers(cache.loaded.backend) == [[solver_backend._stop_if_requested]] * 3
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # a worker process, as Dask's are
        assert pool.apply(solver_backend.interruptible_here, (10**9,)) is False
    assert solver_backend.interruptible_here(10**9) is True


# ----------------------------------------------------------------------------- the solution reader's tables
class ReferenceReader:
    """:class:`model.results.extract.SolutionReader` as it was before its tables were made from arrays (verbatim)."""

    def __init__(self, model):
        self.model = model
        self._variables: dict = {}

    def _family(self, field, variable, keys, fields, result):
        kept = self._variables.get(field)
        if kept is None or kept[1] is not result.column_position or not (kept[0] is keys or kept[0] == keys):
            component = getattr(self.model, variable)
            positions = _positions(component, len(keys), result.column_position)
            frame = _key_frame(keys, fields)
            if not keys:  # no variables: the same empty table every time, values included
                frame = _with_values(frame, positions, result)
            kept = self._variables[field] = (list(keys), result.column_position, positions, frame)
        if not len(kept[2]):
            return kept[3].copy(deep=False)
        return _with_values(kept[3], kept[2], result)

    def read(self, sets, result) -> dict:
        return {
            field: self._family(field, variable, getattr(sets, index), fields, result)
            for field, variable, index, fields in VARIABLES
        }


def assert_same_tables(ours: Solution, theirs: dict, what: str) -> None:
    for name in FLOW_FAMILIES:
        mine, reference = getattr(ours, name), theirs[name]
        pd.testing.assert_frame_equal(mine, reference, check_exact=True, check_index_type=True, obj=f"{what} {name}")
        assert list(mine.dtypes) == list(reference.dtypes), (what, name)
        assert type(mine.index) is type(reference.index) and list(mine.columns) == list(reference.columns)
        for column in mine.columns:  # the values Python code reads from them, type for type
            assert [type(v) for v in mine[column].tolist()] == [type(v) for v in reference[column].tolist()]


def scribble(solution: Solution) -> None:
    """Write into every table a caller got (strings, years, values): the reader's next tables must not change."""
    for name in FLOW_FAMILIES:
        frame = getattr(solution, name)
        if len(frame):
            frame.iloc[0, 0] = "scribbled" if isinstance(frame.iloc[0, 0], str) else -7
            frame.loc[frame.index[-1], "year"] = 1900
            frame["value"] = -1.0
            frame.iloc[0, frame.columns.get_loc("raw_value")] = 12345.0


def read_sequence(raw_workbook, variants_list) -> int:
    cache = ModelCache(reuse=True)
    reference = None
    compared = 0
    for number, variant in enumerate(variants_list):
        data = variant_data(raw_workbook, variant)
        sets, solution, result, built, _ = cache.solve(data, restart=number == 0)
        if built:
            reference = ReferenceReader(cache.loaded.model)
        assert_same_tables(solution, reference.read(sets, result), variant.name)
        assert_same_tables(solution, extract_solution(cache.loaded.model, sets, result).__dict__, variant.name)
        scribble(solution)
        compared += 1
    return compared


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(number_changes(False), min_size=2, max_size=5))
def test_the_readers_tables_equal_the_reference_readers_on_random_variants(raw, sequence):  # noqa: F811
    assert read_sequence(raw, [Variant(f"v{i}", changes=changes) for i, changes in enumerate(sequence)]) >= 2


def test_the_readers_tables_equal_the_reference_readers_on_the_base_case():
    workbook = read_workbook(BASE_CASE)
    assert read_sequence(workbook, bench_variants(workbook, 4, 3)) == 4


# ----------------------------------------------------------------------------- the verification's column reads
def test_columns_read_without_series_are_what_series_give_value_for_value_and_type():
    workbook = read_workbook(BASE_CASE)
    cache = ModelCache(reuse=True)
    sets, solution, _, _, _ = cache.solve(variant_data(workbook, Variant("base")), restart=True)
    frames = [getattr(solution, name) for name in FLOW_FAMILIES]
    frames.append(solution.activity.copy().drop(solution.activity.index[3]))  # an index that is not 0…n-1
    frames.append(pd.DataFrame({"value": [1.0, np.nan], "name": ["a", None], "year": [2025, 2026]}))
    for frame in frames:
        for name in frame.columns:
            ours, theirs = columns(frame, name)[0], frame[name].tolist()
            assert [type(v) for v in ours] == [type(v) for v in theirs]
            assert ours == theirs or all(a == b or (a != a and b != b) for a, b in zip(ours, theirs, strict=True))
            kept: dict = {}
            assert columns(frame, name, kept=kept)[0] is columns(frame, name, kept=kept)[0]


@pytest.mark.parametrize(
    "values",
    [[3.0, -1.5, 2.0], [np.nan, -2.0, 1.0], [np.nan, np.nan], [0.0, -0.0], [-np.inf, 1.0], [5.0]],
)
def test_the_lowest_value_is_pandas_minimum_nan_skipped(values):
    frame = pd.DataFrame({"raw_value": values})
    ours, theirs = lowest(frame, "raw_value"), float(frame["raw_value"].min())
    assert ours == theirs or (np.isnan(ours) and np.isnan(theirs))
    objects = pd.DataFrame({"raw_value": pd.Series(values, dtype=object)})  # not a float column: through pandas
    assert lowest(objects, "raw_value") == float(objects["raw_value"].min()) or np.isnan(theirs)


def test_the_kept_lane_table_is_the_table_of_equal_rules_and_made_again_for_other_rules():
    workbook = read_workbook(BASE_CASE)
    first = variant_data(workbook, Variant("base")).lane_rules
    again = variant_data(workbook, Variant("again")).lane_rules  # equal rules, other objects
    other = variant_data(
        workbook,
        Variant("dear", changes=(Change("lanes", "min_flow", "scale", 2.0, "from=MYS;to=JPN;product=ndpr_oxide"),)),
    )
    assert first == again and first is not again and other.lane_rules != first
    table = _lane_table(first)
    assert _lane_table(again) is table
    changed = _lane_table(other.lane_rules)
    assert changed is not table
    fresh = lane_table(other.lane_rules)
    for rule in other.lane_rules:
        assert changed.resolve(rule.keys) == fresh.resolve(rule.keys)


# ----------------------------------------------------------------------------- the verification's kept balance terms
def fresh_verification(data, sets, solution, objective):
    """verify_solution with no balance terms kept from an earlier call (made from this call's tables and data)."""
    _BALANCE_TERMS.clear()
    return verify_solution(data, sets, solution, objective)


def assert_same_as_fresh(data, sets, solution, objective, what: str):
    ours = verify_solution(data, sets, solution, objective)  # with the terms kept from the call before
    theirs = fresh_verification(data, sets, solution, objective)
    assert ours.failures == theirs.failures, what
    assert ours.largest_violation == theirs.largest_violation, what
    return ours


def moved(solution: Solution, factor: float) -> Solution:
    """The same keys, other values (the kept terms are used; every sum must follow the new values)."""
    frames = {name: getattr(solution, name).assign(value=lambda f: f["value"] * factor) for name in FLOW_FAMILIES}
    return dataclasses.replace(solution, **frames)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(number_changes(False), min_size=2, max_size=4), st.sampled_from([1.0, 1.001, 0.7, 1.5]))
def test_kept_balance_terms_check_what_fresh_ones_check_on_random_variants(raw, sequence, factor):  # noqa: F811
    cache = ModelCache(reuse=True)
    for number, changes in enumerate(sequence):
        data = variant_data(raw, Variant(f"v{number}", changes=changes))
        sets, solution, result, _, _ = cache.solve(data, restart=number == 0)
        assert assert_same_as_fresh(data, sets, solution, result.objective, "solved").ok
        assert_same_as_fresh(data, sets, moved(solution, factor), result.objective, f"moved × {factor}")


def test_kept_balance_terms_follow_the_data_numbers_and_its_structure():
    workbook = read_workbook(BASE_CASE)
    cache = ModelCache(reuse=True)
    data = variant_data(workbook, Variant("base"))
    sets, solution, result, _, _ = cache.solve(data, restart=True)
    assert fresh_verification(data, sets, solution, result.objective).ok
    # A coefficient of a recipe changes (a number): the kept terms are used, with the new coefficient.
    name, process = next((n, p) for n, p in data.processes.items() if p.inputs)
    product = next(iter(process.inputs))
    dearer = dataclasses.replace(process, inputs={**process.inputs, product: process.inputs[product] * 1.25})
    recipe = dataclasses.replace(data, processes={**data.processes, name: dearer})
    verify_solution(data, sets, solution, result.objective)
    changed = assert_same_as_fresh(recipe, sets, solution, result.objective, "a recipe's coefficient")
    assert any("balance of" in failure for failure in changed.failures)
    # Initial stock appears (a sign the terms depend on): a term more, not the kept terms.
    stockpile = dataclasses.replace(data.stockpiles[0], initial=50.0)
    stocked = dataclasses.replace(data, stockpiles=[stockpile, *data.stockpiles[1:]])
    verify_solution(data, sets, solution, result.objective)
    changed = assert_same_as_fresh(stocked, sets, solution, result.objective, "initial stock")
    assert any(f"balance of {stockpile.product}" in failure for failure in changed.failures)
    assert verify_solution(data, sets, solution, result.objective).ok  # and back


# ----------------------------------------------------------------------------- only changed numbers passed to HiGHS
def test_updates_pass_only_what_changes_and_leave_highs_with_the_same_model(form):
    ours, theirs = loaded(form), loaded(form)
    draw = np.random.default_rng(5)
    n, m = ours.num_columns, ours.num_rows
    cost = ours.cost.copy()
    cost[draw.choice(n, 7, replace=False)] *= 1.5
    cost[np.flatnonzero(cost == 0)[:1]] = -0.0  # a sign of zero is a change too
    lower, upper = ours.col_lower.copy(), ours.col_upper.copy()
    upper[draw.choice(n, 5, replace=False)] = 0.0
    row_lower, row_upper = ours.row_lower.copy(), ours.row_upper.copy()
    row_upper[draw.choice(m, 3, replace=False)] = np.inf
    bits = lambda a, b: int(np.count_nonzero(a.view(np.int64) != b.view(np.int64)))  # noqa: E731
    expected = [
        bits(cost, ours.cost),
        int(np.count_nonzero((lower.view(np.int64) != ours.col_lower.view(np.int64)) | (upper != ours.col_upper))),
        int(np.count_nonzero(row_upper != ours.row_upper)),
    ]
    assert expected[0] >= 2 and expected[1] >= 1 and expected[2] >= 1
    calls = []
    for name in ("change_costs", "change_column_bounds", "change_row_bounds"):
        original = getattr(ours, name)
        setattr(ours, name, lambda *a, _o=original, _n=name: calls.append((_n, len(a[0]))) or _o(*a))
    ours.update_costs(cost)
    ours.update_column_bounds(lower, upper)
    ours.update_row_bounds(row_lower, row_upper)
    assert calls == list(zip(("change_costs", "change_column_bounds", "change_row_bounds"), expected, strict=True))
    theirs.set_costs(cost)
    theirs.change_column_bounds(np.arange(n), lower, upper)
    theirs.change_row_bounds(np.arange(m), row_lower, row_upper)
    for name in ("cost", "col_lower", "col_upper", "row_lower", "row_upper"):
        assert getattr(ours, name).tobytes() == getattr(theirs, name).tobytes(), name
    ours_lp, theirs_lp = ours.highs.getLp(), theirs.highs.getLp()
    for name in ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_"):
        assert np.asarray(getattr(ours_lp, name)).tobytes() == np.asarray(getattr(theirs_lp, name)).tobytes(), name
    for backend in (ours, theirs):
        backend.clear_solver()
        backend.run()
    assert ours.objective() == theirs.objective() and np.array_equal(ours.values(), theirs.values())
    ours.update_costs(cost)  # nothing differs: HiGHS is not called
    assert len(calls) == 3


def full_updates(monkeypatch) -> None:
    """The least-exposure phases as before: every cost and bound passed to HiGHS at each change."""
    monkeypatch.setattr(HighsBackend, "update_costs", lambda self, values: self.set_costs(values))
    monkeypatch.setattr(
        HighsBackend,
        "update_column_bounds",
        lambda self, lower, upper: self.change_column_bounds(np.arange(self.num_columns), lower, upper),
    )
    monkeypatch.setattr(
        HighsBackend,
        "update_row_bounds",
        lambda self, lower, upper: self.change_row_bounds(np.arange(self.num_rows), lower, upper),
    )


def solve_all(raw_workbook, variants_list) -> list:
    cache = ModelCache(reuse=True)
    out = []
    for number, variant in enumerate(variants_list):
        sets, solution, result, _, _ = cache.solve(variant_data(raw_workbook, variant), restart=number == 0)
        out.append((result.objective, result.column_values, result.row_duals, result.notes, solution))
    return out


def test_re_solves_with_only_changed_numbers_passed_equal_those_passing_every_number(monkeypatch):
    workbook = read_workbook(BASE_CASE)
    batch = bench_variants(workbook, 5, 11)
    ours = solve_all(workbook, batch)
    with monkeypatch.context() as patch:
        full_updates(patch)
        theirs = solve_all(workbook, batch)
    for (objective, values, duals, notes, solution), (objective2, values2, duals2, notes2, solution2) in zip(
        ours, theirs, strict=True
    ):
        assert objective == objective2 and notes == notes2
        assert values.tobytes() == values2.tobytes() and duals.tobytes() == duals2.tobytes()
        assert solution.duals == solution2.duals


# ----------------------------------------------------------------------------- the NumPy build of a re-solve's numbers
def test_the_numpy_build_is_compact_already_as_re_solves_take_it():
    workbook = read_workbook(BASE_CASE)
    plan = Plan()
    for variant in [Variant("base"), *bench_variants(workbook, 3, 2)]:
        data = variant_data(workbook, variant)
        sets = build_sets(data)
        lp = build_matrix(data, sets, plan)
        assert compact(lp) is lp  # nothing left to drop: compact() returns it as it is


def test_spread_is_numpys_broadcast_float_for_float():
    for values, n in [(2.5, 4), (np.arange(3.0), 3), ([1, 2], 2), (np.float32(0.1), 3), (np.inf, 0), ([7.0], 3)]:
        ours, theirs = _spread(values, n), np.broadcast_to(np.asarray(values, dtype=float), (n,))
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape and ours.tobytes() == theirs.tobytes()
    with pytest.raises(ValueError):
        _spread([1.0, 2.0], 3)


def test_kept_balance_terms_do_not_keep_a_finished_runs_sets_alive(raw):  # noqa: F811
    cache = ModelCache(reuse=True)
    data = variant_data(raw, Variant("base"))
    sets, solution, result, _, _ = cache.solve(data, restart=True)
    assert _BALANCE_TERMS and _BALANCE_TERMS[0].signature[0]() is sets
    alive = weakref.ref(sets)
    del cache, sets, solution, result
    gc.collect()
    assert alive() is None and _BALANCE_TERMS[0].signature[0]() is None  # a new sets object never matches it
