"""least-exposure's dot products and face tolerances, computed on plain arrays, agree with exact and sparse sums."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse

from model.solver.least_exposure import (
    FACE_TOLERANCE,
    KEEP_TOLERANCE,
    Optimum,
    _keep,
    _kept,
    dot,
    face_tolerances,
)


def test_dot_is_the_exact_sum_to_round_off():
    rng = np.random.default_rng(4)
    for size in (0, 1, 7, 1000, 30_000):
        a = rng.normal(size=size) * 10.0 ** rng.integers(-6, 9, size=size)
        b = rng.random(size) * 100
        assert dot(a, b) == pytest.approx(math.fsum(a * b), rel=1e-12, abs=1e-9 * float(np.abs(a * b).sum()) + 1e-300)


def test_keep_allows_a_relative_change_of_the_size_of_the_terms():
    objective = np.array([2.0, -3.0, 0.0])
    values = np.array([10.0, 5.0, 7.0])
    kept = _keep(objective, values)
    assert kept[1] == 5.0  # 20 - 15
    assert kept[2] == KEEP_TOLERANCE * 35.0  # |2|·10 + |-3|·5
    assert _kept([kept], values + np.array([0.0, 0.0, 1e6]))  # a column without cost moves freely
    assert not _kept([kept], values + np.array([1e-6, 0.0, 0.0]))  # 2e-6 of cost > 3.5e-7 allowed


def reference_face_tolerances(matrix, objective, duals):
    """face_tolerances as it was written with scipy's sparse operations (before it worked on the CSC arrays)."""
    cost = np.abs(objective)
    magnitude = abs(matrix).tocsc()
    column_scale = np.maximum(1.0, np.maximum(cost, magnitude.T @ np.abs(duals)))
    per_unit = magnitude.copy()
    columns = np.repeat(np.arange(magnitude.shape[1]), np.diff(magnitude.indptr))
    per_unit.data = cost[columns] / magnitude.data
    row_scale = np.maximum(1.0, np.asarray(per_unit.max(axis=1).todense()).ravel())
    return FACE_TOLERANCE * column_scale, FACE_TOLERANCE * row_scale


def test_face_tolerances_equal_the_sparse_computation():
    rng = np.random.default_rng(11)
    for trial in range(30):
        rows, columns = int(rng.integers(1, 40)), int(rng.integers(1, 60))
        matrix = scipy.sparse.random(rows, columns, density=float(rng.uniform(0.02, 0.5)), random_state=trial)
        matrix = matrix.tocsc()
        matrix.data = (matrix.data - 0.5) * 10.0 ** rng.integers(-3, 4, size=matrix.nnz)
        matrix.data[matrix.data == 0] = 1.0
        objective = rng.normal(size=columns) * 10.0 ** rng.integers(-2, 10, size=columns)
        duals = rng.normal(size=rows) * 10.0 ** rng.integers(-2, 10, size=rows)
        backend = SimpleNamespace(matrix=matrix, num_columns=columns, num_rows=rows)
        optimum = Optimum(np.zeros(columns), np.zeros(rows), np.zeros(columns), duals)
        ours = face_tolerances(backend, objective, optimum)
        theirs = reference_face_tolerances(matrix, objective, duals)
        assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1]), trial
