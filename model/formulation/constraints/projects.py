"""Projects: each built at most once; capex within each funder's yearly budget."""

from __future__ import annotations

import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.keys import BudgetKey, ProjectKey
from model.formulation.sets import ModelSets
from model.formulation.terms import add_rows, new_terms
from model.formulation.variables import keyed


def define_project_constraints(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets) -> None:
    """Two families.

    build_once_constraint[p]  (share)  ↔ ≤ 0, for projects that may come online in several years:

        Σ_y v_build[p, y] ≤ 1

    (with one possible year the variable's bound 0 ≤ v_build ≤ 1 is that row).

    budget_constraint[F, Y]  (USD)  ↔ β_FY ≤ 0, −β_FY = present-value USD saved per USD more budget:

        Σ_{p funded by F} Σ_{y: max(first year, y − lead_time_p) = Y} capex_p · v_build[p, y] ≤ budget_FY

    The decision year of a build online in y is y − lead_time, or the first
    model year when that is earlier (decisions already taken).
    """
    projects = {project.name: project for project in data.projects}
    first = sets.years[0]
    once = new_terms()
    budget_terms = new_terms()
    for key, var in keyed(model, sets, "v_build"):
        project = projects[key.project]
        once[ProjectKey(project.name)].append((1.0, var))
        if project.funder is not None:
            decided = max(first, key.year - project.lead_time)
            budget_terms[BudgetKey(project.funder, decided)].append((project.capex, var))
    several = [key for key, terms in once.items() if len(terms) > 1]
    add_rows(model, "build_once_constraint", several, once, None, 1.0, "A project is built at most once (share)")
    budget = {key: data.budgets[key.funder][key.year] for key in budget_terms}
    add_rows(model, "budget_constraint", list(budget), budget_terms, None, budget, "Capex within budget (USD)")
