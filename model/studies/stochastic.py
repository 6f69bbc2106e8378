"""The two-stage choice against disruption (``--stochastic``): one plan for every scenario with a probability.

The extensive form over the scenarios s with probability p_s (Σ p_s = 1):

    min  Σ_s p_s · c_s · x_s                                   (probability-weighted cost, USD present value)
    s.t. x_s satisfies every constraint of scenario s's model   (one Pyomo block per scenario, built by
                                                                 model.formulation.build.define_formulation)
         x_s[k] = x_r[k]     for every shared key k             nonanticipativity_constraint ↔ ν_sk
                             (r: the first scenario with k; a key some scenario lacks is 0 in all:
                              x_s[k] = 0)

Shared keys: every ``v_build`` (projects, all-or-nothing ones binary: the
program is then a MIP) and ``v_expansion`` key (the plan), and every key of
the other families (activity, shipments, relabelling, deliveries, unmet
demand, surplus, stocks, cover shortfalls) whose year is before the setting
``branch_year`` (default: the first model year, so that only the plan is
shared).  Keys are matched across scenarios by their names (demand rows by
country and product, not by position).  The scenarios must agree on every
row that applies before ``branch_year`` (an input error names the first
that differs), since nothing is revealed before it.  HiGHS solves the
extensive form through :func:`model.solver.solve.solve_model` (cost, then
least exposure, as a normal run); each scenario's solution is extracted and
verified on its own (balances, capacities, caps, the cost identity), and
the shared values are checked equal.

Value of the stochastic solution (VSS): the plan (builds and expansions) of
the base workbook alone, i.e. with no scenario's changes (the case without
disruption), is fixed in every scenario; the extensive form re-solved with
it (decisions before ``branch_year`` still shared) gives its expected cost
EEV, and VSS = EEV − z*, the stochastic optimum.  A base-plan build or
expansion a scenario does not allow (a project year or expansion it lacks)
is left out in that scenario; a base plan a scenario cannot carry out
(beyond its budget or expansion_max) leaves VSS blank, with a warning.

:func:`scenario_creator` builds the same scenario model for mpi-sppy
(progressive hedging on a cluster; extra ``hpc``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo

from model.batch.variants import summarise
from model.data import ModelData
from model.errors import InputError, Problem, SolverError, VerificationError
from model.formulation.build import build_model, define_formulation
from model.formulation.objective import cost_coefficients
from model.formulation.sets import ModelSets, build_sets
from model.formulation.terms import linear
from model.formulation.variables import KEYS, keyed
from model.pipeline import run_metadata, solver_options
from model.results.extract import Solution, extract_solution
from model.results.report import legend_table, warnings_table
from model.results.verify import verify_solution
from model.scenarios import validate_scenario
from model.solver.solve import SolveResult, solve_model
from model.workbook.read import RawWorkbook, read_workbook
from model.workbook.validate import validate

PLAN = ("v_build", "v_expansion")  # shared in every year
OPERATIONS = tuple(name for name in KEYS if name not in PLAN)  # shared in years before branch_year
PROBABILITY_TOLERANCE = 1e-6
SHARED_TOLERANCE = 1e-6  # absolute, on shared values after the solve
BASE_PLAN = "the base workbook (no scenario's changes)"


@dataclass
class StochasticOutcome:
    """What --stochastic writes and prints."""

    sheets: dict[str, pd.DataFrame]
    objective: float  # Σ_s p_s z_s (USD, as the summary's objective)
    expected_cost_of_base_plan: float | None
    value_of_stochastic_solution: float | None
    status: str
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Inputs: probabilities, branch year, agreement before it
# ---------------------------------------------------------------------------------------------------------------


def scenario_probabilities(raw: RawWorkbook) -> dict[str, float]:
    """Scenario -> probability, for the scenarios with one; InputError unless they sum to 1 (within 1e-6)."""
    rows = [r for r in raw.records.get("scenarios", []) if r.get("scenario") and r.get("probability") is not None]
    if not rows:
        raise InputError(
            [
                Problem(
                    "scenarios",
                    None,
                    "probability",
                    None,
                    "--stochastic needs scenarios with a probability (summing to 1); none has one",
                )
            ]
        )
    total = sum(float(r["probability"]) for r in rows)
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        listed = ", ".join(f"row {r['_row']} {r['scenario']} {float(r['probability']):g}" for r in rows)
        raise InputError(
            [Problem("scenarios", None, "probability", round(total, 9), f"probabilities summing to 1 ({listed})")]
        )
    return {str(r["scenario"]): float(r["probability"]) for r in rows}


def branch_year(data: ModelData, raw: RawWorkbook) -> int:
    """The setting branch_year (a model year), or the first model year."""
    year = data.settings.get("branch_year")
    if year is None:
        return data.years[0]
    if int(year) not in data.years:
        row = next((r["_row"] for r in raw.records.get("settings", []) if r.get("setting") == "branch_year"), None)
        raise InputError(
            [
                Problem(
                    "settings",
                    row,
                    "value",
                    year,
                    f"a model year for branch_year ({data.years[0]}–{data.years[-1]})",
                )
            ]
        )
    return int(year)


def _without_rows(items) -> object:
    """Rows of a YearData table with their Excel row (and cap source) blanked, for comparing scenarios."""

    def plain(item):
        changes = {name: 0 for name in ("row",) if hasattr(item, name)}
        if hasattr(item, "source"):
            changes["source"] = ""
        return dataclasses.replace(item, **changes) if changes else item

    if isinstance(items, dict):
        return {key: plain(item) for key, item in items.items()}
    return sorted((plain(item) for item in items), key=repr)


def _before_branch(data: ModelData, branch: int) -> dict[str, object]:
    """What applies before ``branch``, by table, with demand rows keyed by (country, product)."""
    first = data.years[0]
    tables: dict[str, object] = {}
    if branch <= first:
        return tables
    for year in data.years:
        if year >= branch:
            break
        view = data.at(year)
        tables[f"products {year}"] = _without_rows(view.products)
        tables[f"facilities {year}"] = _without_rows(view.facilities)
        tables[f"facility_processes {year}"] = _without_rows(view.facility_processes)
        tables[f"demand {year}"] = _without_rows({(d.country, d.product): d for d in view.demands.values()})
        tables[f"exposure_caps {year}"] = _without_rows(view.exposure_caps)
        tables[f"lanes {year}"] = _without_rows(view.lane_rules)
        tables[f"budgets {year}"] = {funder: years.get(year) for funder, years in data.budgets.items()}
    tables["stockpiles (initial)"] = sorted((s.country, s.product, s.initial, s.initial_tag) for s in data.stockpiles)
    return tables


def check_agreement(datas: dict[str, ModelData], raw: RawWorkbook, branch: int) -> None:
    """InputError naming each scenario whose rows before ``branch`` differ from the first scenario's."""
    names = list(datas)
    reference = _before_branch(datas[names[0]], branch)
    rows = {r.get("scenario"): r["_row"] for r in raw.records.get("scenarios", [])}
    problems = []
    for name in names[1:]:
        tables = _before_branch(datas[name], branch)
        differ = [table for table in reference if tables.get(table) != reference[table]]
        if differ:
            problems.append(
                Problem(
                    "scenarios",
                    rows.get(name),
                    "scenario",
                    name,
                    f"the same rows as '{names[0]}' before branch_year {branch} (decisions before it are shared, "
                    f"so nothing may differ yet); it differs in {', '.join(differ[:4])}: change the scenario from "
                    f"{branch} on, or set branch_year earlier",
                )
            )
    if problems:
        raise InputError(problems)


