"""Figures that need a re-solve of the loaded LP: what each built project is worth, what a first tonne costs.

Both re-solve the LP (or MIP) already handed to HiGHS with a few bounds
changed (:mod:`model.solver.forgo`); nothing is rebuilt.

* ``value`` of built project p (USD, present value) = z*(builds of p = 0) − z*.
* ``marginal_cost`` of a demand row whose quantity is 0 in a year (USD/t in
  that year's USD) = (z*(quantity 1, its caps at max_share × 1) − z*) / δ_y:
  at quantity 0 the demand row's dual is degenerate (any value up to this
  cost is an optimal dual), so the dual would often say 0.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from model.data import ModelData
from model.formulation.keys import CapKey, DemandKey
from model.formulation.sets import ModelSets
from model.formulation.terms import keyed_rows
from model.formulation.variables import keyed
from model.results.extract import Solution
from model.solver.forgo import BoundChange, Resolved, objectives_after, resolved_without
from model.solver.solve import SolveResult

BUILT = 1e-9


def project_values(
    model: pyo.ConcreteModel, sets: ModelSets, solution: Solution, result: SolveResult, options: dict
) -> dict[str, float]:
    """USD the objective rises if each built project could not be built."""
    shares = solution.build.groupby("project")["value"].sum()
    built = [name for name, share in shares.items() if share > BUILT]
    if not built or result.form is None:
        return {}
    columns: dict[str, list[int]] = {}
    for key, var in keyed(model, sets, "v_build"):
        position = result.column_position.get(id(var))
        if key.project in built and position is not None:
            columns.setdefault(key.project, []).append(position)
    names = [name for name in built if name in columns]
    resolved = resolved_without(
        result.form,
        result.integer,
        [columns[name] for name in names],
        start=result.column_values,
        bases=result.bases,
        **options,
    )
    values = {
        name: one.objective - result.objective
        for name, one in zip(names, resolved, strict=True)
        if one.objective is not None
    }
    note = gap_note(result, resolved) if result.is_mip and values else None
    if note:
        result.notes.append(note)
    return values


def gap_note(result: SolveResult, resolved: list[Resolved]) -> str | None:
    """What the MIP gap leaves open in the projects' values (a line of the warnings sheet).

    value_p = z_p − z*, where branch and bound (or the bounds of
    :func:`model.solver.forgo.resolve_each`) proves z_p only to within
    gap_p·|z_p| and z* to within gap*·|z*|: the true value lies within
    ± (gap_p·|z_p| + gap*·|z*|) USD of the one reported.  None when that is below
    half a dollar (every value proven exactly, as when the relaxations come
    out whole): a warning then would only be noise.
    """
    base = (result.mip_gap or 0.0) * abs(result.objective)
    widest = max(one.gap * abs(one.objective) + base for one in resolved if one.objective is not None)
    searched = sum(one.branch_and_bound for one in resolved)
    if widest < 0.5:
        return None
    return (
        f"projects sheet, value: each built project's value re-solves the plan as a MIP without it, which "
        f"branch and bound proves only to within its gap (setting mip_gap), so a value may be off by up to "
        f"{widest:,.0f} USD (present value); {searched} of {len(resolved)} values needed branch and bound "
        "(the others were settled by LP bounds, to the same gap)"
    )


def first_tonne_costs(
    data: ModelData, model: pyo.ConcreteModel, sets: ModelSets, result: SolveResult, options: dict
) -> dict[DemandKey, float]:
    """USD/t (that year's USD) of the first tonne of every demand row whose quantity is 0 in a year."""
    if result.form is None or not result.optimal:
        return {}
    zero = {
        DemandKey(index, year)
        for year in sets.years
        for index, demand in data.at(year).demands.items()
        if demand.quantity == 0
    }
    if not zero:
        return {}
    demand_rows = {key: result.row_position[id(row)] for key, row in keyed_rows(model, "demand_constraint")}
    cap_rows: dict[DemandKey, list[tuple[int, float]]] = {}
    shares = {}
    rows_of = {(d.country, d.product): i for i, d in enumerate(data.demands)}
    for year in sets.years:
        for cap in data.at(year).exposure_caps:
            shares[CapKey(rows_of[cap.country, cap.product], cap.stage, year)] = cap.max_share
    for key, row in keyed_rows(model, "exposure_cap_constraint"):
        owner = DemandKey(key.demand, key.year)
        if owner in zero:
            cap_rows.setdefault(owner, []).append((result.row_position[id(row)], shares[key]))
    keys = sorted(key for key in zero if key in demand_rows)
    changes = []
    for key in keys:
        caps = cap_rows.get(key, [])
        changes.append(
            BoundChange(
                rows=np.array([demand_rows[key], *(row for row, _ in caps)]),
                row_lower=np.array([1.0, *(-np.inf for _ in caps)]),
                row_upper=np.array([1.0, *(share for _, share in caps)]),
            )
        )
    objectives = objectives_after(result.form, result.integer, changes, **options)
    return {
        key: (value - result.objective) / data.discount_factor(key.year)
        for key, value in zip(keys, objectives, strict=True)
        if value is not None
    }
