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

How a sheet is read, as an analyst laying out a table expects it:

* **Which sheet.**  Sheet names are matched after trimming and lower-casing.
  Two sheets matching the same input sheet (``demand`` and ``demand ``) are
  an error naming both, never a silent choice.  A hidden sheet is read like
  any other, with a warning (so is a hidden row, or a hidden column of the
  table).
* **Where the table is.**  The header row is the row, among the first ten
  non-empty ones, holding the most column names of the sheet: a blank first
  row, a title above the table or a table starting in column B or C reads
  as the analyst laid it out, and every row keeps its Excel number.  A title
  or note above the header row is ignored with a warning naming its cells.
  Without any column name the first non-empty row is the header, and its
  missing columns are reported.
* **Which columns.**  The table's columns are the header's known columns
  wherever they stand, and the extra columns (``note``, ``source`` ...)
  beside them, which are allowed and not read.  A value under a blank
  header cell, or beyond the table (past a blank header cell, e.g. a stray
  ``x`` at XFD1048576), belongs to no column: it is ignored with a warning
  naming the cell, since a misplaced column would otherwise vanish
  silently.  A value in a table column is a row however far down it is
  (A1048576), and is validated as usual.
* **Misspelt headers.**  A required column missing from the header is an
  error with a "did you mean" hint when a header cell is close to it
  (``capacity_t``, ``unit cost``, ``Capacity (t/yr)``); an unknown column
  close to an optional one (``expansion_costs``) is a warning with the hint,
  since extra columns are otherwise ignored.  The other columns and sheets
  are read all the same, so one run lists every problem of the cells.
* **Empty sheets.**  An empty required sheet is an error; an empty optional
  sheet is read as absent, with a warning.  A sheet with a header and no
  row is an empty table (validation says what that means for the case).
* **Merged cells** are an error only where they cover key, number or yes/no
  cells of the table below its header (one value would stand for several
  rows); a merged title, a merged header or merged cells of free-text
  columns such as ``note`` are not the user's problem and are ignored.
* **Memory and time grow with the cells present**, never with the sheet's
  used range: calamine allocates the whole rectangle from A1 to the last
  value (a stray value at XFD1048576 asks for half a terabyte and aborts
  the process), so each sheet's XML is scanned first, and a sheet whose
  rectangle is far larger than its cells is read cell by cell from its XML
  instead (values typed as calamine types them: shared and inline strings,
  booleans, numbers, dates by their number format).
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
import math
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree import ElementTree

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
    # Scenario overlay sheets (SPEC Part 3) by their name as written ('lanes@ban', 'facilities@'): records read
    # with the columns of the sheet before the '@' (and a `scenario` column for '<sheet>@'); see model/scenarios.
    overlays: dict[str, list[Record]] = field(default_factory=dict)
    # Problems in the cells of the scenarios, changes and overlay sheets: they fail only the scenarios they
    # belong to (model/scenarios/apply.py), not the base case.
    scenario_problems: list[Problem] = field(default_factory=list)


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
    if spec.kind == "text":  # a free label: whatever the cell shows (a date, TRUE) is fine
        name = parse_name(value)
        return name if name is not None else value.isoformat() if isinstance(value, dt.date) else str(value)
    if spec.kind == "key":
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


Cells = dict[int, dict[int, object]]  # 0-based row -> 0-based column -> value; only cells holding something

