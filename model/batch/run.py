"""Run many variants of one workbook: in this process for one worker, on a dask.distributed cluster otherwise.

``run_batch(raw, variants)`` cuts the variants into chunks of at most
:data:`CHUNK_SIZE` (fewer for small batches, so that there are at least
:data:`CHUNKS_AT_LEAST` tasks to share; the size depends on the number of
variants only, never on the workers) and runs each chunk with
:func:`run_chunk`:

* one worker (``workers=1``, or a single variant without a scheduler): the
  chunks run here, one after the other, with no Dask at all;
* otherwise a :class:`dask.distributed.LocalCluster` of worker processes
  with one thread each (HiGHS runs are never threads of one process), as
  many as the machine's cores unless ``workers`` says; or, with
  ``scheduler``, the cluster already running at that address (its workers
  must import this package: start them from the project's folder with
  the same environment).  The workbook's records travel once to every
  worker (``scatter``); each chunk is one task.

Each worker keeps one built model (:mod:`model.batch.reuse`) and re-solves
it for the variants that change only numbers; each chunk starts on a new
HiGHS instance with its first variant's numbers and the reference basis
(the workbook itself solved once by every worker, :mod:`model.batch.reuse`),
so a chunk's results are the same on any worker and the batch's results do
not depend on the number of workers.  A variant that fails (bad input, solver failure, a solution
failing the product's checks) is reported in its own row with its message;
the batch goes on.  A task that fails as a whole (a worker lost) fails its
chunk's rows with the reason.

With ``write_dir`` each variant's own results workbook is written there
(``<name>.xlsx``) by the whole pipeline (:func:`model.pipeline.solve_data`:
marginal costs, project values, explanations), so these runs build their
model each time.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from model.batch.reuse import ModelCache
from model.batch.variants import RunSummary, Variant, failed, problem_text, summarise, variant_data
from model.errors import InputError, SolverError, VerificationError
from model.pipeline import solve_data
from model.solver.backend import available_cores
from model.workbook.read import RawWorkbook
from model.workbook.write import write_results

if TYPE_CHECKING:
    from dask.distributed import Client

CHUNK_SIZE = 8  # variants per task at most
CHUNKS_AT_LEAST = 16  # smaller batches are cut finer so that every worker gets a share
Progress = Callable[[int, int, int], None]  # (runs done, runs failed, runs in all)

# The model each worker process holds, by batch: a new batch builds its own.
_CACHES: dict[str, ModelCache] = {}


def _cache(token: str, reuse: bool) -> ModelCache:
    if token not in _CACHES:
        _CACHES.clear()
        _CACHES[token] = ModelCache(reuse=reuse)
    return _CACHES[token]


def file_name(name: str) -> str:
    """A file name for a variant's results: letters, digits, '-', '_' and '.' kept, others '_'."""
    return (re.sub(r"[^\w.\-]+", "_", name).strip("._") or "run")[:100] + ".xlsx"


def run_variant(
    raw: RawWorkbook, variant: Variant, cache: ModelCache, restart: bool, write_dir: Path | None = None
) -> RunSummary:
    """One variant, start to finish; never raises for bad input, a solver failure or a failed check."""
    started = time.perf_counter()
    try:
        data = variant_data(raw, variant)
    except InputError as error:
        return failed(variant.name, "input error: " + problem_text(error), time.perf_counter() - started)
    try:
        if write_dir is not None:
            from model.pipeline import run_metadata

            outcome = solve_data(data, run_metadata(raw.path, data.case_name))
            target, _ = write_results(outcome.report.sheets, Path(write_dir) / file_name(variant.name))
            summary = summarise(variant.name, data, outcome.sets, outcome.solution, outcome.objective, outcome.status)
            summary.results_path = str(target)
        else:
            sets, solution, result, built, _ = cache.solve(data, restart=restart)
            summary = summarise(
                variant.name, data, sets, solution, result.objective, result.status, "; ".join(result.notes)
            )
            summary.rebuilt = built
            summary.solver_seconds = result.solve_seconds
    except (SolverError, VerificationError, OSError) as error:
        return failed(variant.name, f"{type(error).__name__}: {error}", time.perf_counter() - started)
    summary.seconds = time.perf_counter() - started
    return summary


