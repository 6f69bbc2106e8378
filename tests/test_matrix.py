"""The Pyomo build and the direct sparse-matrix build are the same LP."""

from __future__ import annotations

import pytest

from model.bench.matrix import build_matrix, solve_matrix
from model.bench.synthetic import Size, synthetic_data
from model.formulation.build import build_model
from model.formulation.sets import build_sets
from model.pipeline import load_data, solve_data
from model.solver.handoff import standard_form
from tests.test_reference_cases import BASE_CASE


@pytest.mark.parametrize(
    "data",
    [
        synthetic_data(Size(countries=8, stages=3, products_per_stage=3, facilities_per_stage=10, seed=3)),
        synthetic_data(Size(countries=5, stages=4, products_per_stage=2, facilities_per_stage=6, exposure_cap=0.0)),
        load_data(BASE_CASE),
        load_data(BASE_CASE, exposure_cap=0.2),
    ],
    ids=["synthetic", "synthetic-cap0", "base", "base-cap20"],
)
def test_same_size_and_objective(data):
    sets = build_sets(data)
    model = build_model(data, sets)
    form = standard_form(model)
    lp = build_matrix(data, sets)
    assert form.matrix.shape == lp.shape
    assert form.matrix.nnz == len(lp.values)
    objective, _, _ = solve_matrix(lp)
    assert solve_data(data).objective == pytest.approx(objective, rel=1e-9)