# ---------------------------------------------------------------------------------------------------------------
# The extensive form
# ---------------------------------------------------------------------------------------------------------------


def shared_key(family: str, key: tuple, data: ModelData) -> tuple:
    """The key matched across scenarios: demand rows by (country, product) instead of their position."""
    if hasattr(key, "demand"):
        demand = data.demands[key.demand]
        return (family, demand.country, demand.product, *key[1:])
    return (family, *key)


def shared_variables(
    blocks: dict[str, object], datas: dict[str, ModelData], sets: dict[str, ModelSets], branch: int
) -> dict[tuple, dict[str, object]]:
    """Shared key -> {scenario: variable}, over every scenario (plan keys always, the others before ``branch``)."""
    shared: dict[tuple, dict[str, object]] = {}
    for name, block in blocks.items():
        for family in KEYS:
            if family not in PLAN and branch <= datas[name].years[0]:
                continue
            for key, var in keyed(block, sets[name], family):
                if family in PLAN or key.year < branch:
                    shared.setdefault(shared_key(family, key, datas[name]), {})[name] = var
    return shared


@dataclass
class ExtensiveForm:
    model: pyo.ConcreteModel
    blocks: dict[str, object]
    sets: dict[str, ModelSets]
    costs: dict[str, list[tuple[float, object]]]  # scenario -> (USD per unit, variable), its own cost
    shared: dict[tuple, dict[str, object]]


