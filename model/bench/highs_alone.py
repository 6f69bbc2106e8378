"""The physical limit of a batch: the same variants' LPs re-solved by HiGHS alone (``highspy``, nothing else).

For each number-only variant the product's model cache computes the LP
numbers it would hand HiGHS (untimed); then a plain ``highspy.Highs`` (no
callbacks, output off, one thread, dual simplex as the product uses for
these sizes) solves the cost LP min c·x, Ax ∈ [r_l, r_u], x ∈ [l, u]:

* **warm**: one instance, each variant's changed costs, bounds and
  coefficients passed in (``changeColsCost``, ``changeColsBounds``,
  ``changeRowsBounds``, ``changeCoeff``) and re-solved from the last basis;
* **cold**: a new instance per variant given its whole LP (``passModel``).

Only the ``run()`` calls and the changes are timed.  This is what the issue's
"HiGHS alone re-solves the base case's LP with every cost changed about 190
times a second warm, 110 cold" measures; a product run does more solver work
than this (SPEC Part 1: with the cost at its optimum, the least-exposure
phases re-solve twice), so the rate of the cost LP alone is a ceiling no
product run can reach, and the product's own solver time (the ``solver``
column of the benchmark) is the other reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from model.batch.reuse import ModelCache
from model.batch.variants import Variant, variant_data
from model.errors import InputError
from model.solver.backend import new_highs
from model.workbook.read import RawWorkbook


@dataclass(frozen=True)
class LpNumbers:
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix: object  # scipy CSC, the loaded pattern


@dataclass(frozen=True)
class HighsAlone:
    """Seconds per variant of the cost LP, solved by HiGHS alone."""

    runs: int
    warm_seconds: float
    cold_seconds: float
    objective_gap: float  # largest relative difference from the product's phase-1 objective


def variant_lps(raw: RawWorkbook, variants: list[Variant]) -> tuple[list[LpNumbers], list[float]]:
    """Each valid variant's LP as the product's model cache hands it to HiGHS, and the product's objective."""
    from model.solver.solve import cost_optimal_lp

    cache = ModelCache(reuse=True)
    lps, objectives = [], []
    for variant in variants:
        try:
            data = variant_data(raw, variant)
        except InputError:
            continue
        cache.prepare(data, restart=True)
        backend = cache.loaded.backend
        lps.append(
            LpNumbers(
                backend.cost.copy(),
                backend.col_lower.copy(),
                backend.col_upper.copy(),
                backend.row_lower.copy(),
                backend.row_upper.copy(),
                backend.matrix.copy(),
            )
        )
        objectives.append(cost_optimal_lp(backend, None).objective)
    return lps, objectives


def _plain_highs() -> highspy.Highs:
    highs = new_highs()  # silent from the start, and without the product's interrupt callback
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("solver", "simplex")
    return highs


def _pass(highs: highspy.Highs, lp: LpNumbers) -> None:
    model = highspy.HighsLp()
    rows, cols = lp.matrix.shape
    model.num_col_, model.num_row_ = cols, rows
    model.col_cost_, model.col_lower_, model.col_upper_ = lp.cost, lp.col_lower, lp.col_upper
    model.row_lower_, model.row_upper_ = lp.row_lower, lp.row_upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = lp.matrix.indptr.astype(np.int32)
    model.a_matrix_.index_ = lp.matrix.indices.astype(np.int32)
    model.a_matrix_.value_ = lp.matrix.data.astype(float)
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = cols, rows
    highs.passModel(model)


def _change(highs: highspy.Highs, before: LpNumbers, after: LpNumbers) -> None:
    changed = np.flatnonzero(after.cost != before.cost)
    if len(changed):
        highs.changeColsCost(len(changed), changed.astype(np.int32), after.cost[changed])
    changed = np.flatnonzero((after.col_lower != before.col_lower) | (after.col_upper != before.col_upper))
    if len(changed):
        highs.changeColsBounds(
            len(changed), changed.astype(np.int32), after.col_lower[changed], after.col_upper[changed]
        )
    changed = np.flatnonzero((after.row_lower != before.row_lower) | (after.row_upper != before.row_upper))
    if len(changed):
        highs.changeRowsBounds(
            len(changed), changed.astype(np.int32), after.row_lower[changed], after.row_upper[changed]
        )
    changed = np.flatnonzero(after.matrix.data != before.matrix.data)
    if len(changed):
        columns = np.searchsorted(after.matrix.indptr, changed, side="right") - 1
        for row, column, value in zip(after.matrix.indices[changed], columns, after.matrix.data[changed], strict=True):
            highs.changeCoeff(int(row), int(column), float(value))


def highs_alone(raw: RawWorkbook, variants: list[Variant]) -> HighsAlone:
    """Time the variants' cost LPs in HiGHS alone, warm and cold (see the module docstring)."""
    lps, objectives = variant_lps(raw, variants)
    if not lps:
        return HighsAlone(0, float("nan"), float("nan"), float("nan"))
    gap = 0.0
    highs = _plain_highs()
    _pass(highs, lps[0])
    warm = 0.0
    previous = lps[0]
    for lp, objective in zip(lps, objectives, strict=True):
        started = time.perf_counter()
        _change(highs, previous, lp)
        highs.run()
        warm += time.perf_counter() - started
        previous = lp
        gap = max(gap, abs(highs.getInfo().objective_function_value - objective) / max(1.0, abs(objective)))
    cold = 0.0
    for lp, objective in zip(lps, objectives, strict=True):
        highs = _plain_highs()
        started = time.perf_counter()
        _pass(highs, lp)
        highs.run()
        cold += time.perf_counter() - started
        gap = max(gap, abs(highs.getInfo().objective_function_value - objective) / max(1.0, abs(objective)))
    return HighsAlone(len(lps), warm / len(lps), cold / len(lps), gap)
