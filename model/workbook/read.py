"""Read the input workbook into tidy records, one per non-blank row.

Cells are parsed by the column declarations of :mod:`model.schema`; every
problem (missing sheet or column, blank required cell, text where a number
belongs, value out of range) is collected as a :class:`Problem` with the
sheet, Excel row and column, never raised one at a time.  Cross-sheet checks
(unknown names, duplicates, recipes) are in :mod:`model.validate`; when cells
are wrong but every sheet and column is there, they run too, so that one run
lists every problem of the workbook.

The workbook is opened read-only with ``python-calamine`` (cached values of
formulas, typed cells); nothing is ever written to it.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from model.errors import InputError, Problem
from model.workbook.schema import DOCUMENTATION_SHEETS, SHEETS, ColumnSpec, SheetSpec

Record = dict[str, object]

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


@dataclass(frozen=True)
class ExcelError:
    """A cell whose cached value is an Excel error such as ``#N/A`` or
    ``#DIV/0!``, or a formula with no saved result at all.

    calamine reads both as blank, which would let a broken formula in an
    optional column silently take the column's default.
    """

    text: str
    reason: str = "not an Excel error (check the formula)"

    def __str__(self) -> str:
        return self.text


_UNCOMPUTED = "a formula whose result was never saved (open the workbook in Excel and save it)"


class WorkbookUnreadable(InputError):
    """The file is not a readable .xlsx workbook at all (no sheet to point at)."""

    def __init__(self, path: Path, reason: str):
        self.path = path
        self.message = (
            f"'{path}' cannot be read as an Excel workbook (.xlsx): {reason}. "
            "Open it in Excel and save it as an .xlsx workbook."
        )
        super().__init__([Problem(path.name, None, None, None, self.message)])

    def __str__(self) -> str:
        return self.message


_OLE_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")  # compound file: encrypted .xlsx or old .xls


def _why_unreadable(path: Path, error: Exception) -> str:
    """Plain words for the commonest reasons a file is not a readable workbook."""
    try:
        with path.open("rb") as stream:
            start = stream.read(8)
    except OSError as failure:
        return f"the file cannot be opened ({failure.strerror or failure})"
    if start == _OLE_SIGNATURE:
        return (
            "it is password-protected (encrypted) or an old-format .xls file under another name; "
            "remove the password (File > Info > Protect Workbook) and save it as .xlsx"
        )
    if not start:
        return "the file is empty"
    if not start.startswith(b"PK"):
        return "it is not a zip-based Excel file (a CSV or text file renamed .xlsx?)"
    return str(error).strip() or type(error).__name__


def sorted_problems(problems: list[Problem]) -> list[Problem]:
    """Problems in the order of the sheets, then of the rows (stable)."""
    order = {name: index for index, name in enumerate(SHEETS)}
    return sorted(problems, key=lambda p: (order.get(p.sheet, -1), p.row or 0))


@dataclass
class RawWorkbook:
    """Records per known sheet (absent optional sheets give empty lists)."""

    path: Path
    records: dict[str, list[Record]]
    present: set[str]
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # found in the cells, raised by validate()


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
    if isinstance(value, ExcelError):
        if spec.kind == "text":
            return spec.default  # a free label: the model does not use it
        problems.append(Problem(sheet, row, spec.name, value, f"{spec.expectation()}, {value.reason}"))
        return None
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
    if (
        not number_in_range(number, spec.minimum, spec.maximum, spec.exclusive_minimum)
        or (spec.nonzero and number == 0)
        or (spec.integer and not number.is_integer())
    ):
        problems.append(Problem(sheet, row, spec.name, number, spec.expectation()))
        return None
    return int(number) if spec.integer else number


def number_in_range(number: float, minimum: float | None, maximum: float | None, exclusive_minimum: bool) -> bool:
    if minimum is not None and (number <= minimum if exclusive_minimum else number < minimum):
        return False
    return maximum is None or number <= maximum


def read_workbook(path: Path) -> RawWorkbook:
    """Read every known sheet of ``path`` into records.

    Problems found in the cells are collected in ``problems`` (with the
    sheet, Excel row and column), not raised: :func:`model.workbook.validate.validate`
    adds the cross-sheet ones and raises once.  Only a file that is no
    workbook at all raises (:class:`WorkbookUnreadable`).
    """
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as error:
        raise WorkbookUnreadable(path, _why_unreadable(path, error)) from None

    by_lower = {name.strip().lower(): name for name in workbook.sheet_names}
    hidden: dict[str, list[int]] = {}
    error_cells = _error_cells(path, {actual for lower, actual in by_lower.items() if lower in SHEETS}, hidden)
    problems: list[Problem] = []
    notes: list[str] = []
    records: dict[str, list[Record]] = {}
    present: set[str] = set()
    for unknown in sorted(set(by_lower) - set(SHEETS) - set(DOCUMENTATION_SHEETS)):
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
            sheet = workbook.get_sheet_by_name(actual)
            rows = sheet.to_python(skip_empty_area=False)
            merged = sheet.merged_cell_ranges or []
        except (CalamineError, ValueError) as error:  # a damaged sheet must not hide the others' problems
            problems.append(Problem(spec.name, None, None, None, f"the sheet cannot be read: {error}"))
            records[spec.name] = []
            continue
        for (row, column), error in error_cells.get(actual, {}).items():
            if row < len(rows) and is_blank(rows[row][column] if column < len(rows[row]) else None):
                rows[row] = list(rows[row]) + [""] * (column + 1 - len(rows[row]))
                rows[row][column] = error
        for (first_row, first_col), (last_row, last_col) in merged:
            header = [str(c).strip().lower() for c in rows[0]] if rows else []
            name = header[first_col] if first_col < len(header) and header[first_col] else None
            problems.append(
                Problem(
                    spec.name,
                    first_row + 1,
                    name,
                    None,
                    f"cells {_reference(first_row, first_col)}:{_reference(last_row, last_col)} are merged; "
                    "unmerge them and fill every cell of the table",
                )
            )
        if hidden.get(actual):
            shown = ", ".join(str(r) for r in hidden[actual][:10]) + (" ..." if len(hidden[actual]) > 10 else "")
            notes.append(f"sheet '{spec.name}' rows {shown} are hidden in Excel; they were read like every other row")
        records[spec.name] = _sheet_records(spec, rows, problems)
    return RawWorkbook(path=path, records=records, present=present, warnings=notes, problems=problems)


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
        record: Record = {"_row": excel_row, "_invalid": set()}
        for column, value in cells:
            found = len(problems)
            record[column.name] = parse_cell(column, value, spec.name, excel_row, problems)
            if len(problems) > found:
                record["_invalid"].add(column.name)  # reported; later checks must not report it again
        for column in spec.columns:
            record.setdefault(column.name, column.default)
        out.append(record)
    return out


_XML_ATTRIBUTE = re.compile(rb'([\w:]+)="([^"]*)"')
_XML_ANY_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
# A cell whose first child is a formula: (attributes, formula text, cached value or None).
_XML_FORMULA_CELL = re.compile(
    rb"<(?:\w+:)?c\b([^>]*?)>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?f>)\s*"
    rb"(?:<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>)?"
)
# A cell of type error: (attributes, error text).
_XML_ERROR_CELL = re.compile(
    rb'<(?:\w+:)?c\b([^>]*?\bt="e"[^>]*)>(?:\s*<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>))?\s*'
    rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>"
)
_CELL_REFERENCE = re.compile(r"^([A-Z]+)(\d+)$")


def _error_cells(
    path: Path, sheets: set[str], hidden: dict[str, list[int]] | None = None
) -> dict[str, dict[tuple[int, int], ExcelError]]:
    """Cells of ``sheets`` holding an Excel error or an uncomputed formula, by 0-based (row, column).

    Read straight from the .xlsx XML (calamine gives such cells as blank).
    Excel row numbers of hidden rows are collected into ``hidden`` by sheet.
    A formula whose saved result is an empty text (``=IF(..., "", ...)``)
    is a legitimately blank cell.  Best effort: anything unexpected gives no
    error cells, never a failure.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            targets = {}
            for tag in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", archive.read("xl/_rels/workbook.xml.rels")):
                attributes = dict(_XML_ATTRIBUTE.findall(tag))
                target = attributes.get(b"Target", b"").decode()
                targets[attributes.get(b"Id", b"").decode()] = (
                    target.lstrip("/") if target.startswith("/") else "xl/" + target
                )
            found: dict[str, dict[tuple[int, int], ExcelError]] = {}
            for tag in re.findall(rb"<(?:\w+:)?sheet\b[^>]*>", archive.read("xl/workbook.xml")):
                attributes = {k.split(b":")[-1]: v for k, v in _XML_ATTRIBUTE.findall(tag)}
                name = html.unescape(attributes.get(b"name", b"").decode())
                target = targets.get(attributes.get(b"id", b"").decode())
                if name not in sheets or target is None:
                    continue
                data = archive.read(target)
                cells = found.setdefault(name, {})
                if hidden is not None and b'hidden="1"' in data:
                    hidden[name] = [int(r) for r in _XML_HIDDEN_ROW.findall(data)]
                if _XML_ANY_FORMULA.search(data):  # most input sheets hold no formula at all
                    for attributes, formula, value in _XML_FORMULA_CELL.findall(data):
                        kind = dict(_XML_ATTRIBUTE.findall(attributes)).get(b"t")
                        if not value and kind not in (b"str", b"inlineStr", b"s", b"e"):
                            text = html.unescape(formula.decode())
                            _put(cells, attributes, ExcelError("=" + text if text else "a formula", _UNCOMPUTED))
                if b't="e"' in data:
                    for attributes, value in _XML_ERROR_CELL.findall(data):
                        _put(cells, attributes, ExcelError(html.unescape(value.decode()) or "#ERROR"))
            return found
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):  # calamine could open it: only this check is lost
        return {}


_XML_HIDDEN_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"[^>]*?\bhidden="1"')


def _reference(row: int, column: int) -> str:
    """A1-style name of the 0-based cell (row, column)."""
    letters = ""
    column += 1
    while column:
        column, remainder = divmod(column - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return f"{letters}{row + 1}"


def _put(cells: dict[tuple[int, int], ExcelError], attributes: bytes, error: ExcelError) -> None:
    """Store ``error`` at the 0-based (row, column) of the cell's ``r`` attribute."""
    reference = _CELL_REFERENCE.match(dict(_XML_ATTRIBUTE.findall(attributes)).get(b"r", b"").decode())
    if reference is None:
        return
    column = 0
    for letter in reference.group(1):
        column = column * 26 + ord(letter) - ord("A") + 1
    cells[(int(reference.group(2)) - 1, column - 1)] = error
