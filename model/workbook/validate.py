"""Cross-sheet validation: raw records -> :class:`ModelData`.

Each ``check_*`` function looks at one rule of SPEC.md and appends
:class:`Problem` entries; :func:`validate` runs them all and raises a single
:class:`InputError` listing every problem, or returns the model data.
"""

from __future__ import annotations

import dataclasses
from operator import itemgetter

from model.data import (
    SINGLE_YEAR,
    Demand,
    ExposureCap,
    Facility,
    FacilityProcess,
    LaneRule,
    ModelData,
    Process,
    Product,
    YearData,
)
from model.errors import InputError, Problem, row_list
from model.workbook.names import look_alike_warnings, normalise_names, reserved_name_problems
from model.workbook.observations import read_observations
from model.workbook.plans import read_plans
from model.workbook.read import RawWorkbook, number_in_range, parse_name, parse_number, sorted_problems
from model.workbook.references import check_reference, did_you_mean
from model.workbook.schema import ANY_STAGE, MAX_QUANTITY, SETTINGS, SHEETS, WILDCARD
from model.workbook.study_inputs import parse_shares, read_factors
from model.workbook.wildcards import Conflict, Rule, WildcardTable, find_conflicts
from model.workbook.years import (
    active_rows,
    check_year_cells,
    first_rows,
    read_years,
    row_year,
    setting_year,
    usable,
)

LANE_COLUMNS = ("transport_cost", "tariff", "allowed", "max_flow", "min_flow")


def check_duplicates(problems: list[Problem], sheet: str, records: list[dict]) -> None:
    """Two rows with identical key cells are an error in every sheet (the same year too, where rows are yearly)."""
    spec = SHEETS[sheet]
    key = spec.unique_key
    if not key or not records:  # a sheet without key columns (changes): rows may repeat
        return
    width = len(spec.key)
    pick = itemgetter(*key)
    single = len(key) == 1
    first: dict[tuple, int] = {}
    for record in records:
        try:
            values = (pick(record),) if single else pick(record)
        except KeyError:  # a record without some key column (not one the reader made)
            values = tuple([record.get(k) for k in key])
        head = values[:width]
        if None in head and any(v is None for v in head):  # `in` (== or is) only sifts: the test is `is None`
            continue
        invalid = record.get("_invalid")
        if invalid and any(k in invalid for k in key):
            continue
        if values in first:
            once = "only once" + (" per year" if spec.yearly and values[-1] is not None else "")
            problems.append(
                Problem(
                    sheet,
                    record["_row"],
                    spec.key[0] if len(spec.key) == 1 else ", ".join(spec.key),
                    " / ".join(str(v) for v in values if v is not None),
                    f"duplicate of row {first[values]}; each {' + '.join(spec.key)} may appear {once}",
                )
            )
        else:
            first[values] = record["_row"]


def read_settings(records: list[dict], problems: list[Problem], warnings: list[str] | None = None) -> dict[str, object]:
    """Known settings parsed and checked; other keys kept as free labels.

    A key that is a known setting but for its case is an error (it would
    silently leave the setting at its default); one close to a known setting
    is a warning, as free labels are allowed.  Text values are matched in
    any case with spaces around them trimmed (``Simplex``, `` AUTO ``;
    explain_unmet also takes true/false, 1/0, y/n); numbers are checked
    against their range and, for threads and project_life, must be whole.
    More threads than this machine's cores are reduced to the cores, with
    a warning (HiGHS would start them all: 100,000 hung the run).
    """
    import os

    from model.workbook.read import parse_yesno

    settings: dict[str, object] = {name: spec.default for name, spec in SETTINGS.items()}
    for record in records:
        name = record.get("setting")
        if name is None:
            continue
        row = record["_row"]
        raw = record.get("value")
        spec = SETTINGS.get(name)
        if spec is None:
            hint = did_you_mean(name, SETTINGS)
            if "case-sensitive" in hint:
                problems.append(Problem("settings", row, "setting", name, f"a known setting{hint}"))
                continue
            if hint and warnings is not None:
                warnings.append(
                    f"settings row {row}: '{name}' is not a setting the model uses and is kept as a label{hint}"
                )
            settings[name] = raw
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue  # blank = default
        if spec.kind == "shares":
            shares = parse_shares(raw)
            if shares is None:
                problems.append(Problem("settings", row, "value", raw, spec.expectation()))
            else:
                settings[name] = shares
            continue
        if spec.kind == "text":
            text = parse_name(raw)
            text = text.lower() if text is not None else None
            if text not in spec.choices and {"yes", "no"} <= set(spec.choices) and parse_yesno(raw) is not None:
                text = "yes" if parse_yesno(raw) else "no"
            if text not in spec.choices:
                why = dict(spec.refused).get(text)
                problems.append(Problem("settings", row, "value", raw, why or spec.expectation()))
                continue
            settings[name] = text
            continue
        number = parse_number(raw)
        if (
            number is None
            or not number_in_range(number, spec.minimum, spec.maximum, spec.exclusive_minimum)
            or (spec.integer and not number.is_integer())
        ):
            too_large = number is not None and spec.maximum is not None and number > spec.maximum
            why = f": {spec.why}" if too_large and spec.why else ""
            problems.append(Problem("settings", row, "value", raw, spec.expectation() + why))
            continue
        if spec.integer:
            number = int(number)
        if name == "threads":
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            if number > cores and warnings is not None:
                warnings.append(
                    f"settings row {row}: threads = {number} is more than the {cores} cores of this machine; "
                    f"using {cores}"
                )
            number = min(number, cores)
        settings[name] = number
    return settings


