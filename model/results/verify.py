"""Check the extracted solution against the input data, independently of Pyomo.

Runs after every solve.  Each check recomputes a constraint of the model from
the input data and the solution tables (not from the Pyomo model) and
records its largest violation.  A violation beyond tolerance stops the run:
a wrong answer must never look like a normal result.

Tolerance: absolute 1e-6 × max(1, size of the row's terms), relative 1e-6
for the cost identity.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from model.data import ModelData
from model.formulation.constraints.exposure import exposed
from model.formulation.sets import ModelSets
from model.results.extract import Solution
from model.workbook.schema import ANY_STAGE
from model.workbook.validate import lane_table

TOLERANCE = 1e-6


@dataclass
class Verification:
    largest_violation: float = 0.0  # scaled, in units of the tolerance's scale
    failures: list[str] = field(default_factory=list)

    def check(self, what: str, violation: float, scale: float) -> None:
        relative = violation / max(1.0, scale)
        self.largest_violation = max(self.largest_violation, relative)
        if relative > TOLERANCE and len(self.failures) < 20:
            self.failures.append(f"{what}: off by {violation:.6g} (scale {scale:.6g})")

    @property
    def ok(self) -> bool:
        return not self.failures


def annuity_factor(rate: float, life: int) -> float:
    """r(1+r)^n / ((1+r)^n − 1), or 1/n at r = 0 (recomputed here, apart from the objective's code)."""
    return 1.0 / life if rate == 0 else rate / (1.0 - (1.0 + rate) ** -life)


def project_cost_per_year(data: ModelData) -> dict[str, float]:
    """USD/yr of each project while online, whole: capex × annuity + fixed_cost."""
    rate = data.settings.get("capex_rate")
    rate = float(data.settings.get("discount_rate") or 0.0) if rate is None else float(rate)
    return {p.name: p.capex * annuity_factor(rate, p.life) + p.fixed_cost for p in data.projects}


def component_names(data: ModelData) -> list[str]:
    """The cost components of the summary, in order (``surplus_credit`` last, subtracted)."""
    names = [f"cost_operating_{stage}" for stage in data.stages]
    names += ["cost_transport", "cost_tariff", "cost_expansion"]
    if data.projects or data.has_years:
        names.append("cost_projects")
    if data.stockpiles or data.has_years:
        names.append("cost_holding")
    names.append("cost_unmet_penalty")
    if data.stockpiles or data.has_years or data.has_min_flow():
        names.append("cost_shortfall_penalty")
    names.append("surplus_credit")
    return names


def yearly_costs(data: ModelData, sets: ModelSets, solution: Solution) -> dict[int, dict[str, float]]:
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


def cost_components(data: ModelData, sets: ModelSets, solution: Solution) -> dict[str, float]:
    """Each cost of the objective: Σ_y δ_y × cost_y (USD, present value; USD/yr with one year)."""
    components = dict.fromkeys(component_names(data), 0.0)
    for year, costs in yearly_costs(data, sets, solution).items():
        weight = data.discount_factor(year)
        for name, value in costs.items():
            components[name] += weight * value
    return components


def total_cost(components: dict[str, float]) -> float:
    """objective = Σ costs − surplus_credit."""
    return sum(v for k, v in components.items() if k != "surplus_credit") - components["surplus_credit"]


def delivered_and_exposed(
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


def _in_year(sets: ModelSets, year: int) -> str:
    """' in 2027' where the case has several years, else nothing."""
    return f" in {year}" if len(sets.years) > 1 else ""


def verify_solution(data: ModelData, sets: ModelSets, solution: Solution, objective: float) -> Verification:
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
    delivered, exposure = delivered_and_exposed(data, sets, solution)
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

    components = cost_components(data, sets, solution)
    recomputed = total_cost(components)
    scale = sum(abs(v) for v in components.values())
    if abs(recomputed - objective) > TOLERANCE * max(1.0, scale, abs(objective)):
        result.failures.append(
            f"cost components add up to {recomputed:,.2f} USD but the solver's objective is {objective:,.2f} USD"
        )
    return result


def min_flow_shortfalls(solution: Solution) -> dict[tuple[str, str, str, int], float]:
    """(origin, destination, product, year) -> t/yr by which the trade falls short of its min_flow."""
    frame = solution.min_flow_shortfall
    return {
        (origin, destination, product, year): value
        for origin, destination, product, year, value in frame[
            ["origin", "destination", "product", "year", "value"]
        ].itertuples(index=False)
    }


def check_min_flows(
    data: ModelData,
    sets: ModelSets,
    solution: Solution,
    shipped: dict[tuple[str, str, str, int], float],
    result: Verification,
) -> None:
    """Contracted offtakes (SPEC Part 4), recomputed from the input lane rows, not from the index sets.

    For every trade a lane row's min_flow applies to: shipped + shortfall ≥ min_flow; a banned trade ships
    nothing, so its shortfall is the whole min_flow.  Each min_flow the sets carry must match the lanes.
    """
    shortfall = min_flow_shortfalls(solution)
    expected: dict[tuple[str, str, str, int], float] = {}
    for year in sets.years:
        rules = data.at(year).lane_rules
        if not any(rule.min_flow for rule in rules):
            continue
        table = lane_table(rules)
        for key in list(sets.min_flows) + [k for k in shortfall if k[3] == year]:
            if key[3] != year:
                continue
            resolved, _ = table.resolve(tuple(key[:3]))
            expected[tuple(key)] = float(resolved.get("min_flow", (0.0, 0))[0] or 0.0)
    for key, value in sets.min_flows.items():
        result.check(
            f"min_flow of {key[0]} → {key[1]} {key[2]}{_in_year(sets, key[3])} differs from the lanes sheet",
            abs(expected.get(tuple(key), 0.0) - value),
            value,
        )
    for key, required in expected.items():
        flow = shipped.get(key, 0.0)
        short = shortfall.get(key, 0.0)
        result.check(
            f"min_flow of {key[0]} → {key[1]} {key[2]}{_in_year(sets, key[3])}",
            max(0.0, required - flow - short),
            required,
        )


def verify_sourcing(data: ModelData, sets: ModelSets, solution: Solution, sourcing) -> Verification:
    """The sourcing sheet agrees with the exposure (model/results/sourcing.py), recomputed from the deliveries.

    For every demand row j, year y and stage s:  Σ_{rows restricted = yes} share · delivered_jy = Σ_{t ∋ s}
    delivery[j, t, y], and the shares of a stage add up to at most 1.  ``sourcing`` is the results sheet (a
    ``year`` column only where the case has years).
    """
    result = Verification()
    delivered, exposure = delivered_and_exposed(data, sets, solution)
    rows = {(d.country, d.product): index for index, d in enumerate(data.demands)}
    traced: dict[tuple[int, str, int], float] = defaultdict(float)
    shares: dict[tuple[int, str, int], float] = defaultdict(float)
    years = sourcing["year"] if "year" in sourcing.columns else [sets.years[0]] * len(sourcing)
    for country, product, year, stage, share, restricted in zip(
        sourcing["country"],
        sourcing["product"],
        years,
        sourcing["stage"],
        sourcing["share"],
        sourcing["restricted"],
        strict=True,
    ):
        index = rows[country, product]
        shares[index, stage, year] += share
        if restricted == "yes":
            traced[index, stage, year] += share * delivered[index, year]
    for (index, stage, year), total in shares.items():
        demand = data.demands[index]
        result.check(
            f"sourcing shares of {demand.country} {demand.product} at {stage}{_in_year(sets, year)} add up to "
            "more than 1",
            max(0.0, total - 1.0),
            1.0,
        )
    for (index, year), amount in delivered.items():
        demand = data.demands[index]
        for stage in data.stages:
            result.check(
                f"sourcing of {demand.country} {demand.product} at {stage}{_in_year(sets, year)} traced to restricted "
                "facilities differs from its exposure",
                abs(traced[index, stage, year] - exposure[index, stage, year]),
                amount,
            )
    return result
