"""The whole run: read → validate → sets → build → solve → extract → verify → report.

Functions here take and return plain data so that a batch runner (scenarios,
frontiers, Monte Carlo on worker processes) can call :func:`solve_data` on a
:class:`ModelData` it received, without any file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from model import __version__
from model.data import ModelData
from model.errors import VerificationError
from model.formulation.sets import ModelSets, build_sets
from model.formulation.variables import keyed
from model.results.explain import explain_unmet, no_explanations
from model.results.extract import Solution, extract_solution
from model.results.report import Report, build_report, warnings_table
from model.results.valuations import first_tonne_costs, project_values
from model.results.verify import Verification, verify_solution
from model.workbook.numerics import numeric_warnings
from model.workbook.read import read_workbook
from model.workbook.validate import validate

EXPLAIN_UP_TO_VARIABLES = 300_000  # above this, explanations (4 more solves) only on request


@dataclass
class RunOutcome:
    data: ModelData
    sets: ModelSets
    solution: Solution
    report: Report
    verification: Verification
    status: str
    optimal: bool
    objective: float
    build_seconds: float
    solve_seconds: float
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step


def load_data(path: Path, exposure_cap: float | None = None) -> ModelData:
    """Read and validate a workbook (raises InputError listing every problem)."""
    return validate(read_workbook(path), exposure_cap_override=exposure_cap)


def load_scenario(path: Path, scenario: str, exposure_cap: float | None = None) -> ModelData:
    """Read a workbook and validate scenario ``scenario`` of it (raises InputError naming the change rows)."""
    from model.scenarios import validate_scenario

    return validate_scenario(read_workbook(path), scenario, exposure_cap)


def _silent(message: str) -> None:
    pass


def _mip_gap(settings: dict[str, object]) -> float:
    gap = settings.get("mip_gap")
    return 1e-4 if gap is None else float(gap)


def solver_options(settings: dict[str, object]) -> dict[str, object]:
    """The settings that steer every HiGHS run, for re-solves."""
    return {
        "method": str(settings.get("solver_method") or "auto"),
        "threads": int(settings.get("threads") or 1),
        "time_limit": settings.get("solver_time_limit"),
        "mip_gap": _mip_gap(settings),
    }


def solve_data(
    data: ModelData,
    metadata: list[tuple[str, object, str]] | None = None,
    progress: Callable[[str], None] = _silent,
    lp_path: Path | None = None,
) -> RunOutcome:
    """Build, solve, extract, verify and tabulate one case.

    ``progress`` receives a short line before each step that can take time;
    ``lp_path``, when given, receives the LP handed to HiGHS with readable names.
    """
    from model.formulation.build import build_model
    from model.solver.solve import solve_model

    started = time.perf_counter()
    sets = build_sets(data)
    sets_done = time.perf_counter()
    size = len(sets.activity) + len(sets.shipment) + len(sets.relabel) + len(sets.delivery) + len(sets.surplus)
    progress(f"Building the model: about {size:,} variables, {len(sets.balance):,} balance rows ...")
    model = build_model(data, sets)
    exposure_weight = {
        id(var): float(len(sets.tags[key.tag])) for key, var in keyed(model, sets, "v_delivery") if sets.tags[key.tag]
    }
    build_seconds = time.perf_counter() - started
    settings = data.settings
    progress(f"Solving with HiGHS (method {settings.get('solver_method') or 'auto'}) ...")
    result = solve_model(
        model,
        exposure_weight,
        list(model.v_relabel.values()),
        method=str(settings.get("solver_method") or "auto"),
        threads=int(settings.get("threads") or 1),
        time_limit=settings.get("solver_time_limit"),
        mip_gap=_mip_gap(settings),
    )
    solved = time.perf_counter()
    if lp_path is not None and result.form is not None:
        from model.formulation.labels import column_keys, lp_names, row_keys
        from model.solver.forgo import write_lp

        progress(f"Writing the LP with readable names to {lp_path} ...")
        write_lp(
            result.form,
            result.integer,
            lp_names(column_keys(model, sets), result.form.columns),
            lp_names(row_keys(model), result.form.rows),
            lp_path,
        )
    solution = extract_solution(model, sets, result)
    extracted = time.perf_counter()
    verification = verify_solution(data, sets, solution, result.objective)
    verified = time.perf_counter()
    if not verification.ok:
        raise VerificationError(
            "the solution failed the product's own checks, so no results were written:\n  "
            + "\n  ".join(verification.failures)
        )
    summary = list(metadata or [])
    summary += [
        ("product_version", __version__, ""),
        ("solver", f"HiGHS ({result.method})", ""),
        ("solver_version", result.solver_version, ""),
        ("status", result.status, ""),
        ("objective", result.objective, "USD (present value)" if data.has_years else "USD/yr"),
    ]
    if result.is_mip:
        summary.append(("mip_gap", result.mip_gap if result.mip_gap is not None else 0.0, "relative"))
    trailer = [
        ("largest_violation", verification.largest_violation, "relative"),
        ("build_seconds", build_seconds, "s"),
        ("solve_seconds", result.solve_seconds, "s"),
    ]
    options = solver_options(settings)
    values = {}
    built = int((solution.build.groupby("project")["value"].sum() > 1e-9).sum()) if len(solution.build) else 0
    if built:
        progress(f"Valuing the {built} project(s) built: one re-solve each{' of the MIP' if result.is_mip else ''} ...")
        values = project_values(model, sets, solution, result, options)
    first_tonne = first_tonne_costs(data, model, sets, result, options)
    report = build_report(data, sets, solution, summary, trailer, values, first_tonne)
    by_row = solution.unmet.groupby("demand")["value"].sum()
    unmet = [float(by_row.get(j, 0.0)) for j in range(len(data.demands))]
    explained = time.perf_counter()
    explain = str(settings.get("explain_unmet") or "auto")
    short = any(value > 1e-6 for value in unmet)
    variables = len(result.column_values)
    notes = list(result.notes)
    if short and explain == "auto" and variables > EXPLAIN_UP_TO_VARIABLES:
        explain = "no"
        notes.append(
            f"unmet demand was not explained: the model has {variables:,} variables and each explanation takes "
            "four more solves; set explain_unmet = yes in the settings sheet to have them anyway"
        )
    if short and explain != "no":
        progress("Some demand is unmet: re-solving with limits relaxed to explain why ...")
        capacity_value: dict[str, float] = {}
        for key, dual in solution.duals["capacity_constraint"].items():
            capacity_value[key.facility] = max(capacity_value.get(key.facility, 0.0), -dual)
        explanations = explain_unmet(data, unmet, capacity_value)
    else:
        explanations = no_explanations()
    report.add_sheet("explanations", explanations, before="legend")
    explain_seconds = time.perf_counter() - explained
    timings = {
        "sets": sets_done - started,
        "build": build_seconds - (sets_done - started),
        "handoff": result.handoff_seconds,
        "solve": result.solve_seconds,
        "least_exposure": result.least_exposure_seconds,
        "extract": extracted - solved,
        "verify": verified - extracted,
        "report": time.perf_counter() - verified - explain_seconds,
        "explain": explain_seconds,
    }
    warnings = list(dict.fromkeys(list(data.warnings) + numeric_warnings(data) + list(sets.warnings) + notes))
    report.add_sheet("warnings", warnings_table(warnings), before="legend")
    return RunOutcome(
        data=data,
        sets=sets,
        solution=solution,
        report=report,
        verification=verification,
        status=result.status,
        optimal=result.optimal,
        objective=result.objective,
        build_seconds=build_seconds,
        solve_seconds=result.solve_seconds,
        warnings=warnings,
        timings=timings,
    )


def run_metadata(path: Path, case_name: str) -> list[tuple[str, object, str]]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return [
        ("case_name", case_name, ""),
        ("input_file", str(path), ""),
        ("input_sha256", digest, ""),
        ("run_at", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "UTC"),
    ]