def validate(raw: RawWorkbook, exposure_cap_override: float | None = None) -> ModelData:
    """Check every cross-sheet rule; return the model data or raise every problem at once.

    The problems the reader found in the cells come first.  When every sheet
    and column is there, the cross-sheet checks run on the cells that could
    be read too (unreadable cells are None and named in the record's
    ``_invalid`` set, and the checks skip them), so one run lists every
    problem of the workbook; without them, they would only repeat the
    structural ones.

    With a ``years`` sheet, the Part 1 checks run on the rows that apply in
    each year (:func:`model.workbook.years.active_rows`); a problem found in
    several years is reported once.
    """
    problems: list[Problem] = list(raw.problems)
    # A sheet that is missing, unreadable or has a header problem is checked as far as it can be read; the
    # cross-sheet checks still run on everything else, but a name "unknown" only because its sheet could not
    # be read is not reported again (its sheet's own problem says what to fix).
    broken = {p.sheet for p in problems if p.row is None or p.row == 1}
    records = raw.records
    normalise_names(records)
    problems += reserved_name_problems(records)
    for sheet in SHEETS:
        check_duplicates(problems, sheet, records[sheet])
    notes = list(raw.warnings) + look_alike_warnings(records)
    fast = [r["_row"] for r in records["demand"] if (r.get("growth") or 0.0) > 1]
    if fast:
        notes.append(
            f"demand rows {row_list(fast)}: growth above 1 (more than doubling every year) — growth is a fraction "
            "per year: 0.03 for 3 %"
        )
    settings = read_settings(records["settings"], problems, notes)

    countries = {r["country"]: bool(r["restricted"]) for r in records["countries"] if r["country"] is not None}
    read = read_years(records["years"], "years" in raw.present, problems)
    has_years = read is not None
    years, release = read if read is not None else ([single_model_year(settings)], frozenset())
    check_year_cells(records, years if has_years else None, problems)
    first_year = years[0]

    product_first = first_rows(records["products"], ("product",), first_year)
    products = {name: _product(r) for (name,), r in product_first.items()}
    processes, stages = build_processes(records["processes"], products, problems)
    facility_names = {r["facility"] for r in records["facilities"] if r["facility"] is not None}
    process_names = {r["process"] for r in records["processes"] if r["process"] is not None}
    check_facility_rows(records["facilities"], first_year, problems)

    cap_records = [
        r
        for r in records["exposure_caps"]
        if check_reference(problems, "exposure_caps", r, "country", countries, "country", wildcard=True)
        & check_reference(problems, "exposure_caps", r, "product", products, "product", wildcard=True)
        & check_reference(problems, "exposure_caps", r, "stage", stages, "stage", wildcard=True, extra=(ANY_STAGE,))
        and r["max_share"] is not None
    ]
    demand_index: dict[tuple[str, str], int] = {}
    demand_first: dict[int, Demand] = {}
    facilities_all: dict[str, Facility] = {}
    pairs_all: dict[tuple[str, str], FacilityProcess] = {}
    year_data: dict[int, YearData] = {}
    for year in years:
        active = {
            name: active_rows(records[name], SHEETS[name].key, year, first_year)
            for name in ("products", "facilities", "facility_processes", "lanes", "demand")
        }
        year_products = {name: Product(name, 0.0, 0.0, product.unit) for name, product in products.items()}
        year_products.update({r["product"]: _product(r) for r in active["products"] if r["product"] is not None})
        facilities = build_facilities(active["facilities"], countries, problems)
        for name, facility in facilities.items():
            facilities_all.setdefault(name, facility)
        # Names are checked against every row of their sheet, not only the rows
        # that passed their own checks: a facility with a problem of its own is
        # reported once, on its row, not again on every row that names it.
        facility_processes = []
        for r in active["facility_processes"]:
            ok = check_reference(problems, "facility_processes", r, "facility", facility_names, "facility")
            ok &= check_reference(problems, "facility_processes", r, "process", process_names, "process")
            if ok and r["facility"] in facilities and r["process"] in processes and r["unit_cost"] is not None:
                pair = FacilityProcess(r["facility"], r["process"], r["unit_cost"], r["_row"])
                facility_processes.append(pair)
                pairs_all.setdefault((pair.facility, pair.process), pair)

        demands: dict[int, Demand] = {}
        for r in active["demand"]:
            ok = check_reference(problems, "demand", r, "country", countries, "country")
            ok &= check_reference(problems, "demand", r, "product", products, "product")
            if ok and r["quantity"] is not None:
                penalty = r["unmet_penalty"] if r["unmet_penalty"] is not None else settings["unmet_demand_penalty"]
                growth = r.get("growth") if r.get("growth") is not None else settings["demand_growth"]
                quantity = grown(r["quantity"], float(growth), year - row_year(r, first_year))
                if quantity > MAX_QUANTITY:
                    problems.append(
                        Problem(
                            "demand",
                            r["_row"],
                            "growth",
                            growth,
                            f"a growth that keeps the quantity below {MAX_QUANTITY:,.0f} t/yr: it reaches "
                            f"{quantity:,.3g} t/yr by {year}",
                        )
                    )
                    continue
                demand = Demand(
                    r["country"], r["product"], quantity, float(penalty), r["_row"], r.get("capped") is not False
                )
                index = demand_index.setdefault((demand.country, demand.product), len(demand_index))
                demand_first.setdefault(index, dataclasses.replace(demand, quantity=r["quantity"]))
                demands[index] = demand

        lane_rules = build_lane_rules(active["lanes"], countries, products, problems)
        active_caps = active_rows(cap_records, SHEETS["exposure_caps"].key, year, first_year)
        caps = resolve_exposure_caps(
            active_caps, list(demands.values()), stages, settings, exposure_cap_override, problems
        )
        year_data[year] = YearData(year, year_products, facilities, facility_processes, demands, caps, lane_rules)

    demand_list = [demand_first[index] for index in range(len(demand_index))]
    plans = read_plans(
        records,
        settings,
        years,
        has_years,
        facilities_all,
        facility_names,
        countries,
        products,
        processes,
        problems,
        notes,
    )
    notes += stock_max_warnings(plans.stockpiles, year_data, release)
    observations = read_observations(
        records["observations"],
        {"country": countries, "product": products, "stage": stages, "facility": facility_names},
        facility_outputs(pairs_all.values(), processes),
        {(d.country, d.product) for d in year_data[first_year].demands.values()},
        problems,
    )
    if observations and any(cap.max_share < 1 for cap in year_data[first_year].exposure_caps):
        notes.append(
            "observations: exposure caps below 1 apply in the first model year, so the calibration sheet compares "
            "a capped solution with observations of the uncapped one (calibrate on a run without caps, e.g. "
            "--exposure-cap 1 and no stage caps)"
        )
    factors = read_factors(records, problems)  # the uncertainty sheet (Monte Carlo): checked with every run
    problems = [p for p in dict.fromkeys(problems) if not follows_from(p, broken)]  # several years: once
    if problems:
        raise InputError(sorted_problems(problems), notes)
    first = year_data[first_year]
    data = ModelData(
        case_name=str(settings.get("case_name") or raw.path.stem),
        settings=settings,
        countries=countries,
        products=first.products if not has_years else products,
        stages=stages,
        processes=processes,
        facilities=facilities_all,
        facility_processes=list(pairs_all.values()),
        demands=demand_list,
        exposure_caps=first.exposure_caps,
        lane_rules=first.lane_rules,
        default_transport_cost=float(settings["default_transport_cost"]),
        warnings=notes,
        years=years,
        year_data=year_data if has_years else {},
        stock_release_years=release,
        projects=plans.projects,
        budgets=plans.budgets,
        stockpiles=plans.stockpiles,
        has_years=has_years,
        observations=observations,
        uncertainty_factors=len(factors),
    )
    return data


