"""Linear expressions built from pre-grouped (coefficient, variable) terms.

Constraint rules never scan variables: the terms of every row are grouped in
one pass over each variable family, then handed to Pyomo as a
``LinearExpression`` built directly from monomials.

In the hot loops the terms are grouped under plain tuples written in the
field order of the row family's named key (``(country, product, tag, year)``
for a :class:`~model.formulation.keys.NodeKey`): a NamedTuple hashes and
compares as the tuple of its fields, so the rows, created from the named
keys, find them; constructing a NamedTuple per term would cost a Python call
each (measured: 0.7 million calls, a quarter of the build at 110k columns).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator

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
    Rows are indexed by position in ``keys`` (like the variables: no Pyomo
    set of tuples); :func:`keyed_rows` pairs them with their keys again.
    """

    def bound(value, key):
        return value.get(key) if isinstance(value, dict) else value

    def rule(_, position):
        key = keys[position]
        return (bound(lower, key), linear(terms.get(key, ())), bound(upper, key))

    setattr(model, name, pyo.Constraint(range(len(keys)), rule=rule, doc=doc))
    if not hasattr(model, "row_keys"):
        model.row_keys = {}
    model.row_keys[name] = keys


def row_keys(model: pyo.ConcreteModel, name: str) -> list:
    """The named keys of a row family, in index order (empty when the family has no rows)."""
    return getattr(model, "row_keys", {}).get(name, [])


def keyed_rows(model: pyo.ConcreteModel, name: str) -> Iterator[tuple[tuple, pyo.Constraint]]:
    """(key, row) pairs of one row family, in index order."""
    component = getattr(model, name, None)
    if component is None:
        return iter(())
    return zip(row_keys(model, name), component.values(), strict=True)
