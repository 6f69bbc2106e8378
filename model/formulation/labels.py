"""Readable names of every column and row of a built model, from their named keys.

``labels(model, sets)`` maps id(VarData) and id(ConstraintData) to
``family[field=value, ...]`` (for messages) and to LP-file names (for
``--write-lp``), so that what the solver sees can be read against the
workbook.
"""

from __future__ import annotations

import pyomo.environ as pyo

from model.formulation.keys import label, lp_name
from model.formulation.sets import ModelSets
from model.formulation.terms import keyed_rows
from model.formulation.variables import KEYS, keyed


def column_keys(model: pyo.ConcreteModel, sets: ModelSets) -> dict[int, tuple[str, tuple]]:
    """id(VarData) -> (family, key)."""
    return {id(var): (family, key) for family in KEYS for key, var in keyed(model, sets, family)}


def row_keys(model: pyo.ConcreteModel) -> dict[int, tuple[str, tuple]]:
    """id(ConstraintData) -> (family, key)."""
    families = getattr(model, "row_keys", {})
    return {id(row): (family, key) for family in families for key, row in keyed_rows(model, family)}


def readable(entries: dict[int, tuple[str, tuple]]) -> dict[int, str]:
    """``family[field=value, ...]`` per id."""
    return {ident: label(family, key) for ident, (family, key) in entries.items()}


def lp_names(entries: dict[int, tuple[str, tuple]], order: list) -> list[str]:
    """Unique LP-file names for the components in ``order`` (a repeat after cleaning gets ``#n``)."""
    seen: dict[str, int] = {}
    names = []
    for component in order:
        family, key = entries[id(component)]
        name = lp_name(family, key)
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else f"{name}#{count}")
    return names
