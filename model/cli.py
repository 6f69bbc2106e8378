"""Command line: arguments in, a short summary out, an exit status.

Exit status: 0 solved (also with unmet demand, with a warning), 2 bad input
or bad arguments, 1 the solver or the system failed, 130 interrupted
(Ctrl-C: one line, no traceback, nothing written).
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
import threading
import time
import traceback
from pathlib import Path

from model.console import NORMAL, QUIET, VERBOSE, RunConsole
from model.errors import InputError, Problem, SolverError, VerificationError
from model.workbook.read import WorkbookUnreadable

DEFAULT_INPUT = Path("inputs/base_case.xlsx")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C

DESCRIPTION = """\
Find the cheapest way to supply every demand row of the input workbook with
rare-earth products, while capping the share that depends on restricted
countries (China by default) at any stage. Writes a results workbook with
costs, deliveries and exposure shares, the cost of each point of exposure,
facility bottlenecks, trade flows and where each product came from.
"""

EPILOG = """\
examples:
  python run.py                                   solve inputs/base_case.xlsx
  python run.py --template my_case.xlsx           writes an input workbook to fill in
  python run.py my_case.xlsx                      writes results/my_case.xlsx
  python run.py my_case.xlsx --exposure-cap 0.2   at most 20% exposed, for every demand row
  python run.py my_case.xlsx -o out/result.xlsx
  python run.py my_case.xlsx --scenario dy_tb_ban writes results/my_case-dy_tb_ban.xlsx
  python run.py my_case.xlsx --all-scenarios      writes results/my_case-scenarios.xlsx (comparison)
                                                  and results/my_case-scenarios/<scenario>.xlsx
  python run.py my_case.xlsx --frontier           adds the cost-exposure frontier at caps 1, 0.9, ..., 0
  python run.py my_case.xlsx --samples 1000 --seed 7   Monte Carlo over the uncertainty sheet
  python run.py my_case.xlsx --stochastic         one plan for all scenarios with a probability

exit status: 0 solved, 2 bad input or arguments, 1 solver or system failure,
  130 interrupted (Ctrl-C; nothing is written)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit 2 with a plain message, as argparse does
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"error: {message}\n")


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number; give a share between 0 and 1, e.g. 0.2") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..1; give a share, e.g. 0.2 for 20%")
    return value


def _shares(text: str) -> tuple[float, ...]:
    from model.workbook.study_inputs import parse_shares

    shares = parse_shares(text)
    if shares is None:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of shares between 0 and 1, e.g. 1,0.5,0.2")
    return shares


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of draws, e.g. 1000") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: give at least 1 draw")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number ≥ 0, e.g. 42") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: the seed must be ≥ 0")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of workers, e.g. 2") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} workers: give at least 1")
    return value


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(
        prog="python run.py",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input", nargs="?", type=Path, default=DEFAULT_INPUT, help="input workbook (default: %(default)s)"
    )
    parser.add_argument("-o", "--output", type=Path, help="results workbook (default: results/<input name>.xlsx)")
    parser.add_argument(
        "--template",
        type=Path,
        metavar="PATH.xlsx",
        help="write an input workbook to fill in (instructions, every sheet with comments, dropdowns and a small "
        "example case) to PATH.xlsx and stop; nothing is solved",
    )
    parser.add_argument(
        "--exposure-cap",
        type=_share,
        metavar="SHARE",
        help="for this run, cap every demand row's exposure at any stage at SHARE (0..1); replaces "
        "default_exposure_cap and explicit 'any' caps; stage caps stay as written",
    )
    parser.add_argument(
        "--write-lp",
        type=Path,
        metavar="FILE",
        help="also write the model as handed to HiGHS (.lp or .mps) with readable row and column names, "
        "e.g. capacity_constraint(Lynas_Kalgoorlie,2025)",
    )
    parser.add_argument(
        "--frontier",
        nargs="?",
        const="1,0.9,0.8,0.7,0.6,0.5,0.4,0.3,0.2,0.1,0",
        type=_shares,
        metavar="SHARES",
        help="also solve the case at each exposure cap in SHARES (comma-separated, default 1,0.9,...,0) as "
        "--exposure-cap would, and add the frontier sheet and chart",
    )
    parser.add_argument(
        "--samples",
        type=_count,
        metavar="N",
        help="also solve N Monte Carlo draws of the factors in the uncertainty sheet; adds samples and percentiles",
    )
    parser.add_argument(
        "--seed", type=_seed, default=0, metavar="S", help="random seed of --samples (default %(default)s)"
    )
    parser.add_argument(
        "--stochastic",
        action="store_true",
        help="solve the two-stage choice over the scenarios with a probability: one shared plan (projects, "
        "expansions, decisions before branch_year), probability-weighted cost",
    )
    scenarios = parser.add_mutually_exclusive_group()
    scenarios.add_argument(
        "--scenario",
        metavar="NAME",
        help="solve scenario NAME of the scenarios sheet (its based_on chain, overlay sheets and changes applied); "
        "default output results/<input name>-<NAME>.xlsx",
    )
    scenarios.add_argument(
        "--all-scenarios",
        action="store_true",
        help="solve the base and every scenario as a batch; writes a comparison workbook (default "
        "results/<input name>-scenarios.xlsx) and each run's results in a folder of the same name beside it",
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="batch runs on N local worker processes (default: one per core; 1 runs in this process without Dask)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="send the batch to the dask.distributed scheduler at ADDRESS (e.g. tcp://10.0.0.5:8786) instead of "
        "starting local workers",
    )
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on failure")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "-q", "--quiet", action="store_true", help="print only warnings and errors (the exit status tells the rest)"
    )
    loudness.add_argument(
        "-v", "--verbose", action="store_true", help="print every year and row, and how long each step took"
    )
    return parser.parse_args(argv)