def build_extensive_form(datas: dict[str, ModelData], probabilities: dict[str, float], branch: int) -> ExtensiveForm:
    """One block per scenario, the probability-weighted objective, the nonanticipativity rows (module docstring)."""
    model = pyo.ConcreteModel(name="two-stage choice")
    names = list(datas)
    model.scenario = pyo.Block(names)
    blocks, sets, costs = {}, {}, {}
    for name in names:
        block = model.scenario[name]
        sets[name] = build_sets(datas[name])
        define_formulation(block, datas[name], sets[name])
        costs[name] = cost_coefficients(block, datas[name], sets[name])
        blocks[name] = block
    model.total_cost = pyo.Objective(
        expr=linear([(probabilities[name] * cost, var) for name in names for cost, var in costs[name]]),
        sense=pyo.minimize,
    )
    shared = shared_variables(blocks, datas, sets, branch)
    pairs: dict[str, list[tuple[object, object | None]]] = {"plan": [], "operations": []}
    for key, by_scenario in shared.items():
        part = "plan" if key[0] in PLAN else "operations"
        variables = list(by_scenario.values())
        if len(by_scenario) < len(names):  # a scenario lacks the key: 0 everywhere
            pairs[part] += [(var, None) for var in variables]
        else:
            pairs[part] += [(var, variables[0]) for var in variables[1:]]

    def rule(part):
        def equal(_, index):
            var, reference = pairs[part][index]
            return var == 0 if reference is None else var - reference == 0

        return equal

    model.plan_nonanticipativity_constraint = pyo.Constraint(range(len(pairs["plan"])), rule=rule("plan"))
    model.operations_nonanticipativity_constraint = pyo.Constraint(
        range(len(pairs["operations"])), rule=rule("operations")
    )
    return ExtensiveForm(model, blocks, sets, costs, shared)


def _solve(form: ExtensiveForm, options: dict[str, object]) -> SolveResult:
    weight = {}
    relabel = []
    for name, block in form.blocks.items():
        tags = form.sets[name].tags
        weight.update({id(var): float(len(tags[key.tag])) for key, var in keyed(block, form.sets[name], "v_delivery")})
        relabel += list(block.v_relabel.values())
    weight = {column: value for column, value in weight.items() if value}
    return solve_model(form.model, weight, relabel, **options)


def check_shared(form: ExtensiveForm, result: SolveResult) -> list[str]:
    """Failures: shared values that differ between scenarios (or are not 0 where a scenario lacks the key)."""
    failures = []
    count = len(form.blocks)
    for key, by_scenario in form.shared.items():
        values = [result.value(var) for var in by_scenario.values()]
        reference = values[0] if len(by_scenario) == count else 0.0
        worst = max(abs(value - reference) for value in values)
        if worst > SHARED_TOLERANCE * max(1.0, abs(reference)) and len(failures) < 20:
            failures.append(f"shared decision {key} differs between scenarios by {worst:.6g}")
    return failures


def _plan_values(model: pyo.ConcreteModel, data: ModelData, sets: ModelSets, result: SolveResult) -> dict:
    return {
        shared_key(family, key, data): result.value(var) for family in PLAN for key, var in keyed(model, sets, family)
    }


def expected_cost_of_plan(form: ExtensiveForm, datas: dict[str, ModelData], plan: dict, options: dict) -> float:
    """EEV: the extensive form with every scenario's builds and expansions fixed at ``plan`` (absent keys: 0)."""
    for name, block in form.blocks.items():
        for family in PLAN:
            for key, var in keyed(block, form.sets[name], family):
                value = plan.get(shared_key(family, key, datas[name]), 0.0)
                value = round(value) if var.is_integer() else max(0.0, value)
                var.setlb(value)
                var.setub(value)
    form.model.plan_nonanticipativity_constraint.deactivate()
    return _solve(form, options).objective


# ---------------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------------


