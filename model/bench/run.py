"""Benchmark: the product's Pyomo route against the same LP handed to HiGHS alone.

    python -m model.bench                         # default sizes, updates docs/performance.md
    python -m model.bench --sizes xs,s --solvers  # also compare HiGHS methods
    python -m model.bench --sizes xs,s,m --years 1,5,11   # each size over 1, 5 and 11 model years
    python -m model.bench --sizes s --years 1,11 --divisible   # ... with divisible projects only (an LP)

For each size (and number of model years) a synthetic case
(:mod:`model.bench.synthetic`; with several years it has projects, some
all-or-nothing so the case is a MIP, budgets and a stockpile) is written as
an input workbook; each method then runs in its own process (so peak memory
is its own) and reports seconds per step:

* ``highs``: read + validate the workbook, index sets, the LP assembled
  directly as sparse matrices (:mod:`model.bench.matrix`), hand-off to ``highspy``,
  cost-optimal solve.  A MIP gets the solver work the product must do for
  it, since SPEC Part 2 reports its duals: the relaxation, branch and bound
  to ``mip_gap`` unless the relaxation is whole, and the LP with the integer
  choices fixed (:func:`model.solver.solve.cost_optimal_mip`); branch and
  bound alone, without duals, is timed apart (``solve_bb``, not in the
  totals).  The physical limit for preparation.
* ``pyomo``: the product's normal path (:func:`model.pipeline.solve_data`):
  read, sets, Pyomo build, standard-form hand-off, solve, least-exposure
  phases, extraction, verification, report tables, results workbook.

Objectives must agree to 1e-7 relative (a MIP: within its ``mip_gap``, as
both routes stop their branch and bound there).  Figures are reported as ratios to
the ``highs`` run of the same size in the same session: timing noise on a
shared machine is large, ratios measured together much less so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from model.bench.synthetic import Size, synthetic_data, write_data_workbook

SIZES: dict[str, Size] = {
    "xs": Size(countries=10, stages=4, products_per_stage=4, facilities_per_stage=20, demand_countries=2),
    "s": Size(countries=30, stages=4, products_per_stage=6, facilities_per_stage=120, demand_countries=4),
    "m": Size(countries=80, stages=4, products_per_stage=16, facilities_per_stage=1600, demand_countries=8),
    "l": Size(countries=120, stages=4, products_per_stage=24, facilities_per_stage=3600, demand_countries=10),
    "xl": Size(countries=250, stages=4, products_per_stage=50, facilities_per_stage=16000, demand_countries=20),
    "xxl": Size(
        countries=170,
        stages=4,
        products_per_stage=30,
        facilities_per_stage=7000,
        processes_per_facility=4,
        demand_countries=12,
    ),
}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu() -> float:
    """Processor seconds this process has used (user + system): on a shared machine, steadier than the clock."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(method: str, workbook: Path, solver: str) -> dict:
    """One method on one workbook, in this process; returns seconds per step."""
    from model.formulation.sets import build_sets
    from model.pipeline import load_data

    steps: dict[str, float] = {}
    started = time.perf_counter()
    data = load_data(workbook)
    data.settings["solver_method"] = solver
    steps["read"] = time.perf_counter() - started
    cpu_started = _cpu()
    if method == "highs":
        from model.bench.matrix import build_matrix, solve_matrix

        mark = time.perf_counter()
        sets = build_sets(data)
        steps["sets"] = time.perf_counter() - mark
        mark = time.perf_counter()
        lp = build_matrix(data, sets)
        steps["build"] = time.perf_counter() - mark
        mip_gap = mip_gap_of(data.settings)
        objective, steps["handoff"], steps["solve"] = solve_matrix(lp, method=solver, mip_gap=mip_gap)
        steps["cpu"] = _cpu() - cpu_started
        rows, columns, nonzeros = lp.shape[0], lp.shape[1], len(lp.values)
        integers = len(lp.integer)
        if integers:  # branch and bound alone, without the fixed LP for duals: not part of the run timed above
            steps["solve_bb"] = solve_matrix(lp, method=solver, mip_gap=mip_gap, fixed_lp=False)[2]
    else:
        from model.pipeline import solve_data
        from model.workbook.write import write_workbook

        outcome = solve_data(data)
        steps["cpu"] = _cpu() - cpu_started
        steps.update(outcome.timings)
        objective = outcome.objective
        mark = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            write_workbook(outcome.report.sheets, Path(folder) / "results.xlsx")
        steps["write"] = time.perf_counter() - mark
        rows = columns = nonzeros = integers = 0
    steps["total"] = time.perf_counter() - started
    return {
        "method": method,
        "objective": objective,
        "steps": steps,
        "peak_mib": _peak_mib(),
        "rows": rows,
        "columns": columns,
        "nonzeros": nonzeros,
        "integers": integers,
        "mip_gap": mip_gap_of(data.settings),
    }


def mip_gap_of(settings: dict) -> float:
    """The MIP gap as the product passes it to HiGHS (model.pipeline): the setting, SPEC's 1e-4 when absent."""
    gap = settings.get("mip_gap")
    return 1e-4 if gap is None else float(gap)