def facility_outputs(pairs, processes: dict[str, Process]) -> dict[str, set[str]]:
    """Facility -> the products its processes make (over every year's pairs)."""
    makes: dict[str, set[str]] = {}
    for pair in pairs:
        process = processes.get(pair.process)
        if process is not None:
            makes.setdefault(pair.facility, set()).update(process.outputs)
    return makes


def follows_from(problem: Problem, broken: set[str]) -> bool:
    """A reference problem whose only cause is that the sheet it refers to could not be read."""
    if problem.row is None or problem.row == 1:
        return False
    return any(f"named in the '{sheet}' sheet" in problem.expected for sheet in broken) or (
        "budgets" in broken and problem.sheet == "projects" and problem.column == "funder"
    )


def stock_max_warnings(stockpiles, year_data: dict[int, YearData], release: frozenset[int]) -> list[str]:
    """A stockpile whose ``max`` is below the cover it must hold in some year (the shortfall will be priced)."""
    notes = []
    for stockpile in stockpiles:
        if stockpile.max is None or stockpile.min_days <= 0:
            continue
        short = []
        for year, view in year_data.items():
            if year < stockpile.from_year or year in release:
                continue
            demand = sum(d.quantity for d in view.demands.values() if (d.country, d.product) == stockpile.key)
            required = stockpile.min_days / 365.0 * demand
            if required > stockpile.max + 1e-9:
                short.append((year, required))
        if short:
            year, required = max(short, key=lambda item: item[1])
            notes.append(
                f"stockpiles row {stockpile.row}: the max of {stockpile.max:,.1f} t is below the cover of "
                f"{stockpile.min_days:g} days ({required:,.1f} t in {year}); the missing cover is priced as a "
                "shortfall at unmet_demand_penalty"
            )
    return notes


