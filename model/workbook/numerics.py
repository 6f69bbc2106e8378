"""Warn, before solving, about numbers that are probably typing mistakes.

Linear programs lose accuracy when coefficients span many orders of
magnitude, and a tonne typed as kilograms (a factor of 1000) or a cost typed
with three extra zeros silently changes the answer.  These checks never stop
a run; they name the sheet and rows so the analyst can look.
"""

from __future__ import annotations

from model.data import ModelData
from model.errors import row_list

# Warnings well below the hard bounds of model/workbook/schema.py (which refuse the cell).
LARGE_COST = 1e7  # USD per tonne or per unit: ten times the dearest rare-earth oxide (Tb, ~1e6 USD/t)
LARGE_QUANTITY = 1e7  # t/yr: 25 times world rare-earth mine production (~390 kt REO in 2024)
RECIPE_RANGE = 1e5  # largest / smallest coefficient of one recipe
LARGE_PENALTY = 1e9  # USD/t: far above any supply cost; the other costs become numerically negligible


def percent_warnings(data: ModelData) -> list[str]:
    """Fractions typed as percentages: a tariff of 32.1 is 3,210 % (growth: see validate)."""
    notes = []
    rules = {rule.row: rule for year in data.years for rule in data.at(year).lane_rules}
    high = sorted(row for row, rule in rules.items() if (rule.tariff or 0) > 1)
    if high:
        example = rules[high[0]].tariff
        notes.append(
            f"lanes rows {row_list(high)}: tariff above 1 (e.g. {example:g} = {example:.0%} of the product's value) "
            f"— tariffs are fractions: 0.25 for 25 %; did you mean {example / 100:g}?"
        )
    return notes


def mass_creating_cycles(data: ModelData) -> list[str]:
    """Recipes that, chained in a loop, give back more of a product than went in.

    For each process and each (input p, output q) pair, one tonne of p can
    become at most a⁺_q / a⁻_p tonnes of q.  A loop of such steps whose gains
    multiply to more than 1 (a positive cycle of log-gains, found by
    Bellman-Ford from every product at once) makes material from nothing.
    """
    import math

    edges = [
        (source, target, math.log(out / need), process.name)
        for process in data.processes.values()
        for source, need in process.inputs.items()
        for target, out in process.outputs.items()
    ]
    if not edges:
        return []
    products = {p for edge in edges for p in edge[:2]}
    best = dict.fromkeys(products, 0.0)
    via: dict[str, tuple[str, str]] = {}
    changed = None
    for _ in range(len(products)):
        changed = None
        for source, target, gain, process in edges:
            if best[source] + gain > best[target] + 1e-12:
                best[target] = best[source] + gain
                via[target] = (source, process)
                changed = target
        if changed is None:
            return []
    # Walk back from a product still improving to find the loop and its processes.
    node = changed
    for _ in range(len(products)):
        node = via[node][0]
    loop, seen, current = [], set(), node
    while current not in seen:
        seen.add(current)
        source, process = via[current]
        loop.append(process)
        current = source
    names = ", ".join(f"'{name}'" for name in dict.fromkeys(reversed(loop)))
    return [
        f"processes: the recipes {names} form a loop that gives back more material than it takes in, so the model "
        "can make product from nothing — check the coefficients (outputs positive, inputs negative, per unit of "
        "activity)"
    ]


def numeric_warnings(data: ModelData) -> list[str]:
    """Plain-words warnings naming sheet and rows; empty when all looks sane."""
    notes: list[str] = percent_warnings(data) + mass_creating_cycles(data)
    if not data.demands:
        notes.append("demand: the sheet has no rows, so there is nothing to supply and the plan costs nothing")
    costly = [fp.row for fp in data.facility_processes if fp.unit_cost > LARGE_COST]
    if costly:
        notes.append(
            f"facility_processes rows {row_list(costly)}: unit_cost above {LARGE_COST:,.0f} USD per unit — "
            "check the unit (USD per tonne of activity)"
        )
    expensive = [f.row for f in data.facilities.values() if f.expansion_cost > LARGE_COST]
    if expensive:
        notes.append(
            f"facilities rows {row_list(expensive)}: expansion_cost above {LARGE_COST:,.0f} USD per unit of capacity"
        )
    huge = [f.row for f in data.facilities.values() if max(f.capacity, f.expansion_max) > LARGE_QUANTITY]
    if huge:
        notes.append(
            f"facilities rows {row_list(huge)}: capacity above {LARGE_QUANTITY:,.0f} a year — "
            "kilograms instead of tonnes?"
        )
    demand = [d.row for d in data.demands if d.quantity > LARGE_QUANTITY]
    if demand:
        notes.append(
            f"demand rows {row_list(demand)}: quantity above {LARGE_QUANTITY:,.0f} t/yr — kilograms instead of tonnes?"
        )
    penalty = [d.row for d in data.demands if d.unmet_penalty > LARGE_PENALTY]
    if penalty:
        notes.append(
            f"demand rows {row_list(penalty)}: unmet_penalty above {LARGE_PENALTY:,.0f} USD/t makes the other costs "
            "numerically negligible; 1e6 is usually enough (at most 1e10 is accepted)"
        )
    lanes = [r.row for r in data.lane_rules if (r.transport_cost or 0) > LARGE_COST]
    if lanes:
        notes.append(f"lanes rows {row_list(lanes)}: transport_cost above {LARGE_COST:,.0f} USD/t")
    for process in data.processes.values():
        coefficients = [*process.inputs.values(), *process.outputs.values()]
        if max(coefficients) / min(coefficients) > RECIPE_RANGE:
            notes.append(
                f"processes: recipe '{process.name}' has coefficients from {min(coefficients):g} to "
                f"{max(coefficients):g} (ratio above {RECIPE_RANGE:g}) — a unit mix-up (kg and t)?"
            )
    return notes
