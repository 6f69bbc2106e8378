"""What a run prints: the summary's figures, plain when piped, colours on a terminal, quiet and verbose,
progress for batches, errors plain and whole."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from model.cli import main
from model.console import QUIET, RunConsole
from tests.helpers import write_case
from tests.test_chain_page import short_case, two_route_case

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[")


def run(tmp_path: Path, capsys, case: dict, *flags: str, env: dict[str, str] | None = None, monkeypatch=None):
    source = write_case(tmp_path / "case.xlsx", case)
    output = tmp_path / "out" / "case.xlsx"
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    code = main([str(source), "-o", str(output), *flags])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, output


def line_with(text: str, *parts: str) -> str:
    """The one line of ``text`` that holds every part (in any order)."""
    lines = [line for line in text.splitlines() if all(part in line for part in parts)]
    assert len(lines) == 1, f"expected one line with {parts}, found {len(lines)} in:\n{text}"
    return lines[0]


@pytest.fixture(autouse=True)
def no_forced_colours(monkeypatch):
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


def test_piped_summary_is_plain_text_with_every_figure(tmp_path, capsys):
    # two_route_case (see its docstring): 3 180 USD/yr = mining 40·1 + 80·10 = 840, separation 40·1 + 80·20 = 1 640,
    # magnet 100·5 = 500, transport (40 + 80 + 80)·1 = 200.  Caps bind: magnets at 40 % (one more point, 1 t,
    # moves a tonne from the 37 route to the 8 one: 29 USD/yr), oxide at 0 % (one point = 0.2 t, 32 − 3 saved per t:
    # 5.8 USD/yr).  Marginal cost: magnet 0.4·8 + 0.6·37 = 25.4 USD/t, oxide 32 USD/t.
    code, out, err, output = run(tmp_path, capsys, two_route_case())
    assert code == 0, err
    assert not ANSI.search(out) and not ANSI.search(err), "escape codes in piped output"
    assert "Status: optimal" in out
    assert "Total cost: 3,180 USD per year" in out
    assert line_with(out, "operating mining", "840", "26.4%")
    assert line_with(out, "operating separation", "1,640")
    assert line_with(out, "operating magnet", "500")
    assert line_with(out, "transport", "200")
    assert line_with(out, "total (objective)", "3,180")
    magnet = line_with(out, "USA", "magnet", "100.0", "40.0%")
    assert "≤ 40% any, binding" in magnet and magnet.rstrip().endswith("25")
    oxide = line_with(out, "USA", "oxide", "20.0", "0.0%")
    assert "≤ 0% any, binding" in oxide and oxide.rstrip().endswith("32")
    assert line_with(out, "USA", "magnet", "any", "40%", "29")
    assert line_with(out, "USA", "oxide", "any", "0%", "6")
    assert "Bottleneck" not in out  # no capacity binds
    assert line_with(out, "Results:", str(output))
    assert line_with(out, "Chain page:", str(output.with_suffix(".html")))
    assert output.exists() and output.with_suffix(".html").exists()
    for step in ("Reading", "Building the model", "Solving with HiGHS", "Writing", "Drawing the chain page"):
        assert any(line.startswith(step) for line in out.splitlines()), f"no '{step}' line in a log"


def test_unmet_demand_and_bottlenecks_are_shown(tmp_path, capsys):
    code, out, err, _ = run(tmp_path, capsys, short_case())
    assert code == 0, err
    assert "Total cost: 102,810 USD per year" in out
    assert line_with(out, "USA magnet: UNMET 10.0 t/yr of 100.0 t/yr")
    assert line_with(out, "USA", "magnet", "100.0", "90.0", "10.0")
    bottleneck = line_with(out, "JPN separation", "JPN")
    assert bottleneck.split()[-1] == "9,963"
    assert "not fully met" in err and not ANSI.search(err)
    assert "not fully met: USA magnet: 10.0 t/yr" in err  # one year: a rate, per consumer


def test_unmet_over_years_is_summed_in_tonnes_over_the_years(tmp_path, capsys):
    """The base case leaves part of China's own magnet use unmet in every year: one line for that consumer (not
    one per year), its total a sum over the years (so t over the years, not t/yr), with the years counted, and
    called a background row (capped = no)."""
    code = main([str(ROOT / "inputs" / "base_case.xlsx"), "--quiet", "-o", str(tmp_path / "out.xlsx")])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if "not fully met" in line]
    assert len(lines) == 1, err
    assert re.search(
        r"CHN ndfeb_magnet \(a background row, capped = no.*\): [\d,.]+ t over the years \(in 11 years, 2025–2035\)",
        lines[0],
    ), err


def test_quiet_prints_nothing_but_still_writes(tmp_path, capsys):
    code, out, err, output = run(tmp_path, capsys, short_case(), "--quiet")
    assert code == 0
    assert out == ""
    assert "not fully met" in err  # warnings stay
    assert output.exists() and output.with_suffix(".html").exists()


def test_verbose_adds_durations_and_time_per_step(tmp_path, capsys):
    code, out, err, _ = run(tmp_path, capsys, two_route_case(), "--verbose")
    assert code == 0, err
    assert out.count("done in") >= 4
    assert "Time per step (s)" in out and line_with(out, "solve ")
    assert "surplus credit" in out  # zero components too


def test_quiet_and_verbose_exclude_each_other(capsys):
    assert main(["--quiet", "--verbose"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_terminal_gets_colours_and_errors_stay_plain(tmp_path, capsys, monkeypatch):
    # FORCE_COLOR makes rich treat the captured streams as a colour terminal: the summary is coloured (so the
    # plain checks above are not vacuous) while the list of input problems stays plain text, one per line.
    code, out, err, _ = run(tmp_path, capsys, two_route_case(), env={"FORCE_COLOR": "1"}, monkeypatch=monkeypatch)
    assert code == 0, err
    assert ANSI.search(out)
    assert "Status: " in out and "3,180 USD" in out
    bad = two_route_case()
    bad["facilities"][0][2] = -5
    bad["demand"][0][2] = "lots"
    (tmp_path / "bad").mkdir()
    code, out, err, output = run(tmp_path / "bad", capsys, bad, env={"FORCE_COLOR": "1"}, monkeypatch=monkeypatch)
    assert code == 2 and not output.exists()
    assert "✓ Reading" not in err  # the step that failed is not listed as done
    # the spinner gives the cursor back and erases its line, then the errors come, plain
    after_spinner = re.sub(r"^(?:\r|\x1b\[[0-9;]*[A-Za-z])*", "", err.rsplit("\x1b[?25h", 1)[-1])
    assert after_spinner.startswith("The input workbook") and not ANSI.search(after_spinner), err
    problems = [line for line in after_spinner.splitlines() if line.startswith("  - ")]
    assert len(problems) == 2, err
    assert any("facilities" in p and "-5" in p for p in problems) and any("lots" in p for p in problems)


def test_run_py_through_a_pipe_has_no_escape_codes(tmp_path):
    source = write_case(tmp_path / "case.xlsx", two_route_case())
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), str(source), "-o", str(tmp_path / "r.xlsx")],
        capture_output=True,
        text=True,
        env={**environment, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert not ANSI.search(done.stdout + done.stderr)
    assert "Total cost: 3,180 USD per year" in done.stdout and "Chain page:" in done.stdout


def test_batch_progress_in_a_log_quiet_and_on_a_terminal(capsys, monkeypatch):
    console = RunConsole()
    with console.batch(3, "scenarios") as done:
        for label in ("base", "ban", "tariff"):
            done(label, seconds=1.25)
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "run 1/3 done: base (1.2 s)",
        "run 2/3 done: ban (1.2 s)",
        "run 3/3 done: tariff (1.2 s)",
    ]
    with RunConsole(QUIET).batch(2) as done:
        done("a")
        done("b")
    assert capsys.readouterr() == ("", "")
    monkeypatch.setenv("FORCE_COLOR", "1")
    console = RunConsole()
    with console.batch(2, "draws") as done:
        done("first")
        done("second")
    err = capsys.readouterr().err
    assert "2 of 2 draws done" in err  # the bar's last state stays on the terminal


def test_step_progress_on_a_terminal_lists_each_step(capsys, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    console = RunConsole()
    with console.session():
        console.step("Reading x ...")
        console.step("Solving ...")
    captured = capsys.readouterr()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", captured.out + captured.err)
    assert "✓ Reading x" in text and "✓ Solving" in text


def test_long_lists_are_cut_with_one_note(capsys):
    # 7 binding facilities, 5 shown in the normal summary, the note "2 more" once; all 7 with --verbose.
    import pandas as pd

    from model.console import VERBOSE, bottleneck_table

    facilities = pd.DataFrame(
        {
            "facility": [f"plant {n}" for n in range(7)],
            "country": ["AUS"] * 7,
            "utilisation": [1.0] * 7,
            "capacity_value": [70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0],
        }
    )
    console = RunConsole()
    console._print(bottleneck_table(facilities, has_years=False))
    out = capsys.readouterr().out
    assert out.count("… 2 more in the facilities sheet") == 1
    assert "plant 4" in out and "plant 5" not in out
    assert line_with(out, "plant 0", "AUS").split()[-1] == "70"
    RunConsole(VERBOSE)._print(bottleneck_table(facilities, has_years=False, verbosity=VERBOSE))
    out = capsys.readouterr().out
    assert "plant 6" in out and "more in the facilities sheet" not in out


def test_a_narrow_terminal_wraps_text_and_never_cuts_a_number(solve, capsys, monkeypatch):
    # short_case on a 64-column colour terminal: the demand table is wider than that, so its text columns wrap;
    # every figure must still be printed whole (and nothing ends in rich's "…" cut mark).
    outcome = solve(short_case())
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "64")
    console = RunConsole()
    assert console.out.width == 64
    console.summary(outcome, [Path("out/case.xlsx"), Path("out/case.html")], 1.0)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capsys.readouterr().out)
    assert max(len(line) for line in text.splitlines()) <= 64
    assert "…" not in text
    for figure in ("100.0", "90.0", "10.0", "40.0%", "9,963", "102,810", "100,000", "97.3%"):
        assert figure in text, f"{figure} is missing or cut in:\n{text}"
