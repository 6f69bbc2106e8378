"""Problems found in the input, collected and reported together."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in the input workbook, located as precisely as possible.

    ``row`` is the Excel row number (1 = header row); ``None`` when the
    problem concerns a whole sheet or column.
    """

    sheet: str
    row: int | None
    column: str | None
    value: object
    expected: str

    def __str__(self) -> str:
        where = [f"sheet '{self.sheet}'"]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        shown = "" if self.value is None else f": {_show(self.value)}"
        return f"{', '.join(where)}{shown} — {self.expected}"


def _show(value: object) -> str:
    if isinstance(value, str):
        return "blank" if value == "" else repr(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def row_list(rows, limit: int = 6) -> str:
    """'2, 5, 9 and 3 more': Excel row numbers for a message, sorted, without repeats."""
    rows = sorted(set(rows))
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


class InputError(Exception):
    """The input cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem], warnings: list[str] | tuple[str, ...] = ()):
        self.problems = list(problems)
        self.warnings = list(warnings)  # found on the way; printed after the problems
        super().__init__("\n".join(str(p) for p in self.problems))


class SolverError(Exception):
    """The solver failed or returned an unusable answer."""


class VerificationError(Exception):
    """The extracted solution breaks an invariant of the model."""
