"""Linear expressions built from pre-grouped (coefficient, variable) terms.

Constraint rules never scan variables: the terms of every row are grouped in
one pass over each variable family, then handed to Pyomo as a
``LinearExpression`` built directly from monomials.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

Terms = dict[Hashable, list[tuple[float, object]]]


def new_terms() -> Terms:
    return defaultdict(list)


def linear(terms: Iterable[tuple[float, object]]) -> LinearExpression:
    """Σ coefficient × variable as one Pyomo linear expression."""
    # The (coefficient, variable) tuples are a monomial's arguments as they
    # are: mapping the class over them is 2x faster than unpacking each.
    return LinearExpression(list(map(MonomialTermExpression, terms)))


def add_rows(
    model: pyo.ConcreteModel,
    name: str,
    keys: list,
    terms: Terms,
    lower: dict | float | None,
    upper: dict | float | None,
    doc: str,
) -> None:
    """Add ``lower[k] ≤ Σ terms[k] ≤ upper[k]`` for each key as ``model.<name>``.

    ``lower``/``upper`` are a dict per key, one number for all, or None.
    """

    def bound(value, key):
        return value.get(key) if isinstance(value, dict) else value

    def rule(_, *key):
        key = key[0] if len(key) == 1 else key
        return (bound(lower, key), linear(terms.get(key, ())), bound(upper, key))

    setattr(model, name, pyo.Constraint(keys, rule=rule, doc=doc))