# A sheet whose rectangle from A1 to its last value is larger than this, and
# than four times its cells, is read from its XML rather than by calamine.
_DENSE_CELLS = 1_000_000
_HEADER_SEARCH_ROWS = 10  # the header row is looked for among the first non-empty rows
_SHOWN = 5  # cells named in one warning


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

    matching: dict[str, list[str]] = {}
    for name in workbook.sheet_names:
        matching.setdefault(name.strip().lower(), []).append(name)
    hidden_sheets = _hidden_sheets(workbook)
    wanted = {names[0] for lower, names in matching.items() if lower in SHEETS and len(names) == 1}
    scans = _scan_sheets(path, wanted)
    book: list[_BookXml] = []  # loaded once, only if a sheet must be read from its XML
    problems: list[Problem] = []
    notes: list[str] = []
    records: dict[str, list[Record]] = {}
    present: set[str] = set()
    overlay_names = {lower for lower in matching if overlay_spec(lower) is not None}
    for unknown in sorted(set(matching) - set(SHEETS) - set(DOCUMENTATION_SHEETS) - overlay_names):
        for actual in matching[unknown]:
            notes.append(f"sheet '{actual}' is not part of the input format and was ignored")
    for spec in SHEETS.values():
        names = matching.get(spec.name, [])
        records[spec.name] = []
        if not names:
            if spec.required:
                problems.append(Problem(spec.name, None, None, None, "this required sheet is missing"))
            continue
        present.add(spec.name)
        if len(names) > 1:
            shown = " and ".join(f"'{n}'" + (" (hidden)" if n in hidden_sheets else "") for n in names)
            problems.append(
                Problem(
                    spec.name,
                    None,
                    None,
                    None,
                    f"the sheets {shown} both match this sheet (sheet names are matched after trimming spaces "
                    "and ignoring case); delete or rename all but one",
                )
            )
            continue
        actual = names[0]
        if actual in hidden_sheets:
            notes.append(f"sheet '{actual}' is hidden in Excel; it was read like every other sheet")
        scan = scans.get(actual)
        try:
            if scan is not None and scan.sparse:
                if not book:
                    book.append(_book_xml(path))
                cells = _xml_cells(path, scan.target, book[0])
                merged = scan.merged
            else:
                sheet = workbook.get_sheet_by_name(actual)
                cells = _dense_cells(sheet.to_python(skip_empty_area=False))
                merged = scan.merged if scan is not None else (sheet.merged_cell_ranges or [])
        except (CalamineError, ValueError, KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError) as error:
            # a damaged sheet must not hide the others' problems
            problems.append(Problem(spec.name, None, None, None, f"the sheet cannot be read: {error}"))
            continue
        for (row, column), error in (scan.errors if scan is not None else {}).items():
            if is_blank(cells.get(row, {}).get(column)):
                cells.setdefault(row, {})[column] = error
        table = _Table(spec, cells, problems, notes)
        if table.empty:
            if not spec.required:
                present.discard(spec.name)
                notes.append(f"sheet '{spec.name}' is empty; it was read as absent")
            continue
        table.check_merged(merged)
        if scan is not None:
            table.note_hidden(scan.hidden_rows, scan.hidden_columns)
        records[spec.name] = table.records
    overlays = _read_overlays(path, workbook, matching, overlay_names, problems, notes)
    scenario_sheets = {"scenarios", "changes"} | set(overlays) | {matching[lower][0] for lower in overlay_names}
    scenario_problems = [p for p in problems if p.sheet in scenario_sheets]
    if scenario_problems:
        notes.append(
            f"the scenario sheets have {len(scenario_problems)} problem(s); they matter only when scenarios are run "
            "(--scenario, --all-scenarios), which lists them"
        )
    return RawWorkbook(
        path=path,
        records=records,
        present=present,
        warnings=notes,
        problems=[p for p in problems if p.sheet not in scenario_sheets],
        overlays=overlays,
        scenario_problems=scenario_problems,
    )


OVERLAY_MARK = "@"


def overlay_spec(name: str) -> SheetSpec | None:
    """The columns of an overlay sheet ``<sheet>@<scenario>`` or ``<sheet>@`` (SPEC Part 3), or None.

    ``name`` is the sheet's name (any case); the spec carries that name, so
    problems in its cells name the overlay sheet.  ``<sheet>@`` has a
    required ``scenario`` column first.
    """
    base, mark, scenario = name.strip().partition(OVERLAY_MARK)
    spec = SHEETS.get(base.strip().lower())
    if not mark or spec is None or spec.name in ("scenarios", "changes"):
        return None
    columns = spec.columns
    if not scenario.strip():
        columns = (ColumnSpec("scenario", "key", required=True, description="Scenario the row belongs to"), *columns)
    return replace(spec, name=name.strip(), columns=columns, required=False)


