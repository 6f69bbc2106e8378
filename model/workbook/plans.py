"""Projects, budgets and stockpiles (SPEC.md Part 2): rows checked and turned into model data.

Project timing: project p may come online in model year y when
y ≥ max(earliest_year, first year + lead_time).  In a single-year case the
model year is the ``year`` setting where it is a whole number; without it,
``earliest_year`` and ``from_year`` are ignored (SPEC).  ``lead_time`` is
never ignored, so in a single-year case a project with a lead time cannot
come online (a warning says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from model.data import Facility, Process, Product, Project, Stockpile
from model.errors import Problem
from model.workbook.references import check_reference, did_you_mean
from model.workbook.years import row_year, setting_year, usable


@dataclass
class Plans:
    projects: list[Project] = field(default_factory=list)
    budgets: dict[str, dict[int, float]] = field(default_factory=dict)  # funder -> year -> USD
    stockpiles: list[Stockpile] = field(default_factory=list)


def upstream_stages(product: str, processes: dict[str, Process]) -> frozenset[str]:
    """Every stage of the processes that can make ``product``, directly or through their inputs."""
    makers: dict[str, list[Process]] = {}
    for process in processes.values():
        for output in process.outputs:
            makers.setdefault(output, []).append(process)
    stages: set[str] = set()
    seen: set[str] = set()
    pending = [product]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for process in makers.get(current, ()):
            stages.add(process.stage)
            pending.extend(process.inputs)
    return frozenset(stages)


def read_budgets(records: list[dict], years: list[int]) -> dict[str, dict[int, float]]:
    """Funder → model year → USD, by the from-year rule (blank year = every year; 0 before the first row)."""
    rows: dict[str, list[tuple[int, float]]] = {}
    for r in records:
        if not usable(r, ("funder",)) or r.get("budget") is None:
            continue
        rows.setdefault(r["funder"], []).append((row_year(r, years[0]), float(r["budget"])))
    budgets: dict[str, dict[int, float]] = {}
    for funder, entries in rows.items():
        entries.sort()
        budgets[funder] = {}
        for year in years:
            applying = [amount for start, amount in entries if start <= year]
            budgets[funder][year] = applying[-1] if applying else 0.0
    return budgets


def read_plans(
    records: dict[str, list[dict]],
    settings: dict[str, object],
    years: list[int],
    has_years: bool,
    facilities: dict[str, Facility],
    facility_names: Iterable[str],
    countries: dict[str, bool],
    products: dict[str, Product],
    processes: dict[str, Process],
    problems: list[Problem],
    notes: list[str],
) -> Plans:
    """Check the projects, budgets and stockpiles sheets against the rest; warnings go to ``notes``."""
    plans = Plans()
    first = years[0]
    # The year against which earliest_year and from_year are read: the model
    # years, or in a single-year case the `year` setting when given.
    timed = has_years or setting_year(settings) is not None
    plans.budgets = read_budgets(records["budgets"], years)
    project_life = int(settings.get("project_life") or 20)
    for r in records["projects"]:
        ok = check_reference(problems, "projects", r, "facility", facility_names, "facility")
        funder = r.get("funder")
        if funder is not None and funder not in plans.budgets and "funder" not in r.get("_invalid", ()):
            problems.append(
                Problem(
                    "projects",
                    r["_row"],
                    "funder",
                    funder,
                    "a funder with a row in the 'budgets' sheet (blank = private money, no budget)"
                    + did_you_mean(funder, plans.budgets),
                )
            )
            ok = False
        if not ok or any(r.get(c) is None for c in ("project", "capacity", "capex")):
            continue
        if r["facility"] not in facilities:
            continue  # the facility's own rows have problems, reported there
        lead_time = int(r.get("lead_time") or 0)
        earliest = r.get("earliest_year")
        start = max(int(earliest) if earliest is not None and timed else first, first + lead_time)
        online = tuple(year for year in years if year >= start)
        if not online:
            why = (
                f"its lead time of {lead_time} years"
                if first + lead_time >= start and lead_time > 0
                else f"its earliest_year {earliest}"
            )
            horizon = f"the last model year {years[-1]}" if has_years else f"the model year {years[0]}"
            notes.append(
                f"projects row {r['_row']}: '{r['project']}' cannot come online by {horizon} because of {why}; "
                "it is not built"
            )
        life = int(r["life"]) if r.get("life") is not None else project_life
        plans.projects.append(
            Project(
                r["project"],
                r["facility"],
                float(r["capacity"]),
                float(r["capex"]),
                online,
                lead_time,
                life,
                bool(r.get("all_or_nothing")),
                funder,
                float(r.get("fixed_cost") or 0.0),
                r["_row"],
            )
        )
    for r in records["stockpiles"]:
        ok = check_reference(problems, "stockpiles", r, "country", countries, "country")
        ok &= check_reference(problems, "stockpiles", r, "product", products, "product")
        if not ok:
            continue
        from_year = r.get("from_year")
        start = int(from_year) if from_year is not None and timed else first
        exposed = r.get("initial_exposed")
        tag = upstream_stages(r["product"], processes) if exposed is None or exposed else frozenset()
        plans.stockpiles.append(
            Stockpile(
                r["country"],
                r["product"],
                float(r.get("initial") or 0.0),
                tag,
                float(r.get("min_days") or 0.0),
                None if r.get("max") is None else float(r["max"]),
                float(r.get("holding_cost") or 0.0),
                start,
                r["_row"],
            )
        )
        if r.get("max") is not None and (r.get("initial") or 0.0) > r["max"]:
            problems.append(
                Problem(
                    "stockpiles",
                    r["_row"],
                    "initial",
                    r["initial"],
                    f"at most the stock's max ({r['max']:g} t)",
                )
            )
    return plans
