"""verify_solution and the cost tables, vectorised, check exactly what the row-by-row code checked.

``reference_*`` below are the row-by-row implementations of
:mod:`model.results.verify` as they were before it was vectorised (copied
verbatim, renamed).  On solved cases (the 11-year base case with projects,
stockpiles and contracted offtakes; the batch hand case with a cap and a
tariff) and on many corrupted copies of their solutions (values moved, rows
dropped, negative values, activity of facilities that do not exist), the
vectorised code must report the same failures (same messages), the same
largest violation (to round-off: sums may be added in another order), and
exactly the same yearly costs and delivered/exposed tonnes.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from model.batch.variants import Variant, variant_data
from model.data import ModelData
from model.formulation.constraints.exposure import exposed
from model.formulation.sets import ModelSets
from model.pipeline import load_data, solve_data
from model.results.extract import FLOW_FAMILIES, Solution
from model.results.verify import (
    Verification,
    _in_year,
    check_min_flows,
    component_names,
    cost_components,
    delivered_and_exposed,
    project_cost_per_year,
    total_cost,
    verify_solution,
    yearly_costs,
)
from model.workbook.schema import ANY_STAGE

TOLERANCE = 1e-6
BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"


def reference_yearly_costs(data: ModelData, sets: ModelSets, solution: Solution) -> dict[int, dict[str, float]]:
    """Each cost of each year (USD in that year, undiscounted), recomputed from the input data.

    An expansion added in year y' costs its year-y' expansion_cost in every
    year from y' on; a project built in y' costs its annuity and fixed cost in
    each year y' … y' + life − 1; ``surplus_credit`` is a positive credit.
    """
    names = component_names(data)
    costs = {year: dict.fromkeys(names, 0.0) for year in sets.years}
    views = {year: data.at(year) for year in sets.years}
    unit_cost = {
        (fp.facility, fp.process, year): fp.unit_cost for year, view in views.items() for fp in view.facility_processes
    }
    for facility, process, year, value in solution.activity[["facility", "process", "year", "value"]].itertuples(
        index=False
    ):
        costs[year][f"cost_operating_{data.processes[process].stage}"] += unit_cost[facility, process, year] * value
    for origin, destination, product, year, value in solution.shipment[
        ["origin", "destination", "product", "year", "value"]
    ].itertuples(index=False):
        trade = sets.trades[origin, destination, product, year]
        costs[year]["cost_transport"] += trade.transport_cost * value
        costs[year]["cost_tariff"] += trade.tariff_cost * value
    for facility, added_in, value in solution.expansion[["facility", "year", "value"]].itertuples(index=False):
        price = views[added_in].facilities[facility].expansion_cost
        for year in sets.years:
            if year >= added_in:
                costs[year]["cost_expansion"] += price * value
    annual = project_cost_per_year(data)
    life = {p.name: p.life for p in data.projects}
    for project, online, value in solution.build[["project", "year", "value"]].itertuples(index=False):
        for year in sets.years:
            if online <= year <= online + life[project] - 1:
                costs[year]["cost_projects"] += annual[project] * value
    holding = {(s.country, s.product): s.holding_cost for s in data.stockpiles}
    for country, product, year, value in solution.stock[["country", "product", "year", "value"]].itertuples(
        index=False
    ):
        costs[year]["cost_holding"] += holding[country, product] * value
    for index, year, value in solution.unmet[["demand", "year", "value"]].itertuples(index=False):
        costs[year]["cost_unmet_penalty"] += views[year].demands[index].unmet_penalty * value
    penalty = float(data.settings["unmet_demand_penalty"])
    for year, value in solution.cover_shortfall[["year", "value"]].itertuples(index=False):
        costs[year]["cost_shortfall_penalty"] += penalty * value
    for year, value in solution.min_flow_shortfall[["year", "value"]].itertuples(index=False):
        costs[year]["cost_shortfall_penalty"] += penalty * value
    for product, year, value in solution.surplus[["product", "year", "value"]].itertuples(index=False):
        costs[year]["surplus_credit"] += views[year].products[product].surplus_price * value
    return costs


def reference_cost_components(data: ModelData, sets: ModelSets, solution: Solution) -> dict[str, float]:
    """Each cost of the objective: Σ_y δ_y × cost_y (USD, present value; USD/yr with one year)."""
    components = dict.fromkeys(component_names(data), 0.0)
    for year, costs in reference_yearly_costs(data, sets, solution).items():
        weight = data.discount_factor(year)
        for name, value in costs.items():
            components[name] += weight * value
    return components


def reference_delivered_and_exposed(
    data: ModelData, sets: ModelSets, solution: Solution
) -> tuple[dict[tuple[int, int], float], dict[tuple[int, str, int], float]]:
    """Per demand row and year: t/yr delivered, and t/yr exposed at each stage and at ``any``.

    delivered[j, y] = Σ_t delivery[j, t, y];
    exposed[j, s, y] = Σ_{t ∋ s} delivery[j, t, y];  exposed[j, any, y] = Σ_{t ≠ ∅} delivery[j, t, y].
    """
    stages = [ANY_STAGE, *data.stages]
    delivered = {(j, y): 0.0 for y in sets.years for j in range(len(data.demands))}
    exposure = {(j, s, y): 0.0 for j, y in delivered for s in stages}
    for index, tag, year, value in solution.delivery[["demand", "tag", "year", "value"]].itertuples(index=False):
        delivered[index, year] += value
        for stage in stages:
            if exposed(sets.tags[tag], stage):
                exposure[index, stage, year] += value
    return delivered, exposure


def reference_verify_solution(data: ModelData, sets: ModelSets, solution: Solution, objective: float) -> Verification:
    """Every invariant of SPEC.md's model, recomputed from the tables and the input data.

    Balances (with stocks), capacities (with expansions and projects online),
    expansion limits, no re-export, quotas, demand, caps, builds within their
    windows and at most once, budgets, covers, stock limits, non-negativity,
    and the cost identity Σ_y δ_y · cost_y = objective.
    """
    result = Verification()
    views = {year: data.at(year) for year in sets.years}
    inflow: dict[tuple, float] = defaultdict(float)
    outflow: dict[tuple, float] = defaultdict(float)
    produced: dict[tuple, float] = defaultdict(float)
    load: dict[tuple[str, int], float] = defaultdict(float)

    for frame in (
        solution.activity,
        solution.shipment,
        solution.relabel,
        solution.delivery,
        solution.unmet,
        solution.surplus,
        solution.expansion,
        solution.build,
        solution.stock,
        solution.cover_shortfall,
        solution.min_flow_shortfall,
    ):
        if len(frame):
            lowest = float(frame["raw_value"].min())
            result.check("a variable is negative", max(0.0, -lowest), 1.0)

    for facility, process_name, tag, year, value in solution.activity[
        ["facility", "process", "tag", "year", "value"]
    ].itertuples(index=False):
        process = data.processes[process_name]
        fac = views[year].facilities.get(facility)
        if fac is None:
            result.check(f"activity of {facility}, which does not exist{_in_year(sets, year)}", value, 1.0)
            continue
        load[facility, year] += value
        for product, coef in process.inputs.items():
            outflow[fac.country, product, tag, year] += coef * value
        out = sets.output_tag(tag, process.stage, fac.restricted)
        for product, coef in process.outputs.items():
            inflow[fac.country, product, out, year] += coef * value
            produced[fac.country, product, out, year] += coef * value
    exported: dict[tuple, float] = defaultdict(float)
    shipped: dict[tuple, float] = defaultdict(float)
    for origin, destination, product, tag, year, value in solution.shipment[
        ["origin", "destination", "product", "tag", "year", "value"]
    ].itertuples(index=False):
        if (origin, destination, product, year) not in sets.trades:
            result.check(f"shipment {origin} → {destination} of {product} on a trade that is not allowed", value, 1.0)
        outflow[origin, product, tag, year] += value
        inflow[destination, product, tag, year] += value
        exported[origin, product, tag, year] += value
        shipped[origin, destination, product, year] += value
    for country, product, source, target, year, value in solution.relabel[
        ["country", "product", "from_tag", "to_tag", "year", "value"]
    ].itertuples(index=False):
        if not sets.tags[source] < sets.tags[target]:
            result.check(f"relabelling {source} → {target} of {product} in {country} lowers exposure", value, 1.0)
        outflow[country, product, source, year] += value
        inflow[country, product, target, year] += value
    for index, tag, year, value in solution.delivery[["demand", "tag", "year", "value"]].itertuples(index=False):
        demand = data.demands[index]
        outflow[demand.country, demand.product, tag, year] += value
    delivered, exposure = reference_delivered_and_exposed(data, sets, solution)
    for country, product, tag, year, value in solution.surplus[
        ["country", "product", "tag", "year", "value"]
    ].itertuples(index=False):
        outflow[country, product, tag, year] += value
    last = sets.years[-1]
    held: dict[tuple[str, str, int], float] = defaultdict(float)
    for country, product, tag, year, value in solution.stock[["country", "product", "tag", "year", "value"]].itertuples(
        index=False
    ):
        outflow[country, product, tag, year] += value  # held at the end of the year
        if year < last:
            inflow[country, product, tag, year + 1] += value  # available the next year
        held[country, product, year] += value
    for stockpile in data.stockpiles:
        if stockpile.initial > 0:
            tag = sets.label(stockpile.initial_tag)
            inflow[stockpile.country, stockpile.product, tag, sets.years[0]] += stockpile.initial

    for node in set(inflow) | set(outflow):
        scale = inflow[node] + outflow[node]
        country, product, tag, year = node
        result.check(
            f"balance of {product} ({tag}) in {country}{_in_year(sets, year)}", abs(inflow[node] - outflow[node]), scale
        )

    expansion: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for facility, year, value in solution.expansion[["facility", "year", "value"]].itertuples(index=False):
        expansion[facility].append((year, value))
        limit = views[year].facilities[facility].expansion_max
        result.check(f"expansion of {facility}{_in_year(sets, year)}", max(0.0, value - limit), limit)
    projects = {p.name: p for p in data.projects}
    online: dict[tuple[str, int], float] = defaultdict(float)  # facility, year -> capacity from projects
    built: dict[str, float] = defaultdict(float)
    committed: dict[tuple[str, int], float] = defaultdict(float)
    for name, start, value in solution.build[["project", "year", "value"]].itertuples(index=False):
        project = projects[name]
        if start not in project.online_years:
            result.check(f"project {name} built in {start}, outside the years it may come online", value, 1.0)
        built[name] += value
        if project.all_or_nothing:
            result.check(f"all-or-nothing project {name} built in part", min(value, abs(1.0 - value)), 1.0)
        for year in sets.years:
            if start <= year <= start + project.life - 1:
                online[project.facility, year] += project.capacity * value
        if project.funder is not None:
            committed[project.funder, max(sets.years[0], start - project.lead_time)] += project.capex * value
    for name, share in built.items():
        result.check(f"project {name} built more than once", max(0.0, share - 1.0), 1.0)
    for (funder, year), amount in committed.items():
        budget = data.budgets[funder][year]
        result.check(f"budget of {funder} in {year}", max(0.0, amount - budget), max(budget, amount))
    for year, view in views.items():
        for name, fac in view.facilities.items():
            added = sum(value for start, value in expansion.get(name, ()) if start <= year)
            where = f"{name}{_in_year(sets, year)}"
            result.check(f"expansions of {where}", max(0.0, added - fac.expansion_max), fac.expansion_max)
            limit = fac.capacity + added + online[name, year]
            result.check(f"capacity of {where}", max(0.0, load[name, year] - limit), limit)

    for (origin, product, tag, year), value in exported.items():
        result.check(
            f"re-export of {product} ({tag}) from {origin}{_in_year(sets, year)}",
            max(0.0, value - produced[origin, product, tag, year]),
            value,
        )
    for key, value in shipped.items():
        trade = sets.trades.get(key)
        if trade is not None and trade.max_flow is not None:
            result.check(
                f"quota {trade.origin} → {trade.destination} of {trade.product}{_in_year(sets, key[3])}",
                max(0.0, value - trade.max_flow),
                trade.max_flow,
            )

    unmet = {
        (index, year): value
        for index, year, value in solution.unmet[["demand", "year", "value"]].itertuples(index=False)
    }
    rows = {(d.country, d.product): i for i, d in enumerate(data.demands)}
    for year, view in views.items():
        for index, demand in view.demands.items():
            total = delivered[index, year] + unmet.get((index, year), 0.0)
            result.check(
                f"demand of {demand.country} for {demand.product}{_in_year(sets, year)}",
                abs(total - demand.quantity),
                demand.quantity,
            )
        for cap in view.exposure_caps:
            index = rows[cap.country, cap.product]
            quantity = view.demands[index].quantity
            result.check(
                f"exposure cap of {cap.country} {cap.product} at {cap.stage}{_in_year(sets, year)}",
                max(0.0, exposure[index, cap.stage, year] - cap.max_share * quantity),
                quantity,
            )

    shortfall = {
        (country, product, year): value
        for country, product, year, value in solution.cover_shortfall[
            ["country", "product", "year", "value"]
        ].itertuples(index=False)
    }
    for stockpile in data.stockpiles:
        for year, view in views.items():
            stock = held[stockpile.country, stockpile.product, year]
            if stockpile.max is not None:
                result.check(
                    f"stock of {stockpile.product} in {stockpile.country}{_in_year(sets, year)} above its max",
                    max(0.0, stock - stockpile.max),
                    stockpile.max,
                )
            if stockpile.min_days > 0 and year >= stockpile.from_year and year not in data.stock_release_years:
                demand = next(
                    (d.quantity for d in view.demands.values() if (d.country, d.product) == stockpile.key), 0.0
                )
                required = stockpile.min_days / 365.0 * demand
                covered = stock + shortfall.get((stockpile.country, stockpile.product, year), 0.0)
                result.check(
                    f"cover of {stockpile.product} in {stockpile.country}{_in_year(sets, year)}",
                    max(0.0, required - covered),
                    required,
                )

    check_min_flows(data, sets, solution, shipped, result)

    components = reference_cost_components(data, sets, solution)
    recomputed = total_cost(components)
    scale = sum(abs(v) for v in components.values())
    if abs(recomputed - objective) > TOLERANCE * max(1.0, scale, abs(objective)):
        result.failures.append(
            f"cost components add up to {recomputed:,.2f} USD but the solver's objective is {objective:,.2f} USD"
        )
    return result


# ---------------------------------------------------------------------------------------------------------------
# The comparisons.


@pytest.fixture(scope="module")
def solved():
    """(data, sets, solution, objective) of the base case and of the batch hand case (a cap, a tariff)."""
    from tests.test_batch import Change, base_sheets, read_workbook, write_case
    from tests.test_scenarios import SCENARIO_HEADERS

    cases = []
    outcome = solve_data(load_data(BASE_CASE))
    cases.append(("base case", outcome.data, outcome.sets, outcome.solution, outcome.objective))
    sheets = base_sheets()
    sheets["lanes"][1][4] = 0.1
    sheets["exposure_caps"] = [["US", "*", "any", 0.6]]
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        raw = read_workbook(write_case(Path(folder) / "case.xlsx", sheets, SCENARIO_HEADERS))
    for name, changes in [("hand case", ()), ("hand case, short", (Change("facilities", "capacity", "scale", 0.2),))]:
        outcome = solve_data(variant_data(raw, Variant(name, changes=changes)))
        cases.append((name, outcome.data, outcome.sets, outcome.solution, outcome.objective))
    return cases


def corrupted(solution: Solution, draw: random.Random) -> tuple[Solution, str]:
    """A copy of ``solution`` with one family's values changed at random (moved, dropped, negative, shifted)."""
    families = [name for name in FLOW_FAMILIES if len(getattr(solution, name))]
    name = draw.choice(families)
    frame = getattr(solution, name).copy()
    row = draw.randrange(len(frame))
    how = draw.choice(["scale", "drop", "negative", "shift", "tiny"])
    if how == "drop":
        frame = frame.drop(frame.index[row])
    else:
        value = frame["value"].to_numpy().copy()
        if how == "scale":
            value[row] = value[row] * draw.choice([0.5, 1.5, 3.0]) + draw.choice([0.0, 1.0])
        elif how == "negative":
            value[row] = -draw.choice([1e-3, 1.0, 10.0])
        elif how == "shift":
            value = value + draw.choice([1e-9, 0.01, 5.0])
        else:
            value[row] += 1e-7 * max(1.0, abs(value[row]))  # near the tolerance
        frame["raw_value"] = value
        frame["value"] = np.maximum(value, 0.0) if how != "negative" else value
    return dataclasses.replace(solution, **{name: frame}), f"{how} {name} row {row}"