def _read_overlays(
    path: Path, workbook, matching: dict[str, list[str]], lowers: set[str], problems: list[Problem], notes: list[str]
) -> dict[str, list[Record]]:
    """Records of every overlay sheet, read as their base sheet is (problems name the overlay sheet)."""
    from python_calamine import CalamineError

    overlays: dict[str, list[Record]] = {}
    actual_names = {matching[lower][0] for lower in lowers if len(matching[lower]) == 1}
    scans = _scan_sheets(path, actual_names)
    for lower in sorted(lowers):
        if len(matching[lower]) > 1:
            shown = " and ".join(f"'{n}'" for n in matching[lower])
            problems.append(Problem(lower, None, None, None, f"the sheets {shown} both match this overlay sheet"))
            continue
        actual = matching[lower][0]
        spec = overlay_spec(actual)
        scan = scans.get(actual)
        try:
            if scan is not None and scan.sparse:
                cells = _xml_cells(path, scan.target, _book_xml(path))
            else:
                cells = _dense_cells(workbook.get_sheet_by_name(actual).to_python(skip_empty_area=False))
        except (CalamineError, ValueError, KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError) as error:
            problems.append(Problem(actual, None, None, None, f"the sheet cannot be read: {error}"))
            continue
        for (row, column), error in (scan.errors if scan is not None else {}).items():
            if is_blank(cells.get(row, {}).get(column)):
                cells.setdefault(row, {})[column] = error
        table = _Table(spec, cells, problems, notes)
        if not table.empty:
            table.check_merged(scan.merged if scan is not None else [])
        overlays[actual.strip()] = table.records
    return overlays


def _hidden_sheets(workbook) -> set[str]:
    """Names of the sheets hidden in Excel (python-calamine's metadata, when it has it)."""
    hidden = set()
    for sheet in getattr(workbook, "sheets_metadata", None) or []:
        if str(getattr(sheet, "visible", "")).rsplit(".", 1)[-1] in ("Hidden", "VeryHidden"):
            hidden.add(sheet.name)
    return hidden


def _dense_cells(rows: list[list[object]]) -> Cells:
    """calamine's rows (from A1, padded with blanks) as the cells holding something."""
    cells: Cells = {}
    for row, values in enumerate(rows):
        held = {
            column: value
            for column, value in enumerate(values)
            if value != "" and value is not None and (value.__class__ is not str or not value.isspace())
        }
        if held:
            cells[row] = held
    return cells