def solve_stochastic(
    raw: RawWorkbook, progress: Callable[[str], None] = lambda message: None, with_vss: bool = True
) -> tuple[StochasticOutcome, dict[str, Solution]]:
    """Validate, build, solve and tabulate the two-stage choice; also the solutions by scenario."""
    started = time.perf_counter()
    probabilities = scenario_probabilities(raw)
    base = validate(raw)
    problems: list[Problem] = []
    datas: dict[str, ModelData] = {}
    for name in probabilities:
        try:
            datas[name] = validate_scenario(raw, name)
        except InputError as error:
            problems += error.problems
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    branch = branch_year(base, raw)
    check_agreement(datas, raw, branch)
    options = solver_options(base.settings)

    progress(f"Building the two-stage program over {len(datas)} scenarios (branch year {branch}) ...")
    form = build_extensive_form(datas, probabilities, branch)
    progress("Solving it with HiGHS ...")
    result = _solve(form, options)
    failures = check_shared(form, result)
    solutions: dict[str, Solution] = {}
    records = []
    for name, data in datas.items():
        solution = extract_solution(form.blocks[name], form.sets[name], result)
        cost = sum(coefficient * result.value(var) for coefficient, var in form.costs[name])
        verification = verify_solution(data, form.sets[name], solution, cost)
        failures += [f"scenario {name}: {failure}" for failure in verification.failures]
        solutions[name] = solution
        run = summarise(name, data, form.sets[name], solution, cost, result.status)
        record = {
            "scenario": name,
            "probability": probabilities[name],
            "objective": cost,
            "unmet_total": run.unmet_total,
        }
        record.update({f"exposure_any_{c}_{p}": share for (c, p), share in run.exposure_any.items()})
        records.append(record)
    if failures:
        raise VerificationError(
            "the two-stage solution failed the product's own checks, so no results were written:\n  "
            + "\n  ".join(failures)
        )
    objective = result.objective
    weighted = sum(probabilities[r["scenario"]] * r["objective"] for r in records)
    if abs(weighted - objective) > 1e-6 * max(1.0, abs(objective)):
        raise VerificationError(
            f"Σ probability × scenario cost = {weighted:,.6f} but the objective is {objective:,.6f}"
        )
    solve_seconds = time.perf_counter() - started

    warnings = list(dict.fromkeys(w for data in [base, *datas.values()] for w in data.warnings)) + list(result.notes)
    eev = vss = None
    if with_vss:
        progress("Valuing the stochastic solution: the base workbook's own plan, evaluated in every scenario ...")
        sets = build_sets(base)
        alone = build_model(base, sets)
        plan = _plan_values(alone, base, sets, solve_model(alone, {}, [], **options))
        try:
            eev = expected_cost_of_plan(form, datas, plan, options)
            vss = eev - objective
        except SolverError as error:
            warnings.append(f"the value of the stochastic solution is not given: {BASE_PLAN}'s plan ({error})")

    first = next(iter(datas))
    sheets = {
        "summary": _summary(raw, base, result, objective, branch, eev, vss, len(datas), solve_seconds),
        "stochastic": pd.DataFrame(records),
        "shared_projects": _shared_projects(datas[first], solutions[first]),
        "shared_expansions": _shared_expansions(solutions[first]),
        "warnings": warnings_table(warnings),
    }
    sheets["legend"] = legend_table(base.stages, [*sheets, "legend"], base.has_years)
    status = result.status
    return StochasticOutcome(sheets, objective, eev, vss, status, warnings), solutions


def _summary(raw, base, result, objective, branch, eev, vss, count, seconds) -> pd.DataFrame:
    from model import __version__

    money = "USD (present value)" if base.has_years else "USD/yr"
    rows = [
        *run_metadata(raw.path, base.case_name),
        ("product_version", __version__, ""),
        ("solver", f"HiGHS ({result.method})", ""),
        ("solver_version", result.solver_version, ""),
        ("status", result.status, ""),
        ("objective", objective, f"{money}, probability-weighted over the scenarios"),
        ("scenarios", count, ""),
        ("branch_year", branch, "year"),
        ("plan_without_disruption", BASE_PLAN, ""),
        ("expected_cost_of_base_plan", eev, money),
        ("value_of_stochastic_solution", vss, money),
    ]
    if result.is_mip:
        rows.append(("mip_gap", result.mip_gap if result.mip_gap is not None else 0.0, "relative"))
    rows.append(("solve_seconds", seconds, "s"))
    return pd.DataFrame(rows, columns=["item", "value", "unit"])


def _shared_projects(data: ModelData, solution: Solution) -> pd.DataFrame:
    build = solution.build
    records = []
    for project in data.projects:
        rows = build[build["project"] == project.name]
        share = float(rows["value"].sum())
        online = rows[rows["value"] > 1e-9]["year"]
        records.append(
            {
                "project": project.name,
                "facility": project.facility,
                "built_share": share,
                "online_year": int(online.min()) if len(online) and data.has_years else None,
                "capacity_added": project.capacity * share,
            }
        )
    return pd.DataFrame(records, columns=["project", "facility", "built_share", "online_year", "capacity_added"])


