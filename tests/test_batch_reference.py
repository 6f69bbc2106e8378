"""Every chunk of a batch starts from the reference basis: the workbook as it is, solved once per worker.

model/batch/reuse.py: the first variant of a chunk gets a new HiGHS instance
with exactly its numbers and, where its model has the workbook's structure
and shape, the workbook's own optimal basis, so that it starts near its
optimum but in the same way on every worker.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from model.batch import Variant
from model.batch.reuse import ModelCache
from model.batch.run import _CACHES, run_chunk
from model.batch.variants import variant_data
from model.bench.scenarios import first_year_only
from model.scenarios import Change
from model.workbook.read import read_workbook
from tests.helpers import write_case
from tests.test_scenarios import SCENARIO_HEADERS, base_sheets

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"


def _hand_case(tmp_path, consumer: str = "US"):
    sheets = base_sheets()
    sheets["demand"] = [[consumer, "oxide", 50, 1e4]]
    sheets["exposure_caps"] = [["US", "*", "any", 0.6]]
    sheets["scenarios"], sheets["changes"] = [], []
    return read_workbook(write_case(tmp_path / "case.xlsx", sheets, SCENARIO_HEADERS))


def _rows(summaries):
    return [
        {k: v for k, v in dataclasses.asdict(row).items() if k not in ("seconds", "solver_seconds", "rebuilt")}
        for row in summaries
    ]


def test_the_reference_basis_is_optimal_for_the_workbook_and_is_where_a_chunk_starts():
    """On the one-year base case (an LP of about 3,000 columns): the workbook re-solved from the reference
    needs no simplex iteration (the basis is its optimum), from nothing it needs hundreds; a variant of it
    starts from the reference and reaches the objective of a cold start."""
    raw = first_year_only(read_workbook(BASE_CASE))
    data = variant_data(raw, Variant("reference"))
    cold = ModelCache()
    cold.prepare(data, restart=True)
    cold.loaded.backend.run()
    assert cold.loaded.backend.optimal and cold.loaded.backend.simplex_iterations() > 100

    warm = ModelCache()
    warm.set_reference(data)
    assert warm.reference is not None
    warm.prepare(data, restart=True)  # a new HiGHS instance, given the reference basis
    warm.loaded.backend.run()
    assert warm.loaded.backend.optimal and warm.loaded.backend.simplex_iterations() == 0
    assert warm.loaded.backend.objective() == cold.loaded.backend.objective()

    dearer = variant_data(
        raw, Variant("dearer", changes=(Change("facility_processes", "unit_cost", "scale", 1.1, None),))
    )
    for cache in (cold, warm):
        cache.prepare(dearer, restart=True)
        cache.loaded.backend.run()
    assert warm.loaded.backend.simplex_iterations() < cold.loaded.backend.simplex_iterations()
    assert (
        abs(warm.loaded.backend.objective() - cold.loaded.backend.objective()) <= 1e-9 * cold.loaded.backend.objective()
    )


def test_a_worker_that_held_another_structure_starts_a_chunk_from_the_reference_too():
    """One-year base case: a worker that built the model with exposure caps (another structure) and then gets a
    chunk of the workbook's structure builds it again; that variant must start from the reference as on a
    fresh worker (where the held model is only re-numbered): the same simplex iterations, the same values."""
    raw = first_year_only(read_workbook(BASE_CASE))
    data = variant_data(raw, Variant("reference"))
    capped = variant_data(raw, Variant("capped", exposure_cap=0.5))
    dearer = variant_data(
        raw, Variant("dearer", changes=(Change("facility_processes", "unit_cost", "scale", 1.1, None),))
    )
    fresh, worn = ModelCache(), ModelCache()
    for cache in (fresh, worn):
        cache.set_reference(data)
    assert worn.prepare(capped, restart=True)[1] is True  # cap rows: another structure, built
    assert fresh.prepare(dearer, restart=True)[1] is False  # re-numbered, from the reference
    assert worn.prepare(dearer, restart=True)[1] is True  # built again
    for cache in (fresh, worn):
        cache.loaded.backend.run()
    assert worn.loaded.backend.simplex_iterations() == fresh.loaded.backend.simplex_iterations()
    assert (worn.loaded.backend.values() == fresh.loaded.backend.values()).all()


def test_a_chunk_starts_the_same_way_after_a_structural_change_on_the_same_worker(tmp_path):
    """A worker that rebuilt the model for a quota (another structure) and back gives a later chunk exactly
    the results of a fresh worker: the reference is chosen by the variant's structure, not the worker's past."""
    raw = _hand_case(tmp_path)
    quota = Variant("quota", changes=(Change("lanes", "max_flow", "set", 20, "from=AU;to=US;product=ore"),))
    later = [
        Variant("dear", changes=(Change("facility_processes", "unit_cost", "scale", 1.5, "facility=cn_sep"),)),
        Variant("more", changes=(Change("demand", "quantity", "scale", 1.4, None),)),
    ]
    alone = run_chunk(raw, later, token="alone")
    run_chunk(raw, [quota], token="shared")
    after = run_chunk(raw, later, token="shared")
    assert _rows(after) == _rows(alone)
    # dear: CN separation 7.5 USD/t; the 60 % cap leaves 30 t from CN at 10 + 7.5 + 1 and 20 t from AU at 50
    assert alone[0].objective == 30 * 18.5 + 20 * 50


def test_a_workbook_invalid_as_it_is_gives_no_reference_and_its_variants_still_run(tmp_path):
    """A demand row naming a country the workbook lacks (an input error in the workbook as it is) that the
    variant corrects: no reference basis, the chunk starts from nothing, and the variant solves (the 60 %
    cap: 30 t from CN at 16 USD/t, 20 t from AU at 50)."""
    raw = _hand_case(tmp_path, consumer="USA")
    fixed = Variant("fixed", changes=(Change("demand", "country", "set", "US", None),))
    rows = run_chunk(raw, [fixed], token="invalid")
    assert rows[0].ok and rows[0].objective == 30 * 16 + 20 * 50

    assert _CACHES["invalid"].reference_tried and _CACHES["invalid"].reference is None
