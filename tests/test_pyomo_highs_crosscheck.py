"""Our hand-off to HiGHS against Pyomo's own HiGHS interface, on the same Pyomo model.

Our route (:func:`model.solver.solve.solve_model`) compiles the model with
Pyomo's standard-form compiler and passes the arrays to ``highspy``; Pyomo's
interface (``pyomo.contrib.solver.solvers.highs.Highs``) walks the same
model with its own expression walker and loads HiGHS row by row.  The two
hand-offs share nothing but the model, so equal objectives and duals say
that ours neither drops, flips nor rescales a row.

Sign convention, the same on both sides: a dual is HiGHS' ``row_dual`` of
the row as written in the model (``lower ≤ Σ terms ≤ upper``; neither
hand-off negates a row), which for a minimisation is ∂(total cost)/∂(row
limit).  So the demand dual π_j ≥ 0 is the cost of one more tonne, and the
duals of binding ≤ rows are ≤ 0: capacity μ_f = −(capacity value), exposure
cap η_js = −(saving per tonne of allowed exposure).  Pyomo returns
``row_dual`` as is for a minimisation (it negates only for a maximisation).

Duals are compared where they are unique: hand cases whose optimal duals of
the three families are derived below (the balance and no-re-export duals
are not: surplus ≥ 0 makes "exports ≤ production" redundant with the
balance, so λ and ρ trade off along an interval), and the base case, whose
objective is compared and whose demand duals agreed to 1e-12 when this was
written (HiGHS 1.16, Pyomo 6.10) — if they ever differ after an upgrade,
look for a degenerate demand row before suspecting the hand-off.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from model.formulation.build import build_model
from model.formulation.sets import build_sets
from model.formulation.terms import keyed_rows
from model.pipeline import load_data
from model.solver.solve import solve_model
from tests.helpers import write_case
from tests.test_reference_cases import BASE_CASE
from tests.test_trnsport import trnsport_case

try:
    from pyomo.contrib.solver.solvers.highs import Highs
except ImportError:  # Pyomo older than 6.9
    Highs = None

pytestmark = pytest.mark.skipif(
    Highs is None or not Highs().available(),
    reason="Pyomo's HiGHS interface (pyomo.contrib.solver.solvers.highs, Pyomo >= 6.9 with highspy) is not available",
)

FAMILIES = ("capacity_constraint", "demand_constraint", "exposure_cap_constraint")


def both_routes(data):
    """Solve one Pyomo model both ways; returns (ours, theirs): each an objective and {family: {key: dual}}."""
    model = build_model(data, build_sets(data))
    ours = solve_model(model, {}, [])  # phase 1 only: no least-exposure objectives
    assert ours.optimal
    results = Highs().solve(model)
    theirs = results.solution_loader.get_duals()
    ours_duals, their_duals = {}, {}
    for family in FAMILIES:
        rows = list(keyed_rows(model, family))
        ours_duals[family] = {key: float(ours.row_duals[ours.row_position[id(row)]]) for key, row in rows}
        their_duals[family] = {key: float(theirs[row]) for key, row in rows}
    return (ours.objective, ours_duals), (results.incumbent_objective, their_duals)


def by_name(duals: dict, field: str) -> dict:
    """{key.<field>: dual} of one family."""
    return {getattr(key, field): value for key, value in duals.items()}


def assert_same(ours: float, theirs: float, expected: float | None = None) -> None:
    assert ours == pytest.approx(theirs, rel=1e-7, abs=1e-9)
    if expected is not None:
        assert ours == pytest.approx(expected, rel=1e-9, abs=1e-9)


def load(tmp_path: Path, sheets: dict, exposure_cap: float | None = None):
    return load_data(write_case(tmp_path / "case.xlsx", sheets), exposure_cap)


def test_trnsport(tmp_path):
    """GAMS trnsport: 153.675; demand marginals 0.225, 0.153, 0.126.

    The New York split is not unique, and among the optimal plans are one
    with Seattle's capacity slack (all of New York from San Diego) and one
    with San Diego's slack (50 from Seattle): by complementary slackness
    both capacity duals are 0 in every dual optimum, and then each market's
    dual is its cheapest freight (0.09 × thousand miles), unique.
    """
    data = load(tmp_path, trnsport_case())
    (ours, our_duals), (theirs, their_duals) = both_routes(data)
    assert_same(ours, theirs, 153.675)
    markets = {"new-york": 0.225, "chicago": 0.153, "topeka": 0.126}
    demand = [d.country for d in data.demands]
    for key, dual in our_duals["demand_constraint"].items():
        assert_same(dual, their_duals["demand_constraint"][key], markets[demand[key.demand]])
    for facility, dual in by_name(our_duals["capacity_constraint"], "facility").items():
        assert_same(dual, by_name(their_duals["capacity_constraint"], "facility")[facility], 0.0)
    assert not our_duals["exposure_cap_constraint"]


def one_stage(stage: str) -> dict:
    """A Chinese and a US magnet plant, a 50 % cap, and a US facility that may expand but runs nothing.

    Demand 100 t in the US (penalty 1000 USD/t); CN plant 100 units at
    10 USD, US plant 40 units at 30 USD expandable by 5 at 100 USD/unit;
    US idle: capacity 10, expandable by 20 at 1 USD, no process.  Freight 0.

    Optimum (unique): CN 50 (the cap: 0.5 × 100), US 40 + 5 expanded
    (130 < 1000 per tonne), 5 t unmet:
        50·10 + 45·30 + 5·100 + 5·1000 = 7,350 USD.
    Duals (∂cost/∂limit), unique because unmet, US activity, CN activity
    and both deliveries are positive and every other row is slack:
        π (demand)          = 1000   (unmet: 1000 − π = 0)
        μ (US plant)        = −970   (US activity: 30 − π − μ = 0; the
                                      expansion at its bound: 100 + μ < 0 ✓)
        μ (CN plant, idle)  = 0      (slack: 50 of 100; −v ≤ 10 at v = 0)
        η (cap)             = −990   (CN tonne delivered at 10 + 0 freight:
                                      10 − π − η = 0)
    """
    return {
        "countries": [["CN", "yes"], ["US", "no"]],
        "products": [["magnet", 0, 0]],
        "processes": [["make", "magnet", "magnet", 1]],
        "facilities": [
            ["CN plant", "CN", 100, None, 0, None],
            ["US plant", "US", 40, None, 5, 100],
            ["US idle", "US", 10, None, 20, 1],
        ],
        "facility_processes": [["CN plant", "make", 10], ["US plant", "make", 30]],
        "demand": [["US", "magnet", 100, 1000]],
        "exposure_caps": [["US", "magnet", stage, 0.5]],
    }


@pytest.mark.parametrize("stage", ["any", "magnet"])
def test_capacity_expansion_and_cap(tmp_path, stage):
    (ours, our_duals), (theirs, their_duals) = both_routes(load(tmp_path, one_stage(stage)))
    assert_same(ours, theirs, 7350.0)
    expected = {
        "capacity_constraint": {"CN plant": 0.0, "US plant": -970.0, "US idle": 0.0},
        "demand_constraint": {0: 1000.0},
        "exposure_cap_constraint": {0: -990.0},
    }
    field = {"capacity_constraint": "facility", "demand_constraint": "demand", "exposure_cap_constraint": "demand"}
    for family in FAMILIES:
        mine, pyomos = by_name(our_duals[family], field[family]), by_name(their_duals[family], field[family])
        assert set(mine) == set(expected[family])
        for name, value in expected[family].items():
            assert_same(mine[name], pyomos[name], value)


def two_stages() -> dict:
    """Separation then magnets; a cap on the separation stage only.

    Oxide is separated in China at 5 USD or in Australia at 25 USD (1,000
    units each), magnets made in Japan at 10 USD (capacity 100); Japan
    needs 80 t of magnets, at most 25 % exposed at separation.  Freight 0.

    Optimum (unique): 20 t from Chinese oxide, 60 t from Australian:
        20·5 + 60·25 + 80·10 = 2,400 USD.
    Duals, unique because both activities and both deliveries are positive
    and every capacity is slack:
        π (demand)        = 25 + 10 = 35     (one more clean magnet)
        η (separation)    = 15 − 35 = −20    (one more exposed tonne saves 25 − 5)
        μ (every plant)   = 0
    The any-stage cap of 1 creates no row.
    """
    return {
        "countries": [["CN", "yes"], ["AU", "no"], ["JP", "no"]],
        "products": [["oxide", 0, 0], ["magnet", 0, 0]],
        "processes": [
            ["separate", "separation", "oxide", 1],
            ["make", "magnet", "oxide", -1],
            ["make", "magnet", "magnet", 1],
        ],
        "facilities": [
            ["CN sep", "CN", 1000, None, 0, None],
            ["AU sep", "AU", 1000, None, 0, None],
            ["JP magnet", "JP", 100, None, 0, None],
        ],
        "facility_processes": [["CN sep", "separate", 5], ["AU sep", "separate", 25], ["JP magnet", "make", 10]],
        "demand": [["JP", "magnet", 80, 1000]],
        "exposure_caps": [["JP", "magnet", "separation", 0.25], ["JP", "magnet", "any", 1]],
    }


def test_stage_cap(tmp_path):
    (ours, our_duals), (theirs, their_duals) = both_routes(load(tmp_path, two_stages()))
    assert_same(ours, theirs, 2400.0)
    (demand,) = our_duals["demand_constraint"].items()
    assert_same(demand[1], their_duals["demand_constraint"][demand[0]], 35.0)
    (cap,) = our_duals["exposure_cap_constraint"].items()
    assert cap[0].stage == "separation"
    assert_same(cap[1], their_duals["exposure_cap_constraint"][cap[0]], -20.0)
    assert len(our_duals["capacity_constraint"]) == 3
    for key, dual in our_duals["capacity_constraint"].items():
        assert_same(dual, their_duals["capacity_constraint"][key], 0.0)


@pytest.mark.parametrize("exposure_cap", [None, 0.2], ids=["uncapped", "cap20"])
def test_base_case(exposure_cap):
    """Objective, and the demand duals (which agree; see the module docstring)."""
    # The base case's all-or-nothing projects make it a MIP, which has no duals to compare: they are made
    # divisible here, so both routes solve the same LP.
    data = load_data(BASE_CASE, exposure_cap)
    data = dataclasses.replace(data, projects=[dataclasses.replace(p, all_or_nothing=False) for p in data.projects])
    (ours, our_duals), (theirs, their_duals) = both_routes(data)
    assert_same(ours, theirs)
    assert our_duals["demand_constraint"]
    for key, dual in our_duals["demand_constraint"].items():
        assert dual == pytest.approx(their_duals["demand_constraint"][key], rel=1e-7, abs=1e-6)
