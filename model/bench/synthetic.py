"""Synthetic, valid cases of any size, for benchmarks and property tests.

A chain of ``stages`` stages; stage 0 holds sources (mines), each later stage
turns the products of the stage before into its own products with a second
input (so recipes combine histories and need relabelling) and a joint
by-product.  Facilities are spread round-robin over countries; country 0 and
every fifth country are restricted.  Demand is for last-stage products in the
unrestricted countries, with an ``any`` cap.  Everything derives from a seed.

With ``years`` > 1 (SPEC Part 2) the case runs over consecutive years from
2025 with a 5 % discount rate, and changes by year as real cases do: demand
grows 3 % a year, some facilities gain capacity or expansion room from a
later year (and some lose expansion room, so the cumulative limit binds), the
exposure caps tighten from the middle year, and the restricted country may
not export one product in the second year (a stock release year when there
are three or more years).  It gets a few projects (every other one
all-or-nothing, which makes it a MIP solved to a gap of 1e-6, unless
``all_or_nothing`` is False; most financed by one of two funders with yearly
budgets) and stockpiles of demanded products, by default.  These come from
their own random stream, so ``years`` = 1 without projects or stockpiles
gives exactly the single-year case.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path

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
    Project,
    Stockpile,
    YearData,
)
from model.workbook.plans import upstream_stages
from model.workbook.schema import ANY_STAGE

FIRST_YEAR = 2025
DISCOUNT_RATE = 0.05
DEMAND_GROWTH = 0.03
FUNDERS = ("DFC", "JBIC")


@dataclass(frozen=True)
class Size:
    countries: int = 6
    stages: int = 3
    products_per_stage: int = 4
    facilities_per_stage: int = 6
    processes_per_facility: int = 2
    demand_countries: int = 2
    exposure_cap: float | None = 0.5
    seed: int = 1
    years: int = 1  # model years from 2025; 1 = a single-year case (no `years` sheet)
    projects: int | None = None  # candidate projects; None = none with one year, 4 with several
    stockpiles: int | None = None  # stockpiles; None = none with one year, 1 with several
    all_or_nothing: bool = True  # every other project all-or-nothing (a MIP); False: all divisible (an LP)


def synthetic_data(size: Size) -> ModelData:
    """A valid :class:`ModelData` of the given size."""
    rng = random.Random(size.seed)
    countries = {f"C{i:03d}": (i % 5 == 0) for i in range(size.countries)}
    names = list(countries)
    stages = [f"stage{k}" for k in range(size.stages)]
    products: dict[str, Product] = {}
    processes: dict[str, Process] = {}
    n = size.products_per_stage
    for k in range(size.stages):
        for i in range(n):
            name = f"p{k}_{i}"
            products[name] = Product(name, value=round(rng.uniform(100, 1000) * (k + 1), 2), surplus_price=0.0)
    for k, stage in enumerate(stages):
        for i in range(n):
            main, joint = f"p{k}_{i}", f"p{k}_{(i + 1) % n}"
            if k == 0:
                processes[f"q{k}_{i}"] = Process(f"q{k}_{i}", stage, {}, {main: 1.0})
                continue
            inputs = {f"p{k - 1}_{i}": 1.0}
            if n > 1:
                inputs[f"p{k - 1}_{(i + 2) % n}"] = 0.2
            outputs = {main: 0.9} if n == 1 else {main: 0.9, joint: 0.1}
            processes[f"q{k}_{i}"] = Process(f"q{k}_{i}", stage, inputs, outputs)

    facilities: dict[str, Facility] = {}
    pairs: list[FacilityProcess] = []
    row = 2
    for k in range(len(stages)):
        for j in range(size.facilities_per_stage):
            country = names[(j + 3 * k) % len(names)]
            name = f"F{k}_{j:04d}"
            expandable = j % 4 == 1
            facilities[name] = Facility(
                name,
                country,
                capacity=round(rng.uniform(50, 500), 1),
                restricted=countries[country],
                expansion_max=100.0 if expandable else 0.0,
                expansion_cost=round(rng.uniform(5, 50), 2) if expandable else 0.0,
                status=None,
                row=row,
            )
            row += 1
            for m in range(min(size.processes_per_facility, n)):
                process = f"q{k}_{(j + m) % n}"
                base = 20.0 if countries[country] else 35.0
                pairs.append(FacilityProcess(name, process, round(base * rng.uniform(0.5, 1.5), 2), len(pairs) + 2))

    consumers = [c for c in names if not countries[c]][: size.demand_countries]
    last = size.stages - 1
    demands = [
        Demand(country, f"p{last}_{i}", round(rng.uniform(10, 60), 1), 1e5, index + 2)
        for index, (country, i) in enumerate((c, i) for c in consumers for i in range(n))
    ]
    caps = (
        [ExposureCap(d.country, d.product, ANY_STAGE, size.exposure_cap, "synthetic") for d in demands]
        if size.exposure_cap is not None
        else []
    )
    lanes = [
        LaneRule(names[0], "*", "*", None, 0.1, None, None, 2),
        LaneRule("*", "*", "*", 8.0, None, None, None, 3),
    ]
    if len(names) > 2:
        lanes.append(LaneRule(names[1], names[2], "*", None, None, False, None, 4))
    data = ModelData(
        case_name=f"synthetic_{size.countries}x{size.stages}x{n}x{size.facilities_per_stage}",
        settings={"unmet_demand_penalty": 1e5, "default_transport_cost": 8.0, "solver_method": "auto", "threads": 1},
        countries=countries,
        products=products,
        stages=stages,
        processes=processes,
        facilities=facilities,
        facility_processes=pairs,
        demands=demands,
        exposure_caps=caps,
        lane_rules=lanes,
        default_transport_cost=8.0,
    )
    return with_plans(data, size)


def _counts(size: Size) -> tuple[int, int]:
    several = size.years > 1
    projects = size.projects if size.projects is not None else (4 if several else 0)
    stockpiles = size.stockpiles if size.stockpiles is not None else (1 if several else 0)
    return projects, stockpiles


def with_plans(data: ModelData, size: Size) -> ModelData:
    """``data`` over ``size.years`` years with projects, budgets and stockpiles (unchanged when there are none)."""
    if size.years < 1:
        raise ValueError("years must be at least 1")
    n_projects, n_stockpiles = _counts(size)
    if size.years == 1 and not n_projects and not n_stockpiles:
        return data
    rng = random.Random(f"plans {size.seed} {size.years}")  # its own stream: the network's draws are unchanged
    several = size.years > 1
    years = list(range(FIRST_YEAR, FIRST_YEAR + size.years)) if several else [SINGLE_YEAR]
    first, last = years[0], years[-1]
    settings = {**data.settings, "discount_rate": DISCOUNT_RATE, "mip_gap": 1e-6}
    year_data: dict[int, YearData] = {}
    release: frozenset[int] = frozenset()
    if several:
        settings["demand_growth"] = DEMAND_GROWTH
        year_data = _year_data(data, years)
        if len(years) >= 3:
            release = frozenset({first + 1})  # the ban year: stocks may be drawn below cover

    # Projects: spread over the stages, on existing facilities; every other
    # one all-or-nothing; funded by DFC, JBIC or private money in turn.
    facilities = list(data.facilities)
    projects = []
    for i in range(n_projects):
        facility = facilities[rng.randrange(len(facilities))]
        capacity = round(rng.uniform(50, 300), 1)
        lead_time = i % 3
        earliest = first + (i * max(1, size.years // 3)) % size.years if several else first
        start = max(earliest, first + lead_time) if several else first + lead_time
        projects.append(
            Project(
                name=f"P{i:02d}",
                facility=facility,
                capacity=capacity,
                capex=round(capacity * rng.uniform(150, 450), 0),
                online_years=tuple(y for y in years if y >= start),
                lead_time=lead_time,
                life=rng.choice([3, 8, 20]),
                all_or_nothing=size.all_or_nothing and i % 2 == 0,
                funder=(*FUNDERS, None)[i % 3],
                fixed_cost=round(capacity * rng.uniform(0, 4), 1),
                row=i + 2,
            )
        )
    funders = {p.funder for p in projects if p.funder is not None}
    budgets = {
        funder: {y: (0.0 if funder == "DFC" and y == first and several else amount) for y in years}
        for funder, amount in (("DFC", 40_000.0), ("JBIC", 25_000.0))
        if funder in funders
    }

    # Stockpiles of demanded products in their consumer countries; the first
    # starts with an exposed stock, the others clean.
    stockpiles = []
    for i, demand in enumerate(data.demands[:n_stockpiles]):
        cover_days = 30.0 if i % 2 == 0 else 60.0
        stockpiles.append(
            Stockpile(
                country=demand.country,
                product=demand.product,
                initial=round(demand.quantity * 0.1, 1),
                initial_tag=upstream_stages(demand.product, data.processes) if i == 0 else frozenset(),
                min_days=cover_days,
                max=round(demand.quantity * 0.5, 1),
                holding_cost=round(rng.uniform(1, 5), 2),
                from_year=min(first + 1, last),
                row=i + 2,
            )
        )
    suffix = f"_{size.years}y" if several else ""
    return replace(
        data,
        case_name=data.case_name + suffix,
        settings=settings,
        years=years,
        year_data=year_data,
        stock_release_years=release,
        projects=projects,
        budgets=budgets,
        stockpiles=stockpiles,
        has_years=several,
    )


def _year_data(data: ModelData, years: list[int]) -> dict[int, YearData]:
    """Each year's rows: growing demand, capacity and expansion changes, tightening caps, a one-year ban."""
    first = years[0]
    changed = first + max(1, len(years) // 3)  # capacity and expansion room change from here
    middle = first + len(years) // 2  # caps tighten from here
    banned = first + 1  # the restricted country may not export one product in this year only
    names = list(data.facilities)
    later: dict[str, Facility] = {}
    for j, name in enumerate(names):
        facility = data.facilities[name]
        if j % 7 == 3:
            later[name] = replace(facility, capacity=round(facility.capacity * 1.5, 1))
        elif facility.expansion_max > 0 and j % 3 == 0:
            later[name] = replace(facility, expansion_max=150.0, expansion_cost=round(facility.expansion_cost * 1.2, 2))
        elif facility.expansion_max > 0 and j % 3 == 1:
            later[name] = replace(facility, expansion_max=40.0)  # less room: expansions so far must fit
    restricted = next((c for c, flag in data.countries.items() if flag), None)
    last_stage = max((int(p.split("_")[0][1:]) for p in data.products), default=0)
    ban = (
        LaneRule(restricted, "*", f"p{min(1, last_stage)}_0", None, None, False, None, len(data.lane_rules) + 2)
        if restricted is not None
        else None
    )
    result = {}
    for year in years:
        base = data.at(year)
        facilities = {n: later.get(n, f) if year >= changed else f for n, f in base.facilities.items()}
        demands = {
            i: replace(d, quantity=d.quantity * (1.0 + DEMAND_GROWTH) ** (year - first))
            for i, d in base.demands.items()
        }
        caps = [replace(c, max_share=round(c.max_share * 0.6, 4)) if year >= middle else c for c in base.exposure_caps]
        lanes = [*base.lane_rules, ban] if year == banned and ban is not None else list(base.lane_rules)
        result[year] = replace(
            base, year=year, facilities=facilities, demands=demands, exposure_caps=caps, lane_rules=lanes
        )
    return result


def yearly_rows(data: ModelData, items, key, cells, blank=None) -> list[tuple]:
    """Rows of a sheet by the from-year rule: each key's cells in the first year it exists, then again from
    each year they change.

    ``items(view)`` lists a year's entries, ``key(item)`` names one and
    ``cells(item)`` gives its row (key cells included).  A row is written
    with its year (blank for the first model year) only with a ``years``
    sheet.  A key that disappears is written as ``blank(key)`` from that
    year (for lanes: the key cells alone, so the less specific rows apply
    again); without ``blank`` that is an error (no sheet can remove a key).
    """
    rows: list[tuple] = []
    current: dict = {}
    for position, year in enumerate(data.years):
        stamp = (None if position == 0 else year,) if data.has_years else ()
        seen = set()
        for item in items(data.at(year)):
            name, values = key(item), cells(item)
            seen.add(name)
            if current.get(name) != values:
                rows.append((*values, *stamp))
                current[name] = values
        for name in [name for name in current if name not in seen and current[name] is not None]:
            if blank is None:
                raise ValueError(f"{name} disappears in {year}: no input sheet can say that")
            rows.append((*blank(name), *stamp))
            current[name] = None
    return rows


def write_data_workbook(data: ModelData, path: Path) -> Path:
    """Write ``data`` as an input workbook (the inverse of reading).

    With years, each yearly sheet holds a row per key for the first year and
    a row with a ``year`` from each year its cells change; demand rows grow
    by the ``demand_growth`` setting, so a quantity gets a new row only where
    it departs from that growth.  Projects, budgets and stockpiles are
    written when there are any (an initial stock is written exposed when it
    carries a tag, which the reader takes as every upstream stage).
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)

    def sheet(name: str, header: list[str], rows) -> None:
        ws = workbook.create_sheet(name)
        ws.append(header)
        for r in rows:
            ws.append(list(r))

    yes = {True: "yes", False: "no", None: None}
    year = ["year"] if data.has_years else []
    sheet(
        "settings",
        ["setting", "value"],
        [(k, v) for k, v in data.settings.items() if v is not None] + [("case_name", data.case_name)],
    )
    if data.has_years:
        sheet(
            "years",
            ["year", "stock_release"],
            [(y, "yes" if y in data.stock_release_years else None) for y in data.years],
        )
    sheet("countries", ["country", "restricted"], [(c, yes[r]) for c, r in data.countries.items()])
    sheet(
        "products",
        ["product", "value", "surplus_price", *year],
        yearly_rows(
            data, lambda v: v.products.values(), lambda p: p.name, lambda p: (p.name, p.value, p.surplus_price)
        ),
    )
    sheet(
        "processes",
        ["process", "stage", "product", "coefficient"],
        [
            (q.name, q.stage, product, sign * coef)
            for q in data.processes.values()
            for sign, side in ((-1, q.inputs), (1, q.outputs))
            for product, coef in side.items()
        ],
    )
    sheet(
        "facilities",
        ["facility", "country", "capacity", "restricted", "expansion_max", "expansion_cost", *year],
        yearly_rows(
            data,
            lambda v: v.facilities.values(),
            lambda f: f.name,
            lambda f: (f.name, f.country, f.capacity, yes[f.restricted], f.expansion_max, f.expansion_cost or None),
        ),
    )
    sheet(
        "facility_processes",
        ["facility", "process", "unit_cost", *year],
        yearly_rows(
            data,
            lambda v: v.facility_processes,
            lambda fp: (fp.facility, fp.process),
            lambda fp: (fp.facility, fp.process, fp.unit_cost),
        ),
    )
    sheet(
        "lanes",
        ["from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow", *year],
        yearly_rows(
            data,
            lambda v: v.lane_rules,
            lambda r: r.keys,
            lambda r: (*r.keys, r.transport_cost, r.tariff, yes[r.allowed], r.max_flow),
            blank=lambda keys: (*keys, None, None, None, None),
        ),
    )
    sheet("demand", ["country", "product", "quantity", "unmet_penalty", *year], _demand_rows(data))
    sheet(
        "exposure_caps",
        ["country", "product", "stage", "max_share", *year],
        yearly_rows(
            data,
            lambda v: v.exposure_caps,
            lambda c: (c.country, c.product, c.stage),
            lambda c: (c.country, c.product, c.stage, c.max_share),
        ),
    )
    if data.projects:
        sheet(
            "projects",
            [
                "project",
                "facility",
                "capacity",
                "capex",
                "earliest_year",
                "lead_time",
                "life",
                "all_or_nothing",
                "funder",
                "fixed_cost",
            ],
            [
                (
                    p.name,
                    p.facility,
                    p.capacity,
                    p.capex,
                    p.online_years[0] if p.online_years and data.has_years else None,
                    p.lead_time,
                    p.life,
                    yes[p.all_or_nothing],
                    p.funder,
                    p.fixed_cost,
                )
                for p in data.projects
            ],
        )
    if data.budgets:
        rows = []
        for funder, amounts in data.budgets.items():
            last = None
            for position, y in enumerate(data.years):
                if amounts[y] != last:
                    rows.append((funder, amounts[y], None if position == 0 or not data.has_years else y))
                    last = amounts[y]
        sheet("budgets", ["funder", "budget", "year"], rows)
    if data.stockpiles:
        sheet(
            "stockpiles",
            ["country", "product", "initial", "initial_exposed", "min_days", "max", "holding_cost", "from_year"],
            [
                (
                    s.country,
                    s.product,
                    s.initial,
                    yes[bool(s.initial_tag)],
                    s.min_days,
                    s.max,
                    s.holding_cost,
                    s.from_year if data.has_years else None,
                )
                for s in data.stockpiles
            ],
        )
    workbook.save(path)
    return path


def _demand_rows(data: ModelData) -> list[tuple]:
    """Demand rows: the first year's, then a row from each year a quantity departs from ``demand_growth``."""
    growth = float(data.settings.get("demand_growth") or 0.0)
    rows: list[tuple] = []
    latest: dict[int, tuple[Demand, int]] = {}  # demand index -> (its latest row, that row's year)
    for position, year in enumerate(data.years):
        for index, demand in data.at(year).demands.items():
            row = latest.get(index)
            expected = None if row is None else row[0].quantity * (1.0 + growth) ** (year - row[1])
            if row is None or demand.quantity != expected or demand.unmet_penalty != row[0].unmet_penalty:
                stamp = (None if position == 0 else year,) if data.has_years else ()
                rows.append((demand.country, demand.product, demand.quantity, demand.unmet_penalty, *stamp))
                latest[index] = (demand, year)
    return rows
