"""Material balance of each country, product and tag."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.keys import NodeKey
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed


def define_balance_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """balance_constraint[k, p, t, y]  (t/yr)  ↔ λ_kpt, the value of one tonne of p with tag t in k:

        Σ_{f in k, q} a_qp⁺ · v_activity[f, q, t⁻]        (production; t = output tag of t⁻)
      + Σ_o v_shipment[o, k, p, t]                       (imports)
      + Σ_{s ⊂ t} v_relabel[k, p, s, t]                  (relabelled in)
      = Σ_{f in k, q} a_qp⁻ · v_activity[f, q, t]         (process inputs)
      + Σ_d v_shipment[k, d, p, t]                       (exports)
      + Σ_{u ⊃ t} v_relabel[k, p, t, u]                  (relabelled out)
      + Σ_{demand rows j at (k, p)} v_delivery[j, t]
      + v_surplus[k, p, t]
      + v_stock[k, p, t, y] − v_stock[k, p, t, y − 1]       (stock bought, or released when negative)

    written as (inflows − outflows) = 0, or = −initial_kp on the first year's
    node of a stockpile's initial tag (the initial stock is v_stock[·, y₀ − 1]).
    """
    terms = new_terms()
    facilities = {year: data.at(year).facilities for year in sets.years}
    for key, var in keyed(model, sets, "v_activity"):
        process = data.processes[key.process]
        facility = facilities[key.year][key.facility]  # that year's row: its restricted flag
        country = facility.country
        for product, coef in process.inputs.items():
            terms[(country, product, key.tag, key.year)].append((-coef, var))
        out = sets.output_tag(key.tag, process.stage, facility.restricted)
        for product, coef in process.outputs.items():
            terms[(country, product, out, key.year)].append((coef, var))
    for key, var in keyed(model, sets, "v_shipment"):
        terms[(key.origin, key.product, key.tag, key.year)].append((-1.0, var))
        terms[(key.destination, key.product, key.tag, key.year)].append((1.0, var))
    for key, var in keyed(model, sets, "v_relabel"):
        terms[(key.country, key.product, key.from_tag, key.year)].append((-1.0, var))
        terms[(key.country, key.product, key.to_tag, key.year)].append((1.0, var))
    for key, var in keyed(model, sets, "v_delivery"):
        demand = data.demands[key.demand]
        terms[(demand.country, demand.product, key.tag, key.year)].append((-1.0, var))
    for key, var in keyed(model, sets, "v_surplus"):
        terms[key].append((-1.0, var))
    for key, var in keyed(model, sets, "v_stock"):
        terms[(key.country, key.product, key.tag, key.year)].append((-1.0, var))
        if key.year + 1 <= sets.years[-1]:
            terms[(key.country, key.product, key.tag, key.year + 1)].append((1.0, var))
    # The initial stock enters the first year's balance as a constant: Σ terms = −initial.
    first = sets.years[0]
    initial: dict[NodeKey, float] = {}
    for stockpile in data.stockpiles:
        if stockpile.initial > 0:
            node = NodeKey(stockpile.country, stockpile.product, sets.label(stockpile.initial_tag), first)
            initial[node] = -stockpile.initial
    rhs = {key: initial.get(key, 0.0) for key in sets.balance} if initial else 0.0
    add_rows(model, "balance_constraint", sets.balance, terms, rhs, rhs, "Material balance (t/yr)")