def grown(quantity: float, growth: float, years: int) -> float:
    """quantity × (1 + growth)^years, infinite rather than an overflow."""
    try:
        return quantity * (1.0 + growth) ** years
    except OverflowError:
        return float("inf")


def _product(r: dict) -> Product:
    return Product(r["product"], r["value"] or 0.0, r["surplus_price"] or 0.0, r.get("unit") or "t")


FACILITY_FIXED = ("country",)


def check_facility_rows(records: list[dict], first_year: int, problems: list[Problem]) -> None:
    """Between the rows of one facility only capacity, expansion, restricted and labels may change."""
    first = first_rows(records, ("facility",), first_year)
    for r in records:
        if not usable(r, ("facility",)):
            continue
        origin = first[(r["facility"],)]
        if origin is r:
            continue
        for column in FACILITY_FIXED:
            if r.get(column) is not None and origin.get(column) is not None and r[column] != origin[column]:
                problems.append(
                    Problem(
                        "facilities",
                        r["_row"],
                        column,
                        r[column],
                        f"'{origin[column]}' as on row {origin['_row']}: a facility's {column} cannot change "
                        "between years (make a new facility instead)",
                    )
                )


def single_model_year(settings: dict[str, object]) -> int:
    """The model year of a single-year case: the ``year`` setting when it is a whole number, else SINGLE_YEAR."""
    year = setting_year(settings)
    return SINGLE_YEAR if year is None else year


