"""``--all-scenarios``: the base and every scenario as one batch, a comparison workbook and one workbook each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from model.batch.comparison import comparison_legend, comparison_table
from model.batch.run import run_batch
from model.batch.variants import RunSummary, Variant
from model.scenarios import BASE, all_scenarios
from model.workbook.read import read_workbook
from model.workbook.validate import validate
from model.workbook.write import write_results

Say = Callable[[str], None]


def scenario_folder(output: Path) -> Path:
    """The folder beside the comparison workbook holding each scenario's results: ``<output stem>/``."""
    return output.with_suffix("")


def progress_bar(total_hint: str = "runs"):
    """A rich progress bar on stderr (runs done, failures, time left) and the callback that moves it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("Solving"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(total_hint),
        TextColumn("{task.fields[failures]} failed"),
        TextColumn("time left"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = bar.add_task("runs", total=None, failures=0)

    def update(done: int, failures: int, total: int) -> None:
        bar.update(task, completed=done, total=total, failures=failures)

    return bar, update


def run_all_scenarios(
    source: Path,
    output: Path,
    exposure_cap: float | None,
    workers: int | None,
    scheduler: str | None,
    say: Say,
    warn: Say,
) -> tuple[Path, list[RunSummary]]:
    """Solve the base and every scenario; write the comparison to ``output`` and each run's workbook beside it.

    Raises InputError when the base workbook itself is invalid (nothing is
    run); a scenario that fails is a row with its message.
    """
    raw = read_workbook(source)
    validate(read_workbook(source), exposure_cap)  # the base must be valid: else exit 2 as a plain run
    names = all_scenarios(raw)
    variants = [Variant(BASE, exposure_cap=exposure_cap)]
    variants += [Variant(name, scenario=name, exposure_cap=exposure_cap) for name in names]
    folder = scenario_folder(output)
    where = f"on {workers} worker(s)" if workers else "on this machine's cores" if scheduler is None else scheduler
    say(f"Solving the base and {len(names)} scenario(s) {where}; each run's results go to {folder}/ ...")
    bar, update = progress_bar()
    with bar:
        rows = run_batch(raw, variants, workers=workers, scheduler=scheduler, progress=update, write_dir=folder)
    descriptions = {r["scenario"]: r.get("description") or "" for r in raw.records.get("scenarios", [])}
    table = comparison_table(rows, descriptions)
    money = "USD (present value)" if raw.records.get("years") else "USD/yr"
    notes: list[str] = []
    written, note = write_results({"comparison": table, "legend": comparison_legend(table, money)}, output, notes)
    for message in notes:
        warn(message)
    if note:
        warn(f"{note}; the comparison was written to '{written}' instead")
    for row in rows:
        if not row.ok:
            warn(f"scenario '{row.name}' failed: {row.message}")
    return written, rows
