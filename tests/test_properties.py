"""Properties that must hold on every valid case (random synthetic networks)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.bench.synthetic import Size, synthetic_data
from model.data import LaneRule
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
    from model.data import ExposureCap

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


@common
@given(sizes)
def test_cap_of_one_equals_no_cap(size):
    data = synthetic_data(size)
    uncapped = dataclasses.replace(data, exposure_caps=[])
    assert cost(with_any_cap(data, 1.0)) == pytest.approx(cost(uncapped), rel=1e-7)


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
