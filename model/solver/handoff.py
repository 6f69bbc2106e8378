"""Pyomo model → the sparse arrays HiGHS takes, in memory (no LP file).

The linear standard form (mixed form: each row keeps its sense) gives the
matrix, right-hand sides and objective; this module adds the variable
bounds and turns rows into HiGHS' lower/upper form.

Columns come in the order of the formulation's variable families
(:data:`model.formulation.variables.KEYS`), each in index order, where the
model has them (the compiler's own order is that in which variables first
occur in the rows): the order of the NumPy build of the same LP
(:mod:`model.bench.matrix`), so HiGHS gets the same LP *in the same order*
on either route and does the same work.  HiGHS' path depends on the column
order: on the 11-year synthetic xs case (59,505 columns) dual simplex took
20,679 iterations on the compiler's order and 18,926 on this one.

The model's rows are read straight from their linear expressions where
the model is made only of what :mod:`model.formulation` builds
(:func:`read_linear`: 3x faster than the compiler's general expression
walk); any other model goes through the compiler.  Reading values and
duals back is by column position (:mod:`model.extract`), not through
Pyomo's solution loaders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from model.formulation.variables import KEYS


@dataclass
class StandardForm:
    """min cost·x + offset  s.t.  row_lower ≤ A x ≤ row_upper, col_lower ≤ x ≤ col_upper."""

    cost: np.ndarray
    offset: float
    matrix: object  # scipy.sparse.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    columns: list  # VarData per column
    rows: list  # ConstraintData per row


def column_order(model: pyo.ConcreteModel) -> list:
    """The model's variable families named in :data:`model.formulation.variables.KEYS`, in that order.

    Other variables (models not built by :mod:`model.formulation`) follow
    in the order the compiler meets them.
    """
    return [component for name in KEYS if (component := model.component(name)) is not None]


def standard_form(model: pyo.ConcreteModel) -> StandardForm:
    """The LP of ``model`` as arrays (mixed form), columns by :func:`column_order`.

    Read directly from the rows' linear expressions where the model is made
    only of what :mod:`model.formulation` builds (:func:`read_linear`),
    else through Pyomo's standard-form compiler (:func:`compile_form`):
    the same arrays either way.  Columns without an entry or a cost are
    dropped; the order of the others is that of :func:`column_order`.
    """
    with PauseGC():  # as the compiler does: the collector would scan the whole model again and again
        form = read_linear(model)
    return form if form is not None else compile_form(model)


def compile_form(model: pyo.ConcreteModel) -> StandardForm:
    """The LP of ``model`` through Pyomo's standard-form compiler (mixed form), columns by :func:`column_order`."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    form = LinearStandardFormCompiler().write(
        model, mixed_form=True, set_sense=pyo.minimize, column_order=column_order(model) or None
    )
    columns = form.columns
    sense = np.array([multiplier for _, multiplier in form.rows], dtype=int)
    rhs = np.asarray(form.rhs, dtype=float)
    col_lower, col_upper = _bounds(columns)
    return StandardForm(
        cost=np.asarray(form.c.toarray()).ravel() if form.c.shape[0] else np.zeros(len(columns)),
        offset=float(form.c_offset[0]) if len(form.c_offset) else 0.0,
        matrix=form.A.tocsc(),
        row_lower=np.where(sense <= 0, rhs, -np.inf),
        row_upper=np.where(sense >= 0, rhs, np.inf),
        col_lower=col_lower,
        col_upper=col_upper,
        columns=list(columns),
        rows=[constraint for constraint, _ in form.rows],
    )


def _bounds(columns: list) -> tuple[np.ndarray, np.ndarray]:
    """Each variable's (lower, upper) bounds, ±inf where it has none (``bounds``: one domain look-up for both)."""
    pairs = [var.bounds for var in columns]
    lower = np.array([-np.inf if low is None else low for low, _ in pairs], dtype=float)
    upper = np.array([np.inf if high is None else high for _, high in pairs], dtype=float)
    return lower, upper


NUMBERS = (int, float, np.float64)  # coefficient and bound types read as they are; anything else goes to the compiler