def _header_name(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if is_blank(value) else str(value).strip().lower()


def _normal(name: str) -> str:
    """A header for comparing: lower case, no unit in brackets, spaces/dashes/dots as underscores."""
    name = re.sub(r"\s*[(\[].*?[)\]]\s*$", "", name.strip().lower())
    return re.sub(r"[\s\-.]+", "_", name).strip("_")


def _closest(name: str, candidates: Iterable[str], unit_suffix: bool = False) -> str | None:
    """The candidate column ``name`` most likely misspells (``unit cost``, ``Capacity (t/yr)``), or None.

    With ``unit_suffix``, a candidate followed by a unit (``capacity_t``) counts
    too: only for required columns, as extra columns such as ``unit_price``
    are allowed beside an optional ``unit``.
    """
    normal = _normal(name)
    by_normal = {_normal(candidate): candidate for candidate in candidates}
    if not normal or not by_normal:
        return None
    if normal in by_normal:
        return by_normal[normal]
    for candidate_normal, candidate in by_normal.items():
        if unit_suffix and normal.startswith(candidate_normal + "_"):  # capacity_t, capacity_tpa
            return candidate
    close = difflib.get_close_matches(normal, list(by_normal), n=1, cutoff=0.75)
    return by_normal[close[0]] if close else None


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _cell_list(cells: list[tuple[int, int, object]]) -> str:
    shown = ", ".join(f"{_reference(row, column)} {_show(value)}" for row, column, value in cells[:_SHOWN])
    return shown + (f" and {len(cells) - _SHOWN} more" if len(cells) > _SHOWN else "")


def _letters(column: int) -> str:
    return re.sub(r"\d+$", "", _reference(0, column))


class _Table:
    """One input sheet's table found in its cells: header row, columns, records.

    Building it appends the header's problems and the cells' problems to
    ``problems`` and what was ignored to ``notes``.
    """

    def __init__(self, spec: SheetSpec, cells: Cells, problems: list[Problem], notes: list[str]):
        self.spec = spec
        self.cells = cells
        self.problems = problems
        self.notes = notes
        self.records: list[Record] = []
        self.columns: dict[str, int] = {}  # known column -> its 0-based column
        self.empty = not cells
        if self.empty:
            if spec.required:
                problems.append(
                    Problem(
                        spec.name,
                        1,
                        None,
                        None,
                        "the sheet is empty: the header row is empty; expected columns "
                        + ", ".join(spec.required_columns),
                    )
                )
            return
        self.rows = sorted(cells)
        self.header_row = self._find_header()
        self._read_header()
        self._read_rows()

    def _find_header(self) -> int:
        """The row, among the first non-empty ones, holding the most column names of the sheet."""
        names = {column.name for column in self.spec.columns}
        best, best_count = self.rows[0], 0
        for row in self.rows[:_HEADER_SEARCH_ROWS]:
            count = len({_header_name(v) for v in self.cells[row].values()} & names)
            if count > best_count:
                best, best_count = row, count
        return best

    def _read_header(self) -> None:
        spec, excel_row = self.spec, self.header_row + 1
        header = {column: _header_name(value) for column, value in self.cells[self.header_row].items()}
        self.header = {column: name for column, name in header.items() if name}
        known = {column.name for column in spec.columns}
        for column in sorted(self.header):
            name = self.header[column]
            if name not in known:
                continue
            if name in self.columns:
                self.problems.append(Problem(spec.name, excel_row, name, None, "this column appears twice"))
            else:
                self.columns[name] = column
        # The table spans its known columns and the extra columns right beside them.
        held = sorted(self.header)
        placed = sorted(self.columns.values()) or held[:1]
        first, last = placed[0], placed[-1]
        while first - 1 in self.header:
            first -= 1
        while last + 1 in self.header:
            last += 1
        self.span = (first, last)
        unknown = {column: self.header[column] for column in held if self.header[column] not in known}
        hinted: set[int] = set()
        for name in spec.required_columns:
            if name in self.columns:
                continue
            hint = ""
            guess = next(
                (c for c, raw in unknown.items() if c not in hinted and _closest(raw, [name], True) is not None), None
            )
            if guess is not None:
                hinted.add(guess)
                raw = self.cells[self.header_row][guess]
                hint = (
                    f"; did you mean '{name}' for the header {_show(raw)} in cell {_reference(self.header_row, guess)}?"
                )
            self.problems.append(
                Problem(spec.name, excel_row, name, None, "this required column is missing from the header row" + hint)
            )
        absent = [c.name for c in spec.columns if c.name not in self.columns and c.name not in spec.required_columns]
        for column, raw in unknown.items():
            guess = _closest(raw, absent) if column not in hinted and first <= column <= last else None
            if guess is not None:
                self.notes.append(
                    f"sheet '{spec.name}' column {_show(self.cells[self.header_row][column])} (cell "
                    f"{_reference(self.header_row, column)}) is not a column of this sheet and was ignored; "
                    f"did you mean '{guess}'?"
                )
        above = [(r, c, v) for r in self.rows if r < self.header_row for c, v in sorted(self.cells[r].items())]
        if above:
            self.notes.append(
                f"sheet '{spec.name}': the header is row {excel_row}; "
                f"{'cell' if len(above) == 1 else 'cells'} {_cell_list(above)} above it "
                f"{'was' if len(above) == 1 else 'were'} ignored"
            )

    def _read_rows(self) -> None:
        spec, first, last = self.spec, *self.span
        known = [(column, self.columns[column.name]) for column in spec.columns if column.name in self.columns]
        missing = [c for c in spec.columns if c.name not in self.columns and c.name in spec.required_columns]
        outside = [
            (self.header_row, c, v) for c, v in sorted(self.cells[self.header_row].items()) if not first <= c <= last
        ]
        unheaded: list[tuple[int, int, object]] = []
        headed = {column for column in self.header if first <= column <= last}
        for row in self.rows:
            if row <= self.header_row:
                continue
            values = self.cells[row]
            for column in sorted(values.keys() - headed):
                (unheaded if first <= column <= last else outside).append((row, column, values[column]))
            cells = [(column, values.get(index)) for column, index in known]
            if all(is_blank(value) for _, value in cells):
                continue
            excel_row = row + 1
            record: Record = {"_row": excel_row, "_invalid": {c.name for c in missing}}
            for column, value in cells:
                found = len(self.problems)
                record[column.name] = parse_cell(column, value, spec.name, excel_row, self.problems)
                if len(self.problems) > found:
                    record["_invalid"].add(column.name)  # reported; later checks must not report it again
            for column in spec.columns:
                record.setdefault(column.name, column.default)
            self.records.append(record)
        table = f"columns {_letters(first)}:{_letters(last)}, header in row {self.header_row + 1}"
        if outside:
            self.notes.append(
                f"sheet '{spec.name}' {'cell' if len(outside) == 1 else 'cells'} {_cell_list(outside)} "
                f"{'holds a value' if len(outside) == 1 else 'hold values'} outside the table ({table}); "
                f"{'it was' if len(outside) == 1 else 'they were'} ignored"
            )
        if unheaded:
            self.notes.append(
                f"sheet '{spec.name}' {'cell' if len(unheaded) == 1 else 'cells'} {_cell_list(unheaded)} "
                f"{'is' if len(unheaded) == 1 else 'are'} under a blank header cell of the table ({table}); "
                f"{'it was' if len(unheaded) == 1 else 'they were'} ignored (give the column a header to read it)"
            )

    def check_merged(self, merged: Iterable[tuple[tuple[int, int], tuple[int, int]]]) -> None:
        """Merged cells are a problem where they cover key, number or yes/no cells below the header."""
        data_columns = {index: name for name, index in self.columns.items() if self.spec.column(name).kind != "text"}
        for (first_row, first_col), (last_row, last_col) in merged:
            covered = [c for c in range(first_col, last_col + 1) if c in data_columns]
            if last_row <= self.header_row or not covered:
                continue  # a title, a merged header, merged notes: decoration, not data
            self.problems.append(
                Problem(
                    self.spec.name,
                    max(first_row, self.header_row + 1) + 1,
                    data_columns[covered[0]],
                    None,
                    f"cells {_reference(first_row, first_col)}:{_reference(last_row, last_col)} are merged; "
                    "unmerge them and fill every cell of the table",
                )
            )

    def note_hidden(self, hidden_rows: list[int], hidden_columns: set[int]) -> None:
        """Warn of hidden rows holding records and hidden table columns: they are read all the same."""
        read = {record["_row"] for record in self.records}
        rows = [row for row in hidden_rows if row in read]
        if rows:
            shown = ", ".join(str(r) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")
            self.notes.append(
                f"sheet '{self.spec.name}' rows {shown} are hidden in Excel; they were read like every other row"
            )
        for name, column in self.columns.items():
            if column in hidden_columns:
                self.notes.append(
                    f"sheet '{self.spec.name}' column {_letters(column)} ('{name}') is hidden in Excel; "
                    "it was read like every other column"
                )


# --------------------------------------------------------------------------
# The sheets' XML: what calamine does not give (error cells, uncomputed
# formulas, hidden rows and columns, merged ranges) and how far the cells
# reach, read before calamine is asked for the sheet.

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
_XML_HIDDEN_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"[^>]*?\bhidden="(?:1|true)"')
_XML_COLUMNS = re.compile(rb"<(?:\w+:)?col\b([^>]*)>")
_XML_MERGED = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+\d+)(?::([A-Z]+\d+))?"')
_XML_PREFIX = re.compile(rb"<(\w+:)?sheetData\b")
# A cell with content (not self-closing) and its reference: (column letters, row digits).
_XML_HELD_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>/]*>')
_XML_PLACED_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="')
_CELL_REFERENCE = re.compile(r"^([A-Z]+)(\d+)$")