def _shared_expansions(solution: Solution) -> pd.DataFrame:
    frame = solution.expansion
    frame = frame[frame["value"] > 1e-9]
    return pd.DataFrame(
        {"facility": frame["facility"], "year": frame["year"], "expansion": frame["value"]},
        columns=["facility", "year", "expansion"],
    ).reset_index(drop=True)


def solve_stochastic_file(path: Path, progress: Callable[[str], None] = lambda message: None) -> StochasticOutcome:
    return solve_stochastic(read_workbook(path), progress)[0]


def print_stochastic(outcome: StochasticOutcome, say: Callable[[str], None]) -> None:
    money = outcome.sheets["summary"].set_index("item")["unit"]["objective"].split(",")[0]
    say("")
    say(f"Status: {outcome.status}")
    say(f"Expected cost (probability-weighted): {outcome.objective:,.0f} {money}")
    for row in outcome.sheets["stochastic"].itertuples(index=False):
        say(
            f"  {row.scenario:<24} p = {row.probability:<6g} cost {row.objective:,.0f}   unmet {row.unmet_total:,.1f} t"
        )
    built = outcome.sheets["shared_projects"]
    built = built[built["built_share"] > 1e-9]
    say("Shared plan: " + (", ".join(f"{r.project} ({r.built_share:.0%})" for r in built.itertuples()) or "no project"))
    if outcome.value_of_stochastic_solution is not None:
        say(
            f"Value of the stochastic solution: {outcome.value_of_stochastic_solution:,.0f} {money} "
            f"(the base workbook's own plan would cost {outcome.expected_cost_of_base_plan:,.0f} in expectation)"
        )


# ---------------------------------------------------------------------------------------------------------------
# mpi-sppy
# ---------------------------------------------------------------------------------------------------------------

_CASES: dict[tuple[str, int | None], tuple[dict[str, ModelData], dict[str, float], int, list[tuple]]] = {}


def _case(path: str, branch: int | None) -> tuple[dict[str, ModelData], dict[str, float], int, list[tuple]]:
    """The scenarios of a workbook, their probabilities, the branch year and the shared keys in a fixed order."""
    cache_key = (str(Path(path).absolute()), branch)
    if cache_key not in _CASES:
        raw = read_workbook(Path(path))
        probabilities = scenario_probabilities(raw)
        base = validate(raw)
        datas = {name: validate_scenario(raw, name) for name in probabilities}
        year = branch_year(base, raw) if branch is None else branch
        check_agreement(datas, raw, year)
        keys: dict[tuple, None] = {}
        for data in datas.values():
            sets = build_sets(data)
            for family in KEYS:
                for key in getattr(sets, KEYS[family]):
                    if family in PLAN or key.year < year:
                        keys[shared_key(family, key, data)] = None
        _CASES[cache_key] = (datas, probabilities, year, list(keys))
    return _CASES[cache_key]


def scenario_names(path: str) -> list[str]:
    """The scenarios with a probability, for mpi-sppy's ``all_scenario_names``."""
    return list(scenario_probabilities(read_workbook(Path(path))))


def scenario_creator(scenario_name: str, path: str, branch_year: int | None = None) -> pyo.ConcreteModel:
    """One scenario's model for mpi-sppy: its probability, its cost as objective, the shared keys as nonants.

    ``path`` is the workbook; the nonanticipative variables are the shared
    keys of the module docstring, in the same order in every scenario (a key
    the scenario lacks is a variable fixed at 0 there).  The first-stage
    cost is the cost of the plan (builds, expansions) and of the shared
    years.  Use with ``scenario_creator_kwargs={"path": ...}`` (see README).
    """
    from mpisppy.utils import sputils

    datas, probabilities, year, keys = _case(path, branch_year)
    data = datas[scenario_name]
    sets = build_sets(data)
    model = build_model(data, sets)
    own = {}
    for family in KEYS:
        for key, var in keyed(model, sets, family):
            if family in PLAN or key.year < year:
                own[shared_key(family, key, data)] = var
    missing = [key for key in keys if key not in own]
    model.v_absent_shared = pyo.Var(range(len(missing)), bounds=(0.0, 0.0))
    absent = dict(zip(missing, model.v_absent_shared.values(), strict=True))
    nonants = [own[key] if key in own else absent[key] for key in keys]
    shared_ids = {id(var) for var in own.values()}
    first_stage = linear([(c, v) for c, v in cost_coefficients(model, data, sets) if id(v) in shared_ids])
    sputils.attach_root_node(model, first_stage, nonants)
    model._mpisppy_probability = probabilities[scenario_name]
    return model
