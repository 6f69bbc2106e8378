"""Change rows (SPEC Part 3, sheet ``changes``) applied to the records of a workbook.

A change names a ``sheet`` and a ``column``, selects rows by ``match`` and
applies an ``operation`` to the column on every selected row:

* ``set``: the cell becomes ``value`` (read as the column reads its cells:
  a number, a name, yes/no);
* ``scale``: cell × ``value``;  ``add``: cell + ``value`` (numeric cells only;
  a blank cell without a default is an error, a blank cell with a default,
  such as ``expansion_max`` = 0, is that default).

``match`` is ``column=value`` pairs separated by ``;`` (every pair must
hold); blank selects every row.  ``value`` ``*`` selects every row, except
in the key columns of ``lanes`` and ``exposure_caps`` (``from``, ``to``,
``product``; ``country``, ``product``, ``stage``), where ``*`` is itself a
value and selects only the cells holding ``*``.  Names compare as the
reader keeps them (trimmed, case-sensitive), numbers as numbers (``year=2027``
matches 2027.0), yes/no cells by their meaning (``allowed=no`` matches
``false``).

A ``set`` on ``lanes`` or ``exposure_caps`` whose match names every key
column and selects no row adds that row (its other cells blank, the
columns named in the match as given).  Any other change that selects no row
is an error, as are an unknown sheet, column or operation, a non-numeric
factor or amount, scaling or adding to a blank or non-numeric cell, and a
result outside the column's valid range (e.g. a negative capacity).  Every
problem names the change (its row on the ``changes`` sheet) and, where
there is one, the target row.

Cross-sheet consequences (a ``set`` naming an unknown country, a duplicate
key) are found by :func:`model.workbook.validate.validate` on the changed
workbook; records a change touched carry ``_changed_by`` so that
:mod:`model.scenarios.apply` can name the change in those problems too.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from model.errors import InputError, Problem
from model.workbook.read import RawWorkbook, Record, number_in_range, parse_name, parse_number, parse_yesno
from model.workbook.references import did_you_mean
from model.workbook.schema import SHEETS, WILDCARD, ColumnSpec

OPERATIONS = ("set", "scale", "add")
# Sheets a change may not touch: the scenario definitions themselves.
SCENARIO_SHEETS = ("scenarios", "changes")
# On these sheets a `set` whose match names every key column and selects nothing adds the row (SPEC Part 3).
ADDABLE = ("lanes", "exposure_caps")


@dataclass(frozen=True)
class Change:
    """One change: ``operation`` (set, scale, add) of ``value`` on ``column`` of the ``sheet`` rows ``match`` selects.

    ``row`` is the change's Excel row on the sheet ``where`` (``changes``
    for a change row of the workbook; a batch variant's changes have none),
    ``scenario`` the scenario it belongs to, for messages.
    """

    sheet: str
    column: str
    operation: str
    value: object
    match: str | None = None
    scenario: str | None = None
    row: int | None = None
    where: str = "changes"

    def label(self) -> str:
        """'changes row 7 (scenario dy_ban)', for messages about the target rows."""
        place = f"{self.where} row {self.row}" if self.row is not None else f"the change {self.describe()}"
        return place + (f" (scenario '{self.scenario}')" if self.scenario else "")

    def describe(self) -> str:
        match = f" where {self.match}" if self.match else ""
        return f"'{self.operation} {self.sheet}.{self.column} {self.value}{match}'"


def copy_row(record: Record) -> Record:
    """A copy of one record deep enough that changing a cell (or its ``_invalid`` set) leaves ``record`` as it was."""
    copy = record.copy()
    if "_invalid" in record:
        copy["_invalid"] = set(record["_invalid"])
    return copy


def copy_records(records: dict[str, list[Record]]) -> dict[str, list[Record]]:
    """A copy deep enough that changing a cell (or an ``_invalid`` set) leaves ``records`` as it was."""
    return {sheet: [copy_row(r) for r in rows] for sheet, rows in records.items()}


def apply_changes(raw: RawWorkbook, changes: Iterable[Change]) -> RawWorkbook:
    """A new workbook with ``changes`` applied in order; ``raw`` is not modified.

    Copy on write: every sheet gets a new list of rows, and a row is copied
    (:func:`copy_row`) only when a change writes to it; the rows no change
    writes are shared with ``raw``.  Nothing downstream changes a record in
    place (:func:`model.workbook.names.normalise_names`, the one step of
    validation that rewrites cells, replaces the row in its list instead), so
    ``raw`` stays as it was (``tests/test_fast_variant_data.py``).

    Raises :class:`InputError` listing every problem of every change (the
    changes that can be applied are applied, so later ones see them).
    """
    records = {sheet: list(rows) for sheet, rows in raw.records.items()}
    owned: set[int] = set()  # id() of the rows copied here, which later changes may write in place
    present = set(raw.present)
    problems: list[Problem] = []
    for change in changes:
        apply_change(records, present, change, problems, owned)
    if problems:
        raise InputError(problems)
    return dataclasses.replace(
        raw, records=records, present=present, warnings=list(raw.warnings), problems=list(raw.problems)
    )


def _problem(change: Change, column: str, value: object, expected: str) -> Problem:
    return Problem(change.where, change.row, column, value, expected)


def parse_match(change: Change, problems: list[Problem]) -> list[tuple[ColumnSpec, str]] | None:
    """The (column, value) conditions of ``change.match``; None (with a problem) when it cannot be read."""
    spec = SHEETS[change.sheet]
    text = "" if change.match is None else str(change.match).strip()
    conditions: list[tuple[ColumnSpec, str]] = []
    ok = True
    for part in filter(None, (piece.strip() for piece in text.split(";"))):
        name, equals, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not equals or not name:
            problems.append(
                _problem(change, "match", change.match, f"column=value pairs separated by ; ('{part}' has no '=')")
            )
            ok = False
            continue
        known = [c.name for c in spec.columns]
        if name not in known:
            problems.append(
                _problem(
                    change,
                    "match",
                    change.match,
                    f"a column of the '{change.sheet}' sheet: '{name}' is not one{did_you_mean(name, known)}",
                )
            )
            ok = False
            continue
        conditions.append((spec.column(name), value))
    return conditions if ok else None


def _same(column: ColumnSpec, cell: object, value: str) -> bool:
    """Does ``cell`` (as read) hold what the match ``value`` (as typed) says?"""
    if value == WILDCARD:
        return cell == WILDCARD if column.wildcard else True
    if cell is None:
        return value == ""
    if column.kind == "number":
        number = parse_number(value)
        return number is not None and float(cell) == number
    if column.kind == "yesno":
        flag = parse_yesno(value)
        return flag is not None and bool(cell) == flag
    if column.kind == "any":
        number, held = parse_number(value), parse_number(cell)
        if number is not None and held is not None:
            return number == held
        return str(cell).strip() == value
    return parse_name(cell) == value


def _matcher(column: ColumnSpec, value: str) -> Callable[[object], bool]:
    """``lambda cell: _same(column, cell, value)`` with ``value`` parsed once, for matching many rows."""
    blank = value == ""
    if value == WILDCARD:
        return (lambda cell: cell == WILDCARD) if column.wildcard else (lambda cell: True)
    if column.kind == "number":
        number = parse_number(value)
        if number is None:
            return lambda cell: cell is None and blank
        return lambda cell: blank if cell is None else float(cell) == number
    if column.kind == "yesno":
        flag = parse_yesno(value)
        if flag is None:
            return lambda cell: cell is None and blank
        return lambda cell: blank if cell is None else bool(cell) == flag
    if column.kind == "any":
        number = parse_number(value)

        def same_any(cell: object) -> bool:
            if cell is None:
                return blank
            held = parse_number(cell)
            if number is not None and held is not None:
                return number == held
            return str(cell).strip() == value

        return same_any

    def same_name(cell: object) -> bool:
        if cell is None:
            return blank
        if type(cell) is str:
            return cell.strip() == value  # parse_name of a str
        return parse_name(cell) == value

    return same_name


def _selected(rows: list[Record], conditions: list[tuple[ColumnSpec, str]]) -> list[int]:
    """Positions of the rows meeting every condition (:func:`_same` on each)."""
    if not conditions:
        return list(range(len(rows)))
    tests = [(column.name, _matcher(column, value)) for column, value in conditions]
    if len(tests) == 1:
        ((name, test),) = tests
        return [index for index, r in enumerate(rows) if test(r.get(name))]
    return [index for index, r in enumerate(rows) if all(test(r.get(name)) for name, test in tests)]


def _new_cell(column: ColumnSpec, value: object) -> tuple[object, str | None]:
    """The cell a ``set`` writes, or (None, what was expected)."""
    if column.kind == "any":
        return value, None
    if column.kind == "text":
        return (None if value is None else str(value).strip()), None
    if column.kind == "key":
        name = parse_name(value)
        return (name, None) if name else (None, column.expectation())
    if column.kind == "yesno":
        flag = parse_yesno(value)
        return (flag, None) if flag is not None else (None, "yes or no (also true/false, 1/0, y/n)")
    number = parse_number(value)
    if number is None:
        return None, column.expectation() + " written plainly"
    return _checked(column, number)


def _checked(column: ColumnSpec, number: float) -> tuple[object, str | None]:
    """``number`` if the column allows it, else (None, what the column holds)."""
    if (
        not number_in_range(number, column.minimum, column.maximum, column.exclusive_minimum)
        or (column.nonzero and number == 0)
        or (column.integer and not float(number).is_integer())
    ):
        return None, column.expectation()
    return (int(number) if column.integer else number), None


def apply_change(
    records: dict[str, list[Record]],
    present: set[str],
    change: Change,
    problems: list[Problem],
    owned: set[int] | None = None,
) -> None:
    """Apply one change to ``records`` in place, or append its problems (then nothing is changed).

    ``owned``: None when every row of ``records`` may be changed in place;
    else the ``id()`` of the rows that may be, and a row not among them is
    replaced in its list by a copy before it is written (copy on write; the
    copy joins ``owned``).  The lists themselves are always changed in place.
    """
    sheet = str(change.sheet).strip().lower() if change.sheet is not None else ""
    if sheet not in SHEETS or sheet in SCENARIO_SHEETS:
        known = [name for name in SHEETS if name not in SCENARIO_SHEETS]
        problems.append(
            _problem(change, "sheet", change.sheet, f"an input sheet{did_you_mean(str(change.sheet), known)}")
        )
        return
    if change.sheet != sheet:
        change = dataclasses.replace(change, sheet=sheet)
    spec = SHEETS[sheet]
    name = str(change.column).strip().lower() if change.column is not None else ""
    known = [c.name for c in spec.columns]
    if name not in known:
        problems.append(
            _problem(
                change,
                "column",
                change.column,
                f"a column of the '{sheet}' sheet ({', '.join(known)}){did_you_mean(name, known)}",
            )
        )
        return
    column = spec.column(name)
    operation = str(change.operation).strip().lower() if change.operation is not None else ""
    if operation not in OPERATIONS:
        problems.append(_problem(change, "operation", change.operation, "set, scale or add"))
        return
    if change.operation != operation:
        change = dataclasses.replace(change, operation=operation)
    conditions = parse_match(change, problems)
    if conditions is None:
        return
    if operation == "set":
        new, expected = _new_cell(column, change.value)
        if expected is not None:
            problems.append(_problem(change, "value", change.value, f"{expected} for {sheet}.{name}"))
            return
        amount = None
    else:
        amount = parse_number(change.value)
        if amount is None:
            what = "factor" if operation == "scale" else "amount to add"
            problems.append(_problem(change, "value", change.value, f"a number (the {what})"))
            return
        if column.kind not in ("number", "any"):
            problems.append(
                _problem(
                    change,
                    "column",
                    change.column,
                    f"a numeric column to {operation}: {sheet}.{name} holds {column.expectation()}s",
                )
            )
            return
    rows = records.setdefault(sheet, [])
    positions = _selected(rows, conditions)
    if not positions:
        named = {c.name for c, _ in conditions}
        if operation == "set" and sheet in ADDABLE and set(spec.key) <= named:
            _add_row(rows, present, change, column, new, conditions)
            if owned is not None:
                owned.add(id(rows[-1]))
            return
        problems.append(_problem(change, "match", change.match, _nothing_selected(change, rows, conditions)))
        return
    found = len(problems)
    results = []
    blank_rows: list[int] = []
    for index in positions:
        if operation == "set":
            results.append(new)
            continue
        record = rows[index]
        cell = record.get(name)
        if type(cell) is float and math.isfinite(cell):
            held = cell  # parse_number of a finite float
        else:
            held = parse_number(cell) if cell is not None else None
        if held is None:
            if cell is None:
                blank_rows.append(record["_row"])
                continue
            problems.append(
                _problem(
                    change,
                    "column",
                    name,
                    f"a number in {sheet} row {record['_row']} column '{name}' to {operation} (it holds {cell!r})",
                )
            )
            continue
        result = held * amount if operation == "scale" else held + amount
        if column.kind == "number":
            value, expected = _checked(column, result)
            if expected is not None:
                problems.append(
                    _problem(
                        change,
                        "value",
                        change.value,
                        f"a value giving {expected} for {sheet}.{name}: it makes {sheet} row {record['_row']} "
                        f"{held:g} → {result:g}",
                    )
                )
                continue
            result = value
        results.append(result)
    if blank_rows:
        hint = (
            f"; a blank lane cell takes the value of the less specific lane row, so {operation} that row "
            "(e.g. match product=*) or set the cells"
            if sheet == "lanes"
            else ""
        )
        problems.append(
            _problem(
                change,
                "column",
                name,
                f"a number in {sheet} {_rows_text(blank_rows)} column '{name}' to {operation} "
                f"({'it is' if len(blank_rows) == 1 else 'they are'} blank{hint})",
            )
        )
    if len(problems) > found:
        return
    label = change.label()  # once per change: the same text on every row it writes
    for index, result in zip(positions, results, strict=True):
        record = rows[index]
        if owned is not None and id(record) not in owned:
            record = rows[index] = copy_row(record)
            owned.add(id(record))
        record[name] = result
        if "_invalid" in record:
            record["_invalid"].discard(name)
        record["_changed_by"] = [*record.get("_changed_by", ()), label]


def _rows_text(rows: list[int]) -> str:
    """'row 5' or 'rows 5, 6, 9' (at most ten listed, then how many more)."""
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:10])
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"rows {shown}{more}"


def _add_row(
    rows: list[Record],
    present: set[str],
    change: Change,
    column: ColumnSpec,
    value: object,
    conditions: list[tuple[ColumnSpec, str]],
) -> None:
    """The row a `set` adds to lanes or exposure_caps: the match's cells, the set column, defaults elsewhere."""
    spec = SHEETS[change.sheet]
    record: Record = {c.name: c.default for c in spec.columns}
    for condition, text in conditions:
        cell, _ = (text, None) if condition.kind == "key" else _new_cell(condition, text)
        record[condition.name] = cell
    record[column.name] = value
    record["_row"] = change.row
    record["_invalid"] = set()
    record["_origin"] = (change.where, change.row)
    record["_changed_by"] = [change.label()]
    rows.append(record)
    present.add(change.sheet)


def _nothing_selected(change: Change, rows: list[Record], conditions: list[tuple[ColumnSpec, str]]) -> str:
    """Why a match selected no row, with a hint on the first condition no row meets."""
    text = f"a match selecting at least one row of '{change.sheet}'"
    if not rows:
        text += ": the sheet has no rows"
    remaining = rows
    for number, (column, value) in enumerate(conditions):
        kept = [r for r in remaining if _same(column, r.get(column.name), value)]
        if not kept and remaining:
            held = sorted({str(parse_name(r.get(column.name))) for r in remaining if r.get(column.name) is not None})
            hint = did_you_mean(value, held) if column.kind in ("key", "text") else ""
            before = " ".join(f"{c.name}={v}" for c, v in conditions[:number])
            text += f": no row{f' with {before}' if before else ''} has {column.name} = {value!r}{hint}"
            if value == WILDCARD and column.wildcard:
                text += f" (in {change.sheet}.{column.name} a match value * selects only cells holding *)"
            break
        remaining = kept
    if change.sheet in ADDABLE and change.operation == "set":
        text += f"; to add a row, name every key column ({', '.join(SHEETS[change.sheet].key)}) in the match"
    return text
