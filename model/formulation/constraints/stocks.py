"""Stockpiles: minimum cover in days of demand, and the largest stock."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.keys import StockpileKey
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed

DAYS_PER_YEAR = 365.0


def stock_demand(data: ModelData, year: int) -> dict[tuple[str, str], float]:
    """(country, product) -> t/yr demanded in ``year`` (the demand row's quantity; 0 without one)."""
    return {(d.country, d.product): d.quantity for d in data.at(year).demands.values()}


def define_stock_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """Two families (t); the stock's own balance is part of balance_constraint.

    cover_constraint[k, p, y]  ↔ γ_kpy ≥ 0, for years from ``from_year`` on without ``stock_release``:

        Σ_t v_stock[k, p, t, y] + v_cover_shortfall[k, p, y] ≥ min_days_kp / 365 · demand_kpy

    (the shortfall is priced at ``unmet_demand_penalty``, so the LP stays feasible).

    stock_max_constraint[k, p, y]  ↔ ≤ 0, where ``max`` is given:

        Σ_t v_stock[k, p, t, y] ≤ max_kp
    """
    stockpiles = {(s.country, s.product): s for s in data.stockpiles}
    held = new_terms()
    for key, var in keyed(model, sets, "v_stock"):
        held[StockpileKey(key.country, key.product, key.year)].append((1.0, var))
    cover_terms = new_terms()
    required = {}
    demand = {year: stock_demand(data, year) for year in sets.years}
    for key, var in keyed(model, sets, "v_cover_shortfall"):
        cover_terms[key] = [*held.get(key, []), (1.0, var)]
        need = stockpiles[key.country, key.product].min_days / DAYS_PER_YEAR
        required[key] = need * demand[key.year].get((key.country, key.product), 0.0)
    add_rows(model, "cover_constraint", sets.cover, cover_terms, required, None, "Stock cover (t)")
    maximum = {
        key: stockpiles[key.country, key.product].max
        for key in held
        if stockpiles[key.country, key.product].max is not None
    }
    add_rows(model, "stock_max_constraint", list(maximum), held, None, maximum, "Largest stock (t)")
