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


def cost_components(data: ModelData, sets: ModelSets, solution: Solution) -> dict[str, float]:
    """Each cost of the objective (USD/yr) recomputed from the input data."""
    unit_cost = {(fp.facility, fp.process): fp.unit_cost for fp in data.facility_processes}
    components: dict[str, float] = {f"cost_operating_{stage}": 0.0 for stage in data.stages}
    for facility, process, value in solution.activity[["facility", "process", "value"]].itertuples(index=False):
        components[f"cost_operating_{data.processes[process].stage}"] += unit_cost[facility, process] * value
    transport = tariff = 0.0
    for origin, destination, product, year, value in solution.shipment[
        ["origin", "destination", "product", "year", "value"]
    ].itertuples(index=False):
        trade = sets.trades[origin, destination, product, year]
        transport += trade.transport_cost * value
        tariff += trade.tariff_cost * value
    components["cost_transport"] = transport
    components["cost_tariff"] = tariff
    components["cost_expansion"] = sum(
        data.facilities[f].expansion_cost * v
        for f, v in solution.expansion[["facility", "value"]].itertuples(index=False)
    )
    components["cost_unmet_penalty"] = sum(
        data.demands[j].unmet_penalty * v for j, v in solution.unmet[["demand", "value"]].itertuples(index=False)
    )
    components["surplus_credit"] = sum(
        data.products[p].surplus_price * v for p, v in solution.surplus[["product", "value"]].itertuples(index=False)
    )
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
    """Every invariant of SPEC.md's model, recomputed from the tables."""
    result = Verification()
    inflow: dict[tuple, float] = defaultdict(float)
    outflow: dict[tuple, float] = defaultdict(float)
    produced: dict[tuple, float] = defaultdict(float)
    load: dict[str, float] = defaultdict(float)

    for frame in (
        solution.activity,
        solution.shipment,
        solution.relabel,
        solution.delivery,
        solution.unmet,
        solution.surplus,
        solution.expansion,
    ):
        if len(frame):
            lowest = float(frame["raw_value"].min())
            result.check("a variable is negative", max(0.0, -lowest), 1.0)

    for facility, process_name, tag, year, value in solution.activity[
        ["facility", "process", "tag", "year", "value"]
    ].itertuples(index=False):
        process = data.processes[process_name]
        fac = data.facilities[facility]
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

    for node in set(inflow) | set(outflow):
        scale = inflow[node] + outflow[node]
        country, product, tag, year = node
        result.check(
            f"balance of {product} ({tag}) in {country}{_in_year(sets, year)}", abs(inflow[node] - outflow[node]), scale
        )

    expansion = dict(
        ((facility, year), value)
        for facility, year, value in solution.expansion[["facility", "year", "value"]].itertuples(index=False)
    )
    for year in sets.years:
        for name, fac in data.facilities.items():
            added = expansion.get((name, year), 0.0)
            where = f"{name}{_in_year(sets, year)}"
            result.check(f"expansion of {where}", max(0.0, added - fac.expansion_max), fac.expansion_max)
            limit = fac.capacity + added
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

    unmet = dict(
        ((index, year), value)
        for index, year, value in solution.unmet[["demand", "year", "value"]].itertuples(index=False)
    )
    rows = {(d.country, d.product): i for i, d in enumerate(data.demands)}
    for year in sets.years:
        for index, demand in enumerate(data.demands):
            total = delivered[index, year] + unmet.get((index, year), 0.0)
            result.check(
                f"demand of {demand.country} for {demand.product}{_in_year(sets, year)}",
                abs(total - demand.quantity),
                demand.quantity,
            )
        for cap in data.exposure_caps:
            index = rows[cap.country, cap.product]
            limit = cap.max_share * data.demands[index].quantity
            result.check(
                f"exposure cap of {cap.country} {cap.product} at {cap.stage}{_in_year(sets, year)}",
                max(0.0, exposure[index, cap.stage, year] - limit),
                data.demands[index].quantity,
            )

    components = cost_components(data, sets, solution)
    recomputed = total_cost(components)
    scale = sum(abs(v) for v in components.values())
    if abs(recomputed - objective) > TOLERANCE * max(1.0, scale, abs(objective)):
        result.failures.append(
            f"cost components add up to {recomputed:,.2f} USD/yr but the solver's objective is {objective:,.2f} USD/yr"
        )
    return result