def _run_worker(method: str, workbook: Path, solver: str) -> dict:
    command = [sys.executable, "-m", "model.bench", "--worker", method, "--workbook", str(workbook), "--solver", solver]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{method} worker failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prep(steps: dict) -> float:
    """Preparation = index sets + model build + hand-off to the solver."""
    return steps.get("sets", 0.0) + steps.get("build", 0.0) + steps.get("handoff", 0.0)


def run_sizes(sizes: list[str], solver: str, years: tuple[int, ...] = (1,), divisible: bool = False) -> list[dict]:
    """Each size over each number of model years, both routes in their own processes, one after the other.

    ``divisible``: every project may be built in part, so a case over years
    is an LP (without it, every other project is all-or-nothing: a MIP).
    """
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in sizes:
            for count in years:
                data = synthetic_data(replace(SIZES[name], years=count, all_or_nothing=not divisible))
                workbook = write_data_workbook(data, Path(folder) / f"{name}_{count}y.xlsx")
                del data
                alone = _run_worker("highs", workbook, solver)
                pyomo = _run_worker("pyomo", workbook, solver)
                gap = abs(pyomo["objective"] - alone["objective"]) / max(1.0, abs(alone["objective"]))
                # A MIP's branch and bound stops within mip_gap on either route.
                tolerance = max(OBJECTIVE_TOLERANCE, alone["mip_gap"] if alone.get("integers") else 0.0)
                rows.append(
                    {
                        "size": name,
                        "years": count,
                        "highs": alone,
                        "pyomo": pyomo,
                        "objective_gap": gap,
                        "tolerance": tolerance,
                    }
                )
                print(_line(rows[-1]), flush=True)
    return rows


OBJECTIVE_TOLERANCE = 1e-7


def whole_run_ratio(row: dict) -> float:
    """Pyomo's whole run (no I/O) ÷ HiGHS alone's: all but reading the input and writing the results."""
    a, p = row["highs"]["steps"], row["pyomo"]["steps"]
    whole_p = p["total"] - p.get("write", 0.0) - p.get("read", 0.0)
    whole_a = a["total"] - a.get("read", 0.0) - a.get("solve_bb", 0.0)
    return whole_p / whole_a


def whole_cpu_ratio(row: dict) -> float:
    """The same ratio in processor seconds (both routes single-threaded; steadier than the clock under load)."""
    return row["pyomo"]["steps"]["cpu"] / row["highs"]["steps"]["cpu"]


def summary(rows: list[dict]) -> list[str]:
    """Per size, the whole-run ratio at each number of years, and the last against one year."""
    lines = []
    for name in dict.fromkeys(row["size"] for row in rows):
        mine = [row for row in rows if row["size"] == name]
        one = next((row for row in mine if row["years"] == 1), None)
        most = max(mine, key=lambda row: row["years"])
        ratios = (("whole run (no I/O)", whole_run_ratio), ("processor time of the whole run", whole_cpu_ratio))
        for label, ratio in ratios:
            parts = [f"{row['years']} y {ratio(row):.2f}×" for row in mine]
            line = f"- {name}: {label} ÷ HiGHS alone: " + ", ".join(parts)
            if one is not None and most["years"] > 1:
                line += f"; {most['years']} years against 1: {ratio(most) / ratio(one):.2f}× the ratio"
            lines.append(line)
    return lines


def _line(row: dict) -> str:
    alone, pyomo = row["highs"], row["pyomo"]
    a, p = alone["steps"], pyomo["steps"]
    model_prep = p["build"] + p["handoff"]
    matrix_prep = a["build"] + a["handoff"]
    kind = "MIP" if alone.get("integers") else "LP"
    bb = f"{a['solve_bb']:.2f} s ({p['solve'] / a['solve_bb']:.2f}×)" if "solve_bb" in a else "–"
    return (
        f"| {row['size']} | {row.get('years', 1)} | {kind} | {alone['columns']:,} | {alone['rows']:,} "
        f"| {alone['nonzeros']:,} "
        f"| {a['sets']:.2f} s | {matrix_prep:.2f} s | {a['solve']:.2f} s | {model_prep / matrix_prep:.1f}× "
        f"| {prep(p) / prep(a):.1f}× | {p['solve'] / a['solve']:.2f}× "
        f"| {p.get('least_exposure', 0.0) / a['solve']:.2f}× | {whole_run_ratio(row):.2f}× "
        f"| {whole_cpu_ratio(row):.2f}× | {bb} "
        f"| {a['read']:.2f} s | {p.get('write', 0.0):.2f} s | {alone['peak_mib']:.0f} "
        f"| {pyomo['peak_mib'] / alone['peak_mib']:.2f}× "
        f"| {row['objective_gap']:.1e} |"
    )