def build_processes(
    records: list[dict], products: dict[str, Product], problems: list[Problem]
) -> tuple[dict[str, Process], list[str]]:
    """Recipes from long-form rows; stages in order of first appearance."""
    stage_of: dict[str, tuple[str, int]] = {}
    inputs: dict[str, dict[str, float]] = {}
    outputs: dict[str, dict[str, float]] = {}
    stages: list[str] = []
    first_row: dict[str, int] = {}
    incomplete: set[str] = set()  # a row of the process has a problem of its own
    for r in records:
        name, stage = r["process"], r["stage"]
        if name is None:
            continue
        first_row.setdefault(name, r["_row"])
        if stage is None or r["coefficient"] is None:
            incomplete.add(name)
        if stage is None:
            continue
        if stage in (ANY_STAGE, WILDCARD):
            incomplete.add(name)
            problems.append(
                Problem(
                    "processes", r["_row"], "stage", stage, "a stage name other than 'any' and '*' (these are reserved)"
                )
            )
            continue
        if name in stage_of and stage_of[name][0] != stage:
            incomplete.add(name)
            problems.append(
                Problem(
                    "processes",
                    r["_row"],
                    "stage",
                    stage,
                    f"'{stage_of[name][0]}' as on row {stage_of[name][1]}: a process belongs to one stage",
                )
            )
            continue
        stage_of.setdefault(name, (stage, r["_row"]))
        if stage not in stages:
            stages.append(stage)
        if not check_reference(problems, "processes", r, "product", products, "product"):
            incomplete.add(name)
            continue
        if r["coefficient"] is None:
            continue
        side = outputs if r["coefficient"] > 0 else inputs
        side.setdefault(name, {})[r["product"]] = abs(r["coefficient"])
    processes = {}
    for name, (stage, _) in stage_of.items():
        if name in incomplete:
            continue  # its rows' own problems are reported; the recipe is not usable
        if not outputs.get(name):
            problems.append(
                Problem(
                    "processes",
                    first_row[name],
                    "coefficient",
                    name,
                    "the process needs at least one output (a row with a positive coefficient)",
                )
            )
            continue
        processes[name] = Process(name, stage, inputs.get(name, {}), outputs[name])
    return processes, stages


def build_facilities(records: list[dict], countries: dict[str, bool], problems: list[Problem]) -> dict[str, Facility]:
    facilities = {}
    for r in records:
        if not check_reference(problems, "facilities", r, "country", countries, "country"):
            continue
        expansion_max = r["expansion_max"] or 0.0
        if expansion_max > 0 and r["expansion_cost"] is None and "expansion_cost" not in r.get("_invalid", ()):
            problems.append(
                Problem(
                    "facilities",
                    r["_row"],
                    "expansion_cost",
                    "",
                    f"a cost ≥ 0 (USD per unit of annual capacity) because expansion_max is {expansion_max:g}",
                )
            )
            continue
        if r["facility"] is None or r["capacity"] is None:
            continue
        restricted = countries[r["country"]] if r["restricted"] is None else bool(r["restricted"])
        facilities[r["facility"]] = Facility(
            r["facility"],
            r["country"],
            r["capacity"],
            restricted,
            expansion_max,
            r["expansion_cost"] or 0.0,
            r.get("status"),
            r["_row"],
        )
    return facilities


def build_lane_rules(
    records: list[dict], countries: dict[str, bool], products: dict[str, Product], problems: list[Problem]
) -> list[LaneRule]:
    rules = []
    cells = []  # each rule's fields as a plain tuple: what lane_conflicts keeps its answers by
    for r in records:
        origin, destination, product = r["from"], r["to"], r["product"]
        known = (  # check_reference would pass all three (the names dictionaries never hold None)
            origin is not None
            and (origin in countries or origin == WILDCARD)
            and destination is not None
            and (destination in countries or destination == WILDCARD)
            and product is not None
            and (product in products or product == WILDCARD)
        )
        if not known:
            ok = check_reference(problems, "lanes", r, "from", countries, "country", wildcard=True)
            ok &= check_reference(problems, "lanes", r, "to", countries, "country", wildcard=True)
            ok &= check_reference(problems, "lanes", r, "product", products, "product", wildcard=True)
            if not ok:
                continue
        if origin == destination and origin != WILDCARD:
            problems.append(
                Problem(
                    "lanes",
                    r["_row"],
                    "to",
                    r["to"],
                    "a country other than 'from': trade inside a country needs no lane",
                )
            )
            continue
        fields = (
            origin,
            destination,
            product,
            r["transport_cost"],
            r["tariff"],
            r["allowed"],
            r["max_flow"],
            r["_row"],
            r.get("min_flow"),
        )
        rules.append(LaneRule(*fields))
        cells.append(fields)
    for conflict in lane_conflicts(rules, countries, products, tuple(cells)):
        (first, first_value), (second, second_value) = _by_row(conflict)
        problems.append(
            Problem(
                "lanes",
                second,
                conflict.column,
                _cell_text(second_value),
                f"conflicts with row {first} ({conflict.column} {_cell_text(first_value)} there): "
                f"both rows are equally specific and both apply to {' → '.join(conflict.key[:2])} {conflict.key[2]}; "
                "make one more specific or give them the same value",
            )
        )
    return rules