_CONSOLE = RunConsole()  # what this command prints (model.console); main() sets its verbosity


def _say(message: str = "") -> None:
    _CONSOLE.say(message)


def _warn(message: str) -> None:
    _CONSOLE.warn(message)


def _step(message: str) -> None:
    """A step that may take time starts: a spinner on a terminal, its line in a log."""
    _CONSOLE.step(message)


def _money(value: float) -> str:
    from model.console import money

    return money(value)


def check_paths(source: Path, output: Path) -> str | None:
    """A plain-words problem with the paths, or None; checked before anything is read or solved."""
    if not source.exists():
        return f"the input workbook '{source}' does not exist"
    if source.is_dir():
        return f"'{source}' is a folder; give the path of an .xlsx workbook"
    if not stat.S_ISREG(source.stat().st_mode):  # reading a pipe, device or socket could wait forever
        return f"'{source}' is not a regular file (a pipe, device or socket); give the path of an .xlsx workbook"
    if source.suffix.lower() == ".xls":
        return f"'{source}' is an old-style .xls file; open it in Excel and save it as .xlsx"
    if not os.access(source, os.R_OK):
        return f"the input workbook '{source}' cannot be read (permission denied)"
    if output.exists() and output.resolve() == source.resolve():
        return "the results workbook would overwrite the input workbook; choose another output path (-o)"
    if output.is_dir():
        return f"the results path '{output}' is a folder; give a file name, e.g. -o {output / 'results.xlsx'}"
    if output.suffix.lower() != ".xlsx":
        return f"the results file '{output}' must end in .xlsx"
    if output.exists() and not stat.S_ISREG(output.stat().st_mode):
        return f"the results path '{output}' is not a regular file (a pipe, device or socket); choose another (-o)"
    return check_folder(output, "results workbook")


def check_folder(path: Path, what: str) -> str | None:
    """A problem with the folder ``path`` is to be written in (it may be created), or None."""
    folder = path.absolute().parent
    existing = folder
    while not existing.exists():  # the nearest folder that exists: the rest is created
        existing = existing.parent
    if not existing.is_dir():
        return f"the {what} '{path}' cannot be written: '{existing}' is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        action = "write in" if existing == folder else f"create '{folder}' in"
        return f"the {what} '{path}' cannot be written: no permission to {action} the folder '{existing}'"
    return None