@dataclass
class _SheetScan:
    """What one sheet's XML says before its cells are read."""

    target: str  # the sheet's part in the archive
    errors: dict[tuple[int, int], ExcelError] = field(default_factory=dict)
    hidden_rows: list[int] = field(default_factory=list)  # Excel row numbers
    hidden_columns: set[int] = field(default_factory=set)  # 0-based
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    held: int = 0  # cells with content
    last_row: int = -1  # 0-based, of the cells with content
    last_column: int = -1
    unplaced: bool = False  # some cell has no reference: its place is known only by reading in order

    @property
    def sparse(self) -> bool:
        """Read cell by cell: calamine would allocate the rectangle from A1 to the last cell."""
        area = (self.last_row + 1) * (self.last_column + 1)
        return self.unplaced or area > max(_DENSE_CELLS, 4 * self.held)


def _scan_sheets(path: Path, sheets: set[str]) -> dict[str, _SheetScan]:
    """Scan the XML of ``sheets`` (by their names in the workbook).

    Error cells (``#N/A``) and formulas with no saved result, which calamine
    gives as blank; hidden rows and columns; merged ranges; how far the cells
    with content reach.  A formula whose saved result is an empty text
    (``=IF(..., "", ...)``) is a legitimately blank cell.  Best effort:
    anything unexpected gives no scan (the sheet is then read by calamine
    as before), never a failure.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            targets = _relationship_targets(archive)
            found: dict[str, _SheetScan] = {}
            for tag in re.findall(rb"<(?:\w+:)?sheet\b[^>]*>", archive.read("xl/workbook.xml")):
                attributes = {k.split(b":")[-1]: v for k, v in _XML_ATTRIBUTE.findall(tag)}
                name = html.unescape(attributes.get(b"name", b"").decode())
                target = targets.get(attributes.get(b"id", b"").decode())
                if name not in sheets or target is None:
                    continue
                found[name] = _scan_sheet(target[0], archive.read(target[0]))
            return found
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):  # calamine could open it: only this check is lost
        return {}


def _relationship_targets(archive: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """The workbook's relationships: id -> (part in the archive, type's last word)."""
    targets = {}
    for tag in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", archive.read("xl/_rels/workbook.xml.rels")):
        attributes = dict(_XML_ATTRIBUTE.findall(tag))
        target = html.unescape(attributes.get(b"Target", b"").decode())
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[attributes.get(b"Id", b"").decode()] = (part, attributes.get(b"Type", b"").decode().rsplit("/")[-1])
    return targets


def _scan_sheet(target: str, data: bytes) -> _SheetScan:
    scan = _SheetScan(target)
    if b'hidden="' in data:
        scan.hidden_rows = [int(r) for r in _XML_HIDDEN_ROW.findall(data)]
        for tag in _XML_COLUMNS.findall(data):
            attributes = dict(_XML_ATTRIBUTE.findall(tag))
            if attributes.get(b"hidden") in (b"1", b"true"):
                low, high = int(attributes.get(b"min", b"1")), int(attributes.get(b"max", b"1"))
                scan.hidden_columns.update(range(low - 1, min(high, low + 16384)))
    if _XML_ANY_FORMULA.search(data):  # most input sheets hold no formula at all
        for attributes, formula, value in _XML_FORMULA_CELL.findall(data):
            kind = dict(_XML_ATTRIBUTE.findall(attributes)).get(b"t")
            if not value and kind not in (b"str", b"inlineStr", b"s", b"e"):
                text = html.unescape(formula.decode())
                _put(scan.errors, attributes, ExcelError("=" + text if text else "a formula", _UNCOMPUTED))
    if b't="e"' in data:
        for attributes, value in _XML_ERROR_CELL.findall(data):
            _put(scan.errors, attributes, ExcelError(html.unescape(value.decode()) or "#ERROR"))
    if b"mergeCell" in data:
        for first, last in _XML_MERGED.findall(data):
            start, end = _position(first.decode()), _position((last or first).decode())
            if start is not None and end is not None:
                scan.merged.append((start, end))
    _scan_extent(scan, data)
    return scan


def _scan_extent(scan: _SheetScan, data: bytes) -> None:
    """How many cells hold something and how far they reach (calamine sizes the sheet by them).

    Fast on the usual form, ``<c r="B7" ...>`` (Excel, openpyxl and
    xlsxwriter write the reference first); any other form is scanned by a
    slower general pattern.
    """
    found = _XML_PREFIX.search(data)
    tag = b"<" + (found.group(1) or b"" if found else b"") + b"c"
    placed = re.findall(re.escape(tag) + rb' r="([A-Z]{1,3})(\d{1,7})"([^>]*)>', data)
    if len(placed) == data.count(tag + b" ") and tag + b">" not in data:
        held = [(column, row) for column, row, rest in placed if not rest.endswith(b"/")]
    else:
        held = _XML_HELD_CELL.findall(data)
        cells = data.count(tag + b" ") + data.count(tag + b">") + data.count(tag + b"/>")
        scan.unplaced = cells != len(_XML_PLACED_CELL.findall(data))
    scan.held = len(held)
    if held:
        letters, rows = zip(*held, strict=True)
        scan.last_row = int(_largest(rows)) - 1
        scan.last_column = _column_index(_largest(set(letters)).decode())


def _largest(digits_or_letters: Iterable[bytes]) -> bytes:
    """The largest row number (or column letters): the longest, then the last in order."""
    items = list(digits_or_letters)
    widest = max(map(len, items))
    return max(item for item in items if len(item) == widest)


def _column_index(letters: str) -> int:
    """0-based column of ``AB``."""
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - ord("A") + 1
    return column - 1


def _position(reference: str) -> tuple[int, int] | None:
    """0-based (row, column) of ``AB12``."""
    match = _CELL_REFERENCE.match(reference)
    if match is None:
        return None
    return int(match.group(2)) - 1, _column_index(match.group(1))


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
    position = _position(dict(_XML_ATTRIBUTE.findall(attributes)).get(b"r", b"").decode())
    if position is not None:
        cells[position] = error


# --------------------------------------------------------------------------
# Reading a sheet cell by cell from its XML (only the cells present), typed
# as python-calamine types them.


@dataclass
class _BookXml:
    """What typing a sheet's cells needs from the rest of the workbook."""

    strings: list[str]  # the shared strings
    formats: list[str | None]  # per cell style: "date", "duration" or None
    date1904: bool


