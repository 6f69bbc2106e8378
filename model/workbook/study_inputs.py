"""Inputs of the studies of SPEC Part 3 that are read and checked with the workbook.

* :func:`parse_shares`: the ``frontier`` setting and ``--frontier``'s argument,
* :func:`check_uncertainty`: the rows of the ``uncertainty`` sheet (Monte Carlo factors).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from model.errors import Problem
from model.workbook.schema import SHEETS, YEAR_COLUMN


def parse_shares(text: object) -> tuple[float, ...] | None:
    """Shares from ``1,0.5,0.2`` (or one number); None when any item is not a share in 0..1.

    Sorted loosest first, repeats removed.
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        items = [float(text)]
    else:
        parts = [part.strip() for part in str(text).split(",")]
        if any(not part for part in parts):
            return None
        try:
            items = [float(part) for part in parts]
        except ValueError:
            return None
    if any(not 0 <= item <= 1 for item in items):  # NaN fails too
        return None
    return tuple(sorted(set(items), reverse=True))


# ---------------------------------------------------------------------------------------------------------------
# The uncertainty sheet
# ---------------------------------------------------------------------------------------------------------------

DISTRIBUTIONS = ("uniform", "triangular")
# Sheets whose numbers a factor may not multiply.
NOT_SCALED = ("settings", "uncertainty", "years", "scenarios", "changes")


@dataclass(frozen=True)
class Factor:
    """One row of the uncertainty sheet: a factor drawn per sample, multiplying ``column`` on the matched rows."""

    row: int  # Excel row of the uncertainty sheet
    sheet: str
    column: str
    distribution: str  # uniform or triangular
    low: float
    high: float
    mode: float | None
    match: str | None
    group: str  # rows with the same group share one quantile per sample; '' = its own

    @property
    def name(self) -> str:
        return f"factor_{self.row}"


def _check_selection(
    records: dict[str, list[dict]], record: dict, sheet: str, column: str, low: float, high: float
) -> list[Problem]:
    """Problems of the factor's ``match`` and of the values it makes, found by scaling a copy by low and by high.

    The rows are selected and scaled exactly as a ``scale`` change of the
    ``changes`` sheet (:func:`model.scenarios.changes.apply_change`): a
    ``match`` that selects no row or names an unknown column, a selected
    row without a number in ``column``, a factor making a value invalid
    (scaling is linear, so low and high bound every draw) are all named here.
    """
    from model.scenarios.changes import Change, apply_change, copy_records

    problems: list[Problem] = []
    for bound, factor in (("low", low), ("high", high)):
        found: list[Problem] = []
        change = Change(sheet, column, "scale", factor, record.get("match"), row=record["_row"], where="uncertainty")
        apply_change(copy_records({sheet: records.get(sheet, [])}), set(), change, found)
        problems += [dataclasses.replace(p, column=bound) if p.column == "value" else p for p in found]
        if any(p.column != "value" for p in found):
            break  # the selection itself is wrong: once is enough
    return list(dict.fromkeys(problems))


def read_factors(records: dict[str, list[dict]], problems: list[Problem]) -> list[Factor]:
    """The uncertainty sheet's rows as factors; every problem appended (sheet, row, column, value, expected).

    Checks: a known sheet (not settings, years or uncertainty), a column of
    numbers of it (not ``year``), a distribution uniform or triangular, 0 ≤
    low ≤ high, a triangular mode within [low, high], a readable ``match``
    naming columns of the sheet and selecting at least one row, on each
    selected row a number to multiply (not a blank cell without a default),
    and values valid at both ends of the range (:func:`_check_selection`).
    """
    factors = []
    scalable = [name for name in SHEETS if name not in NOT_SCALED]
    for record in records.get("uncertainty", []):
        row = record["_row"]
        invalid = record.get("_invalid", ())
        sheet, column = record.get("sheet"), record.get("column")
        found = len(problems)
        if sheet is not None and sheet not in scalable:
            problems.append(
                Problem("uncertainty", row, "sheet", sheet, f"an input sheet whose numbers vary: {', '.join(scalable)}")
            )
            sheet = None
        numbers = (
            [c.name for c in SHEETS[sheet].columns if c.kind == "number" and c.name != YEAR_COLUMN] if sheet else []
        )
        if sheet is not None and column is not None and column not in numbers:
            known = column in {c.name for c in SHEETS[sheet].columns}
            what = "holds no numbers to multiply" if known else "is not a column of that sheet"
            problems.append(
                Problem(
                    "uncertainty",
                    row,
                    "column",
                    column,
                    f"'{column}' {what}; a column of numbers of {sheet}: " + ", ".join(numbers),
                )
            )
        distribution = str(record.get("distribution") or "").strip().lower()
        if record.get("distribution") is not None and distribution not in DISTRIBUTIONS:
            problems.append(
                Problem("uncertainty", row, "distribution", record.get("distribution"), "uniform or triangular")
            )
        low, high, mode = record.get("low"), record.get("high"), record.get("mode")
        if low is not None and high is not None and low > high:
            problems.append(
                Problem("uncertainty", row, "high", high, f"a factor ≥ low ({low:g}): the range runs from low to high")
            )
        if distribution == "triangular" and "mode" not in invalid:
            if mode is None:
                problems.append(Problem("uncertainty", row, "mode", "", "a mode is required for triangular"))
            elif low is not None and high is not None and not low <= mode <= high:
                problems.append(
                    Problem("uncertainty", row, "mode", mode, f"a mode between low ({low:g}) and high ({high:g})")
                )
        if sheet is not None and column in numbers and low is not None and high is not None and low <= high:
            problems += _check_selection(records, record, sheet, column, low, high)
        if len(problems) > found or any(
            record.get(name) is None for name in ("sheet", "column", "distribution", "low", "high")
        ):
            continue
        factors.append(
            Factor(
                row=row,
                sheet=sheet,
                column=column,
                distribution=distribution,
                low=float(low),
                high=float(high),
                mode=None if mode is None else float(mode),
                match=record.get("match"),
                group=str(record.get("group") or "").strip(),
            )
        )
    return factors
