"""Model years and the from-year rule (SPEC.md Part 2).

A row of a yearly sheet (facilities, facility_processes, lanes, demand,
exposure_caps, products, budgets) applies from its ``year`` (blank = the
first model year) until the year before the next row with the same key and
a later ``year``.  :func:`active_rows` gives, for one year, the rows that
apply, in sheet order; the rest of validation then treats them exactly as a
single-year sheet.
"""

from __future__ import annotations

from operator import itemgetter

from model.errors import Problem
from model.workbook.schema import SHEETS, YEAR_COLUMN


def read_years(records: list[dict], present: bool, problems: list[Problem]) -> tuple[list[int], frozenset[int]] | None:
    """The model years and the years with ``stock_release`` = yes; None without a ``years`` sheet.

    Years must be consecutive whole numbers; they are taken in increasing
    order whatever the order of the rows.
    """
    if not present:
        return None
    rows = [r for r in records if r.get("year") is not None]
    if not rows:
        if not any(r.get("_invalid") for r in records):
            problems.append(
                Problem("years", 2, "year", "", "at least one model year (or delete the sheet for a single-year case)")
            )
        return None
    years = sorted({r["year"] for r in rows})
    row_of = {r["year"]: r["_row"] for r in rows}
    for position, year in enumerate(years):
        expected = years[0] + position
        if year != expected:
            problems.append(
                Problem(
                    "years",
                    row_of[year],
                    "year",
                    year,
                    f"consecutive years: {expected} is missing between {years[0]} and {year}",
                )
            )
            break
    release = frozenset(r["year"] for r in rows if r.get("stock_release"))
    return years, release


def check_year_cells(records: dict[str, list[dict]], years: list[int] | None, problems: list[Problem]) -> None:
    """Every non-blank ``year`` cell of a yearly sheet names a model year; without years, none may be filled."""
    for name, spec in SHEETS.items():
        if not spec.yearly or name == "years":
            continue
        for r in records[name]:
            year = r.get(YEAR_COLUMN)
            if year is None:
                continue
            if years is None:
                problems.append(
                    Problem(
                        name,
                        r["_row"],
                        YEAR_COLUMN,
                        year,
                        "blank: this workbook has no 'years' sheet, so it is a single-year case and rows cannot "
                        "change by year (add a 'years' sheet listing the model years, or clear the cell)",
                    )
                )
            elif year not in years:
                problems.append(
                    Problem(
                        name,
                        r["_row"],
                        YEAR_COLUMN,
                        year,
                        f"one of the model years {years[0]}–{years[-1]} (the 'years' sheet), or blank for the first",
                    )
                )


def row_year(record: dict, first_year: int) -> int:
    """The year a row applies from (blank = the first model year)."""
    year = record.get(YEAR_COLUMN)
    return first_year if year is None else int(year)


def usable(record: dict, key: tuple[str, ...]) -> bool:
    """A row whose key cells and year could be read (problems in them are reported elsewhere)."""
    invalid = record.get("_invalid", ())
    return all(record.get(k) is not None for k in key) and YEAR_COLUMN not in invalid


def _key_and_year(r: dict, pick: itemgetter, key: tuple[str, ...]) -> tuple[tuple, object, bool]:
    """A row's key cells, its year cell, and whether both can be used (a year that could be read, no blank key)."""
    try:
        cells = pick(r)
        values, cell = cells[:-1], cells[-1]
    except KeyError:  # a record without some column (not one the reader made)
        values, cell = tuple([r.get(k) for k in key]), r.get(YEAR_COLUMN)
    invalid = r.get("_invalid")
    unusable = (invalid and YEAR_COLUMN in invalid) or (None in values and any(v is None for v in values))
    return values, cell, not unusable


def active_rows(records: list[dict], key: tuple[str, ...], year: int, first_year: int) -> list[dict]:
    """The rows that apply in ``year``: per key, the row with the latest year ≤ ``year`` (sheet order kept).

    Rows whose key cells could not be read are kept (their own problems are
    reported by the checks that run on them), as in a single-year sheet.
    """
    latest: dict[tuple, tuple[int, dict]] = {}  # key cells -> (the year the row applies from, the row)
    chosen: set[int] = set()  # id() of the rows kept whatever their key
    pick = itemgetter(*key, YEAR_COLUMN)
    for r in records:
        values, cell, usable = _key_and_year(r, pick, key)
        if not usable:
            if cell is None or int(cell) <= year:
                chosen.add(id(r))
            continue
        start = first_year if cell is None else int(cell)
        if start > year:
            continue
        current = latest.get(values)
        if current is None or current[0] < start:
            latest[values] = (start, r)
    chosen.update(id(r) for _, r in latest.values())
    if len(chosen) == len(records):
        return list(records)
    return [r for r in records if id(r) in chosen]


def first_rows(records: list[dict], key: tuple[str, ...], first_year: int) -> dict[tuple, dict]:
    """Per key, the row with the earliest year: what identifies the key (its country, its first values)."""
    first: dict[tuple, dict] = {}
    pick = itemgetter(*key, YEAR_COLUMN)
    for r in records:
        values, cell, usable = _key_and_year(r, pick, key)
        if not usable:
            continue
        current = first.get(values)
        if current is None or (first_year if cell is None else int(cell)) < row_year(current, first_year):
            first[values] = r
    return first


def setting_year(settings: dict[str, object]) -> int | None:
    """The ``year`` setting when it is a whole number (a single-year case's model year), else None."""
    value = settings.get("year")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
