"""The ``observations`` sheet (SPEC Part 4): facts a calibrated case reproduces.

Each row is one of three kinds, and names exactly the keys its kind uses:

* ``activity``: ``facility`` (a row of facilities) and optionally ``product``
  (one of the products its processes make): the facility's activity, or its
  output of that product, in t/yr (activity units/yr);
* ``trade``: ``from``, ``to`` (two different countries), ``product``: t/yr
  shipped;
* ``share``: ``country`` and ``product`` (a demand row of the first model
  year), ``stage`` (a stage of the processes), ``source_country``: the share
  of that consumer's delivered product whose ``stage`` ran in
  ``source_country``; ``observed`` between 0 and 1.

``tolerance`` (default 0.25) is absolute for shares, relative to ``observed``
for quantities.  Names are checked with :func:`check_reference` (unknown
names get a "did you mean" hint); a key cell another kind uses is an error
(it would otherwise be silently ignored); two rows with the same kind and
keys are duplicates.  Every problem is collected, none raised.
"""

from __future__ import annotations

from model.data import Observation
from model.errors import Problem
from model.workbook.references import check_reference

SHEET = "observations"
KEY_COLUMNS = ("facility", "from", "to", "country", "product", "stage", "source_country")
# kind -> (required key columns, optional key columns)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "activity": (("facility",), ("product",)),
    "trade": (("from", "to", "product"), ()),
    "share": (("country", "product", "stage", "source_country"), ()),
}
# key column -> what kind of name it holds (references.py's words)
NAME_OF = {
    "facility": "facility",
    "from": "country",
    "to": "country",
    "country": "country",
    "product": "product",
    "stage": "stage",
    "source_country": "country",
}
DEFAULT_TOLERANCE = 0.25


def read_observations(
    records: list[dict],
    known: dict[str, set[str] | list[str] | dict],
    makes: dict[str, set[str]],
    consumers: set[tuple[str, str]],
    problems: list[Problem],
) -> list[Observation]:
    """Validated observations, in sheet order; problems appended.

    ``known`` maps each kind of name (country, product, stage, facility) to
    the names defined; ``makes`` maps a facility to the products its
    processes make; ``consumers`` are the (country, product) demand rows of
    the first model year.
    """
    observations: list[Observation] = []
    first: dict[tuple, int] = {}
    for r in records:
        row = r["_row"]
        invalid = r.get("_invalid", ())
        raw_kind = r.get("kind")
        if raw_kind is None:
            continue  # blank or unreadable: the reader reported it
        kind = str(raw_kind).strip().lower()
        if kind not in KINDS:
            problems.append(Problem(SHEET, row, "kind", raw_kind, f"one of {', '.join(KINDS)}"))
            continue
        required, optional = KINDS[kind]
        ok = True
        for column in KEY_COLUMNS:
            value = r.get(column)
            if column in invalid:
                ok = False
            elif column in required and value is None:
                problems.append(
                    Problem(SHEET, row, column, "", f"a {NAME_OF[column]} name: kind {kind} needs {_listed(required)}")
                )
                ok = False
            elif column not in required and column not in optional and value is not None:
                problems.append(
                    Problem(
                        SHEET,
                        row,
                        column,
                        value,
                        f"blank: kind {kind} uses only {_listed(required + optional)} (clear the cell, or put the "
                        "text in the source column)",
                    )
                )
                ok = False
            elif value is not None:
                ok &= check_reference(problems, SHEET, r, column, known[NAME_OF[column]], NAME_OF[column])
        observed = r.get("observed")
        if observed is None or "tolerance" in invalid:
            ok = False
        if not ok:
            continue
        if kind == "activity" and r.get("product") is not None and r["product"] not in makes.get(r["facility"], ()):
            made = sorted(makes.get(r["facility"], ()))
            problems.append(
                Problem(
                    SHEET,
                    row,
                    "product",
                    r["product"],
                    f"a product facility '{r['facility']}' makes ("
                    + (", ".join(made) if made else "its facility_processes make none")
                    + "), or blank for its total activity",
                )
            )
            continue
        if kind == "trade" and r["from"] == r["to"]:
            problems.append(
                Problem(SHEET, row, "to", r["to"], "a country other than 'from': trade inside a country is not traded")
            )
            continue
        if kind == "share":
            if (r["country"], r["product"]) not in consumers:
                problems.append(
                    Problem(
                        SHEET,
                        row,
                        "country",
                        r["country"],
                        f"a country with a demand row for {r['product']} in the first model year (a share is of "
                        "what that consumer is delivered)",
                    )
                )
                continue
            if observed > 1:
                problems.append(Problem(SHEET, row, "observed", observed, "a share between 0 and 1 for kind share"))
                continue
        keys = (kind, *(r.get(column) for column in KEY_COLUMNS))
        if keys in first:
            problems.append(
                Problem(
                    SHEET,
                    row,
                    "kind",
                    raw_kind,
                    f"duplicate of row {first[keys]}: the same {kind} observation with the same keys (keep one, "
                    "or name both sources in its source cell)",
                )
            )
            continue
        first[keys] = row
        tolerance = r.get("tolerance")
        observations.append(
            Observation(
                kind=kind,
                observed=float(observed),
                facility=r.get("facility"),
                origin=r.get("from"),
                destination=r.get("to"),
                country=r.get("country"),
                product=r.get("product"),
                stage=r.get("stage"),
                source_country=r.get("source_country"),
                tolerance=DEFAULT_TOLERANCE if tolerance is None else float(tolerance),
                source=str(r.get("source") or ""),
                row=row,
            )
        )
    return observations


def _listed(columns: tuple[str, ...]) -> str:
    names = [f"'{c}'" for c in columns]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
