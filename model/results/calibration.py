"""The ``calibration`` results sheet: each observation against the solution (SPEC Part 4).

For the first model year y₀, per row of the ``observations`` sheet:

* ``activity`` without product: modelled = Σ_{q,t} x_{fqty₀}, the facility's
  activity over its processes and tags (activity units/yr); with a product
  p: modelled = Σ_{q,t} a⁺_{qp} · x_{fqty₀}, its output of p (t/yr);
* ``trade``: modelled = Σ_t y_{odpty₀} (t/yr shipped);
* ``share``: modelled = the ``sourcing`` sheet's share for (country,
  product, stage, source_country) in y₀, 0 where it has no row (see
  :mod:`model.results.sourcing`: traced through the exposure tags, so a
  restricted source country's shares add up to the reported exposure).

deviation = modelled − observed.  within_tolerance = yes when
|deviation| ≤ tolerance for shares (absolute) and |deviation| ≤ tolerance ×
observed for quantities (relative), inclusive (plus 1e-9 of round-off).
``utilisation`` (activity rows) = the facility's activity / the capacity
available in y₀ (input capacity, expansions and projects online), exactly
the ``facilities`` sheet's column; blank where it has no capacity.

The observations describe the uncapped solution; the sheet compares the
solution of this run, whatever its caps (validation warns when caps below 1
apply in the first year).
"""

from __future__ import annotations

import pandas as pd

from model.data import ModelData, Observation
from model.formulation.sets import ModelSets
from model.results.extract import Solution

ROUND_OFF = 1e-9
KEY_COLUMNS = ["kind", "facility", "from", "to", "country", "product", "stage", "source_country"]
VALUE_COLUMNS = ["observed", "modelled", "deviation", "tolerance", "within_tolerance", "utilisation", "source"]


def within(observation: Observation, modelled: float) -> bool:
    """|modelled − observed| ≤ tolerance (shares) or tolerance × observed (quantities), inclusive."""
    allowed = observation.tolerance if observation.kind == "share" else observation.tolerance * observation.observed
    return abs(modelled - observation.observed) <= allowed + ROUND_OFF * max(1.0, observation.observed)


def calibration_table(
    data: ModelData,
    sets: ModelSets,
    solution: Solution,
    sourcing: pd.DataFrame,
    facilities: pd.DataFrame,
    years: list[str],
) -> pd.DataFrame:
    """One row per observation: keys, observed, modelled, deviation, tolerance, within_tolerance, utilisation, source.

    ``sourcing`` and ``facilities`` are the results sheets (with a ``year``
    column where the case has years); ``years`` is ``["year"]`` then, else empty.
    """
    year = sets.years[0]
    first = solution.in_year(year)
    activity = first.activity.groupby(["facility", "process"], sort=False)["value"].sum()
    total: dict[str, float] = {}
    output: dict[tuple[str, str], float] = {}
    for (facility, process), level in activity.items():
        total[facility] = total.get(facility, 0.0) + level
        for product, coefficient in data.processes[process].outputs.items():
            output[facility, product] = output.get((facility, product), 0.0) + coefficient * level
    shipped = first.shipment.groupby(["origin", "destination", "product"], sort=False)["value"].sum().to_dict()
    in_year = sourcing[sourcing["year"] == year] if "year" in sourcing.columns else sourcing
    # A country's restricted and other facilities at a stage are separate rows of the sourcing sheet.
    shares = in_year.groupby(["country", "product", "stage", "source_country"])["share"].sum().to_dict()
    plants = facilities[facilities["year"] == year] if "year" in facilities.columns else facilities
    utilisation = {
        name: (float(used) if capacity > 0 else None)
        for name, capacity, used in plants[["facility", "capacity", "utilisation"]].itertuples(index=False)
    }
    records = []
    for o in data.observations:
        busy = None
        if o.kind == "activity":
            modelled = output.get((o.facility, o.product), 0.0) if o.product else total.get(o.facility, 0.0)
            busy = utilisation.get(o.facility)
        elif o.kind == "trade":
            modelled = float(shipped.get((o.origin, o.destination, o.product), 0.0))
        else:
            modelled = float(shares.get((o.country, o.product, o.stage, o.source_country), 0.0))
        record = {
            "kind": o.kind,
            "facility": o.facility,
            "from": o.origin,
            "to": o.destination,
            "country": o.country,
            "product": o.product,
            "stage": o.stage,
            "source_country": o.source_country,
            "year": year,
            "observed": o.observed,
            "modelled": modelled,
            "deviation": modelled - o.observed,
            "tolerance": o.tolerance,
            "within_tolerance": "yes" if within(o, modelled) else "no",
            "utilisation": busy,
            "source": o.source,
        }
        records.append(record)
    return pd.DataFrame(records, columns=[*KEY_COLUMNS, *years, *VALUE_COLUMNS])
