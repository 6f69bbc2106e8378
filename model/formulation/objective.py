"""The objective: total discounted cost of supplying the demand over the model years."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData, Project
from model.formulation.keys import TradeKey
from model.formulation.sets import ModelSets
from model.formulation.terms import linear
from model.formulation.variables import keyed


def capital_recovery_factor(rate: float, life: int) -> float:
    """CRF = r(1+r)^n / ((1+r)^n − 1); 1/n when r = 0: the annuity per USD of capex over n years."""
    if rate == 0:
        return 1.0 / life
    growth = (1.0 + rate) ** life
    return rate * growth / (growth - 1.0)


def project_annual_cost(data: ModelData, project: Project) -> float:
    """USD/yr while online: capex × CRF(capex_rate, life) + fixed_cost (capex_rate blank = discount_rate)."""
    rate = data.settings.get("capex_rate")
    if rate is None:
        rate = data.settings.get("discount_rate") or 0.0
    return project.capex * capital_recovery_factor(float(rate), project.life) + project.fixed_cost


def cost_coefficients(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> list[tuple[float, object]]:
    """(USD per unit, variable) for every variable with a cost, discounted: δ_y = (1 + r)^−(y − y₀).

    min  Σ δ_y · unit_cost_fqy · v_activity[f, q, t, y]
       + Σ δ_y · (transport_cost_odpy + tariff_odpy · value_py) · v_shipment[o, d, p, t, y]
       + Σ (Σ_{y ≥ y'} δ_y) · expansion_cost_fy' · v_expansion[f, y']      (paid every year from y' on)
       + Σ δ_y · unmet_penalty_jy · v_unmet_demand[j, y]
       − Σ δ_y · surplus_price_py · v_surplus[k, p, t, y]
       + Σ (Σ_{y = y'}^{min(y' + life − 1, last)} δ_y) · annual_cost_p · v_build[p, y']
       + Σ δ_y · holding_cost_kp · v_stock[k, p, t, y]
       + Σ δ_y · unmet_demand_penalty · v_cover_shortfall[k, p, y]
       + Σ δ_y · unmet_demand_penalty · v_min_flow_shortfall[o, d, p, y]    (USD, present value)

    With one year, δ = 1 and this is Part 1's annual cost.
    """
    years = sets.years
    views = {year: data.at(year) for year in years}
    discount = {year: data.discount_factor(year) for year in years}
    unit_cost = {
        (fp.facility, fp.process, year): fp.unit_cost for year, view in views.items() for fp in view.facility_processes
    }
    terms: list[tuple[float, object]] = []
    for key, var in keyed(model, sets, "v_activity"):
        cost = unit_cost[key.facility, key.process, key.year] * discount[key.year]
        if cost:
            terms.append((cost, var))
    for key, var in keyed(model, sets, "v_shipment"):
        trade = sets.trades[TradeKey(key.origin, key.destination, key.product, key.year)]
        cost = (trade.transport_cost + trade.tariff_cost) * discount[key.year]
        if cost:
            terms.append((cost, var))
    for key, var in keyed(model, sets, "v_expansion"):
        cost = views[key.year].facilities[key.facility].expansion_cost
        if cost:
            terms.append((cost * sum(discount[y] for y in years if y >= key.year), var))
    for key, var in keyed(model, sets, "v_unmet_demand"):
        terms.append((views[key.year].demands[key.demand].unmet_penalty * discount[key.year], var))
    for key, var in keyed(model, sets, "v_surplus"):
        price = views[key.year].products[key.product].surplus_price
        if price:
            terms.append((-price * discount[key.year], var))
    projects = {project.name: project for project in data.projects}
    for key, var in keyed(model, sets, "v_build"):
        project = projects[key.project]
        online = [y for y in years if key.year <= y <= key.year + project.life - 1]
        cost = project_annual_cost(data, project) * sum(discount[y] for y in online)
        if cost:
            terms.append((cost, var))
    holding = {(s.country, s.product): s.holding_cost for s in data.stockpiles}
    for key, var in keyed(model, sets, "v_stock"):
        cost = holding[key.country, key.product]
        if cost:
            terms.append((cost * discount[key.year], var))
    penalty = float(data.settings["unmet_demand_penalty"])
    for key, var in keyed(model, sets, "v_cover_shortfall"):
        terms.append((penalty * discount[key.year], var))
    for key, var in keyed(model, sets, "v_min_flow_shortfall"):
        terms.append((penalty * discount[key.year], var))
    return terms


def define_objective(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """total_cost (USD, present value of the model years), minimised; see :func:`cost_coefficients`."""
    model.total_cost = pyo.Objective(expr=linear(cost_coefficients(model, data, sets)), sense=pyo.minimize)
