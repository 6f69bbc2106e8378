"""Properties that must hold on every valid case (random synthetic networks)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.bench.synthetic import Size, synthetic_data
from model.data import ExposureCap, LaneRule
from model.pipeline import solve_data

sizes = st.builds(
    Size,
    countries=st.integers(2, 6),
    stages=st.integers(1, 3),
    products_per_stage=st.integers(1, 3),
    facilities_per_stage=st.integers(1, 5),
    processes_per_facility=st.integers(1, 2),
    demand_countries=st.integers(1, 2),
    exposure_cap=st.sampled_from([None, 0.0, 0.3, 0.7]),
    seed=st.integers(0, 10_000),
)
common = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cost(data) -> float:
    return solve_data(data).objective


def with_any_cap(data, share):
    caps = [ExposureCap(d.country, d.product, "any", share, "test") for d in data.demands]
    return dataclasses.replace(data, exposure_caps=caps)


@common
@given(sizes)
def test_solves_and_verifies(size):
    outcome = solve_data(synthetic_data(size))  # raises if the product's own checks fail
    assert outcome.optimal
    assert outcome.verification.largest_violation <= 1e-6
    deliveries = outcome.report.sheets["deliveries"]
    assert (deliveries["delivered"] + deliveries["unmet"] - deliveries["quantity"]).abs().max() <= 1e-6 * max(
        1.0, deliveries["quantity"].max()
    )


def uncapped(data):
    return dataclasses.replace(data, exposure_caps=[])


def with_row_caps(data, shares: dict[tuple[str, str], float]):
    """An ``any`` cap on each demand row (country, product) named in ``shares``."""
    caps = [
        ExposureCap(d.country, d.product, "any", shares[d.country, d.product], "test")
        for d in data.demands
        if (d.country, d.product) in shares
    ]
    return dataclasses.replace(data, exposure_caps=caps)


def cap_rows(data) -> set[tuple[int, str]]:
    """(demand index, stage) of every exposure-cap row the LP gets for ``data``."""
    from model.formulation.build import build_model
    from model.formulation.sets import build_sets
    from model.formulation.terms import row_keys

    model = build_model(data, build_sets(data))
    keys = row_keys(model, "exposure_cap_constraint")
    assert len(keys) == len(model.exposure_cap_constraint)
    return {(key.demand, key.stage) for key in keys}


def exposed_shares(outcome) -> dict[tuple[str, str], float]:
    """Share of each demand row exposed at any stage, read from the deliveries sheet."""
    deliveries = outcome.report.sheets["deliveries"]
    return {(r.country, r.product): float(r.exposure_any) for r in deliveries.itertuples(index=False)}


@common
@given(sizes)
def test_cap_at_the_uncapped_share_costs_nothing_and_just_below_it_binds(size):
    # Capping every demand row at the exposure the uncapped optimum reports
    # keeps that plan feasible, so the cost must not move: a cap row that
    # counts too much (clean tags, another row's deliveries, a limit off its
    # quantity) or a report that understates exposure makes it dearer.
    data = uncapped(synthetic_data(size))
    free = solve_data(data)
    tolerance = 1e-6 * max(1.0, abs(free.objective))
    shares = exposed_shares(free)
    assert cost(with_row_caps(data, shares)) == pytest.approx(free.objective, rel=1e-6, abs=1e-6)

    # Five points below that share (where that is above 0): every such cap
    # gets its row, holds, and the plan cannot get cheaper.  If it got
    # dearer, some cap must be binding (were none, the capped optimum would
    # be optimal uncapped too, at the uncapped cost).
    below = {key: share - 0.05 for key, share in shares.items() if share - 0.05 > 0}
    if not below:
        return
    tight_data = with_row_caps(data, below)
    index = {(d.country, d.product): j for j, d in enumerate(data.demands)}
    assert cap_rows(tight_data) == {(index[key], "any") for key in below}
    tight = solve_data(tight_data)
    assert tight.objective >= free.objective - tolerance
    caps = tight.report.sheets["exposure_caps"]
    assert len(caps) == len(below)
    assert (caps["achieved_share"] <= caps["max_share"] + 1e-6).all(), caps
    if tight.objective > free.objective + tolerance:
        assert (caps["binding"] == "yes").any(), caps


@common
@given(sizes)
def test_cap_of_one_makes_no_row_and_a_cap_just_below_one_does(size):
    # A share of 1 always holds (exposed <= delivered <= quantity), so the
    # build drops it: no row, the uncapped cost.  0.999 must get a row for
    # every demand row with exposed deliveries, and costs the same as no cap
    # unless some row was more than 99.9 % exposed.
    data = uncapped(synthetic_data(size))
    free = solve_data(data)
    shares = exposed_shares(free)
    index = {(d.country, d.product): j for j, d in enumerate(data.demands)}
    one = with_row_caps(data, dict.fromkeys(shares, 1.0))
    nearly = with_row_caps(data, dict.fromkeys(shares, 0.999))
    assert cap_rows(one) == set()
    assert cost(one) == pytest.approx(free.objective, rel=1e-7)
    rows = cap_rows(nearly)
    assert {(index[key], "any") for key, share in shares.items() if share > 1e-6} <= rows
    assert rows <= {(j, "any") for j in index.values()}
    if max(shares.values()) <= 0.999:
        assert cost(nearly) == pytest.approx(free.objective, rel=1e-6, abs=1e-6)
    else:
        assert cost(nearly) >= free.objective - 1e-6 * max(1.0, abs(free.objective))


@common
@given(sizes, st.floats(0.0, 0.9))
def test_tighter_cap_never_costs_less(size, share):
    data = synthetic_data(size)
    tight, loose = cost(with_any_cap(data, share)), cost(with_any_cap(data, share + 0.1))
    assert tight >= loose - 1e-7 * max(1.0, abs(loose))


@common
@given(sizes)
def test_less_capacity_more_demand_or_a_ban_never_cost_less(size):
    data = synthetic_data(size)
    base = cost(data)
    tolerance = 1e-7 * max(1.0, abs(base))
    shrunk = {n: dataclasses.replace(f, capacity=f.capacity * 0.7) for n, f in data.facilities.items()}
    assert cost(dataclasses.replace(data, facilities=shrunk)) >= base - tolerance
    grown = [dataclasses.replace(d, quantity=d.quantity * 1.3) for d in data.demands]
    assert cost(dataclasses.replace(data, demands=grown)) >= base - tolerance
    names = list(data.countries)
    ban = LaneRule(names[-1], "*", "*", None, None, False, None, 99)
    assert cost(dataclasses.replace(data, lane_rules=[*data.lane_rules, ban])) >= base - tolerance


@common
@given(sizes, st.sampled_from([0.5, 3.0, 10.0]))
def test_scaling_every_cost_scales_the_objective(size, factor):
    data = synthetic_data(size)
    scaled = dataclasses.replace(
        data,
        facility_processes=[dataclasses.replace(fp, unit_cost=fp.unit_cost * factor) for fp in data.facility_processes],
        facilities={
            n: dataclasses.replace(f, expansion_cost=f.expansion_cost * factor) for n, f in data.facilities.items()
        },
        demands=[dataclasses.replace(d, unmet_penalty=d.unmet_penalty * factor) for d in data.demands],
        lane_rules=[
            dataclasses.replace(r, transport_cost=None if r.transport_cost is None else r.transport_cost * factor)
            for r in data.lane_rules
        ],
        products={
            n: dataclasses.replace(p, value=p.value * factor, surplus_price=p.surplus_price * factor)
            for n, p in data.products.items()
        },
        default_transport_cost=data.default_transport_cost * factor,
    )
    assert cost(scaled) == pytest.approx(factor * cost(data), rel=1e-7)
