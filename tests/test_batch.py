"""Batches: model reuse gives the fresh build's optimum, Dask gives the serial results, broken runs are rows.

The case is the hand case of tests/test_scenarios.py (CN mines and
separates, the US buys 50 t of oxide, 800 USD/yr) with a 60 % cap on the
US's exposure at any stage and a 10 % tariff on AU→US ore, so that caps and
tariffs are numbers a variant can change.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.batch import RunSummary, Variant, run_batch
from model.batch.reuse import ModelCache
from model.batch.run import run_chunk
from model.batch.variants import variant_data
from model.pipeline import solve_data
from model.scenarios import Change
from model.workbook.read import read_workbook
from tests.helpers import write_case
from tests.test_scenarios import SCENARIO_HEADERS, base_sheets


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    sheets = base_sheets()
    sheets["lanes"][1][4] = 0.1
    sheets["exposure_caps"] = [["US", "*", "any", 0.6]]
    sheets["scenarios"] = [
        ["ban", "CN exports banned", None, None, None],
        ["broken", "a change that selects nothing", None, None, None],
        ["dear_ban", "ban, and US separation dearer", "ban", None, None],
    ]
    sheets["changes"] = [
        ["ban", "lanes", "allowed", "set", "no", "from=CN;to=*;product=*"],
        ["broken", "facilities", "capacity", "scale", 2, "facility=nowhere"],
        ["dear_ban", "facility_processes", "unit_cost", "add", 10, "facility=us_sep"],
    ]
    path = write_case(tmp_path_factory.mktemp("batch") / "case.xlsx", sheets, SCENARIO_HEADERS)
    return read_workbook(path)


NUMBERS = [
    ("facility_processes", "unit_cost", "scale", "facility={}", ["cn_mine", "au_mine", "cn_sep", "us_sep"]),
    ("facilities", "capacity", "scale", "facility={}", ["cn_mine", "au_mine", "cn_sep", "us_sep"]),
    ("demand", "quantity", "scale", "country={}", ["US"]),
    ("lanes", "transport_cost", "add", "from={}", ["CN", "AU"]),
    ("lanes", "tariff", "add", "from={}", ["AU"]),
    ("exposure_caps", "max_share", "set", "country={}", ["US"]),
    ("products", "value", "scale", "product={}", ["oxide", "ore"]),
]


@st.composite
def number_changes(draw, safe: bool) -> tuple[Change, ...]:
    """1-4 changes of numbers; ``safe``: none that removes an entry or a row (a cost or capacity of 0, a cap of
    100 %, a quota), so the LP keeps its shape and pattern and the model is never rebuilt."""
    changes = []
    for _ in range(draw(st.integers(1, 4))):
        sheet, column, operation, match, names = draw(st.sampled_from(NUMBERS))
        if operation == "set":
            value = draw(st.sampled_from([0.1, 0.25, 0.5] if safe else [0.0, 0.1, 0.5, 1.0]))
        elif operation == "scale":
            value = draw(st.sampled_from([0.5, 0.8, 1.0, 1.3, 2.0] if safe else [0.0, 0.5, 2.0]))
        else:
            value = draw(st.sampled_from([0.5, 3.0, 12.0]))
        changes.append(Change(sheet, column, operation, value, match.format(draw(st.sampled_from(names)))))
    if not safe and draw(st.booleans()):
        changes.append(Change("lanes", "max_flow", "set", 20, "from=AU;to=US;product=ore"))  # a quota row: rebuilt
    return tuple(changes)


@st.composite
def sequences(draw) -> tuple[bool, list[tuple[Change, ...]]]:
    safe = draw(st.booleans())
    return safe, draw(st.lists(number_changes(safe), min_size=2, max_size=5))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequences())
def test_reuse_gives_the_fresh_builds_objective_on_random_changes(raw, drawn):
    safe, sequence = drawn
    cache = ModelCache(reuse=True)
    for number, changes in enumerate(sequence):
        data = variant_data(raw, Variant(f"v{number}", changes=changes))
        _, _, result, built, _ = cache.solve(data, restart=number == 0)
        fresh = solve_data(variant_data(raw, Variant(f"v{number}", changes=changes)))
        assert result.objective == pytest.approx(fresh.objective, rel=1e-9, abs=1e-6)
        assert result.status == fresh.status == "optimal"
    assert cache.builds + cache.resolves == len(sequence)
    if safe:
        assert cache.builds == 1  # numbers only: built once, re-solved for every later variant


def test_a_structural_change_rebuilds_and_the_next_number_change_reuses_again(raw):
    cache = ModelCache(reuse=True)
    plain = variant_data(raw, Variant("plain"))
    quota = variant_data(
        raw, Variant("quota", changes=(Change("lanes", "max_flow", "set", 20, "from=AU;to=US;product=ore"),))
    )
    dearer = variant_data(
        raw, Variant("d", changes=(Change("lanes", "tariff", "add", 1, "from=AU;to=US;product=ore"),))
    )
    assert cache.solve(plain, restart=True)[3] is True
    assert cache.solve(dearer)[3] is False
    assert cache.solve(quota)[3] is True  # a quota row appears: another structure
    assert cache.solve(plain)[3] is True
    assert (cache.builds, cache.resolves) == (3, 1)


def _same(ours: list[RunSummary], theirs: list[RunSummary]) -> None:
    # `rebuilt` says whether this worker had built the model before: it depends on the worker, not the numbers
    timing = ("seconds", "solver_seconds", "rebuilt")
    strip = lambda row: {k: v for k, v in dataclasses.asdict(row).items() if k not in timing}  # noqa: E731
    assert [strip(row) for row in ours] == [strip(row) for row in theirs]


def variants() -> list[Variant]:
    rows = [Variant("base"), Variant("ban", scenario="ban"), Variant("broken", scenario="broken")]
    rows.append(Variant("dear_ban", scenario="dear_ban"))
    rows.append(Variant("ghost", scenario="ghost"))
    rows += [
        Variant(f"cap{share}", exposure_cap=share, changes=(Change("demand", "quantity", "scale", 1 + share, None),))
        for share in (1.0, 0.8, 0.5, 0.3, 0.2, 0.1, 0.0)
    ]
    return rows


def test_results_of_a_batch(raw):
    """base: the 60 % cap lets 30 t come from CN at 16 USD/t, 20 t from AU ore (20) separated in the US (30),
    the 10 % tariff on ore of value 0 costing nothing: 480 + 1,000 = 1,480 USD/yr, 60 % exposed;
    ban: all from AU, 50 × 50 = 2,500; dear_ban (based on ban): US separation 10 USD/t dearer, 3,000;
    cap0.0 (quantity × 1): all from AU, 2,500; cap1.0 (quantity × 2 = 100 t): all from CN, 1,600."""
    rows = run_batch(raw, variants(), workers=1, size=3)
    by_name = {row.name: row for row in rows}
    assert [row.name for row in rows] == [v.name for v in variants()]
    assert by_name["base"].objective == pytest.approx(1480.0)
    assert by_name["base"].exposure_any == {("US", "oxide"): pytest.approx(0.6)}
    assert by_name["base"].binding_caps == ["US oxide any"]
    assert by_name["ban"].objective == pytest.approx(2500.0)
    assert by_name["ban"].exposure_any == {("US", "oxide"): pytest.approx(0.0)}
    assert by_name["dear_ban"].objective == pytest.approx(3000.0)
    assert by_name["cap0.0"].objective == pytest.approx(2500.0)
    assert by_name["cap1.0"].objective == pytest.approx(1600.0)
    # 100 % exposed under a cap of 100 %: binding as the results define it, but worth nothing
    assert by_name["cap1.0"].shadow_price_per_pp == 0 and by_name["cap1.0"].binding_stage is None
    # cap 0.5 on 75 t: 37.5 t from CN at 16, 37.5 t from AU at 50 → 600 + 1,875 = 2,475; the cap binds
    assert by_name["cap0.5"].objective == pytest.approx(2475.0)
    assert by_name["cap0.5"].binding_caps == ["US oxide any"]
    # one more point of allowed share moves 0.75 t from AU (50) to CN (16): 25.5 USD/yr per pp
    assert by_name["cap0.5"].shadow_price_by_stage == {"any": pytest.approx(25.5)}
    assert by_name["cap0.5"].binding_stage == "any"
    assert by_name["cap0.5"].facility_activity["au_mine"] == pytest.approx(37.5)
    assert by_name["cap0.5"].facility_utilisation["au_mine"] == pytest.approx(0.375)


def test_a_broken_scenario_is_reported_in_its_row_and_the_batch_goes_on(raw):
    rows = {row.name: row for row in run_batch(raw, variants(), workers=1)}
    assert rows["broken"].status == "failed" and rows["broken"].objective is None
    assert "'changes', row 3" in rows["broken"].message and "nowhere" in rows["broken"].message
    assert rows["ghost"].status == "failed" and "'ghost'" in rows["ghost"].message
    assert sum(row.ok for row in rows.values()) == len(rows) - 2


def test_a_chunk_gives_the_same_results_on_a_worker_that_ran_other_chunks_before(raw):
    """Each chunk starts from the model's original numbers, cold: the worker's history does not matter."""
    parts = [variants()[5:8], variants()[8:12]]
    alone = run_chunk(raw, parts[1], token="alone")
    after = run_chunk(raw, parts[0], token="shared") and run_chunk(raw, parts[1], token="shared")
    _same(alone, after)


def test_two_dask_workers_give_exactly_the_serial_results(raw):
    serial = run_batch(raw, variants(), workers=1, size=3)
    seen = []
    parallel = run_batch(raw, variants(), workers=2, size=3, progress=lambda *state: seen.append(state))
    _same(serial, parallel)
    assert seen[0] == (0, 0, len(variants())) and seen[-1] == (len(variants()), 2, len(variants()))


def test_chunks_depend_on_the_number_of_variants_only():
    from model.batch.run import chunk_size, chunks

    assert [chunk_size(n) for n in (1, 12, 16, 17, 40, 128, 200, 1000)] == [1, 1, 1, 2, 3, 8, 8, 8]
    parts = chunks([Variant(f"v{i}") for i in range(40)])
    assert [len(part) for part in parts] == [3] * 13 + [1]
