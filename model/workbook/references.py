"""References between sheets: a name must be a key of its sheet, with a "did you mean" hint."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable

from model.errors import Problem
from model.workbook.schema import WILDCARD

_SHEET_OF = {
    "country": "countries",
    "product": "products",
    "process": "processes",
    "facility": "facilities",
    "stage": "processes",
}


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """A hint naming the known key closest to ``value`` (case first).

    A pure function of ``value`` and the names in order, so cached on them:
    a batch asks the same question of every variant (a settings label, say).
    """
    known = tuple(known)
    try:
        return _did_you_mean(value, known)
    except TypeError:  # an unhashable value or name (never a cell as read): asked without the cache
        return _did_you_mean.__wrapped__(value, known)


@functools.lru_cache(maxsize=1024)
def _did_you_mean(value: str, known: tuple[str, ...]) -> str:
    lowered = {k.lower(): k for k in known}
    if value.lower() in lowered:
        return f" (did you mean '{lowered[value.lower()]}'? names are case-sensitive)"
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_reference(
    problems: list[Problem],
    sheet: str,
    record: dict,
    column: str,
    known: Iterable[str],
    what: str,
    wildcard: bool = False,
    extra: tuple[str, ...] = (),
) -> bool:
    """Append a problem if ``record[column]`` is not a known name."""
    value = record.get(column)
    if value is None or value in known or value in extra or (wildcard and value == WILDCARD):
        return value is not None
    allowed = f"a {what} named in the '{_SHEET_OF[what]}' sheet"
    if wildcard:
        allowed += " or *"
    if extra:
        allowed += " or " + " or ".join(extra)
    problems.append(
        Problem(
            sheet,
            record["_row"],
            column,
            value,
            f"expected {allowed}{did_you_mean(str(value), list(known) + list(extra))}",
        )
    )
    return False
