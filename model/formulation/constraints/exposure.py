"""Caps on the exposed share of each demand row."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.keys import CapKey, DemandKey
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed
from model.workbook.schema import ANY_STAGE


def cap_index(data: ModelData) -> dict[tuple[str, str], int]:
    """(country, product) -> demand index, for attaching caps to rows."""
    return {(d.country, d.product): i for i, d in enumerate(data.demands)}


def exposed(tag_stages: frozenset, stage: str) -> bool:
    """Does a delivery with this tag count against a cap on ``stage``?"""
    return bool(tag_stages) if stage == ANY_STAGE else stage in tag_stages


def define_exposure_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """exposure_cap_constraint[j, s, y]  (t/yr)  ↔ η_js ≤ 0:

        Σ_{t ∋ s} v_delivery[j, t] ≤ max_share_js × quantity_j        (stage s)
        Σ_{t ≠ ∅} v_delivery[j, t] ≤ max_share_j,any × quantity_j      (any)

    Relative to the demand quantity, so unmet demand never loosens a cap; a
    cap that cannot be met shows as unmet demand at its penalty.  A cap on a
    stage no deliverable tag contains, or a share of 1, creates no row (it
    always holds: exposed ≤ delivered ≤ quantity).
    Shadow price per percentage point = −η_js × 0.01 × quantity_j (USD/yr).
    """
    rows = cap_index(data)
    views = {year: data.at(year) for year in sets.years}
    caps = {
        CapKey(rows[c.country, c.product], c.stage, year): c.max_share
        for year, view in views.items()
        for c in view.exposure_caps
        if c.max_share < 1
    }
    by_row: dict[DemandKey, list[str]] = {}
    for key in caps:
        by_row.setdefault((key.demand, key.year), []).append(key.stage)
    terms = new_terms()
    for key, var in keyed(model, sets, "v_delivery"):
        for stage in by_row.get((key.demand, key.year), ()):
            if exposed(sets.tags[key.tag], stage):
                terms[(key.demand, stage, key.year)].append((1.0, var))
    keys = [key for key in caps if key in terms]
    limit = {key: caps[key] * views[key.year].demands[key.demand].quantity for key in keys}
    add_rows(model, "exposure_cap_constraint", keys, terms, None, limit, "Exposure cap (t/yr)")
