"""SolutionReader (a built model's solutions read again and again) gives exactly extract_solution's tables."""

from __future__ import annotations

import pandas as pd

from model.batch.reuse import ModelCache
from model.batch.variants import Variant, variant_data
from model.results.extract import FLOW_FAMILIES, Solution, SolutionReader, extract_solution
from model.scenarios import Change
from tests.test_batch import raw  # noqa: F401 (the hand case's fixture)


def assert_same_solution(ours: Solution, theirs: Solution) -> None:
    for name in FLOW_FAMILIES:
        pd.testing.assert_frame_equal(getattr(ours, name), getattr(theirs, name), check_exact=True)
    assert ours.duals == theirs.duals
    assert [list(d) for d in ours.duals.values()] == [list(d) for d in theirs.duals.values()]


def test_reads_of_re_solves_and_of_a_rebuilt_model_equal_extract_solution(raw):  # noqa: F811
    cache = ModelCache(reuse=True)
    variants = [
        Variant("base"),
        Variant("dear", changes=(Change("facility_processes", "unit_cost", "scale", 1.5, "facility=cn_sep"),)),
        Variant("quota", changes=(Change("lanes", "max_flow", "set", 20, "from=AU;to=US;product=ore"),)),  # rebuilt
        Variant("short", changes=(Change("facilities", "capacity", "scale", 0.3, None),)),
        Variant("capped", exposure_cap=0.2),
    ]
    readers = set()
    built = []
    for number, variant in enumerate(variants):
        data = variant_data(raw, variant)
        sets, solution, result, rebuilt, _ = cache.solve(data, restart=number == 0)
        built.append(rebuilt)
        readers.add(id(cache.loaded.reader))
        assert_same_solution(solution, extract_solution(cache.loaded.model, sets, result))
        solution.activity.loc[:, "facility"] = "changed"  # the caller's frames are its own: the next read is not
        solution.delivery["value"] = -1.0
    assert built == [True, False, True, True, False]
    assert len(readers) == 3  # a new reader with each build


def test_a_reader_given_other_keys_works_them_out_again(raw):  # noqa: F811
    cache = ModelCache(reuse=True)
    data = variant_data(raw, Variant("base"))
    sets, solution, result, _, _ = cache.solve(data, restart=True)
    reader = SolutionReader(cache.loaded.model)
    first = reader.read(sets, result)
    shuffled = type(sets)(**{**sets.__dict__, "shipment": list(reversed(sets.shipment))})
    again = reader.read(shuffled, result)
    assert list(again.shipment["origin"]) == [key.origin for key in reversed(sets.shipment)]
    assert_same_solution(first, extract_solution(cache.loaded.model, sets, result))