_BUILTIN_FORMATS = {**{number: "date" for number in (*range(14, 23), 45, 47)}, 46: "duration"}
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_MILLISECONDS_PER_DAY = 86_400_000


def _book_xml(path: Path) -> _BookXml:
    with zipfile.ZipFile(path) as archive:
        parts = {kind: part for part, kind in _relationship_targets(archive).values()}
        strings: list[str] = []
        if parts.get("sharedStrings") in archive.namelist():
            with archive.open(parts["sharedStrings"]) as stream:
                for _, element in ElementTree.iterparse(stream):
                    if _local(element.tag) == "si":
                        strings.append(_text(element))
                        element.clear()
        formats: list[str | None] = []
        if parts.get("styles") in archive.namelist():
            styles = ElementTree.fromstring(archive.read(parts["styles"]))
            codes = {
                int(element.get("numFmtId", "0")): element.get("formatCode", "")
                for element in styles.iter()
                if _local(element.tag) == "numFmt"
            }
            for section in styles:
                if _local(section.tag) == "cellXfs":
                    for xf in section:
                        number = int(xf.get("numFmtId", "0"))
                        formats.append(
                            _custom_format(codes[number]) if number in codes else _BUILTIN_FORMATS.get(number)
                        )
        date1904 = re.search(rb'date1904="(?:1|true)"', archive.read("xl/workbook.xml")) is not None
    return _BookXml(strings, formats, date1904)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(element: ElementTree.Element) -> str:
    """The text of a shared or inline string: its ``t`` and rich-text runs, without phonetic guides."""
    parts = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts += [t.text or "" for t in child if _local(t.tag) == "t"]
    return "".join(parts)


