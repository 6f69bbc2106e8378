"""Benchmark of batches: ``python -m model.bench.scenarios [--count 200] [--lp] [--workers 2]``.

Runs the same N number-only variants of a case (default the base case) in
four ways, after a reference, and prints the times and their ratios, all
measured in one run:

0. the reference, the physical limit: the variants' cost LPs re-solved by HiGHS alone
   (:mod:`model.bench.highs_alone`: ``highspy`` and nothing else), warm
   and cold;
1. serially, building the model for every variant (sets, Pyomo model,
   standard form, hand-off: ``reuse=False``);
2. serially, building once and re-solving (:mod:`model.batch.reuse`: the
   model is built for the workbook itself, whose optimal basis starts each
   chunk, so that no variant is built);
3. on a local Dask cluster of ``--workers`` processes (re-solving), the
   cluster's start included;
4. the same on a cluster already running (started, and its workers'
   imports warmed by a 2-variant batch, before the clock starts): the
   rate a long batch or a standing cluster sustains.  The start is
   printed on its own.

Besides the wall-clock times it prints the processor time of this process
for the serial runs (``cpu``: less sensitive to other programs sharing the
machine), the mean time of a run measured inside it (on its worker: what
is left is the batch's own overhead), and the load average before and after.

Each variant scales every facility's operating costs by one factor, every
demand quantity by another, and the capacities of one stage's facilities
by a third (factors drawn from 0.8–1.2 with ``--seed``): costs, demand and
capacities, no structure.  ``--lp`` makes every project divisible (the base
case's whole plants are all-or-nothing, a MIP), so that the re-solves are
LPs, warm-started from the last basis.  ``--one-year`` keeps only the
first model year's rows (and makes projects divisible): the one-year
base case the issue's speed goals were set on, before the base case ran
over 2025–2035.  The objectives of the three runs
are compared (a MIP's within its gap).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import time
import warnings
from pathlib import Path

from model.batch.run import run_batch
from model.batch.variants import Variant
from model.bench.highs_alone import highs_alone
from model.scenarios import Change, apply_changes
from model.workbook.read import RawWorkbook, read_workbook


def variants(raw, count: int, seed: int) -> list[Variant]:
    """``count`` number-only variants (see the module docstring)."""
    draw = random.Random(seed)
    stages = sorted({r["stage"] for r in raw.records["processes"] if r.get("stage")})
    rows = []
    for number in range(count):
        stage = draw.choice(stages)
        facilities = sorted(
            {
                fp["facility"]
                for fp in raw.records["facility_processes"]
                for p in raw.records["processes"]
                if p["process"] == fp["process"] and p["stage"] == stage
            }
        )
        changes = [
            Change("facility_processes", "unit_cost", "scale", round(draw.uniform(0.8, 1.2), 4), None),
            Change("demand", "quantity", "scale", round(draw.uniform(0.8, 1.2), 4), None),
        ]
        factor = round(draw.uniform(0.8, 1.2), 4)
        changes += [Change("facilities", "capacity", "scale", factor, f"facility={name}") for name in facilities[:8]]
        rows.append(Variant(f"v{number:04d}", changes=tuple(changes)))
    return rows


def first_year_only(raw: RawWorkbook) -> RawWorkbook:
    """``raw`` with its first model year only (rows of later years dropped) and every project divisible."""
    years = sorted(r["year"] for r in raw.records.get("years", []) if r.get("year") is not None)
    if years:
        first = years[0]
        records = {
            sheet: [r for r in rows if not (isinstance(r.get("year"), int | float) and r["year"] > first)]
            for sheet, rows in raw.records.items()
        }
        raw = dataclasses.replace(raw, records=records)
    if raw.records.get("projects"):
        raw = apply_changes(raw, [Change("projects", "all_or_nothing", "set", "no", None)])
    return raw


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.bench.scenarios", description=__doc__.splitlines()[0])
    parser.add_argument("case", nargs="?", type=Path, default=Path("inputs/base_case.xlsx"))
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lp", action="store_true", help="every project divisible: the variants are LPs")
    parser.add_argument("--one-year", action="store_true", help="the case's first model year only, projects divisible")
    parser.add_argument("--skip-rebuild", action="store_true", help="time only the re-solving runs")
    arguments = parser.parse_args(argv)

    raw = read_workbook(arguments.case)
    if arguments.one_year:
        raw = first_year_only(raw)
    elif arguments.lp and raw.records.get("projects"):
        raw = apply_changes(raw, [Change("projects", "all_or_nothing", "set", "no", None)])
    batch = variants(raw, arguments.count, arguments.seed)
    shape = " (first model year only, projects divisible: LP)" if arguments.one_year else ""
    shape = shape or (" (projects divisible: LP)" if arguments.lp else "")
    print(f"{arguments.case}{shape}: {len(batch)} variants")
    print(f"  load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    alone = highs_alone(raw, batch)
    if alone.runs:
        print(
            f"  HiGHS alone, cost LP: warm {1000 * alone.warm_seconds:.2f} ms/run ({1 / alone.warm_seconds:.0f} runs/s "
            f"a core), cold {1000 * alone.cold_seconds:.2f} ms/run ({1 / alone.cold_seconds:.0f} runs/s a core); "
            f"objectives as the product's to {alone.objective_gap:.1e}"
        )
    timings: dict[str, float] = {}
    results = {}
    running = f"{arguments.workers} workers, running"
    modes = [
        ("serial, rebuild", 1, False),
        ("serial, reuse", 1, True),
        (f"{arguments.workers} workers, reuse", arguments.workers, True),
        (running, arguments.workers, True),
    ]
    for label, workers, reuse in modes:
        if arguments.skip_rebuild and not reuse:
            continue
        cluster = None
        if label == running:
            cluster, start = _running_cluster(raw, batch, workers)
            print(f"  cluster of {workers} started and warmed in {start:.2f} s")
        started, processor = time.perf_counter(), time.process_time()
        try:
            rows = run_batch(
                raw, batch, workers=workers, reuse=reuse, scheduler=cluster.scheduler_address if cluster else None
            )
        finally:
            if cluster is not None:
                cluster.close()
        timings[label] = time.perf_counter() - started
        cpu = "" if workers > 1 else f"  cpu {1000 * (time.process_time() - processor) / len(rows):6.1f} ms/run"
        results[label] = rows
        failed = [row for row in rows if not row.ok]
        # a failed row never reached a model; re-solving, each worker builds once for the workbook itself (the
        # reference basis, model/batch/reuse.py), so its variants are all re-solves
        built = sum(row.rebuilt for row in rows if row.ok)
        inside = 1000 * sum(row.seconds for row in rows) / len(rows)  # each run's own time, where it ran
        solver = 1000 * sum(row.solver_seconds for row in rows) / len(rows)
        print(
            f"  {label:<22} {timings[label]:8.2f} s  {len(rows) / timings[label]:7.2f} runs/s  "
            f"{1000 * timings[label] / len(rows):8.1f} ms/run{cpu}  (in the run {inside:.1f}, solver {solver:.1f})  "
            f"built for {built} variants  failed {len(failed)}"
        )
        for row in failed[:3]:
            print(f"    {row.name}: {row.message[:200]}")
    reference = results["serial, reuse"]
    for label, rows in results.items():
        worst = max(
            abs(a.objective - b.objective) / max(1.0, abs(b.objective))
            for a, b in zip(rows, reference, strict=True)
            if a.ok and b.ok
        )
        print(f"  largest relative objective difference, {label} vs serial reuse: {worst:.2e}")
    if "serial, rebuild" in timings:
        print(f"  reuse vs rebuild (serial, per run): {timings['serial, rebuild'] / timings['serial, reuse']:.2f}x")
    parallel = modes[2][0]
    print(f"  {parallel} vs serial reuse: {timings['serial, reuse'] / timings[parallel]:.2f}x (cluster start included)")
    print(f"  {running} vs serial reuse: {timings['serial, reuse'] / timings[running]:.2f}x")
    if alone.runs:
        serial = timings["serial, reuse"] / len(batch)
        print(
            f"  serial reuse vs HiGHS alone (cost LP, warm): {serial / alone.warm_seconds:.1f}x the time; "
            f"{running}: {len(batch) / timings[running]:.0f} runs/s against HiGHS alone's "
            f"{arguments.workers / alone.warm_seconds:.0f} on {arguments.workers} cores"
        )
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _running_cluster(raw, batch: list[Variant], workers: int):
    """A LocalCluster of ``workers`` one-thread processes, its workers' imports warmed; and the seconds it took."""
    from dask.distributed import LocalCluster

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        )
    run_batch(raw, batch[: 2 * workers], scheduler=cluster.scheduler_address, size=1)
    return cluster, time.perf_counter() - started


if __name__ == "__main__":
    main()
