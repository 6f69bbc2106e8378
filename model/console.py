"""What a run prints: progress while it works, a compact summary when it is done.

One :class:`RunConsole` per command: results and summaries on standard output,
warnings and the live progress display on standard error.  On a terminal the
tables have colours and a spinner with the elapsed time shows the step in
progress; when output goes to a pipe or a file (or NO_COLOR is set) the same
text comes out plain, without escape codes, one line per step.

Three levels: ``QUIET`` (warnings and errors only), ``NORMAL`` and ``VERBOSE``
(every year and row, each step's duration, the time per step).  Errors are not
printed here: the command line prints them plain and whole.

A batch runner uses :meth:`RunConsole.batch` (a bar over the runs of a batch)
and passes :meth:`RunConsole.step` as the ``progress`` callback of a single run.
This module reads plain tables (pandas) and imports nothing else of the package.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

QUIET, NORMAL, VERBOSE = 0, 1, 2
PIPE_WIDTH = 200  # columns of plain output: wide enough that no table row wraps in a log file
SHOWN_ROWS = 30  # demand rows in the normal summary (all in verbose; unmet rows always)
SHOWN_CAPS = 5  # binding caps in the normal summary
SHOWN_BOTTLENECKS = 5  # facilities in the normal summary
UNMET = 1e-6  # t/yr below which demand counts as met
SLOW_STEP = 1.0  # s: a finished step slower than this says how long it took


def money(value: float) -> str:
    """USD in words for the eye: 9.00 billion USD, 12.35 million USD, 650 USD."""
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value / 1e9:,.2f} billion USD"
    if magnitude >= 1e6:
        return f"{value / 1e6:,.2f} million USD"
    return f"{value:,.0f} USD"


class RunConsole:
    """Progress and summaries of one command (see the module's docstring)."""

    def __init__(self, verbosity: int = NORMAL, stdout: Any = None, stderr: Any = None) -> None:
        self.verbosity = verbosity
        # file=None: rich writes to sys.stdout / sys.stderr as they are at the time (pytest's capture too)
        self.out = Console(file=stdout, highlight=False, soft_wrap=False)
        self.err = Console(file=stderr, stderr=stderr is None, highlight=False)
        if not self.out.is_terminal:
            self.out.width = PIPE_WIDTH
        if not self.err.is_terminal:
            self.err.width = PIPE_WIDTH
        self._live: Progress | None = None
        self._task: Any = None
        self._step: tuple[str, float] | None = None

    # ------------------------------------------------------------------ plain lines

    @property
    def live(self) -> bool:
        """True when the spinner and bars can be drawn (standard error is a terminal and not quiet)."""
        return self.err.is_terminal and self.verbosity > QUIET

    def _emit(self, line: Text) -> None:
        """One line of standard output; while the spinner runs on the same terminal, through its console so
        that the line lands above the spinner (rich writes around its own stdout redirection)."""
        console = self.err if self._live is not None and self.out.is_terminal else self.out
        console.print(line, soft_wrap=True)

    def say(self, message: str = "", style: str | None = None) -> None:
        """A line of the run's own output (not in quiet mode); never wrapped, no markup."""
        if self.verbosity > QUIET:
            self._emit(Text(message, style=style or ""))

    def detail(self, message: str) -> None:
        """A line shown only with --verbose."""
        if self.verbosity >= VERBOSE:
            self._emit(Text(message, style="dim"))

    def warn(self, message: str) -> None:
        """``warning: message`` on standard error (also in quiet mode), yellow on a terminal, never wrapped."""
        self.err.print(Text("warning: ", style="bold yellow") + Text(message), soft_wrap=True)

    # ------------------------------------------------------------------ progress of one run

    def step(self, message: str) -> None:
        """A step starts (and the previous one ends): the ``progress`` callback of :func:`solve_data`.

        On a terminal a spinner shows the step and its elapsed time while it runs, and the step is listed
        when done (with its duration when it took over a second); in a pipe or file the step's line is
        printed as it starts, so a log shows where a run is.
        """
        self.end_step()
        self._step = (message, time.perf_counter())
        if self.verbosity == QUIET:
            return
        if not self.live:
            self.say(message)
            return
        if self._live is None:
            self._live = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.err,
                transient=True,
            )
            self._live.start()
        self._task = self._live.add_task(message, total=None)

    def end_step(self) -> None:
        """The current step is done: on a terminal it is listed (with its duration when slow)."""
        if self._step is None:
            return
        message, started = self._step
        seconds = time.perf_counter() - started
        self._step = None
        if self._live is not None and self._task is not None:
            self._live.remove_task(self._task)
            self._task = None
            took = f"  {seconds:.1f} s" if seconds >= SLOW_STEP or self.verbosity >= VERBOSE else ""
            self._emit(Text("✓ ", style="green") + Text(message.rstrip(" .…")) + Text(took, style="dim"))
        elif self.verbosity >= VERBOSE:
            self.detail(f"  done in {seconds:.1f} s")

    def close(self, failed: bool = False) -> None:
        """End the current step (not listed as done when ``failed``) and stop the live display; safe to call
        twice."""
        if failed:
            self._step = None
        self.end_step()
        if self._live is not None:
            self._live.stop()
            self._live = None

    @contextmanager
    def session(self) -> Iterator[RunConsole]:
        """The live display stops however the block ends, so that errors print on a clean line after it; a
        step cut short by an error or Ctrl-C is not listed as done."""
        finished = False
        try:
            yield self
            finished = True
        finally:
            self.close(failed=not finished)

    # ------------------------------------------------------------------ progress of a batch

    @contextmanager
    def batch(self, total: int, what: str = "runs") -> Iterator[Callable[..., None]]:
        """Progress over a batch of ``total`` runs; call the yielded ``done(label, seconds=None)`` per run.

        On a terminal: a bar with the count, elapsed and remaining time.  In a pipe: one line per run done,
        ``run 3/10 done: label (2.1 s)``.  Quiet: nothing.
        """
        self.end_step()
        count = 0
        started = time.perf_counter()
        bar: Progress | None = None
        task = None
        if self.live:
            bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.err,
                transient=False,
            )
            bar.start()
            task = bar.add_task(f"Solving {total} {what}", total=total)

        def done(label: str, seconds: float | None = None) -> None:
            nonlocal count
            count += 1
            took = f" ({seconds:.1f} s)" if seconds is not None else ""
            if bar is not None:
                bar.update(task, advance=1, description=f"{what}: {label} done")
            else:
                self.say(f"run {count}/{total} done: {label}{took}")

        try:
            yield done
        finally:
            if bar is not None:
                bar.update(task, description=f"{count} of {total} {what} done")
                bar.stop()
            self.detail(f"{count} of {total} {what} in {time.perf_counter() - started:.1f} s")

    # ------------------------------------------------------------------ the summary of a run

    def summary(self, outcome: Any, paths: Sequence[Path], seconds: float) -> None:
        """The compact summary after a run: status and cost, cost by stage, the demand rows, binding caps,
        bottleneck facilities and the files written.  ``outcome`` is a :class:`model.pipeline.RunOutcome`."""
        if self.verbosity == QUIET:
            return
        self.close()
        sheets: dict[str, pd.DataFrame] = outcome.report.sheets
        data = outcome.data
        years = list(data.years)
        self.say()
        status = outcome.status if outcome.optimal else f"{outcome.status} (NOT proven optimal)"
        self.out.print(Text("Status: ") + Text(status, style="bold green" if outcome.optimal else "bold red"))
        if data.has_years:
            self.out.print(
                Text("Total cost: ")
                + Text(money(outcome.objective), style="bold")
                + Text(f", present value of {years[0]}–{years[-1]}")
            )
        else:
            self.out.print(Text("Total cost: ") + Text(money(outcome.objective), style="bold") + Text(" per year"))
        self._print(cost_table(outcome.report.components, outcome.objective, data.has_years, self.verbosity))
        deliveries = sheets["deliveries"]
        caps = sheets["exposure_caps"]
        shown_years = years if self.verbosity >= VERBOSE or not data.has_years else sorted({years[0], years[-1]})
        table, hidden = demand_table(deliveries, caps, data.has_years, shown_years, self.verbosity)
        self._print(table)
        if hidden:
            self.say(f"  … {hidden} more rows in the deliveries sheet (all with --verbose)", style="dim")
        unmet = deliveries[deliveries["unmet"] > UNMET]
        for row in unmet.itertuples(index=False):
            when = f" in {row.year}" if data.has_years else ""
            self.say(
                f"{row.country} {row.product}{when}: UNMET {row.unmet:,.1f} t/yr of {row.quantity:,.1f} t/yr",
                style="bold red",
            )
        binding = binding_caps_table(caps, data.has_years, self.verbosity)
        if binding is not None:
            self._print(binding)
        bottlenecks = bottleneck_table(sheets["facilities"], data.has_years, self.verbosity)
        if bottlenecks is not None:
            self._print(bottlenecks)
        if self.verbosity >= VERBOSE and getattr(outcome, "timings", None):
            self._print(timing_table(outcome.timings))
        self.say()
        for label, path in zip(("Results:   ", "Chain page:"), paths, strict=False):
            self.out.print(Text(f"{label} ") + Text(str(path), style="cyan"), soft_wrap=True)
        for path in list(paths)[2:]:
            self.out.print(Text("Also:       ") + Text(str(path), style="cyan"), soft_wrap=True)
        self.say(f"Done in {seconds:.1f} s", style="dim")

    def _print(self, table: Table) -> None:
        self.out.print()
        caption, table.caption = table.caption, None  # printed as a plain line below, not centred
        _keep_numbers_whole(table)
        self.out.print(Text(table.heading, style="bold"))
        self.out.print(table)
        if caption:
            self.out.print(Text(str(caption), style="dim"), soft_wrap=True)


