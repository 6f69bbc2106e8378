"""Named keys of every variable and constraint family.

Each family of the LP is indexed by a list of keys (see
:class:`model.formulation.sets.ModelSets`); a key is a ``NamedTuple`` so code
reads ``key.facility``, never ``key[0]``, and adding an index (a scenario)
is one edit here.  NamedTuples hash and compare as plain tuples, so they
serve as dictionary keys and as rows of a DataFrame (whose columns are the
field names).

``year`` is the model year (Part 2 of SPEC.md); a single-year case has one
year, :data:`model.data.SINGLE_YEAR` unless the ``year`` setting gives one.
``demand`` is the position of the demand row in ``ModelData.demands``;
``tag`` is a tag label (:func:`model.formulation.sets.tag_label`).
"""

from __future__ import annotations

import re
from typing import NamedTuple


class ActivityKey(NamedTuple):
    """v_activity: activity units/yr of ``process`` at ``facility`` drawing inputs tagged ``tag``."""

    facility: str
    process: str
    tag: str
    year: int


class ShipmentKey(NamedTuple):
    """v_shipment: t/yr of ``product`` tagged ``tag`` shipped from ``origin`` to ``destination``."""

    origin: str
    destination: str
    product: str
    tag: str
    year: int


class RelabelKey(NamedTuple):
    """v_relabel: t/yr of ``product`` in ``country`` counted as ``to_tag`` ⊃ ``from_tag``."""

    country: str
    product: str
    from_tag: str
    to_tag: str
    year: int


class DeliveryKey(NamedTuple):
    """v_delivery: t/yr delivered to demand row ``demand`` with tag ``tag``."""

    demand: int
    tag: str
    year: int


class DemandKey(NamedTuple):
    """v_unmet_demand and demand_constraint: one demand row in one year."""

    demand: int
    year: int


class NodeKey(NamedTuple):
    """v_surplus, balance_constraint and no_reexport_constraint: ``product`` tagged ``tag`` in ``country``."""

    country: str
    product: str
    tag: str
    year: int


class FacilityKey(NamedTuple):
    """v_expansion and capacity_constraint: one facility in one year."""

    facility: str
    year: int


class TradeKey(NamedTuple):
    """quota_constraint: the trade ``origin`` → ``destination`` of ``product``."""

    origin: str
    destination: str
    product: str
    year: int


class CapKey(NamedTuple):
    """exposure_cap_constraint: the cap on demand row ``demand`` at ``stage`` (or ``any``)."""

    demand: int
    stage: str
    year: int


def label(family: str, key: tuple) -> str:
    """A readable name of one variable or row: ``capacity_constraint[facility=Lynas Kalgoorlie, year=2025]``."""
    fields = getattr(key, "_fields", None)
    if fields is None:
        return f"{family}[{key}]"
    return f"{family}[" + ", ".join(f"{name}={value}" for name, value in zip(fields, key, strict=True)) + "]"


class BuildKey(NamedTuple):
    """v_build: share of ``project`` coming online in ``year`` (binary when all-or-nothing)."""

    project: str
    year: int


class StockKey(NamedTuple):
    """v_stock: t of ``product`` tagged ``tag`` held in ``country`` at the end of ``year``."""

    country: str
    product: str
    tag: str
    year: int


class StockpileKey(NamedTuple):
    """v_cover_shortfall, cover_constraint and stock_max_constraint: one stockpile in one year."""

    country: str
    product: str
    year: int


class BudgetKey(NamedTuple):
    """budget_constraint: capex ``funder`` commits in decision year ``year``."""

    funder: str
    year: int


class ProjectKey(NamedTuple):
    """build_once_constraint: a project is built at most once over the years."""

    project: str


def lp_name(family: str, key: tuple) -> str:
    """A name for LP files: ``capacity_constraint(Lynas_Kalgoorlie,2025)`` (CPLEX LP characters only)."""
    values = ",".join(_LP_UNSAFE.sub("_", str(value)) for value in key)
    return f"{family}({values})"[:255]


_LP_UNSAFE = re.compile(r"[^A-Za-z0-9_.]")
