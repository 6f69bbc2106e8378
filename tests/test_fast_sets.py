"""A batch skips building the index sets only where build_sets would give the same sets.

:func:`model.formulation.sets.sets_inputs` is what :func:`build_sets`
reads from the data.  Every column of every sheet of the hand case and of
the base case is changed (numbers scaled, zeroed, added to; yes/no
flipped; names swapped for another row's), one row or every row at a
time: wherever a variant's ``sets_inputs`` equal the unchanged case's,
its sets must be equal too (trades with their costs, min_flows, warnings
included).  Then a batch on the held model keeps the sets for numbers,
builds them for a lane change, rebuilds the model for a quota, and every
objective equals a fresh build's.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from model.batch.reuse import ModelCache
from model.batch.variants import Variant, variant_data
from model.errors import InputError
from model.formulation.sets import ModelSets, build_sets, sets_inputs
from model.pipeline import solve_data
from model.scenarios import Change
from model.scenarios.changes import SCENARIO_SHEETS
from model.workbook.read import read_workbook
from model.workbook.schema import SHEETS
from tests.test_batch import raw  # noqa: F401 (the hand case's fixture)

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"


def comparable(sets: ModelSets) -> dict:
    return {f.name: getattr(sets, f.name) for f in dataclasses.fields(sets) if not f.name.startswith("_")}


def changes_of_every_column(raw_workbook) -> list[Change]:
    """Changes of every column of every sheet the workbook has, on its first row and on every row."""
    out = []
    for sheet, rows in raw_workbook.records.items():
        if sheet in SCENARIO_SHEETS or sheet not in SHEETS or not rows or sheet in ("settings", "years"):
            continue
        spec = SHEETS[sheet]
        keys = [c for c in spec.columns if c.kind == "key" and rows[0].get(c.name) not in (None, "", "*")]
        first = ";".join(f"{c.name}={rows[0][c.name]}" for c in keys[:3]) or None
        for column in spec.columns:
            if column.kind == "number":
                operations = [("scale", 0.0), ("scale", 0.5), ("scale", 2.0), ("add", 1.0), ("set", 0.0)]
            elif column.kind == "yesno":
                operations = [("set", "yes"), ("set", "no")]
            else:
                names = sorted({str(r[column.name]) for r in rows if r.get(column.name) not in (None, "")})
                operations = [("set", name) for name in names[-2:]]
            for operation, value in operations:
                for match in (first, None):
                    out.append(Change(sheet, column.name, operation, value, match))
    return out


def assert_equal_inputs_mean_equal_sets(raw_workbook, changes: list[Change]) -> tuple[int, int]:
    base = variant_data(raw_workbook, Variant("base"))
    base_inputs, base_sets = sets_inputs(base), comparable(build_sets(base))
    same = different = 0
    for change in changes:
        try:
            data = variant_data(raw_workbook, Variant("v", changes=(change,)))
        except InputError:
            continue
        sets = comparable(build_sets(data))
        if sets_inputs(data) == base_inputs:
            same += 1
            assert sets == base_sets, change
        else:
            different += 1
        if sets != base_sets:
            assert sets_inputs(data) != base_inputs, change
    return same, different


def test_every_column_of_the_hand_case(raw):  # noqa: F811
    same, different = assert_equal_inputs_mean_equal_sets(raw, changes_of_every_column(raw))
    assert same >= 10 and different >= 10  # both sides were tried


def test_every_column_of_the_base_case():
    base = read_workbook(BASE_CASE)
    changes = changes_of_every_column(base)
    sample = random.Random(2).sample(changes, min(len(changes), 120))
    same, different = assert_equal_inputs_mean_equal_sets(base, sample)
    assert same >= 5 and different >= 5


def test_a_batch_keeps_the_sets_for_numbers_and_builds_them_for_structure(raw):  # noqa: F811
    cache = ModelCache(reuse=True)
    batch = [
        ("base", (), "built"),
        ("cheaper", (Change("facility_processes", "unit_cost", "scale", 0.7, "facility=cn_sep"),), "kept"),
        ("more demand", (Change("demand", "quantity", "scale", 1.4, None),), "kept"),
        ("tariff", (Change("lanes", "tariff", "add", 0.2, "from=AU"),), "sets built, model re-solved"),
        ("quota", (Change("lanes", "max_flow", "set", 20, "from=AU;to=US;product=ore"),), "model rebuilt"),
        (
            "quota, cheaper",
            (
                Change("lanes", "max_flow", "set", 20, "from=AU;to=US;product=ore"),
                Change("facilities", "capacity", "scale", 1.5, None),
            ),
            "kept",
        ),
        ("plain again", (), "model rebuilt"),
    ]
    for number, (name, changes, expected) in enumerate(batch):
        kept, builds = cache.sets_kept, cache.builds
        data = variant_data(raw, Variant(name, changes=changes))
        sets, _, result, built, _ = cache.solve(data, restart=number == 0)
        fresh = solve_data(variant_data(raw, Variant(name, changes=changes)))
        assert result.objective == pytest.approx(fresh.objective, rel=1e-9, abs=1e-6), name
        assert comparable(sets) == comparable(fresh.sets), name
        happened = (
            "built"
            if number == 0
            else "kept"
            if cache.sets_kept > kept
            else "model rebuilt"
            if cache.builds > builds
            else "sets built, model re-solved"
        )
        assert happened == expected, name
        assert built == (happened in ("built", "model rebuilt")), name
