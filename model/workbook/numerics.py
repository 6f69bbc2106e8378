"""Warn, before solving, about numbers that are probably typing mistakes.

Linear programs lose accuracy when coefficients span many orders of
magnitude, and a tonne typed as kilograms (a factor of 1000) or a cost typed
with three extra zeros silently changes the answer.  These checks never stop
a run; they name the sheet and rows so the analyst can look.
"""

from __future__ import annotations

from model.data import ModelData
from model.errors import row_list

LARGE_COST = 1e9  # USD per tonne or per unit: above any rare-earth price
LARGE_QUANTITY = 1e9  # t/yr: above world production of anything here
RECIPE_RANGE = 1e5  # largest / smallest coefficient of one recipe
LARGE_PENALTY = 1e12


def numeric_warnings(data: ModelData) -> list[str]:
    """Plain-words warnings naming sheet and rows; empty when all looks sane."""
    notes: list[str] = []
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
            "numerically negligible; 1e6 is usually enough"
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
