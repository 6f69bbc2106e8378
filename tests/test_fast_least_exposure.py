"""least-exposure's dot products are computed on the calling thread and agree with exact sums."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.solver.least_exposure import KEEP_TOLERANCE, _keep, _kept, dot


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
