"""Sourcing traced through the exposure tags agrees with the reported exposure (issue 9, item 5).

Identity (model/results/sourcing.py): for every demand row, year and stage,
Σ over restricted rows of share × delivered = Σ_{t ∋ stage} delivery[t] (the
exposed tonnes the deliveries sheet reports as exposure × quantity).  Hand
cases for relabelling, a restricted facility outside a restricted country,
joint outputs and a stage met twice; random networks (one year and several,
with stockpiles) for the identity.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.bench.synthetic import Size, synthetic_data
from model.formulation.constraints.exposure import exposed
from model.pipeline import solve_data
from model.results.sourcing import UNATTRIBUTED
from tests.conftest import row_of


def relabel_case() -> dict[str, list[list]]:
    """US makes 100 t of magnets from 0.9 t oxide + 0.1 t Dy each (100 USD per t).

    Oxide with a lanthanum by-product ("separate"): in MY at a Chinese-owned plant (restricted by its
    row, 30 t at 5 USD, 0.2 t La per t of oxide) and in AU (clean, 1000 t at 10 USD, 0.05 t La).
    Dy only from CN (restricted, 20 USD).  The US also needs 5 t of La.  No transport costs.
    """
    return {
        "countries": [["CN", "yes"], ["US", "no"], ["AU", "no"], ["MY", "no"]],
        "products": [["oxide", 0, 0], ["la", 0, 0], ["dy", 0, 0], ["magnet", 0, 0]],
        "processes": [
            ["separate_my", "separation", "oxide", 1],
            ["separate_my", "separation", "la", 0.2],
            ["separate_au", "separation", "oxide", 1],
            ["separate_au", "separation", "la", 0.05],
            ["separate_dy", "separation", "dy", 1],
            ["make", "magnet", "oxide", -0.9],
            ["make", "magnet", "dy", -0.1],
            ["make", "magnet", "magnet", 1],
        ],
        "facilities": [
            ["MY plant", "MY", 30, "yes", 0, None],
            ["AU plant", "AU", 1000, None, 0, None],
            ["CN plant", "CN", 1000, None, 0, None],
            ["US magnets", "US", 1000, None, 0, None],
        ],
        "facility_processes": [
            ["MY plant", "separate_my", 5],
            ["AU plant", "separate_au", 10],
            ["CN plant", "separate_dy", 20],
            ["US magnets", "make", 100],
        ],
        "demand": [["US", "magnet", 100, None], ["US", "la", 5, None]],
    }


def test_relabelled_oxide_is_attributed_to_the_restricted_separation_it_is_counted_with(solve):
    # Oxide: MY 30 t (cheapest, full) + AU 60 t; Dy 10 t from CN; 100 magnets: 150 + 600 + 200 + 10 000.
    # Every magnet has CN Dy, so the recipe draws its inputs tagged {separation}: the 60 t of clean AU
    # oxide are relabelled and every magnet is separation-exposed (exposure_separation 1).
    # Traced: the restricted separation in the magnet's inputs is MY 30 t (in 90 t of oxide) and CN
    # 10 t of Dy; the relabelled AU oxide takes their attribution: MY 30 / 40 = 0.75, CN 10 / 40 = 0.25,
    # both restricted; AU none (by input mass it would be 54 %).  The magnet stage: US 1.
    # La (a joint output, same history as the oxide made with it): AU makes 60 · 0.05 = 3 t (clean),
    # MY 30 · 0.2 = 6 t (restricted); the least-exposure report takes AU's 3 t and 2 t from MY:
    # separation AU 0.6 (no), MY 0.4 (yes) = exposure_separation 0.4.
    outcome = solve(relabel_case())
    assert outcome.objective == pytest.approx(10950.0)
    sourcing = outcome.report.sheets["sourcing"]
    deliveries = outcome.report.sheets["deliveries"]
    magnet = sourcing[sourcing["product"] == "magnet"]
    assert row_of(deliveries, product="magnet")["exposure_separation"] == pytest.approx(1.0)
    assert row_of(magnet, stage="separation", source_country="MY")["share"] == pytest.approx(0.75)
    assert row_of(magnet, stage="separation", source_country="MY")["restricted"] == "yes"
    assert row_of(magnet, stage="separation", source_country="CN")["share"] == pytest.approx(0.25)
    assert "AU" not in set(magnet["source_country"])
    assert row_of(magnet, stage="magnet", source_country="US")["share"] == pytest.approx(1.0)
    assert row_of(magnet, stage="magnet", source_country="US")["restricted"] == "no"
    la = sourcing[sourcing["product"] == "la"]
    assert row_of(deliveries, product="la")["exposure_separation"] == pytest.approx(0.4)
    assert row_of(la, source_country="AU")["share"] == pytest.approx(0.6)
    assert row_of(la, source_country="AU")["restricted"] == "no"
    assert row_of(la, source_country="MY")["share"] == pytest.approx(0.4)
    assert row_of(la, source_country="MY")["restricted"] == "yes"


def test_a_stage_met_twice_keeps_its_restricted_step(solve):
    # CN separates ore into crude oxide (restricted, separation); the US refines it (separation again,
    # clean) and sells 10 t.  The tag keeps {separation}: exposure_separation 1, and sourcing names the
    # CN step (restricted), not the later US one.  A second US oxide from AU crude is clean: its
    # separation is the US step (the later step of a clean history).
    case = {
        "countries": [["CN", "yes"], ["US", "no"], ["AU", "no"]],
        "products": [["crude", 0, 0], ["oxide", 0, 0], ["crude_au", 0, 0], ["oxide_au", 0, 0]],
        "processes": [
            ["crack", "separation", "crude", 1],
            ["crack_au", "separation", "crude_au", 1],
            ["refine", "separation", "crude", -1],
            ["refine", "separation", "oxide", 1],
            ["refine_au", "separation", "crude_au", -1],
            ["refine_au", "separation", "oxide_au", 1],
        ],
        "facilities": [
            ["CN plant", "CN", 100, None, 0, None],
            ["AU plant", "AU", 100, None, 0, None],
            ["US refinery", "US", 100, None, 0, None],
        ],
        "facility_processes": [
            ["CN plant", "crack", 1],
            ["AU plant", "crack_au", 1],
            ["US refinery", "refine", 1],
            ["US refinery", "refine_au", 1],
        ],
        "demand": [["US", "oxide", 10, None], ["US", "oxide_au", 10, None]],
    }
    outcome = solve(case)
    sourcing = outcome.report.sheets["sourcing"]
    oxide = row_of(sourcing, product="oxide")
    assert (oxide["source_country"], oxide["restricted"]) == ("CN", "yes")
    assert oxide["share"] == pytest.approx(1.0)
    assert row_of(outcome.report.sheets["deliveries"], product="oxide")["exposure_separation"] == pytest.approx(1.0)
    clean = row_of(sourcing, product="oxide_au")
    assert (clean["source_country"], clean["restricted"], clean["share"]) == ("US", "no", pytest.approx(1.0))


# ---- the identity on random networks ----------------------------------------------


def assert_sourcing_agrees_with_exposure(outcome) -> int:
    """Σ restricted share × delivered = exposed tonnes for every demand row, year and stage; returns how many
    (row, year, stage) had exposure, so a test can insist the identity was met where it is not trivial."""
    data, sets, solution = outcome.data, outcome.sets, outcome.solution
    delivered: dict[tuple[int, int], float] = defaultdict(float)
    exposed_tonnes: dict[tuple[int, int, str], float] = defaultdict(float)
    for index, tag, year, value in solution.delivery[["demand", "tag", "year", "value"]].itertuples(index=False):
        delivered[index, year] += value
        for stage in data.stages:
            if exposed(sets.tags[tag], stage):
                exposed_tonnes[index, year, stage] += value
    sourcing = outcome.report.sheets["sourcing"]
    if "year" not in sourcing.columns:
        sourcing = sourcing.assign(year=sets.years[0])
    rows = {(d.country, d.product): index for index, d in enumerate(data.demands)}
    traced: dict[tuple[int, int, str], float] = defaultdict(float)
    total: dict[tuple[int, int, str], float] = defaultdict(float)
    for country, product, year, stage, share, restricted in sourcing[
        ["country", "product", "year", "stage", "share", "restricted"]
    ].itertuples(index=False):
        index = rows[country, product]
        total[index, year, stage] += share
        if restricted == "yes":
            traced[index, year, stage] += share * delivered[index, year]
    assert max(total.values(), default=0.0) <= 1.0 + 1e-9
    checked = 0
    for (index, year), amount in delivered.items():
        for stage in data.stages:
            want = exposed_tonnes[index, year, stage]
            got = traced[index, year, stage]
            assert got == pytest.approx(want, rel=1e-6, abs=1e-6 * max(1.0, amount)), (
                data.demands[index],
                year,
                stage,
            )
            checked += want > 1e-6
    assert UNATTRIBUTED not in set(sourcing["source_country"])
    return checked


def reflagged(data, seed: int):
    """``data`` with each facility restricted or not at random (40 %), in every year, and no explanation
    re-solves: restricted and clean plants then meet at every stage, and recipes combine inputs of different
    histories (relabelling)."""
    rng = random.Random(seed)
    flags = {name: rng.random() < 0.4 for name in data.facilities}

    def flagged(facilities):
        return {name: dataclasses.replace(f, restricted=flags[name]) for name, f in facilities.items()}

    year_data = {
        year: dataclasses.replace(view, facilities=flagged(view.facilities)) for year, view in data.year_data.items()
    }
    return dataclasses.replace(
        data,
        facilities=flagged(data.facilities),
        year_data=year_data,
        settings={**data.settings, "explain_unmet": "no"},
    )


sizes = st.builds(
    Size,
    countries=st.integers(2, 6),
    stages=st.integers(1, 3),
    products_per_stage=st.integers(1, 3),  # 3: recipes with two different inputs
    facilities_per_stage=st.integers(1, 5),
    processes_per_facility=st.integers(1, 2),
    demand_countries=st.integers(1, 2),
    exposure_cap=st.sampled_from([None, 0.0, 0.3, 0.7]),
    seed=st.integers(0, 10_000),
    years=st.sampled_from([1, 1, 3]),  # 3: stockpiles carried between years
    all_or_nothing=st.just(False),
)
random_cases = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@random_cases
@given(sizes, st.integers(0, 10_000))
def test_sourcing_agrees_with_exposure_on_random_networks(size, flags):
    outcome = solve_data(reflagged(synthetic_data(size), flags))
    assert_sourcing_agrees_with_exposure(outcome)


def test_identity_is_met_where_it_is_not_trivial():
    # A fixed network over three years where the identity has work to do: 21 relabellings, stocks
    # held, and 46 (demand row, year, stage) with exposure.  Traced by input mass ignoring tags (the
    # module before issue 9), restricted shares × delivered missed the exposed tonnes by up to 42.5 t here.
    size = Size(countries=4, stages=3, products_per_stage=3, facilities_per_stage=4, seed=10, years=3)
    outcome = solve_data(reflagged(synthetic_data(dataclasses.replace(size, exposure_cap=None)), 10))
    assert (outcome.solution.relabel["value"] > 1e-6).sum() >= 10
    assert (outcome.solution.stock["value"] > 1e-6).sum() >= 1
    assert assert_sourcing_agrees_with_exposure(outcome) >= 40


def test_the_product_checks_the_identity_after_every_solve(solve):
    # verify_sourcing runs in the pipeline; on the relabel case it passes, and a sheet that gives the CN
    # separation of the magnets to AU (the input-mass answer's kind of error) fails it.
    from model.results.verify import verify_sourcing

    outcome = solve(relabel_case())
    sourcing = outcome.report.sheets["sourcing"]
    assert verify_sourcing(outcome.data, outcome.sets, outcome.solution, sourcing).ok
    broken = sourcing.copy()
    broken.loc[(broken["product"] == "magnet") & (broken["source_country"] == "CN"), "restricted"] = "no"
    check = verify_sourcing(outcome.data, outcome.sets, outcome.solution, broken)
    assert any("sourcing of US magnet at separation" in failure for failure in check.failures), check.failures
    broken = sourcing.copy()
    broken.loc[broken["product"] == "la", "share"] *= 2
    check = verify_sourcing(outcome.data, outcome.sets, outcome.solution, broken)
    assert any("add up to more than 1" in failure for failure in check.failures), check.failures