# ---------------------------------------------------------------------------------------------- tables


def _table(title: str, *columns: tuple[str, str]) -> Table:
    """A table without outer edges; its title is printed as a heading line above it (never wrapped)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    table.heading = title  # type: ignore[attr-defined]
    for name, justify in columns:
        # on a narrow terminal text wraps between words; numbers are never cut (see _keep_numbers_whole)
        table.add_column(name, justify=justify, header_style="bold", overflow="fold")
    return table


def _keep_numbers_whole(table: Table) -> None:
    """Each column at least as wide as its widest number (right-aligned columns) or word, so that a narrow
    terminal wraps text between words and never cuts a number or a name."""
    for column in table.columns:
        cells = [cell.plain if isinstance(cell, Text) else str(cell) for cell in column._cells]
        words = [word for text in [*cells, str(column.header)] for word in text.split()]
        if column.justify == "right":
            words += cells
        column.min_width = max((len(word) for word in words), default=0)


def cost_table(components: dict[str, float], objective: float, has_years: bool, verbosity: int = NORMAL) -> Table:
    """Cost by component (stage operating costs, transport, tariffs, …), USD and share of the objective."""
    unit = "USD, present value" if has_years else "USD/yr"
    table = _table(
        f"Cost by stage and component ({unit})", ("component", "left"), ("cost", "right"), ("share", "right")
    )
    for name, value in components.items():
        if abs(value) < 0.5 and verbosity < VERBOSE:
            continue
        label = name.removeprefix("cost_").replace("operating_", "operating ").replace("_", " ")
        signed = -value if name == "surplus_credit" else value
        signed = signed if abs(signed) >= 0.5 else 0.0  # no "-0"
        share = f"{signed / objective:.1%}" if abs(objective) > 1e-9 else ""
        table.add_row(label, f"{signed:,.0f}", share)
    table.add_row(Text("total (objective)", style="bold"), Text(f"{objective:,.0f}", style="bold"), "")
    return table


def _tightest(caps: pd.DataFrame) -> dict[tuple, Any]:
    """(country, product, year) -> the cap row with the least room left (max_share − achieved_share)."""
    out: dict[tuple, Any] = {}
    for row in caps.itertuples(index=False):
        key = (row.country, row.product, getattr(row, "year", None))
        room = row.max_share - row.achieved_share
        if key not in out or room < out[key].max_share - out[key].achieved_share:
            out[key] = row
    return out


def demand_table(
    deliveries: pd.DataFrame, caps: pd.DataFrame, has_years: bool, years: Sequence[int], verbosity: int = NORMAL
) -> tuple[Table, int]:
    """Per consumer and product: demand, delivered, unmet, exposure (any stage) against its tightest cap, marginal
    cost.  Returns the table and how many rows were left out (beyond SHOWN_ROWS, unmet rows always shown)."""
    title = "Demand (t/yr; exposed = share through a restricted facility at any stage)"
    if has_years:
        title = f"Demand in {' and '.join(map(str, years))}" + title[len("Demand") :]
        deliveries = deliveries[deliveries["year"].isin(years)]
    columns = [("consumer", "left"), ("product", "left")] + ([("year", "right")] if has_years else [])
    columns += [
        ("demand", "right"),
        ("delivered", "right"),
        ("unmet", "right"),
        ("exposed", "right"),
        ("tightest cap", "left"),
        ("marginal USD/t", "right"),
    ]
    table = _table(title, *columns)
    tightest = _tightest(caps)
    hidden = 0
    for count, row in enumerate(deliveries.itertuples(index=False)):
        year = row.year if has_years else None
        short = row.unmet > UNMET
        if verbosity < VERBOSE and count >= SHOWN_ROWS and not short:
            hidden += 1
            continue
        cap = tightest.get((row.country, row.product, year)) or tightest.get((row.country, row.product, None))
        if cap is None:
            cap_text = Text("none", style="dim")
        elif cap.binding == "yes":
            cap_text = Text(f"≤ {cap.max_share:.0%} {cap.stage}, binding", style="yellow")
        else:
            cap_text = Text(f"≤ {cap.max_share:.0%} {cap.stage}")
        cells = [row.country, row.product] + ([str(row.year)] if has_years else [])
        cells += [
            f"{row.quantity:,.1f}",
            f"{row.delivered:,.1f}",
            Text(f"{row.unmet:,.1f}", style="bold red" if short else ""),
            Text(f"{row.exposure_any:.1%}", style="yellow" if cap is not None and cap.binding == "yes" else ""),
            cap_text,
            f"{row.marginal_cost:,.0f}",
        ]
        table.add_row(*cells)
    return table, hidden


def binding_caps_table(caps: pd.DataFrame, has_years: bool, verbosity: int = NORMAL) -> Table | None:
    """Binding caps with a price, costliest first: USD/yr saved per percentage point more allowed."""
    binding = caps[(caps["binding"] == "yes") & (caps["shadow_price_per_pp"] > 0)]
    if not len(binding):
        return None
    binding = binding.sort_values("shadow_price_per_pp", ascending=False)
    shown = binding if verbosity >= VERBOSE else binding.head(SHOWN_CAPS)
    more = len(binding) - len(shown)
    title = "Binding exposure caps (price of one percentage point more, USD/yr)"
    columns = [("consumer", "left"), ("product", "left"), ("stage", "left")]
    columns += [("year", "right")] if has_years else []
    columns += [("cap", "right"), ("USD/yr per point", "right")]
    table = _table(title, *columns)
    for row in shown.itertuples(index=False):
        cells = [row.country, row.product, row.stage] + ([str(row.year)] if has_years else [])
        table.add_row(*cells, f"{row.max_share:.0%}", Text(f"{row.shadow_price_per_pp:,.0f}", style="yellow"))
    if more:
        table.caption = f"… {more} more binding caps in the exposure_caps sheet"
    return table


def bottleneck_table(facilities: pd.DataFrame, has_years: bool, verbosity: int = NORMAL) -> Table | None:
    """Facilities whose capacity binds, by the value of one more unit of capacity (USD/yr per unit; with years
    the largest over the years and the number of years it binds)."""
    full = facilities[facilities["capacity_value"] > 1e-9]
    if not len(full):
        return None
    grouped = full.groupby("facility", sort=False).agg(
        country=("country", "first"),
        value=("capacity_value", "max"),
        years=("capacity_value", "size"),
        utilisation=("utilisation", "mean"),
    )
    grouped = grouped.sort_values("value", ascending=False)
    limit = 20 if verbosity >= VERBOSE else SHOWN_BOTTLENECKS
    columns = [("facility", "left"), ("country", "left"), ("USD/yr per unit", "right")]
    columns += [("years binding", "right")] if has_years else []
    table = _table("Bottleneck facilities (value of one more unit of capacity)", *columns)
    for name, row in grouped.head(limit).iterrows():
        cells = [str(name), str(row["country"]), Text(f"{row['value']:,.0f}", style="cyan")]
        cells += [str(int(row["years"]))] if has_years else []
        table.add_row(*cells)
    if len(grouped) > limit:
        table.caption = f"… {len(grouped) - limit} more in the facilities sheet (capacity_value)"
    return table


def timing_table(timings: dict[str, float]) -> Table:
    table = _table("Time per step (s)", ("step", "left"), ("seconds", "right"))
    for name, seconds in timings.items():
        table.add_row(name, f"{seconds:.2f}")
    return table