def _custom_format(code: str) -> str | None:
    """``date`` or ``duration`` when the number format shows a number as one, else None.

    Only the first section counts; quoted text, escaped characters (``\\x``,
    ``_x``, ``*x``) and bracketed parts (``[Red]``, ``[$-409]``) are not
    date codes, except elapsed time (``[h]``, ``[mm]``, ``[ss]``).
    """
    code = code.split(";")[0]
    code = re.sub(r'"[^"]*"|[\\_*].', "", code)
    if re.search(r"\[(h+|m+|s+)\]", code, re.IGNORECASE):
        return "duration"
    code = re.sub(r"\[[^\]]*\]", "", code)
    return "date" if re.search(r"[dmyhs]", code, re.IGNORECASE) else None


def _excel_moment(serial: float, kind: str, date1904: bool) -> object:
    """A date-formatted number as python-calamine gives it (the number when out of range)."""
    try:
        if kind == "duration":
            return dt.timedelta(milliseconds=round(serial * _MILLISECONDS_PER_DAY))
        days = serial + 1462 if date1904 else serial
        if days < 60:
            days += 1  # Excel counts a 29 February 1900 that never was
        moment = _EXCEL_EPOCH + dt.timedelta(milliseconds=round(days * _MILLISECONDS_PER_DAY))
    except (OverflowError, ValueError):
        return serial
    if serial < 1:
        return moment.time()
    return moment.date() if moment.time() == dt.time() else moment


