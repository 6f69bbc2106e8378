"""The Pyomo build and the sparse-matrix build of model/bench/matrix.py are the same LP, on every valid shape.

One check (:func:`assert_same_lp`) on hand cases, one per corner of the
formulation (each asserts that its corner really occurs), the base case and
random synthetic networks with corners mixed in, over one year and over
several (SPEC Part 2: year-dependent rows, discounting, expansions that
stay, projects with budgets, all-or-nothing builds, stockpiles).  The check
is stricter than equal sizes: with columns matched by variable (family and
index) and rows in the same order, the two builds must have the same costs,
bounds, integer columns, row limits and matrix entries, and the same optimal
objective (a MIP's on both routes).
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_array

from model.bench.matrix import build_matrix, solve_matrix
from model.bench.synthetic import Size, synthetic_data, with_plans
from model.data import (
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
)
from model.formulation.build import build_model
from model.formulation.constraints.exposure import exposed
from model.formulation.sets import build_sets
from model.pipeline import load_data
from model.solver.handoff import integer_columns, standard_form
from model.solver.solve import solve_model
from tests.helpers import write_case
from tests.test_projects import network, project
from tests.test_reference_cases import BASE_CASE
from tests.test_stockpiles import BAN_IN_2026, ore_case, stock
from tests.test_trnsport import trnsport_case
from tests.test_years import expansion_case


def assert_same_lp(data: ModelData) -> None:
    """Same rows, columns, entries, bounds and objective from Pyomo and from the matrix build."""
    sets = build_sets(data)
    model = build_model(data, sets)
    form = standard_form(model)
    lp = build_matrix(data, sets)

    assert form.matrix.shape == lp.shape
    assert form.matrix.nnz == len(lp.values)
    # Column of each Pyomo variable in the matrix build: variables are
    # indexed by position in their family's key list, as the matrix columns
    # (before the columns the compiler drops are dropped on both sides).
    column = np.array([lp.column(v.parent_component().name, v.index()) for v in form.columns], dtype=int)
    assert sorted(column) == list(range(lp.shape[1]))
    np.testing.assert_array_equal(lp.cost[column], form.cost)
    np.testing.assert_array_equal(lp.col_lower[column], form.col_lower)
    np.testing.assert_array_equal(lp.col_upper[column], form.col_upper)
    integer = integer_columns(form)
    np.testing.assert_array_equal(np.sort(column[integer]), np.sort(lp.integer))
    # Rows: the same families in the same order, and the same rows in each.
    families = [row.parent_component().name for row in form.rows]
    expected = [name for name, (first, last) in lp.row_blocks.items() for _ in range(first, last)]
    assert families == expected
    np.testing.assert_array_equal(lp.row_lower, form.row_lower)
    np.testing.assert_array_equal(lp.row_upper, form.row_upper)
    ours = coo_array((lp.values, (lp.rows, lp.cols)), shape=lp.shape).tocsr()
    assert ours.nnz == len(lp.values), "the matrix build writes an entry twice"
    theirs = coo_array(form.matrix)
    theirs = coo_array((theirs.data, (theirs.row, column[theirs.col])), shape=lp.shape).tocsr()
    difference = abs(ours - theirs)
    if difference.nnz and difference.max() > 0:
        row = int(difference.tocoo().row[0])
        raise AssertionError(f"row {row} ({form.rows[row].name}) differs: {ours[[row]]} against {theirs[[row]]}")

    # Both routes solve a MIP by branch and bound to the same gap; the Pyomo
    # route reports the LP with the integer choices fixed.
    gap = float(data.settings.get("mip_gap") or 0.0)
    objective, _, _ = solve_matrix(lp, mip_gap=gap)
    tolerance = max(1e-9, 2 * gap) if len(integer) else 1e-9
    assert solve_model(model, {}, [], mip_gap=gap).objective == pytest.approx(objective, rel=tolerance, abs=1e-9)


# ---- hand cases: one corner each ------------------------------------------------


def chain(**changes: list[list]) -> dict[str, list[list]]:
    """Mine → separation → magnet over five countries, China restricted.

    Magnets combine oxide and dysprosium of different histories (so inputs
    are relabelled), separation makes a lanthanum by-product with a surplus
    credit, a Chinese-owned plant in Malaysia counts as restricted, and the
    US magnet plant may expand.  ``changes`` replaces or extends sheets: a
    key ``<sheet>`` replaces it, ``<sheet>_more`` appends rows.
    """
    sheets = {
        "countries": [["CN", "yes"], ["US", "no"], ["JP", "no"], ["AU", "no"], ["MY", "no"]],
        "products": [["ore", 10, 0], ["oxide", 100, 0], ["dy", 500, 0], ["magnet", 1000, 0], ["la", 5, 2]],
        "processes": [
            ["mine_ore", "mining", "ore", 1],
            ["mine_dy", "mining", "dy", 1],
            ["separate", "separation", "ore", -1.25],
            ["separate", "separation", "oxide", 1],
            ["separate", "separation", "la", 0.25],
            ["make", "magnet", "oxide", -0.9],
            ["make", "magnet", "dy", -0.1],
            ["make", "magnet", "magnet", 1],
        ],
        "facilities": [
            ["AU mine", "AU", 1000, None, 0, None],
            ["CN mine", "CN", 1000, None, 0, None],
            ["MY sep", "MY", 500, "yes", 0, None],
            ["CN sep", "CN", 800, None, 0, None],
            ["US sep", "US", 150, None, 0, None],
            ["JP magnet", "JP", 300, None, 0, None],
            ["CN magnet", "CN", 300, None, 0, None],
            ["US magnet", "US", 100, None, 200, 15],
        ],
        "facility_processes": [
            ["AU mine", "mine_ore", 5],
            ["CN mine", "mine_ore", 3],
            ["CN mine", "mine_dy", 20],
            ["MY sep", "separate", 8],
            ["CN sep", "separate", 4],
            ["US sep", "separate", 12],
            ["JP magnet", "make", 50],
            ["CN magnet", "make", 30],
            ["US magnet", "make", 60],
        ],
        "lanes": [["*", "*", "*", 2, None, None, None], ["CN", "US", "*", None, 0.25, None, None]],
        "demand": [["US", "magnet", 250, 1e5], ["JP", "magnet", 200, None], ["US", "oxide", 20, None]],
        "exposure_caps": [["US", "magnet", "any", 0.5], ["JP", "magnet", "separation", 0.3]],
    }
    for name, rows in changes.items():
        if name.endswith("_more"):
            sheets[name.removesuffix("_more")] = sheets[name.removesuffix("_more")] + rows
        else:
            sheets[name] = rows
    return sheets


def source_only() -> dict[str, list[list]]:
    """One stage of mines and nothing else: no recipe has an input."""
    return {
        "countries": [["A", "yes"], ["B", "no"], ["C", "no"]],
        "products": [["ore", 10, -1]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [["A mine", "A", 100, None, 0, None], ["B mine", "B", 30, None, 50, 4]],
        "facility_processes": [["A mine", "mine", 2], ["B mine", "mine", 6]],
        "lanes": [["*", "*", "*", 1, None, None, None]],
        "demand": [["B", "ore", 80, None], ["C", "ore", 40, 500]],
        "exposure_caps": [["*", "*", "any", 0.25]],
    }


def expanding(sets, name: str) -> bool:
    return any(key.facility == name for key in sets.expansion)


def runs(sets, name: str) -> bool:
    return any(key.facility == name for key in sets.activity)


def exposed_deliveries(data, sets, country: str, product: str, stage: str) -> int:
    """Deliveries to the demand row (country, product) that a cap on ``stage`` would count."""
    (row,) = [j for j, d in enumerate(data.demands) if (d.country, d.product) == (country, product)]
    return sum(1 for key in sets.delivery if key.demand == row and exposed(sets.tags[key.tag], stage))


OVERRIDES = {"CN mine": "no", "JP magnet": "yes", "CN magnet": "no"}

HAND_CASES = {
    "chain (relabelling for mixed inputs, by-product credit, restricted-flag override)": (
        chain(),
        None,
        lambda data, sets: (
            sets.relabel
            and data.facilities["MY sep"].restricted != data.countries["MY"]
            and any(key.product == "la" for key in sets.surplus)
        ),
    ),
    "facility with expansion but no process": (
        chain(facilities_more=[["US idle", "US", 10, None, 50, 1]]),
        None,
        lambda data, sets: expanding(sets, "US idle") and not runs(sets, "US idle"),
    ),
    "facility with expansion whose process cannot run": (
        chain(
            products_more=[["scrap", 1, 0]],
            processes_more=[["recycle", "separation", "scrap", -1], ["recycle", "separation", "oxide", 0.8]],
            facilities_more=[["JP recycler", "JP", 0, None, 40, 2]],
            facility_processes_more=[["JP recycler", "recycle", 1]],
        ),
        None,
        lambda data, sets: expanding(sets, "JP recycler") and not runs(sets, "JP recycler"),
    ),
    "facility with no process and no expansion": (
        chain(facilities_more=[["AU spare", "AU", 70, None, 0, None]]),
        None,
        lambda data, sets: "AU spare" in data.facilities and not runs(sets, "AU spare"),
    ),
    "demand of quantity 0 (with a cap of 0 on it)": (
        chain(demand_more=[["JP", "oxide", 0, None]], exposure_caps_more=[["JP", "oxide", "any", 0]]),
        None,
        lambda data, sets: any(d.quantity == 0 for d in data.demands),
    ),
    "demand nobody can reach (product nobody makes; banned sole maker)": (
        chain(
            products_more=[["scrap", 1, 0]],
            demand_more=[["US", "scrap", 5, None], ["AU", "dy", 3, None]],
            lanes_more=[["CN", "AU", "dy", None, None, "no", None]],
        ),
        None,
        lambda data, sets: sum("cannot be reached" in w for w in sets.warnings) == 2,
    ),
    "caps of 0 and 1, on a stage no tag contains, and per stage (*)": (
        chain(
            exposure_caps=[
                ["US", "magnet", "any", 0],
                ["JP", "magnet", "separation", 1],
                ["US", "oxide", "magnet", 0.2],
                ["JP", "magnet", "*", 0.6],
            ]
        ),
        None,
        lambda data, sets: (
            {0.0, 1.0} <= {c.max_share for c in data.exposure_caps}
            and exposed_deliveries(data, sets, "US", "oxide", "magnet") == 0
            and exposed_deliveries(data, sets, "US", "oxide", "any") > 0
        ),
    ),
    "quotas of 0 and positive, banned lanes": (
        chain(
            lanes_more=[
                ["CN", "US", "oxide", None, None, None, 0],
                ["AU", "MY", "ore", None, None, None, 300],
                ["AU", "CN", "*", None, None, None, 120],
                ["CN", "JP", "*", None, None, "no", None],
            ]
        ),
        None,
        lambda data, sets: (
            not any((t.origin, t.destination) == ("CN", "JP") for t in sets.trades.values())
            and not any((t.origin, t.destination, t.product) == ("CN", "US", "oxide") for t in sets.trades.values())
            and any(t.max_flow for t in sets.trades.values())
        ),
    ),
    "by-product with a negative surplus price": (
        chain(products=[["ore", 10, 0], ["oxide", 100, 0], ["dy", 500, 0], ["magnet", 1000, 0], ["la", 5, -3]]),
        None,
        lambda data, sets: data.products["la"].surplus_price < 0 and any(key.product == "la" for key in sets.surplus),
    ),
    "restricted flag overridden both ways": (
        chain(facilities=[[*f[:3], OVERRIDES.get(f[0], f[3]), *f[4:]] for f in chain()["facilities"]]),
        None,
        lambda data, sets: not data.facilities["CN mine"].restricted and data.facilities["JP magnet"].restricted,
    ),
    "default cap and --exposure-cap": (
        chain(settings=[["default_exposure_cap", 0.4]]),
        0.2,
        lambda data, sets: any(c.source == "--exposure-cap" for c in data.exposure_caps),
    ),
    "source-only chain": (
        source_only(),
        None,
        lambda data, sets: all(not q.inputs for q in data.processes.values()),
    ),
    "nothing can run: no activity, a quota on a trade nothing ships": (
        {
            "countries": [["JP", "no"], ["US", "no"]],
            "products": [["scrap", 1, 0], ["oxide", 100, 0]],
            "processes": [["recycle", "separation", "scrap", -1], ["recycle", "separation", "oxide", 0.8]],
            "facilities": [["JP recycler", "JP", 10, None, 40, 2]],
            "facility_processes": [["JP recycler", "recycle", 1]],
            "lanes": [["JP", "US", "oxide", None, None, None, 50]],
            "demand": [["US", "oxide", 5, None], ["JP", "oxide", 0, None]],
            "exposure_caps": [["*", "*", "any", 0.5]],
        },
        None,
        lambda data, sets: not sets.activity and not sets.shipment and sets.trades and not sets.balance,
    ),
    "trnsport (GAMS)": (trnsport_case(), None, lambda data, sets: len(data.demands) == 3),
}


def with_corners(data: ModelData, rng: random.Random) -> ModelData:
    """``data`` with quotas, bans, stage caps, surplus prices, overrides and idle expansions mixed in."""
    names = list(data.countries)
    lanes = list(data.lane_rules)
    ruled = set()
    for row in range(rng.randint(1, 4)):
        key = (*rng.sample(names, 2), rng.choice(list(data.products)))
        if key in ruled:
            continue
        ruled.add(key)
        max_flow = rng.choice([0.0, 5.0, 40.0, None])  # None: a ban
        lanes.append(LaneRule(*key, None, None, max_flow is not None, max_flow, 90 + row))
    caps = list(data.exposure_caps)
    for demand in data.demands:
        if rng.random() < 0.5:
            stage = rng.choice(data.stages)
            caps.append(ExposureCap(demand.country, demand.product, stage, rng.choice([0.0, 0.4, 1.0]), "test"))
    products = {
        name: dataclasses.replace(p, surplus_price=rng.choice([0.0, 0.0, 3.0, -2.0]))
        for name, p in data.products.items()
    }
    facilities = {
        name: dataclasses.replace(f, restricted=not f.restricted) if rng.random() < 0.15 else f
        for name, f in data.facilities.items()
    }
    if rng.random() < 0.5:
        idle = next(iter(data.facilities.values()))
        facilities["idle"] = dataclasses.replace(
            idle,
            name="idle",
            capacity=rng.choice([0.0, 20.0]),
            expansion_max=30.0,
            expansion_cost=rng.choice([0.0, 2.0]),
        )
    demands = list(data.demands)
    if rng.random() < 0.3:
        demands[0] = dataclasses.replace(demands[0], quantity=0.0)
    return dataclasses.replace(
        data, lane_rules=lanes, exposure_caps=caps, products=products, facilities=facilities, demands=demands
    )


def random_network(seed: int, years: int = 1) -> ModelData:
    """A synthetic network of random size; three in four with corners mixed in.

    With ``years`` > 1 the corners are mixed into the first year's rows,
    which the later years then change (:func:`model.bench.synthetic.with_plans`),
    with a random number of projects and stockpiles.
    """
    rng = random.Random(seed)
    size = Size(
        countries=rng.randint(2, 7),
        stages=rng.randint(1, 4),
        products_per_stage=rng.randint(1, 3),
        facilities_per_stage=rng.randint(1, 8),
        processes_per_facility=rng.randint(1, 2),
        demand_countries=rng.randint(1, 2),
        exposure_cap=rng.choice([None, 0.0, 0.3, 0.7, 1.0]),
        seed=seed,
    )
    data = synthetic_data(size)
    data = with_corners(data, rng) if seed % 4 else data
    if years == 1:
        return data
    plans = dataclasses.replace(size, years=years, projects=rng.randint(0, 6), stockpiles=rng.randint(0, 2))
    return with_plans(data, plans)


def hand_case(name: str):
    sheets, exposure_cap, corner = HAND_CASES[name]

    def make(folder: Path) -> ModelData:
        data = load_data(write_case(folder / "case.xlsx", sheets), exposure_cap)
        assert corner(data, build_sets(data)), f"the case does not have its corner: {name}"
        return data

    return make


# ---- over years: projects, budgets, stockpiles -----------------------------------

# Every yearly sheet with its `year` column (and `growth` on demand); rows
# without the last cells leave them blank.
YEAR_HEADERS = {
    "products": ["product", "value", "surplus_price", "year"],
    "facilities": ["facility", "country", "capacity", "restricted", "expansion_max", "expansion_cost", "year"],
    "facility_processes": ["facility", "process", "unit_cost", "year"],
    "lanes": ["from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow", "year"],
    "demand": ["country", "product", "quantity", "unmet_penalty", "growth", "year"],
    "exposure_caps": ["country", "product", "stage", "max_share", "year"],
}


def chain_over_years() -> dict[str, list[list]]:
    """The chain over 2025-2028 with every Part 2 corner.

    Discounting with its own capex rate, growing demand and a demand row that
    starts in 2026, capacity, expansion room and cost changing by year (room
    shrinking in 2028, so the cumulative limit binds on earlier additions),
    a new plant whose first row is 2026, a unit cost and a product value
    changing, a one-year dysprosium ban on China, a cap tightening; projects
    all-or-nothing and divisible, funded (a budget of 0 in 2025) and private,
    with lead times, a life ending inside the horizon, one on the new plant
    online before the plant exists, one of capacity and capex 0 (a column
    nothing uses); an exposed initial stock with a max and a cover from
    2026, a clean one without a max, and a stock release year.
    """
    return chain(
        settings=[
            ["discount_rate", 0.05],
            ["capex_rate", 0.08],
            ["demand_growth", 0.03],
            ["project_life", 15],
            ["mip_gap", 1e-9],
        ],
        years=[[2025], [2026], [2027, "yes"], [2028]],
        products_more=[["dy", 800, 0, 2027]],
        facilities_more=[
            ["JP magnet", "JP", 450, None, 0, None, 2026],
            ["US magnet", "US", 100, None, 400, 18, 2027],
            ["US magnet", "US", 100, None, 250, 18, 2028],
            ["AU sep", "AU", 0, None, 0, None, 2026],
        ],
        facility_processes_more=[["CN sep", "separate", 6, 2027], ["AU sep", "separate", 7, 2026]],
        lanes_more=[["CN", "*", "dy", None, None, "no", None, 2026], ["CN", "*", "dy", None, None, "yes", None, 2027]],
        demand=[
            ["US", "magnet", 250, 1e5, 0.05],
            ["JP", "magnet", 200],
            ["US", "oxide", 20, None, 0],
            ["JP", "oxide", 10, None, None, 2026],
        ],
        exposure_caps_more=[["US", "magnet", "any", 0.3, 2027]],
        projects=[
            ["JP line 2", "JP magnet", 150, 2e5, None, 1, 2, "yes", "METI", 1000],
            ["US sep 2", "US sep", 100, 5e4, 2026, None, None, "no", "DFC", None],
            ["AU greenfield", "AU sep", 200, 3e5, None, None, 10, "yes", None, None],
            ["paper", "US sep", 0, 0, 2028, None, 3, None, None, None],
        ],
        budgets=[["METI", 0, None], ["METI", 1.5e5, 2026], ["DFC", 4e4, None]],
        stockpiles=[stock("US", "magnet", 20, None, 30, 100, 5, 2026), stock("JP", "dy", 5, "no", 60, None, 2, None)],
    )


def part2_corners(data, sets) -> bool:
    whole = {p.name for p in data.projects if p.all_or_nothing}
    first_row = {name: min(y for y in data.years if name in data.at(y).facilities) for name in data.facilities}
    lp = build_matrix(data, sets)
    return (
        any(key.project in whole for key in sets.build)
        and any(p.funder for p in data.projects)
        and data.budgets["METI"][2025] == 0
        and any(y < first_row[p.facility] for p in data.projects for y in p.online_years)
        and any(p.online_years[0] + p.life - 1 < data.years[-1] for p in data.projects)
        and {s.initial_tag != frozenset() for s in data.stockpiles} == {True, False}
        and sets.cover
        and data.stock_release_years
        and (lp.column_index < 0).any()  # the project of capacity and capex 0
    )


PART2_CASES = {
    "chain over years (every Part 2 corner)": (chain_over_years(), part2_corners),
    "chain, one year, projects and stockpiles (no years sheet)": (
        chain(
            projects=[
                ["US line", "US magnet", 80, 1e5, 2030, None, 10, "yes", "DFC", 500],
                ["late", "JP magnet", 50, 1e4, None, 2, None, None, None, None],
            ],
            budgets=[["DFC", 5e4]],
            stockpiles=[stock("US", "magnet", 10, None, 30, 40, 3, None)],
        ),
        lambda data, sets: (
            not data.has_years and sets.build and sets.stock and any(not p.online_years for p in data.projects)
        ),
    ),
    "stock bought before a ban and released under a cap (tests/test_stockpiles)": (
        ore_case(
            [[2025], [2026, "yes"], [2027]],
            BAN_IN_2026,
            [["A", "ore", 30]],
            [stock(initial=5, min_days=40, maximum=45, holding=2, from_year=2026)],
            b_restricted="yes",
        )
        | {"exposure_caps": [["A", "ore", "any", 0.5]]},
        lambda data, sets: sets.stock and sets.cover,
    ),
    "projects with lead times and budgets by decision year (tests/test_projects)": (
        network(
            [
                project(funder="DFC", lead_time=1, all_or_nothing="yes"),
                project(name="later", earliest_year=2026, funder="DFC", fixed_cost=20),
                project(name="private", capacity=10, capex=400, life=1),
            ],
            tariff_from_2026=True,
            settings=[["discount_rate", 0.1], ["capex_rate", 0]],
            budgets=[["DFC", 1500, None], ["DFC", 0, 2026]],
        ),
        lambda data, sets: len(sets.build) == 7 and data.budgets["DFC"][2026] == 0,
    ),
    "cumulative expansion bounded by a later year's smaller room (tests/test_years)": (
        expansion_case(
            [["mine A", "A", 40, None, 30, 3, None], ["mine A", "A", 40, None, 20, 4, 2027]],
            [["A", "ore", 70, None, 0.1]],
        ),
        lambda data, sets: len(sets.expansion) == 3,
    ),
}


def part2_case(name: str):
    sheets, corner = PART2_CASES[name]

    def make(folder: Path) -> ModelData:
        data = load_data(write_case(folder / "case.xlsx", sheets, YEAR_HEADERS))
        assert corner(data, build_sets(data)), f"the case does not have its corner: {name}"
        return data

    return make


def tiny_over_years() -> ModelData:
    """Built directly: A needs ore over 2025-2027, with a stock, a budget and an all-or-nothing project.

    A mines 40 at 10 (room to add 10 at 3, then 30 at 4 from 2026); B
    (restricted) mines at 15 and ships at 5, but not in 2026; at most half of
    A's ore may be exposed, a fifth from 2027; demand grows.  A holds 10 t of
    exposed ore (cover 30 days from 2026, at most 25 t, release in 2027); a
    funded all-or-nothing project (lead time 1, life 2; budget 0 in 2025) and
    a private divisible one may add capacity at A's mine.
    """
    years = [2025, 2026, 2027]
    mine_a = Facility("mine A", "A", 40.0, False, 10.0, 3.0, None, 2)
    base = ModelData(
        case_name="tiny over years",
        settings={"unmet_demand_penalty": 1000.0, "discount_rate": 0.05, "capex_rate": 0.08, "mip_gap": 1e-9},
        countries={"A": False, "B": True},
        products={"ore": Product("ore", 20.0, 0.0)},
        stages=["mining"],
        processes={"mine": Process("mine", "mining", {}, {"ore": 1.0})},
        facilities={"mine A": mine_a, "mine B": Facility("mine B", "B", 1000.0, True, 0.0, 0.0, None, 3)},
        facility_processes=[FacilityProcess("mine A", "mine", 10.0, 2), FacilityProcess("mine B", "mine", 15.0, 3)],
        demands=[Demand("A", "ore", 70.0, 1000.0, 2)],
        exposure_caps=[ExposureCap("A", "ore", "any", 0.5, "exposure_caps row 2")],
        lane_rules=[LaneRule("B", "A", "ore", 5.0, None, None, None, 2)],
        default_transport_cost=0.0,
        years=years,
        has_years=True,
        stock_release_years=frozenset({2027}),
        projects=[
            Project("whole", "mine A", 30.0, 1000.0, (2026, 2027), 1, 2, True, "DFC", 5.0, 2),
            Project("part", "mine A", 10.0, 300.0, (2025, 2026, 2027), 0, 10, False, None, 0.0, 3),
        ],
        budgets={"DFC": {2025: 0.0, 2026: 1000.0, 2027: 500.0}},
        stockpiles=[Stockpile("A", "ore", 10.0, frozenset({"mining"}), 30.0, 25.0, 1.0, 2026, 2)],
    )
    views = {}
    for year in years:
        view = base.at(year)
        ban = [LaneRule("B", "A", "ore", None, None, False, None, 3)] if year == 2026 else []
        views[year] = dataclasses.replace(
            view,
            facilities={
                **view.facilities,
                "mine A": dataclasses.replace(mine_a, expansion_max=30.0, expansion_cost=4.0),
            }
            if year >= 2026
            else view.facilities,
            demands={0: dataclasses.replace(base.demands[0], quantity=70.0 * 1.02 ** (year - 2025))},
            exposure_caps=[dataclasses.replace(base.exposure_caps[0], max_share=0.2)]
            if year == 2027
            else base.exposure_caps,
            lane_rules=[*view.lane_rules, *ban],
        )
    return dataclasses.replace(base, year_data=views)


def test_tiny_case_over_years_is_the_same_lp_and_a_mip():
    data = tiny_over_years()
    sets = build_sets(data)
    assert sets.build and sets.stock and sets.cover and len(build_matrix(data, sets).integer) == 2
    assert_same_lp(data)


def restricted_from_2026() -> dict[str, list[list]]:
    """B's mine counts as restricted from 2026 (a `restricted` override on a later facilities row)."""
    return {
        "settings": [["unmet_demand_penalty", 1000]],
        "years": [[2025], [2026]],
        "countries": [["A", "no"], ["B", "no"]],
        "products": [["ore", 0, 0]],
        "processes": [["mine", "mining", "ore", 1]],
        "facilities": [
            ["mine B", "B", 100, None, 0, None, None],
            ["mine B", "B", 100, "yes", 0, None, 2026],
            ["mine A", "A", 100, None, 0, None, None],
        ],
        "facility_processes": [["mine B", "mine", 10], ["mine A", "mine", 30]],
        "lanes": [["B", "A", "ore", 5]],
        "demand": [["A", "ore", 50]],
    }


