"""Inputs of the studies of SPEC Part 3 that are read and checked with the workbook.

* :func:`parse_shares`: the ``frontier`` setting and ``--frontier``'s argument,
* :func:`check_uncertainty`: the rows of the ``uncertainty`` sheet (Monte Carlo factors).
"""

from __future__ import annotations

from dataclasses import dataclass

from model.errors import Problem, row_list
from model.workbook.schema import SHEETS, WILDCARD, YEAR_COLUMN


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
# Row selection: the `match` column of the uncertainty (and changes) sheet
# ---------------------------------------------------------------------------------------------------------------


def parse_match(text: str | None) -> list[tuple[str, str]] | str:
    """``column=value`` pairs separated by ``;`` (blank = every row); a message when it cannot be read.

    Column names are matched after trimming and lower-casing, values after trimming.
    """
    if text is None or not str(text).strip():
        return []
    pairs = []
    for part in str(text).split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            return f"'{part.strip()}' is not column=value; write e.g. country=CHN;product=dy_oxide"
        column, value = part.split("=", 1)
        pairs.append((column.strip().lower(), value.strip()))
    return pairs


def _cell_matches(spec, cell: object, wanted: str) -> bool:
    """Does one cell hold ``wanted``? ``*`` is any value, except in wildcard key columns (only a ``*`` cell)."""
    from model.workbook.read import parse_number, parse_yesno

    if wanted == WILDCARD and not spec.wildcard:
        return True
    if cell is None:
        return wanted == ""
    if spec.kind == "number":
        number = parse_number(wanted)
        return number is not None and float(cell) == number
    if spec.kind == "yesno":
        return parse_yesno(wanted) == cell
    return str(cell).strip() == wanted


def matching_rows(records: list[dict], sheet: str, match: str | None) -> list[dict]:
    """The records of ``sheet`` that ``match`` selects (every record when blank); see :func:`parse_match`."""
    pairs = parse_match(match)
    if isinstance(pairs, str):
        raise ValueError(pairs)
    spec = SHEETS[sheet]
    columns = {column.name: column for column in spec.columns}
    selected = []
    for record in records:
        if all(_cell_matches(columns[column], record.get(column), value) for column, value in pairs):
            selected.append(record)
    return selected


# ---------------------------------------------------------------------------------------------------------------
# The uncertainty sheet
# ---------------------------------------------------------------------------------------------------------------

DISTRIBUTIONS = ("uniform", "triangular")
NOT_SCALED = ("settings", "uncertainty", "years")  # sheets whose numbers a factor may not multiply


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


def read_factors(records: dict[str, list[dict]], problems: list[Problem]) -> list[Factor]:
    """The uncertainty sheet's rows as factors; every problem appended (sheet, row, column, value, expected).

    Checks: a known sheet (not settings, years or uncertainty), a column of
    numbers of it (not ``year``), a distribution uniform or triangular, 0 ≤
    low ≤ high, a triangular mode within [low, high], a readable ``match``
    naming columns of the sheet and selecting at least one row, and on each
    selected row a number to multiply (not a blank cell without a default).
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
        pairs = parse_match(record.get("match"))
        if isinstance(pairs, str):
            problems.append(Problem("uncertainty", row, "match", record.get("match"), pairs))
        elif sheet is not None:
            names = {c.name for c in SHEETS[sheet].columns}
            unknown = [name for name, _ in pairs if name not in names]
            if unknown:
                problems.append(
                    Problem(
                        "uncertainty",
                        row,
                        "match",
                        record.get("match"),
                        f"columns of {sheet} ({', '.join(sorted(names))}); not {', '.join(unknown)}",
                    )
                )
            elif column in numbers:
                selected = matching_rows(records.get(sheet, []), sheet, record.get("match"))
                if not selected:
                    problems.append(
                        Problem(
                            "uncertainty",
                            row,
                            "match",
                            record.get("match") or "",
                            f"a selection of at least one row of {sheet}; it selects none",
                        )
                    )
                blank = [r["_row"] for r in selected if r.get(column) is None and column not in r.get("_invalid", ())]
                if blank:
                    problems.append(
                        Problem(
                            "uncertainty",
                            row,
                            "column",
                            column,
                            f"a number on every selected row to multiply; {sheet} rows {row_list(blank)} "
                            f"have none in {column}",
                        )
                    )
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