def check_lp_path(path: Path | None) -> str | None:
    """A plain-words problem with the --write-lp path, or None."""
    if path is None:
        return None
    if path.suffix.lower() not in (".lp", ".mps"):
        return f"the LP file '{path}' must end in .lp or .mps"
    if path.is_dir():
        return f"the LP file '{path}' is a folder; give a file name ending in .lp or .mps"
    problem = check_folder(path, "LP file")
    if problem is None and not path.parent.is_dir():
        return f"the folder of the LP file '{path}' does not exist"
    return problem


def _on_interrupt(signum, frame) -> None:
    """SIGINT: stop a HiGHS run in progress at its next iteration, else raise KeyboardInterrupt here.

    HiGHS runs in C++, out of reach of KeyboardInterrupt; the solver module
    (consulted only if a solve has loaded it) stops it and raises
    KeyboardInterrupt when the run returns.
    """
    solver = sys.modules.get("model.solver.backend")
    if solver is None or not solver.interrupt_solve():
        raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = parse_arguments(argv)
    except SystemExit as stop:  # bad arguments (message printed) or --help: a status, not an exception
        return stop.code if isinstance(stop.code, int) else EXIT_BAD_INPUT
    global _CONSOLE
    _CONSOLE = RunConsole(QUIET if arguments.quiet else VERBOSE if arguments.verbose else NORMAL)
    source: Path = arguments.input
    if arguments.template is not None:
        return _write_template(arguments.template, arguments.debug)
    output: Path = arguments.output or Path("results") / f"{source.stem}.xlsx"
    if arguments.output is None and arguments.scenario:
        output = Path("results") / f"{source.stem}-{arguments.scenario}.xlsx"
    if arguments.output is None and arguments.all_scenarios:
        output = Path("results") / f"{source.stem}-scenarios.xlsx"
    problem = check_paths(source, output) or check_lp_path(arguments.write_lp) or _study_conflict(arguments)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    handled = threading.current_thread() is threading.main_thread()  # only there can a handler be set
    previous = signal.signal(signal.SIGINT, _on_interrupt) if handled else None
    written: list[Path] = []
    try:
        with _CONSOLE.session():  # the spinner stops before any error below is printed
            if arguments.stochastic:
                return _run_stochastic(source, output, arguments, written)
            if arguments.all_scenarios:
                return _run_all_scenarios(source, output, arguments, written)
            return _run(
                source, output, arguments.exposure_cap, arguments.write_lp, written, arguments.scenario,
                _studies(arguments),
            )
    except KeyboardInterrupt:
        if arguments.debug:
            traceback.print_exc()
        done = f"the results were written to '{written[0]}'" if written else "nothing written"
        print(f"interrupted; {done}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except WorkbookUnreadable as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InputError as error:
        count = len(error.problems)
        print(
            f"The input workbook '{source}' has {count} problem{'s' * (count != 1)}; nothing was solved or written:",
            file=sys.stderr,
        )
        for item in error.problems:
            print(f"  - {item}", file=sys.stderr)
        for message in error.warnings:
            _warn(message)
        return EXIT_BAD_INPUT
    except (SolverError, VerificationError) as error:
        print(f"error: {error}", file=sys.stderr)
        if arguments.debug:
            traceback.print_exc()
        return EXIT_FAILED
    except OSError as error:
        print(
            f"error: could not write the results to '{output}': {error.strerror or error}. "
            "If the file is open in Excel, close it and run again.",
            file=sys.stderr,
        )
        if arguments.debug:
            traceback.print_exc()
        return EXIT_FAILED
    except Exception as error:  # never a bare traceback for the user
        print(
            f"error: unexpected failure ({type(error).__name__}: {error}). Run again with --debug for details.",
            file=sys.stderr,
        )
        if arguments.debug:
            traceback.print_exc()
        return EXIT_FAILED
    finally:
        if handled:
            signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def _write_template(path: Path, debug: bool) -> int:
    """``--template PATH.xlsx``: write the input template; 0 written, 2 a bad path, 1 the system failed."""
    if path.is_dir():
        problem = f"'{path}' is a folder; give a file name, e.g. {path / 'my_case.xlsx'}"
    elif path.suffix.lower() != ".xlsx":
        problem = f"the template '{path}' must end in .xlsx"
    elif path.exists() or path.is_symlink():
        problem = (
            f"'{path}' already exists and the template never overwrites a workbook (it may hold your data); "
            "choose another name or delete the file first"
        )
    else:
        problem = check_folder(path, "template")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from model.workbook.template import fill_order, write_template

    try:
        write_template(path)
    except OSError as error:
        print(
            f"error: could not write the template to '{path}': {error.strerror or error}. "
            "If the file is open in Excel, close it and run again.",
            file=sys.stderr,
        )
        if debug:
            traceback.print_exc()
        return EXIT_FAILED
    _say(f"Wrote the input template {path}: open it, read its instructions sheet, then fill in the sheets")
    _say(f"in this order: {', '.join(fill_order())}. Then run: python run.py {path}")
    return EXIT_OK


def _run(
    source: Path,
    output: Path,
    exposure_cap: float | None,
    lp_path: Path | None = None,
    written: list[Path] | None = None,
    scenario: str | None = None,
    studies=None,
) -> int:
    from model.pipeline import load_data, load_scenario, run_metadata, solve_data
    from model.workbook.numerics import numeric_warnings
    from model.workbook.write import write_results

    started = time.perf_counter()
    _step(f"Reading {source} ...")
    data = load_scenario(source, scenario, exposure_cap) if scenario else load_data(source, exposure_cap)
    _CONSOLE.end_step()
    for message in data.warnings + numeric_warnings(data):
        _warn(message)
    if studies is not None and studies.samples is not None and not scenario and not data.uncertainty_factors:
        # --samples with nothing to draw: refused before anything is solved (a scenario's data is validated
        # without the uncertainty sheet, so --scenario X --samples is checked when the draws are made)
        needed = "at least one factor row for --samples (the sheet is missing or empty)"
        raise InputError([Problem("uncertainty", None, None, None, needed)])
    _say(
        f"Case '{data.case_name}': {len(data.countries)} countries, {len(data.facilities)} facilities, "
        f"{len(data.processes)} processes, {len(data.demands)} demand rows"
    )
    outcome = solve_data(data, run_metadata(source, data.case_name), progress=_step, lp_path=lp_path)
    _CONSOLE.end_step()
    shown = set(data.warnings) | set(numeric_warnings(data))
    for message in outcome.warnings:
        if message not in shown:
            _warn(message)
    if studies is not None:
        from model.studies.attach import add_studies

        for message in add_studies(outcome.report, source, data, studies, _say, outcome):
            _warn(message)
    _step(f"Writing {output} ...")
    writer_notes: list[str] = []
    written_to, note = write_results(outcome.report.sheets, output, writer_notes)
    _CONSOLE.end_step()
    for message in writer_notes:
        _warn(message)
    if written is not None:
        written.append(written_to)
    if note:
        _warn(f"{note}; the results were written to '{written_to}' instead")
    paths = [written_to, *_write_chain_page(outcome, written_to.with_suffix(".html"))]
    _print_summary(outcome, paths, time.perf_counter() - started)
    return EXIT_OK


def _write_chain_page(outcome, path: Path) -> list[Path]:
    """The chain page beside the workbook (model.results.chain_page); a failure to write it is a warning."""
    from model.results.chain_page import write_chain_page

    _step(f"Drawing the chain page {path} ...")
    try:
        write_chain_page(path, outcome.data, outcome.sets, outcome.solution, outcome.report.sheets, outcome.status)
    except OSError as error:
        _CONSOLE.end_step()
        _warn(f"the chain page could not be written to '{path}': {error.strerror or error}")
        return []
    _CONSOLE.end_step()
    return [path]


def _print_summary(outcome, paths: list[Path], seconds: float) -> None:
    """The compact summary (model.console.RunConsole.summary); the unmet rows' reasons as warnings."""
    _CONSOLE.summary(outcome, paths, seconds)
    deliveries = outcome.report.sheets["deliveries"]
    unmet = deliveries[deliveries["unmet"] > 1e-6]
    if len(unmet):
        reasons = list(outcome.report.sheets["explanations"]["reason"])
        why = "Why, in the explanations sheet:" if reasons else "No explanations were searched (setting explain_unmet)."
        for line in unmet_lines(unmet, outcome.data):
            _warn(line)
        _warn(f"  {why}" if reasons else why)
        for reason in reasons:
            _warn(f"  {reason}")


def unmet_lines(unmet, data) -> list[str]:
    """One plain line per consumer (country, product) with unmet demand: tonnes, and years where the case has years.

    A background row (demand column ``capped`` = no, e.g. China's own use) is called so: its shortfall is
    demand the case lets go at the buyers' price, not a failure to supply the capped consumers.
    """
    background = {(d.country, d.product) for d in data.demands if not d.capped}
    lines = []
    for (country, product), rows in unmet.groupby(["country", "product"], sort=False):
        total = float(rows["unmet"].sum())
        if data.has_years:
            years = sorted(int(y) for y in rows["year"])
            span = f"in {years[0]}" if len(years) == 1 else f"in {len(years)} years, {years[0]}–{years[-1]}"
            amount = f"{total:,.1f} t over the years ({span})"
        else:
            amount = f"{total:,.1f} t/yr"
        background_row = (country, product) in background
        kind = " (a background row, capped = no: let go at its unmet_penalty)" if background_row else ""
        lines.append(f"demand not fully met: {country} {product}{kind}: {amount}")
    return lines


def _study_conflict(arguments: argparse.Namespace) -> str | None:
    """Study options that cannot go together, in plain words, or None."""
    studies = [name for name, used in (("--frontier", arguments.frontier), ("--samples", arguments.samples)) if used]
    if arguments.stochastic:
        scenarios = (("--scenario", arguments.scenario), ("--all-scenarios", arguments.all_scenarios))
        others = studies + [name for name, used in scenarios if used]
        if others:
            return f"--stochastic solves every scenario with a probability at once; drop {', '.join(others)}"
    if arguments.all_scenarios and studies:
        return f"{' and '.join(studies)} add to one run's results; use them with --scenario NAME, not --all-scenarios"
    return None


def _studies(arguments: argparse.Namespace):
    """The studies asked for on the command line (the frontier setting is read with the workbook)."""
    from model.studies.attach import StudyOptions

    return StudyOptions(
        frontier=arguments.frontier,
        samples=arguments.samples,
        seed=arguments.seed,
        workers=arguments.workers,
        scheduler=arguments.scheduler,
        scenario=arguments.scenario,
    )


def _run_stochastic(source: Path, output: Path, arguments: argparse.Namespace, written: list[Path]) -> int:
    """--stochastic: the two-stage program over the scenarios with a probability (model.studies.stochastic)."""
    from model.studies.stochastic import print_stochastic, solve_stochastic_file
    from model.workbook.write import write_results

    started = time.perf_counter()
    _say(f"Reading {source} ...")
    outcome = solve_stochastic_file(source, progress=_say)
    for message in outcome.warnings:
        _warn(message)
    _say(f"Writing {output} ...")
    written_to, note = write_results(outcome.sheets, output)
    written.append(written_to)
    if note:
        _warn(f"{note}; the results were written to '{written_to}' instead")
    print_stochastic(outcome, _say)
    _say(f"Results: {written_to}   ({time.perf_counter() - started:.1f} s)")
    return EXIT_OK


def _run_all_scenarios(source: Path, output: Path, arguments: argparse.Namespace, written: list[Path]) -> int:
    """--all-scenarios: the batch, the comparison workbook, a line per scenario."""
    from model.batch.commands import run_all_scenarios

    started = time.perf_counter()
    _say(f"Reading {source} ...")
    path, rows = run_all_scenarios(
        source, output, arguments.exposure_cap, arguments.workers, arguments.scheduler, _say, _warn
    )
    written.append(path)
    _say("")
    for row in rows:
        if row.ok:
            change = "" if row is rows[0] or not rows[0].ok else f"  ({row.objective - rows[0].objective:+,.0f} USD)"
            unmet = f"   UNMET {row.unmet_total:,.1f} t" if row.unmet_total and row.unmet_total > 1e-6 else ""
            _say(f"  {row.name:<28} {_money(row.objective)}{change}{unmet}")
        else:
            _say(f"  {row.name:<28} FAILED (see the message column)")
    _say(f"Comparison: {path}   ({time.perf_counter() - started:.1f} s)")
    return EXIT_OK
