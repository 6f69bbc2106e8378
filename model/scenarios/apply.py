"""A named scenario applied to the workbook (SPEC Part 3): ``based_on`` chain, overlay sheets, change rows.

``apply_scenario(raw, name)`` returns a new :class:`RawWorkbook` (``raw``
untouched) in which, for each scenario of the chain from the root of
``name``'s ``based_on`` chain down to ``name`` itself:

1. its overlay rows (sheets ``<sheet>@<scenario>``, and the rows of
   ``<sheet>@`` whose ``scenario`` cell names it) replace the rows of
   ``<sheet>`` with the same key (the year too, on sheets whose rows carry
   one: an overlay row for 2027 replaces the 2027 row, not the key's
   earlier rows) and the others are added;
2. its ``changes`` rows apply in sheet order (:mod:`model.scenarios.changes`).

Problems found on the way (an unknown scenario, a ``based_on`` cycle, a
change that selects nothing, cells of the scenario sheets that cannot be
read) are raised together as one :class:`InputError`; problems of other
scenarios are not raised, so that a batch fails only the broken
scenario's row.  :func:`validate_scenario` then validates the changed
workbook and says, in each problem on a row a change or an overlay wrote,
which one it was.
"""

from __future__ import annotations

import dataclasses

from model.data import ModelData
from model.errors import InputError, Problem
from model.scenarios.changes import Change, apply_change, copy_records
from model.workbook.read import OVERLAY_MARK, RawWorkbook, Record
from model.workbook.references import did_you_mean
from model.workbook.schema import SHEETS
from model.workbook.validate import validate

BASE = "base"  # the name of the unchanged workbook in comparisons


def defined_scenarios(raw: RawWorkbook) -> list[str]:
    """Scenario names in the order of the ``scenarios`` sheet."""
    return list(dict.fromkeys(r["scenario"] for r in raw.records.get("scenarios", []) if r.get("scenario")))


def all_scenarios(raw: RawWorkbook) -> list[str]:
    """Every scenario to run: those of the ``scenarios`` sheet, then names used only by changes or overlays.

    The latter fail when applied (they are not defined), so a batch shows
    them in their own row rather than dropping them silently.
    """
    names = defined_scenarios(raw)
    used = [r.get("scenario") for r in raw.records.get("changes", [])]
    for sheet, rows in raw.overlays.items():
        scenario = overlay_scenario(sheet)
        used += [scenario] if scenario else [r.get("scenario") for r in rows]
    return list(dict.fromkeys(names + [name for name in used if name]))


def overlay_scenario(sheet: str) -> str | None:
    """'ban' for 'lanes@ban'; None for 'lanes@' (its rows name their scenario)."""
    return sheet.partition(OVERLAY_MARK)[2].strip() or None


def overlay_base(sheet: str) -> str:
    return sheet.partition(OVERLAY_MARK)[0].strip().lower()


def _scenario_rows(raw: RawWorkbook) -> dict[str, Record]:
    return {r["scenario"]: r for r in raw.records.get("scenarios", []) if r.get("scenario")}


def chain(raw: RawWorkbook, name: str, problems: list[Problem]) -> list[str]:
    """``name``'s ``based_on`` chain, root first; problems for an unknown scenario or a cycle."""
    rows = _scenario_rows(raw)
    order: list[str] = []
    current: str | None = name
    while current is not None:
        if current in order:
            cycle = " → ".join([*order[order.index(current) :], current])
            problems.append(
                Problem(
                    "scenarios",
                    rows[current]["_row"],
                    "based_on",
                    rows[order[-1]].get("based_on"),
                    f"a based_on chain without cycles: {cycle}",
                )
            )
            return []
        if current not in rows:
            if not order:
                problems.append(
                    Problem(
                        "scenarios",
                        None,
                        "scenario",
                        current,
                        f"a scenario named in the 'scenarios' sheet{did_you_mean(current, list(rows))}",
                    )
                )
            else:
                parent = rows[order[-1]]
                problems.append(
                    Problem(
                        "scenarios",
                        parent["_row"],
                        "based_on",
                        current,
                        f"a scenario named in the 'scenarios' sheet{did_you_mean(current, list(rows))}",
                    )
                )
            return []
        order.append(current)
        current = rows[current].get("based_on")
    return order[::-1]


def scenario_changes(raw: RawWorkbook, name: str) -> list[Change]:
    """The change rows of scenario ``name``, in sheet order."""
    return [
        Change(
            sheet=r.get("sheet"),
            column=r.get("column"),
            operation=r.get("operation"),
            value=r.get("value"),
            match=r.get("match"),
            scenario=name,
            row=r["_row"],
        )
        for r in raw.records.get("changes", [])
        if r.get("scenario") == name
    ]


def _overlays_of(raw: RawWorkbook, name: str) -> list[tuple[str, str, list[Record]]]:
    """(overlay sheet, base sheet, rows) of scenario ``name``, in the order of SHEETS then sheet name."""
    found = []
    for sheet, rows in raw.overlays.items():
        scenario = overlay_scenario(sheet)
        if scenario is None:
            mine = [r for r in rows if r.get("scenario") == name]
        elif scenario == name or (scenario.lower() == name.lower() and scenario not in _scenario_rows(raw)):
            mine = rows  # Excel sheet names ignore case: 'lanes@Ban' is scenario 'ban' unless 'Ban' exists
        else:
            continue
        if mine:
            found.append((sheet, overlay_base(sheet), mine))
    order = list(SHEETS)
    return sorted(found, key=lambda item: (order.index(item[1]), item[0]))