def run_chunk(
    raw: RawWorkbook,
    variants: Sequence[Variant],
    token: str = "",
    reuse: bool = True,
    write_dir: str | None = None,
) -> list[RunSummary]:
    """A chunk of variants in order on this process's model (the task a worker runs)."""
    cache = _cache(token or uuid.uuid4().hex, reuse)
    directory = Path(write_dir) if write_dir is not None else None
    if reuse and directory is None and not cache.reference_tried:
        _set_reference(raw, cache)
    return [
        run_variant(raw, variant, cache, restart=index == 0, write_dir=directory)
        for index, variant in enumerate(variants)
    ]


def _set_reference(raw: RawWorkbook, cache: ModelCache) -> None:
    """The batch's workbook as it is, solved once on this worker: its basis starts every chunk (reuse.py).

    A workbook that is not valid as it is, or whose LP has no optimal basis,
    gives no reference: chunks then start from nothing, as each variant
    reports its own problems.
    """
    cache.reference_tried = True  # once per batch and worker, whatever comes of it
    try:
        cache.set_reference(variant_data(raw, Variant("reference")))
    except (InputError, SolverError):
        cache.reference = None


def chunk_size(total: int) -> int:
    """Variants per task: ``CHUNK_SIZE``, or fewer so that there are at least ``CHUNKS_AT_LEAST`` tasks.

    It depends on the number of variants only, never on the workers: a
    chunk's results depend on its variants (its first one starts afresh), so
    the batch's results do not depend on how many workers there are.
    """
    return max(1, min(CHUNK_SIZE, math.ceil(total / CHUNKS_AT_LEAST)))


def chunks(variants: Sequence[Variant], size: int | None = None) -> list[list[Variant]]:
    size = size or chunk_size(len(variants))
    return [list(variants[start : start + size]) for start in range(0, len(variants), size)]


def run_batch(
    raw: RawWorkbook,
    variants: Sequence[Variant],
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    write_dir: Path | None = None,
    reuse: bool = True,
    size: int | None = None,
) -> list[RunSummary]:
    """Every variant's summary, in the order given (see the module docstring); ``size``: variants per task."""
    parts = chunks(variants, size)
    token = uuid.uuid4().hex
    directory = None if write_dir is None else str(Path(write_dir).absolute())
    report = progress or (lambda done, failures, total: None)
    total = len(variants)
    report(0, 0, total)
    if scheduler is None and (workers == 1 or (workers is None and total <= 1)):
        results: list[RunSummary] = []
        for part in parts:
            results += run_chunk(raw, part, token, reuse, directory)
            report(len(results), sum(not r.ok for r in results), total)
        _CACHES.pop(token, None)
        return results
    return _run_on_dask(raw, parts, token, reuse, directory, workers, scheduler, report, total)


@contextlib.contextmanager
def dask_client(workers: int | None, scheduler: str | None, tasks: int) -> Iterator[Client]:
    """A dask.distributed client: on ``scheduler`` if given, else on a local cluster of worker processes with
    one thread each (``workers``, default one per core, never more than ``tasks``); closed on leaving."""
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler is None:
        count = max(1, min(workers or available_cores(), tasks))
        with warnings.catch_warnings():  # the scheduler's HTTP server moving off a busy port is no news to the user
            warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
            cluster = LocalCluster(
                n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
            )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_on_dask(raw, parts, token, reuse, directory, workers, scheduler, report: Progress, total) -> list[RunSummary]:
    from dask.distributed import as_completed

    with dask_client(workers, scheduler, len(parts)) as client:
        shared = client.scatter(raw, broadcast=True)
        futures = [client.submit(run_chunk, shared, part, token, reuse, directory, pure=False) for part in parts]
        index = {future.key: number for number, future in enumerate(futures)}
        done: dict[int, list[RunSummary]] = {}
        failures = 0
        for future in as_completed(futures):
            number = index[future.key]
            if future.status == "error":
                error = future.exception()
                reason = f"the worker failed ({type(error).__name__}: {error})"
                done[number] = [failed(variant.name, reason) for variant in parts[number]]
            else:
                done[number] = future.result()
            failures += sum(not r.ok for r in done[number])
            report(sum(len(rows) for rows in done.values()), failures, total)
        return [row for number in range(len(parts)) for row in done[number]]