def test_restricted_flag_changing_by_year(tmp_path):
    """From 2026 B's mine counts as restricted: its output is exposed, and still ships (SPEC: 2 × 50 t at 15)."""
    data = load_data(write_case(tmp_path / "case.xlsx", restricted_from_2026(), YEAR_HEADERS))
    assert [data.at(year).facilities["mine B"].restricted for year in data.years] == [False, True]
    assert_same_lp(data)
    assert solve_matrix(build_matrix(data, build_sets(data)))[0] == pytest.approx(1500.0)


CASES = (
    [pytest.param(hand_case(name), id=name) for name in HAND_CASES]
    + [pytest.param(part2_case(name), id=name) for name in PART2_CASES]
    + [pytest.param(lambda _, cap=cap: load_data(BASE_CASE, cap), id=f"base case, cap {cap}") for cap in (None, 0.2)]
    + [pytest.param(lambda _, seed=seed: random_network(seed), id=f"random network {seed}") for seed in range(20)]
    + [
        pytest.param(lambda _, years=years: synthetic_data(Size(years=years)), id=f"synthetic over {years} years")
        for years in (2, 5, 11)
    ]
    + [
        pytest.param(
            lambda _, seed=seed, years=years: random_network(seed, years), id=f"random network {seed}, {years} years"
        )
        for seed, years in zip(range(100, 112), [2, 3, 5] * 4, strict=True)
    ]
)


@pytest.mark.parametrize("make", CASES)
def test_pyomo_and_matrix_build_the_same_lp(make, tmp_path):
    assert_same_lp(make(tmp_path))
