"""Material balance of each country, product and tag."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed


def define_balance_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """balance_constraint[k, p, t]  (t/yr)  ↔ λ_kpt, the value of one tonne of p with tag t in k:

        Σ_{f in k, q} a_qp⁺ · v_activity[f, q, t⁻]        (production; t = output tag of t⁻)
      + Σ_o v_shipment[o, k, p, t]                       (imports)
      + Σ_{s ⊂ t} v_relabel[k, p, s, t]                  (relabelled in)
      = Σ_{f in k, q} a_qp⁻ · v_activity[f, q, t]         (process inputs)
      + Σ_d v_shipment[k, d, p, t]                       (exports)
      + Σ_{u ⊃ t} v_relabel[k, p, t, u]                  (relabelled out)
      + Σ_{demand rows j at (k, p)} v_delivery[j, t]
      + v_surplus[k, p, t]

    written as (inflows − outflows) = 0.
    """
    terms = new_terms()
    for (facility, process_name, tag), var in keyed(model, sets, "v_activity"):
        process = data.processes[process_name]
        fac = data.facilities[facility]
        country = fac.country
        for product, coef in process.inputs.items():
            terms[country, product, tag].append((-coef, var))
        out = sets.output_tag(tag, process.stage, fac.restricted)
        for product, coef in process.outputs.items():
            terms[country, product, out].append((coef, var))
    for (origin, destination, product, tag), var in keyed(model, sets, "v_shipment"):
        terms[origin, product, tag].append((-1.0, var))
        terms[destination, product, tag].append((1.0, var))
    for (country, product, source, target), var in keyed(model, sets, "v_relabel"):
        terms[country, product, source].append((-1.0, var))
        terms[country, product, target].append((1.0, var))
    for (index, tag), var in keyed(model, sets, "v_delivery"):
        demand = data.demands[index]
        terms[demand.country, demand.product, tag].append((-1.0, var))
    for key, var in keyed(model, sets, "v_surplus"):
        terms[key].append((-1.0, var))
    add_rows(model, "balance_constraint", sets.balance, terms, 0.0, 0.0, "Material balance (t/yr)")