_LANE_CONFLICTS: dict[tuple, list[Conflict]] = {}  # a few recent answers of lane_conflicts
_LANE_CONFLICTS_KEPT = 16


def lane_conflicts(
    rules: list[LaneRule],
    countries: dict[str, bool],
    products: dict[str, Product],
    fields: tuple[tuple, ...] | None = None,
) -> list[Conflict]:
    """The conflicts between equally specific lane rules (:func:`model.workbook.wildcards.find_conflicts`).

    A function of the rules (their keys, values and rows) and of the country
    and product names in order, so the last few answers are kept: the
    variants of a batch mostly leave the lanes as they are.  Equal rules are
    the same rules: each column holds one type (numbers as floats, ``allowed``
    as a bool), so no two different cells compare equal.  ``fields``: each
    rule's fields as a tuple, in LaneRule's order, when the caller has them.
    """
    if fields is None:
        fields = tuple(tuple(getattr(rule, f.name) for f in dataclasses.fields(rule)) for rule in rules)
    key = (fields, tuple(countries), tuple(products))
    conflicts = _LANE_CONFLICTS.get(key)
    if conflicts is None:
        conflicts = find_conflicts(lane_table(rules), [countries, countries, products], exists=lambda k: k[0] != k[1])
        if len(_LANE_CONFLICTS) >= _LANE_CONFLICTS_KEPT:
            del _LANE_CONFLICTS[next(iter(_LANE_CONFLICTS))]
        _LANE_CONFLICTS[key] = conflicts
    return list(conflicts)


def _by_row(conflict) -> list[tuple[int, object]]:
    """The two (row, value) pairs of a conflict, earlier row first."""
    return sorted(zip(conflict.rows, conflict.values, strict=True), key=lambda pair: pair[0])


def _cell_text(value: object) -> object:
    """A resolved value as the user wrote it: yes/no for flags, numbers as numbers."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def lane_table(rules: list[LaneRule]) -> WildcardTable:
    return WildcardTable(
        [Rule(rule.keys, {c: getattr(rule, c) for c in LANE_COLUMNS}, rule.row) for rule in rules],
        LANE_COLUMNS,
    )


def resolve_exposure_caps(
    records: list[dict],
    demands: list[Demand],
    stages: list[str],
    settings: dict[str, object],
    override: float | None,
    problems: list[Problem],
) -> list[ExposureCap]:
    """The caps that apply to each demand row, per stage and for ``any``.

    A row's ``stage`` = ``*`` matches every stage but never ``any``.  The
    command-line override replaces every ``any`` cap (explicit or default).
    """
    table = WildcardTable(
        [Rule((r["country"], r["product"], r["stage"]), {"max_share": r["max_share"]}, r["_row"]) for r in records],
        ["max_share"],
    )
    only_explicit_any = lambda position, value: position == 2 and value == ANY_STAGE  # noqa: E731
    caps = []
    reported: set[tuple[int, int]] = set()
    default = settings.get("default_exposure_cap")
    for demand in demands:
        if not demand.capped:
            continue  # a background row (demand column capped = no): no cap of any kind applies to it
        for stage in [*stages, ANY_STAGE]:
            if stage == ANY_STAGE and override is not None:
                caps.append(ExposureCap(demand.country, demand.product, stage, override, "--exposure-cap"))
                continue
            resolved, conflicts = table.resolve((demand.country, demand.product, stage), only_explicit_any)
            for conflict in conflicts:
                if conflict.rows in reported:
                    continue
                reported.add(conflict.rows)
                (first, first_value), (second, second_value) = _by_row(conflict)
                problems.append(
                    Problem(
                        "exposure_caps",
                        second,
                        "max_share",
                        second_value,
                        f"conflicts with row {first} (max_share {_cell_text(first_value)} there): both rows are "
                        f"equally specific and both apply to {demand.country} / {demand.product} / {stage}",
                    )
                )
            if "max_share" in resolved:
                share, row = resolved["max_share"]
                caps.append(
                    ExposureCap(demand.country, demand.product, stage, float(share), f"exposure_caps row {row}")
                )
            elif stage == ANY_STAGE and default is not None:
                caps.append(ExposureCap(demand.country, demand.product, stage, float(default), "default_exposure_cap"))
    return caps