def read_linear(model: pyo.ConcreteModel) -> StandardForm | None:
    """The compiler's standard form, read straight from the model's rows; None where only the compiler will do.

    Every row :mod:`model.formulation` builds is ``lower ≤ LinearExpression ≤
    upper`` with the expression made of monomials c·x (numeric c), and its
    objective one such expression: the rows' entries are those monomials, as
    they are.  This reads them in one pass, as the compiler's output would
    have them: rows in declaration order (a row with lower = upper an
    equality), a variable twice in a row summed, zero entries dropped, rows
    left without an entry dropped,
    columns in :func:`column_order` with those that have no entry and no
    cost dropped, the objective negated if it maximises.  It skips the
    compiler's general expression walk: 0.12 s against 0.35 s of processor
    time on the 11-year synthetic xs case (180,156 entries).

    None — use the compiler — when the model has anything else: a component
    other than a variable, row or objective (a block, a parameter, ...),
    variables outside the formulation's families, a fixed variable, a
    ranged row (the compiler writes two), a row without bounds, a row
    without entries that 0 does not satisfy (the compiler refuses it; one
    that 0 satisfies is dropped, as the compiler drops it), another expression type or coefficient type, not
    exactly one active objective.  ``tests/test_years_handoff.py`` checks
    that both routes give the same arrays, and that these models fall back.
    """
    from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression
    from scipy.sparse import csr_array

    families = column_order(model)
    if not families:
        return None
    if any(c.ctype not in (pyo.Var, pyo.Constraint, pyo.Objective) for c in model.component_objects(descend_into=True)):
        return None
    if len(list(model.component_objects(pyo.Var, descend_into=True))) != len(families):
        return None
    variables = [var for family in families for var in family.values()]
    if any(var.fixed for var in variables):
        return None
    position = {id(var): i for i, var in enumerate(variables)}
    n_cols = len(variables)

    monomial_class, numbers = MonomialTermExpression, set(NUMBERS)

    def entries(expression) -> tuple[list[int], list[float]] | None:
        """(columns, coefficients) of Σ c·x, or None when the expression is anything else."""
        if expression.__class__ is not LinearExpression:
            return None
        pairs = [monomial._args_ for monomial in expression.args if monomial.__class__ is monomial_class]
        if len(pairs) != len(expression.args):
            return None
        try:
            index = [position[id(var)] for _, var in pairs]
        except KeyError:
            return None
        data = [coefficient for coefficient, _ in pairs]
        if not numbers.issuperset(map(type, data)):
            return None
        return index, data

    objectives = list(model.component_data_objects(pyo.Objective, active=True))
    if len(objectives) != 1:
        return None
    found = entries(objectives[0].expr)
    if found is None:
        return None
    sign = 1.0 if objectives[0].sense == pyo.minimize else -1.0
    cost = np.zeros(n_cols)
    np.add.at(cost, np.asarray(found[0], dtype=np.int64), sign * np.asarray(found[1], dtype=float))

    rows, lower, upper, index, data, starts = [], [], [], [], [], [0]
    for row in model.component_data_objects(pyo.Constraint, active=True):
        low, body, high = row.to_bounded_expression()
        if (low is None and high is None) or (low is not None and high is not None and low != high):
            return None
        if (low is not None and low.__class__ not in NUMBERS) or (high is not None and high.__class__ not in NUMBERS):
            return None
        found = entries(body)
        if found is None:
            return None
        index += found[0]
        data += found[1]
        starts.append(len(index))
        rows.append(row)
        lower.append(-np.inf if low is None else low)
        upper.append(np.inf if high is None else high)
    matrix = csr_array(
        (np.asarray(data, dtype=float), np.asarray(index, dtype=np.int32), np.asarray(starts, dtype=np.int64)),
        shape=(len(rows), n_cols),
    ).tocsc()
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    filled = np.bincount(matrix.indices, minlength=len(rows)) > 0
    if not filled.all():  # rows left without an entry: 0 must satisfy them, and the compiler drops them
        if ((lower[~filled] > 0) | (upper[~filled] < 0)).any():
            return None  # the compiler's error names the row
        matrix, lower, upper = matrix[filled], lower[filled], upper[filled]
        rows = [row for row, keep in zip(rows, filled, strict=True) if keep]
    used = (np.diff(matrix.indptr) > 0) | (cost != 0)
    if not used.all():
        matrix = matrix[:, used]
        variables = [var for var, keep in zip(variables, used, strict=True) if keep]
        cost = cost[used]
    col_lower, col_upper = _bounds(variables)
    return StandardForm(
        cost=cost,
        offset=0.0,
        matrix=matrix,
        row_lower=lower,
        row_upper=upper,
        col_lower=col_lower,
        col_upper=col_upper,
        columns=variables,
        rows=rows,
    )


def integer_columns(form: StandardForm) -> np.ndarray:
    """Positions of the columns whose Pyomo domain is integral (Binary, Integers, ...); empty for an LP.

    About 0.25 µs a column (0.6 s at 2.5M columns), next to a hand-off of
    about 57 s there.
    """
    return np.flatnonzero([var.is_integer() for var in form.columns]).astype(np.int32)
