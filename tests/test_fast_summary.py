"""A batch's summary computed directly is the summary taken from the results tables.

:func:`model.batch.variants.summarise` adds the same quantities in the
same order as the results tables, with compensation as pandas' sums
(:func:`summarise_from_tables`); the two must have the same keys in the
same order, the same texts and sums equal to 1e-12 relative, on
the batch hand case under many caps and changes (binding caps with shadow
prices, unmet demand) and on scenarios of the 11-year base case (projects
divisible: LPs).
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pandas as pd
import pytest

from model.batch.reuse import ModelCache
from model.batch.variants import Variant, kahan_sums, summarise, summarise_from_tables, variant_data
from model.scenarios import Change, apply_changes
from model.workbook.read import read_workbook
from tests.test_batch import NUMBERS, raw  # noqa: F401 (the hand case's fixture)

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"


def assert_same_summaries(raw_workbook, batch: list[Variant]) -> list:
    """Every variant's summary, checked against the one from the tables."""
    cache = ModelCache(reuse=True)
    compared = []
    for number, variant in enumerate(batch):
        data = variant_data(raw_workbook, variant)
        sets, solution, result, _, _ = cache.solve(data, restart=number == 0)
        ours = summarise(variant.name, data, sets, solution, result.objective, result.status, "note")
        theirs = summarise_from_tables(variant.name, data, sets, solution, result.objective, result.status, "note")
        mine, expected = dataclasses.asdict(ours), dataclasses.asdict(theirs)
        for field in ("exposure_any", "shadow_price_by_stage", "facility_activity", "facility_utilisation"):
            assert list(mine[field]) == list(expected[field]), (variant, field)  # the same keys in the same order
            assert mine.pop(field) == pytest.approx(expected.pop(field), rel=1e-12, abs=1e-300), (variant, field)
        assert mine == expected, variant
        compared.append(ours)
    return compared


def test_on_the_hand_case_under_caps_and_changes(raw):  # noqa: F811
    draw = random.Random(3)
    batch = [Variant("base")]
    for number in range(40):
        changes = []
        for _ in range(draw.randint(1, 3)):
            sheet, column, operation, match, names = draw.choice(NUMBERS)
            value = {"set": draw.choice([0.0, 0.1, 0.35, 0.6]), "scale": draw.choice([0.3, 0.8, 1.7])}.get(
                operation, draw.choice([0.5, 4.0])
            )
            changes.append(Change(sheet, column, operation, value, match.format(draw.choice(names))))
        cap = draw.choice([None, 0.0, 0.2, 0.5])
        batch.append(Variant(f"v{number}", changes=tuple(changes), exposure_cap=cap))
    batch.append(Variant("ban", scenario="ban"))
    summaries = assert_same_summaries(raw, batch)
    assert len(summaries) == len(batch)
    assert any(row.shadow_price_per_pp > 0 for row in summaries)  # binding caps with a price were compared
    assert any(row.unmet_total > 0 for row in summaries)
    assert any(0 < share < 1 for row in summaries for share in row.exposure_any.values())


def test_on_base_case_scenarios():
    base = read_workbook(BASE_CASE)
    base = apply_changes(base, [Change("projects", "all_or_nothing", "set", "no", None)])
    batch = [
        Variant("base"),
        Variant("ban", scenario="april2025_ban"),
        Variant("capped", exposure_cap=0.5),
        Variant("dear", changes=(Change("facility_processes", "unit_cost", "scale", 1.1, None),)),
    ]
    summaries = assert_same_summaries(base, batch)
    assert [row.name for row in summaries] == [variant.name for variant in batch]
    assert summaries[2].binding_caps  # the 50 % cap binds somewhere


def test_kahan_sums_are_pandas_group_sums():
    draw = random.Random(5)
    keys = [draw.choice("abcde") for _ in range(2000)]
    values = [draw.choice([1e-9, 0.1, 1.0, 3.3e7, -2.5, 1e16, float("nan")]) * draw.random() for _ in keys]
    expected = pd.DataFrame({"key": keys, "value": values}).groupby("key", sort=False)["value"].sum()
    ours = kahan_sums(keys, values)
    assert list(ours) == list(expected.index)
    assert [ours[k] for k in expected.index] == pytest.approx(expected.tolist(), rel=1e-12)