HEADER = (
    "| size | years | problem | columns | rows | nonzeros | index sets (both) "
    "| HiGHS alone: build + hand-off | HiGHS alone: solve "
    "| Pyomo build + hand-off ÷ alone | with index sets ÷ alone | Pyomo solve ÷ alone "
    "| least-exposure phases ÷ alone solve | whole run (no I/O) ÷ alone | processor time ÷ alone "
    "| HiGHS alone: branch and bound only (Pyomo solve ÷ it) "
    "| read workbook | write results | peak MiB alone | peak Pyomo ÷ alone | objective gap |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def compare_solvers(size: str) -> list[str]:
    """Solve time of each HiGHS method on the same LP (HiGHS-alone route)."""
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        workbook = write_data_workbook(synthetic_data(SIZES[size]), Path(folder) / f"{size}.xlsx")
        base = None
        for solver in ("ipm", "simplex"):
            try:
                result = _run_worker("highs", workbook, solver)
            except RuntimeError as error:
                lines.append(f"| {size} | {solver} | failed: {str(error).splitlines()[-1]} | |")
                continue
            seconds = result["steps"]["solve"]
            base = base or seconds
            lines.append(
                f"| {size} | {solver} | {seconds:.2f} s | {seconds / base:.2f}× | {result['objective']:.10g} |"
            )
            print(lines[-1], flush=True)
    return lines


def load_average() -> float:
    """The machine's one-minute load average (NaN where the system has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def write_report(
    rows: list[dict],
    solver_lines: list[str],
    path: Path,
    solver: str,
    command: str = "python -m model.bench",
    load_before: float = float("nan"),
) -> None:
    from importlib.metadata import version

    import pyomo

    machine = " ".join(part for part in (platform.machine(), platform.processor()) if part)
    lines = [
        f"Latest run: {time.strftime('%Y-%m-%d')}, `{command}`, {machine} ({os.cpu_count()} cores; "
        f"load average {load_before:.1f} at the start, {load_average():.1f} at the end), "
        f"Python {platform.python_version()}, "
        f"Pyomo {pyomo.version.version}, highspy {version('highspy')}, method `{solver}`, "
        "one thread. Ratios are to the HiGHS-alone run of the same size and years in the same session.",
        "",
        HEADER,
        *(_line(row) for row in rows),
        "",
        *summary(rows),
        "",
    ]
    if solver_lines:
        lines += ["| size | method | solve | ÷ ipm | objective |", "|---|---|---|---|---|", *solver_lines, ""]
    block = "\n".join(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if MARK_START in text and MARK_END in text:
        # Keep the page's prose; replace only the measured block.
        before, rest = text.split(MARK_START, 1)
        after = rest.split(MARK_END, 1)[1]
        text = f"{before}{MARK_START}\n{block}\n{MARK_END}{after}"
    else:
        text = f"# Performance\n\n{MARK_START}\n{block}\n{MARK_END}\n"
    path.write_text(text, encoding="utf-8")


MARK_START = "<!-- benchmark:start (written by python -m model.bench) -->"
MARK_END = "<!-- benchmark:end -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="xs,s,m", help=f"comma-separated, from {', '.join(SIZES)}")
    parser.add_argument(
        "--years",
        default="1",
        help="comma-separated numbers of model years per size, e.g. 1,5,11 (default: %(default)s)",
    )
    parser.add_argument(
        "--divisible",
        action="store_true",
        help="every project divisible, so cases over years are LPs (default: every other one all-or-nothing, a MIP)",
    )
    parser.add_argument("--solver", default="auto", choices=["auto", "ipm", "simplex"])
    parser.add_argument("--solvers", action="store_true", help="also compare HiGHS methods on the largest size")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("docs/performance.md"),
        help="page to write; its measured block is replaced, the prose around it kept (default: %(default)s)",
    )
    parser.add_argument("--worker", choices=["highs", "pyomo"], help=argparse.SUPPRESS)
    parser.add_argument("--workbook", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.worker:
        print(json.dumps(worker(arguments.worker, arguments.workbook, arguments.solver)))
        return 0
    sizes = [s.strip() for s in arguments.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    try:
        years = tuple(int(y) for y in arguments.years.split(",") if y.strip())
    except ValueError:
        years = ()
    if unknown or not years or min(years) < 1:
        parser.error(f"--sizes from {', '.join(SIZES)}; --years whole numbers ≥ 1")
    load_before = load_average()
    print(HEADER, flush=True)
    rows = run_sizes(sizes, arguments.solver, years, arguments.divisible)
    for line in summary(rows):
        print(line, flush=True)
    solver_lines = compare_solvers(sizes[-1]) if arguments.solvers else []
    given = list(argv if argv is not None else sys.argv[1:])
    if "--output" in given:  # where the page went is not part of what was measured
        at = given.index("--output")
        del given[at : at + 2]
    given = [arg for arg in given if not arg.startswith("--output=")]
    command = " ".join(["python -m model.bench", *given])
    write_report(rows, solver_lines, arguments.output, arguments.solver, command, load_before)
    worst = max(row["objective_gap"] for row in rows)
    print(f"written {arguments.output}; largest objective gap {worst:.1e}")
    return 0 if all(row["objective_gap"] <= row["tolerance"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
