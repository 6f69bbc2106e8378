"""The Pyomo build and the sparse-matrix build of model/bench/matrix.py are the same LP, on every valid shape.

One check (:func:`assert_same_lp`) on hand cases, one per corner of the
formulation (each asserts that its corner really occurs), the base case and
random synthetic networks with corners mixed in.  The check is stricter than
equal sizes: with columns matched by variable (family and index) and rows
in the same order, the two builds must have the same costs, bounds, row
limits and matrix entries, and the same optimal objective.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_array

from model.bench.matrix import build_matrix, solve_matrix
from model.bench.synthetic import Size, synthetic_data
from model.data import ExposureCap, LaneRule, ModelData
from model.formulation.build import build_model
from model.formulation.constraints.exposure import exposed
from model.formulation.sets import build_sets
from model.pipeline import load_data
from model.solver.handoff import standard_form
from model.solver.solve import solve_model
from tests.helpers import write_case
from tests.test_reference_cases import BASE_CASE
from tests.test_trnsport import trnsport_case


def assert_same_lp(data: ModelData) -> None:
    """Same rows, columns, entries, bounds and objective from Pyomo and from the matrix build."""
    sets = build_sets(data)
    model = build_model(data, sets)
    form = standard_form(model)
    lp = build_matrix(data, sets)

    assert form.matrix.shape == lp.shape
    assert form.matrix.nnz == len(lp.values)
    # Column of each Pyomo variable in the matrix build: variables are
    # indexed by position in their family's key list, as the matrix columns.
    column = np.array([lp.column_blocks[v.parent_component().name][0] + v.index() for v in form.columns], dtype=int)
    assert sorted(column) == list(range(lp.shape[1]))
    np.testing.assert_array_equal(lp.cost[column], form.cost)
    np.testing.assert_array_equal(lp.col_lower[column], form.col_lower)
    np.testing.assert_array_equal(lp.col_upper[column], form.col_upper)
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

    objective, _, _ = solve_matrix(lp)
    assert solve_model(model, {}, []).objective == pytest.approx(objective, rel=1e-9, abs=1e-9)


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


def random_network(seed: int) -> ModelData:
    """A synthetic network of random size; three in four with corners mixed in."""
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
    return with_corners(data, rng) if seed % 4 else data


def hand_case(name: str):
    sheets, exposure_cap, corner = HAND_CASES[name]

    def make(folder: Path) -> ModelData:
        data = load_data(write_case(folder / "case.xlsx", sheets), exposure_cap)
        assert corner(data, build_sets(data)), f"the case does not have its corner: {name}"
        return data

    return make


CASES = (
    [pytest.param(hand_case(name), id=name) for name in HAND_CASES]
    + [pytest.param(lambda _, cap=cap: load_data(BASE_CASE, cap), id=f"base case, cap {cap}") for cap in (None, 0.2)]
    + [pytest.param(lambda _, seed=seed: random_network(seed), id=f"random network {seed}") for seed in range(20)]
)


@pytest.mark.parametrize("make", CASES)
def test_pyomo_and_matrix_build_the_same_lp(make, tmp_path):
    assert_same_lp(make(tmp_path))
