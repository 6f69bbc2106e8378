"""Read the input workbook into tidy records, one per non-blank row.

Cells are parsed by the column declarations of :mod:`model.schema`; every
problem (missing sheet or column, blank required cell, text where a number
belongs, value out of range) is collected as a :class:`Problem` with the
sheet, Excel row and column, never raised one at a time.  Cross-sheet checks
(unknown names, duplicates, recipes) are in :mod:`model.validate`.

The workbook is opened read-only with ``python-calamine`` (cached values of
formulas, typed cells); nothing is ever written to it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, Problem
from .schema import SHEETS, ColumnSpec, SheetSpec

Record = dict[str, object]

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


@dataclass
class RawWorkbook:
    """Records per known sheet (absent optional sheets give empty lists)."""

    path: Path
    records: dict[str, list[Record]]
    present: set[str]
    warnings: list[str] = field(default_factory=list)


def parse_number(value: object) -> float | None:
    """A finite float from a numeric cell or cleanly written text, else None.

    Accepts ``12``, ``12.5``, ``.5``, ``+5``, ``1e3``; refuses ``1,000``,
    ``n/a``, ``-``, booleans, dates, NaN and infinities.
    """
    if isinstance(value, bool) or isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and _PLAIN_NUMBER.match(value.strip()):
        number = float(value.strip())
    else:
        return None
    return number if math.isfinite(number) else None


def parse_yesno(value: object) -> bool | None:
    """True/False from yes/no, y/n, true/false, 1/0 (any case), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
    return None


def parse_name(value: object) -> str | None:
    """A trimmed name; integral numbers become their digits (``2025``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date | dt.datetime):
        return None
    return str(value).strip()


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def parse_cell(spec: ColumnSpec, value: object, sheet: str, row: int, problems: list[Problem]) -> object:
    """Parse one cell by its column spec; blank gives the default.

    Appends a problem (and returns None) when the cell cannot be used.
    """
    if is_blank(value):
        if spec.required:
            problems.append(Problem(sheet, row, spec.name, "", f"a value is required ({spec.expectation()})"))
        return spec.default
    if spec.kind == "any":
        return value
    if spec.kind in ("key", "text"):
        name = parse_name(value)
        if name is None:
            problems.append(Problem(sheet, row, spec.name, value, spec.expectation()))
        return name
    if spec.kind == "yesno":
        flag = parse_yesno(value)
        if flag is None:
            problems.append(Problem(sheet, row, spec.name, value, "yes or no (also true/false, 1/0, y/n)"))
        return flag
    number = parse_number(value)
    if number is None:
        what = spec.expectation()
        if isinstance(value, dt.date | dt.datetime):
            what += " (the cell holds a date; format it as a number)"
        elif isinstance(value, str):
            what += " written plainly (no thousands separators, units or words)"
        elif isinstance(value, float):
            what += " (finite)"
        problems.append(Problem(sheet, row, spec.name, value, what))
        return None
    if not number_in_range(number, spec.minimum, spec.maximum, spec.exclusive_minimum) or (
        spec.nonzero and number == 0
    ):
        problems.append(Problem(sheet, row, spec.name, number, spec.expectation()))
        return None
    return number


def number_in_range(number: float, minimum: float | None, maximum: float | None, exclusive_minimum: bool) -> bool:
    if minimum is not None and (number <= minimum if exclusive_minimum else number < minimum):
        return False
    return maximum is None or number <= maximum


def read_workbook(path: Path) -> RawWorkbook:
    """Read every known sheet of ``path`` into records.

    Raises :class:`InputError` with every problem found in the cells.
    """
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own error types
        raise InputError(
            [Problem(path.name, None, None, None, f"cannot be read as an Excel workbook (.xlsx): {error}")]
        ) from None

    by_lower = {name.strip().lower(): name for name in workbook.sheet_names}
    problems: list[Problem] = []
    notes: list[str] = []
    records: dict[str, list[Record]] = {}
    present: set[str] = set()
    for unknown in sorted(set(by_lower) - set(SHEETS)):
        notes.append(f"sheet '{by_lower[unknown]}' is not part of the input format and was ignored")
    for spec in SHEETS.values():
        actual = by_lower.get(spec.name)
        if actual is None:
            records[spec.name] = []
            if spec.required:
                problems.append(Problem(spec.name, None, None, None, "this required sheet is missing"))
            continue
        present.add(spec.name)
        try:
            rows = workbook.get_sheet_by_name(actual).to_python(skip_empty_area=False)
        except Exception as error:  # a damaged sheet must not hide the others' problems
            problems.append(Problem(spec.name, None, None, None, f"the sheet cannot be read: {error}"))
            records[spec.name] = []
            continue
        records[spec.name] = _sheet_records(spec, rows, problems)
    if problems:
        raise InputError(problems)
    return RawWorkbook(path=path, records=records, present=present, warnings=notes)


def _sheet_records(spec: SheetSpec, rows: list[list[object]], problems: list[Problem]) -> list[Record]:
    """Records of one sheet; row 1 is the header."""
    if not rows or all(is_blank(cell) for cell in rows[0]):
        problems.append(
            Problem(
                spec.name,
                1,
                None,
                None,
                "the header row is empty; expected columns " + ", ".join(spec.required_columns),
            )
        )
        return []
    header = [str(cell).strip().lower() if not is_blank(cell) else "" for cell in rows[0]]
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in positions and name:
            problems.append(Problem(spec.name, 1, name, None, "this column appears twice"))
        positions.setdefault(name, index)
    missing = [name for name in spec.required_columns if name not in positions]
    for name in missing:
        problems.append(Problem(spec.name, 1, name, None, "this required column is missing from the header row"))
    if missing:
        return []
    known = [(column, positions[column.name]) for column in spec.columns if column.name in positions]
    out: list[Record] = []
    for offset, row in enumerate(rows[1:]):
        excel_row = offset + 2
        cells = [(column, row[index] if index < len(row) else None) for column, index in known]
        if all(is_blank(value) for _, value in cells):
            continue
        record: Record = {"_row": excel_row}
        for column, value in cells:
            record[column.name] = parse_cell(column, value, spec.name, excel_row, problems)
        for column in spec.columns:
            record.setdefault(column.name, column.default)
        out.append(record)
    return out
