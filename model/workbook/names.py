"""Names as typed: one Unicode form, reserved words, and names that only look alike.

* Every name cell is put in Unicode normal form C (composed accents), so
  ``Montréal`` typed with a combining accent is the same name as with a
  precomposed é.  Nothing else is changed: names stay case-sensitive (SPEC).
* ``*`` means "any" in the key columns of lanes and exposure_caps, so no
  country, product, process, stage, facility or funder may be called ``*``
  (nor a stage ``any``).
* Two different names of one kind that become equal when case and
  compatibility forms are ignored (``Separation`` and ``separation``,
  full-width ``ＵＳＡ`` and ``USA``) are almost always a typing slip: a cap on
  one silently misses the other.  They get a warning naming both rows.
"""

from __future__ import annotations

import functools
import unicodedata

from model.errors import Problem
from model.workbook.schema import ANY_STAGE, SHEETS, WILDCARD

# Where each kind of name is defined (sheet, column) and where it is used.
DEFINED = {
    "country": ("countries", "country"),
    "product": ("products", "product"),
    "process": ("processes", "process"),
    "stage": ("processes", "stage"),
    "facility": ("facilities", "facility"),
    "project": ("projects", "project"),
    "funder": ("budgets", "funder"),
}


# The name cells of each sheet (its columns of kind ``key``).
_NAME_COLUMNS = {
    sheet: tuple(column.name for column in spec.columns if column.kind == "key") for sheet, spec in SHEETS.items()
}


def normalise_names(records: dict[str, list[dict]]) -> None:
    """Put every key and name cell in Unicode normal form C, in place in each sheet's list of rows.

    A row holding a name not in form C is replaced in its list by a copy with
    the name in form C; the row itself is left as it was, as it may be shared
    with another workbook (:func:`model.scenarios.changes.apply_changes`
    shares the rows no change writes).  ASCII text is always in form C, and
    a name already in form C is left alone, so the rows of a workbook whose
    names are all in form C are not touched at all.
    """
    normalize = unicodedata.normalize
    for sheet, columns in _NAME_COLUMNS.items():
        rows = records.get(sheet)
        if not rows:
            continue
        for column in columns:
            cells = [record.get(column) for record in rows]
            try:
                text = "".join(cells)
            except TypeError:  # blanks or numbers among the names
                text = "".join([cell for cell in cells if isinstance(cell, str)])
            if text.isascii():
                continue  # the whole column is ASCII, hence in form C
            for index, record in enumerate(rows):
                value = record.get(column)
                if isinstance(value, str) and not value.isascii():
                    composed = normalize("NFC", value)
                    if composed != value:
                        rows[index] = {**record, column: composed}


def reserved_name_problems(records: dict[str, list[dict]]) -> list[Problem]:
    """``*`` as a defined name (a country, product, process, stage, facility, project, funder) is an error.

    Where a sheet only refers to a name (demand.country), ``*`` is an unknown name and reported as such.
    """
    problems = []
    for kind, (sheet, column) in DEFINED.items():
        if kind == "stage":
            continue  # build_processes reports '*' and 'any' as stage names itself
        for record in records.get(sheet, ()):
            if record.get(column) == WILDCARD:
                problems.append(
                    Problem(
                        sheet,
                        record["_row"],
                        column,
                        WILDCARD,
                        "a name other than '*': '*' means 'any' in lanes and exposure_caps, so it cannot name anything",
                    )
                )
    return problems


def fold(name: str) -> str:
    """The form two names share when they differ only by case or by Unicode compatibility form."""
    return unicodedata.normalize("NFKC", name).casefold()


@functools.lru_cache(maxsize=256)
def look_alike_groups(names: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The groups of two or more ``names`` sharing one :func:`fold`, each in the order of ``names``.

    Groups in the order of their first name.  Cached: a batch validates many
    variants whose names are the same.
    """
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(fold(name), []).append(name)
    return tuple(tuple(group) for group in groups.values() if len(group) > 1)


def look_alike_warnings(records: dict[str, list[dict]]) -> list[str]:
    """Warnings for different names of one kind that differ only by case or Unicode form."""
    notes = []
    for kind, (sheet, column) in DEFINED.items():
        sheet_rows = records.get(sheet, ())
        values = [value for record in sheet_rows if isinstance(value := record.get(column), str)]
        names = tuple(name for name in dict.fromkeys(values) if name not in (WILDCARD, ANY_STAGE))
        groups = look_alike_groups(names) if len(names) > 1 else ()
        if not groups:
            continue
        first_row: dict[str, int] = {}
        for record in sheet_rows:
            value = record.get(column)
            if isinstance(value, str) and value not in (WILDCARD, ANY_STAGE):
                first_row.setdefault(value, record["_row"])
        for group in groups:
            rows = " and ".join(str(first_row[name]) for name in group)
            shown = " and ".join(f"'{name}' (row {first_row[name]})" for name in group)
            notes.append(
                f"{sheet} rows {rows}: {kind} names {shown} differ only by case or character form; they are "
                f"different {kind}s to the model (a cap, lane or reference to one does not apply to the other) — "
                "use one spelling"
            )
    return notes
