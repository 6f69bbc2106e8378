"""Check the extracted solution against the input data, independently of Pyomo.

Runs after every solve.  Each check recomputes a constraint of the model from
the input data and the solution tables (not from the Pyomo model) and
records its largest violation.  A violation beyond tolerance stops the run:
a wrong answer must never look like a normal result.

Tolerance: absolute 1e-6 × max(1, size of the row's terms), relative 1e-6
for the cost identity.

The tables are read as plain columns (lists and NumPy arrays, never row
by row through pandas); sums by key are taken with ``np.bincount`` over
the terms in the order a loop over the rows would add them, so every sum
is the same float a row-by-row loop gives; each family of checks is one
array comparison, and messages are written only for the rows that fail.

What the balances take from the tables' keys (which node each term goes
to, which rows fail a check on keys alone: :class:`BalanceTerms`) is kept
from the last call and reused while the sets object, the data's structure
and the key columns are equal (a batch's re-solves): only the values are
then read, and the sums are still added term by term in the loop's order.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.data import ModelData
from model.formulation.constraints.exposure import exposed
from model.formulation.sets import ModelSets
from model.results.extract import Solution
from model.workbook.schema import ANY_STAGE
from model.workbook.validate import lane_table

TOLERANCE = 1e-6
MAX_FAILURES = 20  # messages kept (the largest violation is over every check)


@dataclass
class Verification:
    largest_violation: float = 0.0  # scaled, in units of the tolerance's scale
    failures: list[str] = field(default_factory=list)

    def check(self, what: str, violation: float, scale: float) -> None:
        relative = violation / max(1.0, scale)
        self.largest_violation = max(self.largest_violation, relative)
        if relative > TOLERANCE and len(self.failures) < MAX_FAILURES:
            self.failures.append(f"{what}: off by {violation:.6g} (scale {scale:.6g})")

    def check_lazy(self, describe: Callable[[], str], violation: float, scale: float) -> None:
        """:meth:`check`, with the message written only if the check fails."""
        relative = violation / max(1.0, scale)
        self.largest_violation = max(self.largest_violation, relative)
        if relative > TOLERANCE and len(self.failures) < MAX_FAILURES:
            self.failures.append(f"{describe()}: off by {violation:.6g} (scale {scale:.6g})")

    def check_rows(self, *families: tuple[Callable[[int], str], np.ndarray, np.ndarray]) -> None:
        """:meth:`check` on every row i of each (describe, violation, scale) family, rows in order.

        Within a row the families are checked in the order given (the order
        of a loop calling :meth:`check` for each family on each row).  Like
        :meth:`check`, a NaN violation never fails and max(1, NaN scale) is 1.
        """
        flagged = []
        for describe, violation, scale in families:
            violation = np.asarray(violation, dtype=float)
            scale = np.asarray(scale, dtype=float)
            if not len(violation):
                continue
            relative = violation / np.fmax(1.0, scale)
            top = float(np.fmax.reduce(relative))
            self.largest_violation = max(self.largest_violation, top)
            fails = relative > TOLERANCE
            if fails.any():
                flagged.append((describe, violation, scale, fails))
        if not flagged or len(self.failures) >= MAX_FAILURES:
            return
        for row in np.flatnonzero(np.logical_or.reduce([fails for *_, fails in flagged])):
            for describe, violation, scale, fails in flagged:
                if fails[row] and len(self.failures) < MAX_FAILURES:
                    self.failures.append(
                        f"{describe(int(row))}: off by {float(violation[row]):.6g} (scale {float(scale[row]):.6g})"
                    )

    @property
    def ok(self) -> bool:
        return not self.failures


def column_array(frame: pd.DataFrame, name: str):
    """The values of ``frame[name]`` (a NumPy or pandas extension array), read without making a Series.

    ``frame[name]`` builds a Series (about 15 µs); pandas' column accessor
    gives the array the Series would hold.  Where the accessor is missing
    (another pandas) or the name is not one column, through the Series.
    """
    getter = getattr(frame, "_get_column_array", None)
    if getter is not None:
        where = frame.columns.get_loc(name)
        if isinstance(where, int):
            return getter(where)
    return frame[name].array


def _column_list(frame: pd.DataFrame, name: str) -> list:
    """``frame[name].tolist()``: the same Python values (Series.tolist is its array's tolist)."""
    array = column_array(frame, name)
    return array.tolist() if hasattr(array, "tolist") else frame[name].tolist()


def columns(frame: pd.DataFrame, *names: str, kept: dict | None = None) -> list[list]:
    """The columns of ``frame`` as lists of Python values (str, int, float), for loops without pandas per row.

    ``kept``: lists read before by the same check (one call of :func:`verify_solution`, during which the
    tables do not change), by the frame's identity and the column; the lists are only read.
    """
    if kept is None:
        return [_column_list(frame, name) for name in names]
    out = []
    for name in names:
        found = kept.get((id(frame), name))
        if found is None:
            found = kept[id(frame), name] = (frame, _column_list(frame, name))  # the frame held: its id its own
        out.append(found[1])
    return out


def lowest(frame: pd.DataFrame, name: str) -> float:
    """``frame[name].min()`` (NaN skipped; NaN if every value is): ``np.fmin`` over a float column's array."""
    array = column_array(frame, name)
    if isinstance(array, np.ndarray) and array.dtype == np.float64:
        return float(np.fmin.reduce(array))
    return float(frame[name].min())


def rows(frame: pd.DataFrame, *names: str, kept: dict | None = None) -> zip:
    """The rows of ``frame`` as tuples of ``names``' values (what ``itertuples`` gives, without its cost)."""
    return zip(*columns(frame, *names, kept=kept), strict=True) if len(frame) else zip()


def sums(keys: Sequence[Hashable], values: Sequence[float] | np.ndarray) -> tuple[dict, np.ndarray]:
    """Σ values by key: (key -> position, in order of first appearance; the sums).

    ``np.bincount`` adds the values in the order given, from 0.0: each sum
    is the float a loop ``total[key] += value`` over the same order gives.
    """
    index: dict = {}
    ids = [index.setdefault(key, len(index)) for key in keys]
    return index, _bincount(ids, values, len(index))


def _bincount(ids: Sequence[int], values, size: int) -> np.ndarray:
    return np.bincount(np.asarray(ids, dtype=np.intp), weights=np.asarray(values, dtype=float), minlength=size)


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


def yearly_costs(
    data: ModelData, sets: ModelSets, solution: Solution, *, kept: dict | None = None
) -> dict[int, dict[str, float]]:
    """Each cost of each year (USD in that year, undiscounted), recomputed from the input data.

    An expansion added in year y' costs its year-y' expansion_cost in every
    year from y' on; a project built in y' costs its annuity and fixed cost in
    each year y' … y' + life − 1; ``surplus_credit`` is a positive credit.

    Each component of each year is Σ price × value over the rows in table
    order (``np.bincount`` by year), the price looked up per row.
    """
    names = component_names(data)
    years = list(sets.years)
    position = {year: i for i, year in enumerate(years)}
    count = len(years)
    views = {year: data.at(year) for year in years}
    totals: dict[str, np.ndarray] = {}

    def add(name: str, where: list[int], amounts) -> None:
        totals[name] = _bincount(where, amounts, count)

    unit_cost = {
        (fp.facility, fp.process, year): fp.unit_cost for year, view in views.items() for fp in view.facility_processes
    }
    facility, process, year, value = columns(solution.activity, "facility", "process", "year", "value", kept=kept)
    stages = {stage: i for i, stage in enumerate(data.stages)}
    processes = data.processes
    price = [unit_cost[key] for key in zip(facility, process, year, strict=True)]
    group = [position[y] * len(stages) + stages[processes[p].stage] for p, y in zip(process, year, strict=True)]
    operating = _bincount(group, np.multiply(price, value), count * len(stages)).reshape(count, len(stages))
    origin, destination, product, year, value = columns(
        solution.shipment, "origin", "destination", "product", "year", "value", kept=kept
    )
    trades = [sets.trades[key] for key in zip(origin, destination, product, year, strict=True)]
    where = [position[y] for y in year]
    add("cost_transport", where, np.multiply([t.transport_cost for t in trades], value))
    add("cost_tariff", where, np.multiply([t.tariff_cost for t in trades], value))
    where, amounts = [], []
    for facility, added_in, value in rows(solution.expansion, "facility", "year", "value", kept=kept):
        price = views[added_in].facilities[facility].expansion_cost
        for year in years:
            if year >= added_in:
                where.append(position[year])
                amounts.append(price * value)
    add("cost_expansion", where, amounts)
    annual = project_cost_per_year(data)
    life = {p.name: p.life for p in data.projects}
    where, amounts = [], []
    for project, online, value in rows(solution.build, "project", "year", "value", kept=kept):
        for year in years:
            if online <= year <= online + life[project] - 1:
                where.append(position[year])
                amounts.append(annual[project] * value)
    add("cost_projects", where, amounts)
    holding = {(s.country, s.product): s.holding_cost for s in data.stockpiles}
    country, product, year, value = columns(solution.stock, "country", "product", "year", "value", kept=kept)
    add(
        "cost_holding",
        [position[y] for y in year],
        np.multiply([holding[key] for key in zip(country, product, strict=True)], value),
    )
    index, year, value = columns(solution.unmet, "demand", "year", "value", kept=kept)
    penalties = [views[y].demands[j].unmet_penalty for j, y in zip(index, year, strict=True)]
    add("cost_unmet_penalty", [position[y] for y in year], np.multiply(penalties, value))
    penalty = float(data.settings["unmet_demand_penalty"])
    cover_year, cover_value = columns(solution.cover_shortfall, "year", "value", kept=kept)
    flow_year, flow_value = columns(solution.min_flow_shortfall, "year", "value", kept=kept)
    add(
        "cost_shortfall_penalty",
        [position[y] for y in cover_year + flow_year],
        np.multiply(penalty, np.asarray(cover_value + flow_value, dtype=float)),
    )
    product, year, value = columns(solution.surplus, "product", "year", "value", kept=kept)
    credit = [views[y].products[p].surplus_price for p, y in zip(product, year, strict=True)]
    add("surplus_credit", [position[y] for y in year], np.multiply(credit, value))

    costs = {year: dict.fromkeys(names, 0.0) for year in years}
    for i, year in enumerate(years):
        costs_of_year = costs[year]
        for s, stage in enumerate(data.stages):
            costs_of_year[f"cost_operating_{stage}"] = float(operating[i, s])
        for name, total in totals.items():
            if name in costs_of_year:
                costs_of_year[name] = float(total[i])
            elif total[i] != 0.0:
                raise KeyError(name)  # a cost of a component the case does not have (as a loop adding it would)
    return costs


def cost_components(
    data: ModelData, sets: ModelSets, solution: Solution, *, kept: dict | None = None
) -> dict[str, float]:
    """Each cost of the objective: Σ_y δ_y × cost_y (USD, present value; USD/yr with one year)."""
    components = dict.fromkeys(component_names(data), 0.0)
    for year, costs in yearly_costs(data, sets, solution, kept=kept).items():
        weight = data.discount_factor(year)
        for name, value in costs.items():
            components[name] += weight * value
    return components


def total_cost(components: dict[str, float]) -> float:
    """objective = Σ costs − surplus_credit."""
    return sum(v for k, v in components.items() if k != "surplus_credit") - components["surplus_credit"]


def delivered_and_exposed(
    data: ModelData, sets: ModelSets, solution: Solution, *, kept: dict | None = None
) -> tuple[dict[tuple[int, int], float], dict[tuple[int, str, int], float]]:
    """Per demand row and year: t/yr delivered, and t/yr exposed at each stage and at ``any``.

    delivered[j, y] = Σ_t delivery[j, t, y];
    exposed[j, s, y] = Σ_{t ∋ s} delivery[j, t, y];  exposed[j, any, y] = Σ_{t ≠ ∅} delivery[j, t, y].
    """
    stages = [ANY_STAGE, *data.stages]
    delivered = {(j, y): 0.0 for y in sets.years for j in range(len(data.demands))}
    exposure = {(j, s, y): 0.0 for j, y in delivered for s in stages}
    at: dict[str, list[str]] = {}  # tag -> the stages (and any) it counts against
    for index, tag, year, value in rows(solution.delivery, "demand", "tag", "year", "value", kept=kept):
        delivered[index, year] += value
        counted = at.get(tag)
        if counted is None:
            counted = at[tag] = [stage for stage in stages if exposed(sets.tags[tag], stage)]
        for stage in counted:
            exposure[index, stage, year] += value
    return delivered, exposure


def _in_year(sets: ModelSets, year: int) -> str:
    """' in 2027' where the case has several years, else nothing."""
    return f" in {year}" if len(sets.years) > 1 else ""


def _floats(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _ids(keys: list, index: dict) -> np.ndarray:
    """Each key's position in ``index``, keys added in order of first appearance (as :func:`sums` numbers them)."""
    return np.asarray([index.setdefault(key, len(index)) for key in keys], dtype=np.intp)


@dataclass
class BalanceTerms:
    """What the balance, capacity, re-export, quota and stock checks take from the tables' keys, not their values.

    The terms of the balances in the order a loop over the tables adds them
    (into each node: activity outputs, shipments arriving, relabelled
    stock, stock carried into the next year, initial stock; out of each
    node: activity inputs, shipments leaving, relabelled stock, deliveries,
    surplus, stock held), each as (row of its table, node id); each keyed
    sum's keys in order of first appearance and the id of each row; the
    rows failing a check that depends on keys only, with their messages.
    The values (t/yr, coef × activity) are taken per call, so the sums are
    the floats the row-by-row loop adds, in its order.
    """

    signature: tuple  # what it was made from: the sets (a weak reference), the data's structure, the key columns
    activity_missing: list[tuple[int, str]]  # (row, message): activity of a facility that does not exist
    shipment_refused: list[tuple[int, str]]  # shipments on a trade that is not allowed
    relabel_lowering: list[tuple[int, str]]  # relabelling that lowers exposure
    input_pairs: list[tuple[str, str]]  # (process, product) of the inputs consumed, each once
    input_pair: np.ndarray  # per activity-input term: its pair
    input_row: np.ndarray  # per activity-input term: its activity row
    output_pairs: list[tuple[str, str]]
    output_pair: np.ndarray
    output_row: np.ndarray
    loaded_rows: np.ndarray  # activity rows at facilities that exist
    stock_next: np.ndarray  # stock rows before the last year (carried into the next)
    initial_stockpiles: list[int]  # stockpiles with initial stock
    nodes: list[tuple]  # (country, product, tag, year) of each balance
    into_ids: np.ndarray
    out_ids: np.ndarray
    load_index: dict
    load_ids: np.ndarray
    made: int  # nodes something is made at
    made_ids: np.ndarray
    exported_index: dict
    exported: int
    exported_ids: np.ndarray
    produced_at: np.ndarray  # per exported node its made node, -1 where nothing is made
    shipped_index: dict
    shipped_ids: np.ndarray
    held_index: dict
    held_ids: np.ndarray


_BALANCE_TERMS: list[BalanceTerms] = []  # the last terms made: a batch's variants share their keys


def _structure(data: ModelData, views: dict) -> tuple:
    """The data the balance terms are made from besides the sets and the tables' keys (no numbers but signs)."""
    return (
        tuple(
            (year, tuple((name, fac.country, fac.restricted) for name, fac in view.facilities.items()))
            for year, view in views.items()
        ),
        tuple((name, p.stage, tuple(p.inputs), tuple(p.outputs)) for name, p in data.processes.items()),
        tuple((d.country, d.product) for d in data.demands),
        tuple((s.country, s.product, s.initial > 0, s.initial_tag) for s in data.stockpiles),
    )


def balance_terms(
    data: ModelData, sets: ModelSets, views: dict, activity, shipment, relabel, delivery, surplus, stock
) -> BalanceTerms:
    """The :class:`BalanceTerms` of these key columns (lists, value column left out), kept for the next call.

    The last terms are reused when made from the same sets object, equal
    data structure (:func:`_structure`) and equal key columns, list for
    list; anything else makes them again.
    """
    signature = (weakref.ref(sets), _structure(data, views), (activity, shipment, relabel, delivery, surplus, stock))
    last = next(iter(_BALANCE_TERMS), None)  # read once: another thread may replace it
    if last is not None:
        held = last.signature
        if held[0]() is sets and held[1] == signature[1] and held[2] == signature[2]:
            return last
    terms = _make_balance_terms(data, sets, views, signature, activity, shipment, relabel, delivery, surplus, stock)
    _BALANCE_TERMS[:] = [terms]
    return terms


def _make_balance_terms(
    data: ModelData,
    sets: ModelSets,
    views: dict,
    signature: tuple,
    activity: list[list],
    shipment: list[list],
    relabel: list[list],
    delivery: list[list],
    surplus: list[list],
    stock: list[list],
) -> BalanceTerms:
    """The loop over the tables' rows of the row-by-row check, keeping where each term goes rather than its value."""
    into: list[tuple] = []
    out_of: list[tuple] = []
    made: list[tuple] = []
    loaded: list[tuple[str, int]] = []
    loaded_rows: list[int] = []
    activity_missing: list[tuple[int, str]] = []
    input_pairs: dict[tuple[str, str], int] = {}
    output_pairs: dict[tuple[str, str], int] = {}
    input_pair: list[int] = []
    input_row: list[int] = []
    output_pair: list[int] = []
    output_row: list[int] = []
    processes = data.processes
    facilities = {year: view.facilities for year, view in views.items()}
    for row, (facility, process_name, tag, year) in enumerate(zip(*activity, strict=True)):
        process = processes[process_name]
        fac = facilities[year].get(facility)
        if fac is None:
            activity_missing.append((row, f"activity of {facility}, which does not exist{_in_year(sets, year)}"))
            continue
        loaded.append((facility, year))
        loaded_rows.append(row)
        country = fac.country
        for product in process.inputs:
            out_of.append((country, product, tag, year))
            input_pair.append(input_pairs.setdefault((process_name, product), len(input_pairs)))
            input_row.append(row)
        out = sets.output_tag(tag, process.stage, fac.restricted)
        for product in process.outputs:
            node = (country, product, out, year)
            into.append(node)
            made.append(node)
            output_pair.append(output_pairs.setdefault((process_name, product), len(output_pairs)))
            output_row.append(row)

    origin, destination, product, tag, year = shipment
    trades = sets.trades
    lanes = list(zip(origin, destination, product, year, strict=True))
    shipment_refused = [
        (row, f"shipment {source} → {target} of {good} on a trade that is not allowed")
        for row, (source, target, good, when) in enumerate(lanes)
        if (source, target, good, when) not in trades
    ]
    leaving = list(zip(origin, product, tag, year, strict=True))
    out_of += leaving
    into += zip(destination, product, tag, year, strict=True)

    relabel_lowering = []
    for row, (country, good, source, target, year) in enumerate(zip(*relabel, strict=True)):
        if not sets.tags[source] < sets.tags[target]:
            relabel_lowering.append((row, f"relabelling {source} → {target} of {good} in {country} lowers exposure"))
        out_of.append((country, good, source, year))
        into.append((country, good, target, year))
    demands = data.demands
    index, tag, year = delivery
    out_of += [(demands[j].country, demands[j].product, t, y) for j, t, y in zip(index, tag, year, strict=True)]
    out_of += zip(*surplus, strict=True)
    last = sets.years[-1]
    country, product, tag, year = stock
    out_of += zip(country, product, tag, year, strict=True)  # held at the end of the year
    stock_next = []
    for row, node in enumerate(zip(country, product, tag, year, strict=True)):
        if node[3] < last:
            into.append((*node[:3], node[3] + 1))  # available the next year
            stock_next.append(row)
    initial_stockpiles = []
    for number, stockpile in enumerate(data.stockpiles):
        if stockpile.initial > 0:
            into.append((stockpile.country, stockpile.product, sets.label(stockpile.initial_tag), sets.years[0]))
            initial_stockpiles.append(number)

    nodes: dict[tuple, int] = {}
    into_ids = _ids(into, nodes)
    out_ids = _ids(out_of, nodes)
    load_index: dict = {}
    load_ids = _ids(loaded, load_index)
    made_index: dict = {}
    made_ids = _ids(made, made_index)
    exported_index: dict = {}
    exported_ids = _ids(leaving, exported_index)
    shipped_index: dict = {}
    shipped_ids = _ids(lanes, shipped_index)
    held_index: dict = {}
    held_ids = _ids(list(zip(country, product, year, strict=True)), held_index)
    produced_at = np.asarray([made_index.get(key, -1) for key in exported_index], dtype=np.intp)
    rows_of = lambda values: np.asarray(values, dtype=np.intp)  # noqa: E731
    return BalanceTerms(
        signature=signature,
        activity_missing=activity_missing,
        shipment_refused=shipment_refused,
        relabel_lowering=relabel_lowering,
        input_pairs=list(input_pairs),
        input_pair=rows_of(input_pair),
        input_row=rows_of(input_row),
        output_pairs=list(output_pairs),
        output_pair=rows_of(output_pair),
        output_row=rows_of(output_row),
        loaded_rows=rows_of(loaded_rows),
        stock_next=rows_of(stock_next),
        initial_stockpiles=initial_stockpiles,
        nodes=list(nodes),
        into_ids=into_ids,
        out_ids=out_ids,
        load_index=load_index,
        load_ids=load_ids,
        made=len(made_index),
        made_ids=made_ids,
        exported_index=exported_index,
        exported=len(exported_index),
        exported_ids=exported_ids,
        produced_at=produced_at,
        shipped_index=shipped_index,
        shipped_ids=shipped_ids,
        held_index=held_index,
        held_ids=held_ids,
    )


def verify_solution(data: ModelData, sets: ModelSets, solution: Solution, objective: float) -> Verification:
    """Every invariant of SPEC.md's model, recomputed from the tables and the input data.

    Balances (with stocks), capacities (with expansions and projects online),
    expansion limits, no re-export, quotas, demand, caps, builds within their
    windows and at most once, budgets, covers, stock limits, non-negativity,
    and the cost identity Σ_y δ_y · cost_y = objective.
    """
    result = Verification()
    kept: dict = {}  # the tables' columns as lists, read once for every check below
    views = {year: data.at(year) for year in sets.years}
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
            result.check("a variable is negative", max(0.0, -lowest(frame, "raw_value")), 1.0)

    activity = columns(solution.activity, "facility", "process", "tag", "year", "value", kept=kept)
    shipment = columns(solution.shipment, "origin", "destination", "product", "tag", "year", "value", kept=kept)
    relabel = columns(solution.relabel, "country", "product", "from_tag", "to_tag", "year", "value", kept=kept)
    delivery = columns(solution.delivery, "demand", "tag", "year", "value", kept=kept)
    surplus = columns(solution.surplus, "country", "product", "tag", "year", "value", kept=kept)
    stock = columns(solution.stock, "country", "product", "tag", "year", "value", kept=kept)
    terms = balance_terms(
        data, sets, views, activity[:-1], shipment[:-1], relabel[:-1], delivery[:-1], surplus[:-1], stock[:-1]
    )
    for row, message in terms.activity_missing:
        result.check(message, activity[-1][row], 1.0)
    for row, message in terms.shipment_refused:
        result.check(message, shipment[-1][row], 1.0)
    for row, message in terms.relabel_lowering:
        result.check(message, relabel[-1][row], 1.0)
    delivered, exposure = delivered_and_exposed(data, sets, solution, kept=kept)
    activity_value = np.asarray(activity[-1], dtype=float)
    shipment_value = np.asarray(shipment[-1], dtype=float)
    relabel_value = np.asarray(relabel[-1], dtype=float)
    stock_value = np.asarray(stock[-1], dtype=float)
    processes = data.processes
    consumed = _floats([processes[process].inputs[product] for process, product in terms.input_pairs])
    made_values = _floats([processes[process].outputs[product] for process, product in terms.output_pairs])
    consumed = consumed[terms.input_pair] * activity_value[terms.input_row]  # coef × value, term by term
    made_values = made_values[terms.output_pair] * activity_value[terms.output_row]
    initial = [data.stockpiles[i].initial for i in terms.initial_stockpiles]
    into_values = np.concatenate(
        [made_values, shipment_value, relabel_value, stock_value[terms.stock_next], _floats(initial)]
    )
    out_of_values = np.concatenate(
        [consumed, shipment_value, relabel_value, _floats(delivery[-1]), _floats(surplus[-1]), stock_value]
    )
    trades = sets.trades
    exported_index, exported = terms.exported_index, _bincount(terms.exported_ids, shipment_value, terms.exported)
    shipped_index = terms.shipped_index
    shipped_sums = _bincount(terms.shipped_ids, shipment_value, len(shipped_index))
    held_index, held_sums = terms.held_index, _bincount(terms.held_ids, stock_value, len(terms.held_index))
    load_index = terms.load_index
    load_sums = _bincount(terms.load_ids, activity_value[terms.loaded_rows], len(load_index))
    made_sums = _bincount(terms.made_ids, made_values, terms.made)
    inflow = _bincount(terms.into_ids, into_values, len(terms.nodes))
    outflow = _bincount(terms.out_ids, out_of_values, len(terms.nodes))
    node_list = terms.nodes

    def balance(i: int) -> str:
        country, product, tag, year = node_list[i]
        return f"balance of {product} ({tag}) in {country}{_in_year(sets, year)}"

    result.check_rows((balance, np.abs(inflow - outflow), inflow + outflow))

    expansion: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for facility, year, value in rows(solution.expansion, "facility", "year", "value", kept=kept):
        expansion[facility].append((year, value))
        limit = views[year].facilities[facility].expansion_max
        result.check(f"expansion of {facility}{_in_year(sets, year)}", max(0.0, value - limit), limit)
    projects = {p.name: p for p in data.projects}
    online: dict[tuple[str, int], float] = defaultdict(float)  # facility, year -> capacity from projects
    built: dict[str, float] = defaultdict(float)
    committed: dict[tuple[str, int], float] = defaultdict(float)
    for name, start, value in rows(solution.build, "project", "year", "value", kept=kept):
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

    places: list[str] = []
    added_list: list[float] = []
    expansion_max: list[float] = []
    limits: list[float] = []
    loads: list[float] = []
    for year, view in views.items():
        for name, fac in view.facilities.items():
            added = sum(value for start, value in expansion.get(name, ()) if start <= year)
            places.append(f"{name}{_in_year(sets, year)}")
            added_list.append(added)
            expansion_max.append(fac.expansion_max)
            limits.append(fac.capacity + added + online.get((name, year), 0.0))
            position = load_index.get((name, year))
            loads.append(0.0 if position is None else float(load_sums[position]))
    added_array, limit_array = np.asarray(added_list, dtype=float), np.asarray(limits, dtype=float)
    result.check_rows(
        (lambda i: f"expansions of {places[i]}", np.fmax(0.0, added_array - expansion_max), expansion_max),
        (lambda i: f"capacity of {places[i]}", np.fmax(0.0, np.asarray(loads) - limit_array), limit_array),
    )

    exported_keys = list(exported_index)
    produced = np.zeros(len(exported_keys))  # t/yr made at each exported node (0 where nothing is made)
    hit = terms.produced_at >= 0
    produced[hit] = made_sums[terms.produced_at[hit]]

    def reexport(i: int) -> str:
        origin, product, tag, year = exported_keys[i]
        return f"re-export of {product} ({tag}) from {origin}{_in_year(sets, year)}"

    result.check_rows((reexport, np.fmax(0.0, exported - produced), exported))
    quotas = [  # (key, trade, t/yr shipped) of each trade with a quota that was shipped on
        (key, trades[key], float(shipped_sums[position]))
        for key, position in shipped_index.items()
        if key in trades and trades[key].max_flow is not None
    ]
    flows = np.asarray([flow for *_, flow in quotas], dtype=float)
    maxima = np.asarray([trade.max_flow for _, trade, _ in quotas], dtype=float)

    def quota(i: int) -> str:
        key, trade, _ = quotas[i]
        return f"quota {trade.origin} → {trade.destination} of {trade.product}{_in_year(sets, key[3])}"

    result.check_rows((quota, np.fmax(0.0, flows - maxima), maxima))

    unmet = {(index, year): value for index, year, value in rows(solution.unmet, "demand", "year", "value", kept=kept)}
    demand_rows = {(d.country, d.product): i for i, d in enumerate(data.demands)}
    for year, view in views.items():
        for index, demand in view.demands.items():
            total = delivered[index, year] + unmet.get((index, year), 0.0)
            result.check_lazy(
                lambda demand=demand, year=year: (
                    f"demand of {demand.country} for {demand.product}{_in_year(sets, year)}"
                ),
                abs(total - demand.quantity),
                demand.quantity,
            )
        for cap in view.exposure_caps:
            index = demand_rows[cap.country, cap.product]
            quantity = view.demands[index].quantity
            result.check_lazy(
                lambda cap=cap, year=year: (
                    f"exposure cap of {cap.country} {cap.product} at {cap.stage}{_in_year(sets, year)}"
                ),
                max(0.0, exposure[index, cap.stage, year] - cap.max_share * quantity),
                quantity,
            )

    shortfall = {
        (country, product, year): value
        for country, product, year, value in rows(
            solution.cover_shortfall, "country", "product", "year", "value", kept=kept
        )
    }
    for stockpile in data.stockpiles:
        for year, view in views.items():
            position = held_index.get((stockpile.country, stockpile.product, year))
            stock = 0.0 if position is None else float(held_sums[position])
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

    shipped = {key: float(shipped_sums[position]) for key, position in shipped_index.items()}
    check_min_flows(data, sets, solution, shipped, result)

    components = cost_components(data, sets, solution, kept=kept)
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
        for origin, destination, product, year, value in rows(
            frame, "origin", "destination", "product", "year", "value"
        )
    }


_LANE_TABLES: list[tuple[tuple, object]] = []  # the last (lane rules, their WildcardTable): a batch's rules repeat


def _lane_table(rules) -> object:
    """:func:`model.workbook.validate.lane_table` of ``rules``, kept for the last rules (equal rules, equal table)."""
    rules = tuple(rules)
    last = next(iter(_LANE_TABLES), None)  # read once: another thread may replace it
    if last is not None and last[0] == rules:
        return last[1]
    table = lane_table(list(rules))
    _LANE_TABLES[:] = [(rules, table)]
    return table


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
        table = _lane_table(rules)
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