def assert_same_verification(data, sets, solution, objective, what: str) -> None:
    ours, theirs = (
        verify_solution(data, sets, solution, objective),
        reference_verify_solution(data, sets, solution, objective),
    )
    assert ours.largest_violation == pytest.approx(theirs.largest_violation, rel=1e-9, abs=1e-15), what
    if len(theirs.failures) < 20:
        assert sorted(ours.failures) == sorted(theirs.failures), what
    else:  # which 20 are kept depends on the order balances are checked in (a set's order before)
        assert len(ours.failures) == len(theirs.failures), what
    assert yearly_costs(data, sets, solution) == reference_yearly_costs(data, sets, solution), what
    assert delivered_and_exposed(data, sets, solution) == reference_delivered_and_exposed(data, sets, solution), what
    assert cost_components(data, sets, solution) == reference_cost_components(data, sets, solution), what


def test_a_solved_case_passes_both_and_the_costs_are_the_same_floats(solved):
    for name, data, sets, solution, objective in solved:
        assert verify_solution(data, sets, solution, objective).ok, name
        assert_same_verification(data, sets, solution, objective, name)


def test_corrupted_solutions_fail_the_same_checks_with_the_same_messages(solved):
    draw = random.Random(7)
    failing = 0
    for name, data, sets, solution, objective in solved:
        for _ in range(12 if name == "base case" else 80):
            broken, how = corrupted(solution, draw)
            assert_same_verification(data, sets, broken, objective, f"{name}: {how}")
            failing += not verify_solution(data, sets, broken, objective).ok
    assert failing > 50  # the corruptions do break the checks, so the messages were compared


def test_a_wrong_objective_and_several_failures_at_once(solved):
    for name, data, sets, solution, objective in solved:
        assert_same_verification(data, sets, solution, objective * 1.01 + 1.0, name)
        frames = {
            family: getattr(solution, family).assign(value=lambda f: f["value"] * 1.3 + 0.5)
            for family in ("activity", "delivery", "shipment")
        }
        broken = dataclasses.replace(solution, **frames)
        assert_same_verification(data, sets, broken, objective, name + ", three families moved")
        assert not verify_solution(data, sets, broken, objective).ok


def test_activity_at_a_facility_that_does_not_exist_in_the_year(solved):
    for _name, data, sets, solution, objective in solved:
        activity = solution.activity.copy()
        activity.loc[activity.index[0], "facility"] = "nowhere"
        broken = dataclasses.replace(solution, activity=activity)
        with pytest.raises(KeyError):  # its operating cost cannot be looked up, in both
            reference_verify_solution(data, sets, broken, objective)
        with pytest.raises(KeyError):
            verify_solution(data, sets, broken, objective)