def apply_overlay(
    records: dict[str, list[Record]], present: set[str], sheet: str, base: str, rows: list[Record]
) -> None:
    """Overlay rows replace the rows of ``base`` with the same key (and year), the others are added; in place."""
    spec = SHEETS[base]
    key = spec.unique_key
    target = records.setdefault(base, [])
    position = {tuple(r.get(k) for k in key): index for index, r in enumerate(target)}
    for row in rows:
        record = {k: v for k, v in row.items() if k != "scenario"}
        record["_invalid"] = set(row.get("_invalid", ())) - {"scenario"}
        record["_origin"] = (sheet, row["_row"])
        values = tuple(record.get(k) for k in key)
        if values in position:
            target[position[values]] = record
        else:
            position[values] = len(target)
            target.append(record)
    present.add(base)


def _belongs(problem: Problem, raw: RawWorkbook, names: set[str]) -> bool:
    """Is a problem of the scenario sheets' cells one of these scenarios' (or of no scenario in particular)?"""
    if problem.row is None or problem.row == 1:
        return True  # a missing column or a damaged sheet: every scenario depends on it
    if problem.sheet in raw.overlays and overlay_scenario(problem.sheet) is not None:
        return overlay_scenario(problem.sheet) in names
    rows = raw.overlays.get(problem.sheet) or raw.records.get(problem.sheet, [])
    owner = next((r.get("scenario") for r in rows if r.get("_row") == problem.row), None)
    return owner is None or owner in names


def apply_scenario(raw: RawWorkbook, name: str) -> RawWorkbook:
    """The workbook of scenario ``name`` (see the module docstring); ``raw`` is not modified."""
    problems: list[Problem] = []
    order = chain(raw, name, problems)
    records = copy_records(raw.records)
    present = set(raw.present)
    for scenario in order:
        for sheet, base, rows in _overlays_of(raw, scenario):
            apply_overlay(records, present, sheet, base, rows)
        for change in scenario_changes(raw, scenario):
            apply_change(records, present, change, problems)
    problems = [p for p in raw.scenario_problems if _belongs(p, raw, set(order) | {name})] + problems
    if problems:
        raise InputError(problems, list(raw.warnings))
    return dataclasses.replace(
        raw,
        records=records,
        present=present,
        warnings=[w for w in raw.warnings if "scenario sheets have" not in w],
        problems=list(raw.problems),
        scenario_problems=[],
    )


def located(problem: Problem, records: dict[str, list[Record]]) -> Problem:
    """``problem`` naming the overlay row or change that wrote its row, when one did."""
    if problem.row is None or problem.sheet not in records:
        return problem
    rows = [r for r in records[problem.sheet] if r.get("_row") == problem.row]
    if len(rows) > 1 and problem.column is not None:  # a base row and an overlay row share the number
        holding = [r for r in rows if r.get(problem.column) == problem.value]
        rows = holding or rows
    written = [r for r in rows if "_origin" in r or "_changed_by" in r]
    if not written:
        return problem
    if len(rows) == 1 and "_origin" in rows[0]:
        sheet, row = rows[0]["_origin"]
        by = rows[0].get("_changed_by")
        extra = f" (row added by {by[0]})" if by and sheet == "changes" else ""
        return dataclasses.replace(problem, sheet=sheet, row=row, expected=problem.expected + extra)
    notes = []
    for r in written:
        if "_origin" in r:
            notes.append(f"or {r['_origin'][0]} row {r['_origin'][1]}")
        if "_changed_by" in r:
            notes.append("after " + ", ".join(r["_changed_by"]))
    return dataclasses.replace(problem, expected=f"{problem.expected} ({'; '.join(notes)})")


def without_uncertainty(raw: RawWorkbook) -> RawWorkbook:
    """``raw`` without its ``uncertainty`` sheet (a new RawWorkbook; the records are shared, not copied).

    The uncertainty sheet is checked on the workbook as given (with every run). A scenario or a Monte Carlo
    draw may move the very cells a factor's ``match`` selects (all costs +10 % leaves no row with
    ``unit_cost=30000``), so a variant's workbook is validated without it: a variant never uses the sheet (its
    draws arrive as changes), and ``--scenario X --samples N`` checks the factors on X's own data.
    """
    if not raw.records.get("uncertainty"):
        return raw
    return dataclasses.replace(raw, records={**raw.records, "uncertainty": []}, present=raw.present - {"uncertainty"})


def validate_scenario(raw: RawWorkbook, name: str, exposure_cap_override: float | None = None) -> ModelData:
    """Scenario ``name`` applied and validated; every problem names the change or overlay row behind it.

    The uncertainty sheet is not checked again on the scenario's data (:func:`without_uncertainty`).
    """
    applied = without_uncertainty(apply_scenario(raw, name))
    try:
        data = validate(applied, exposure_cap_override)
    except InputError as error:
        raise InputError([located(p, applied.records) for p in error.problems], error.warnings) from None
    return dataclasses.replace(data, case_name=f"{data.case_name} [{name}]")