def _xml_value(cell: ElementTree.Element, book: _BookXml) -> object:
    """The value of one ``<c>`` element (None when blank; errors are put in by the scan)."""
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        inline = next((child for child in cell if _local(child.tag) == "is"), None)
        return None if inline is None else _text(inline)
    raw = next((child.text for child in cell if _local(child.tag) == "v"), None)
    if raw is None or kind == "e":
        return None
    if kind == "s":
        index = int(raw)
        return book.strings[index] if 0 <= index < len(book.strings) else None
    if kind == "str":
        return raw
    if kind == "b":
        return raw.strip() not in ("0", "false", "")
    if kind == "d":
        try:
            return dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            return raw
    number = float(raw)
    style = int(cell.get("s", "0"))
    moment = book.formats[style] if 0 <= style < len(book.formats) else None
    return number if moment is None else _excel_moment(number, moment, book.date1904)


def _xml_cells(path: Path, target: str, book: _BookXml) -> Cells:
    """The cells of one sheet holding something, streamed from its XML: memory grows with them only."""
    cells: Cells = {}
    row, column = -1, -1
    with zipfile.ZipFile(path) as archive, archive.open(target) as stream:
        sheet_data = None
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            name = _local(element.tag)
            if event == "start":
                if name == "row":
                    number = element.get("r")
                    row, column = (int(number) - 1 if number else row + 1), -1
                elif name == "sheetData":
                    sheet_data = element
                continue
            if name == "c":
                position = _position(element.get("r") or "")
                if position is None:
                    position = (row, column + 1)
                column = position[1]
                value = _xml_value(element, book)
                if not is_blank(value):
                    cells.setdefault(position[0], {})[position[1]] = value
            elif name == "row" and sheet_data is not None:
                sheet_data.clear()  # rows read are dropped: memory grows with the cells kept only
    return cells
