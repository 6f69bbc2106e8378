"""Results are written whole or not at all, and never over something they must not replace."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from model.bench.synthetic import Size, synthetic_data, write_data_workbook
from model.cli import main
from tests.helpers import write_case
from tests.test_constraints import ore_case

ROOT = Path(__file__).resolve().parent.parent
SHEETS = ["summary", "deliveries", "exposure_caps", "facilities", "activity", "trade", "sourcing", "surplus"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_results_folder_is_created(tmp_path):
    source = write_case(tmp_path / "case.xlsx", ore_case())
    output = tmp_path / "new" / "deeper" / "out.xlsx"
    assert main([str(source), "-o", str(output)]) == 0
    assert set(SHEETS) <= set(openpyxl.load_workbook(output).sheetnames)


def test_read_only_results_are_kept_and_new_results_written_beside(tmp_path, capsys):
    source = write_case(tmp_path / "case.xlsx", ore_case())
    output = tmp_path / "out.xlsx"
    output.write_bytes(b"previous results")
    output.chmod(stat.S_IRUSR | stat.S_IRGRP)
    assert main([str(source), "-o", str(output)]) == 0
    assert output.read_bytes() == b"previous results"
    written = [p for p in tmp_path.glob("out-*.xlsx")]
    assert len(written) == 1
    assert "read-only" in capsys.readouterr().err
    assert openpyxl.load_workbook(written[0])["summary"]["A1"].value == "item"


def test_failed_write_keeps_previous_results_and_leaves_no_temporary_file(tmp_path, monkeypatch, capsys):
    source = write_case(tmp_path / "case.xlsx", ore_case())
    output = tmp_path / "out.xlsx"
    output.write_bytes(b"previous results")

    def disk_full(self):
        Path(self.filename).write_bytes(b"half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsxwriter.Workbook, "close", disk_full)
    assert main([str(source), "-o", str(output)]) == 1
    assert output.read_bytes() == b"previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.xlsx", "out.xlsx"]
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err


def _kill_run(source: Path, output: Path, when: str, delay: float = 0.0) -> float:
    """Start run.py on ``source``, SIGKILL it at ``when``; return the seconds it spent writing.

    ``when`` is synchronised on the run's own progress lines (flushed as
    they are printed) or on the results folder, not on the clock, so a
    loaded machine moves nothing: ``solving`` = as it starts solving (before
    any write); ``first-change`` = as soon as anything in the results folder
    changes (a temporary file appears, or the results file itself is
    touched: the moment a writer without a temporary file would leave half a
    workbook); ``writing`` = ``delay`` seconds after it announces the write;
    ``done`` = once it has printed the status, i.e. after the results were
    renamed into place.  The writing time is measured only at ``done``.
    """
    folder = output.parent
    errors_path = folder.parent / "run.err"
    before = _folder_state(folder)
    writing_started = writing_seconds = None
    with open(errors_path, "w") as errors:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), str(source), "-o", str(output)],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            if when == "first-change":  # the run prints a few lines only: the pipe cannot fill meanwhile
                while process.poll() is None and _folder_state(folder) == before:
                    time.sleep(0.001)
            else:
                for line in process.stdout:
                    if when == "solving" and line.startswith("Solving"):
                        break
                    if line.startswith("Writing"):
                        writing_started = time.perf_counter()
                        if when == "writing":
                            time.sleep(delay)
                            break
                    if line.startswith(("Drawing the chain page", "Status:")):
                        writing_seconds = time.perf_counter() - writing_started
                        break
                else:
                    pytest.fail(f"run.py ended before '{when}' (exit {process.wait()}): {errors_path.read_text()}")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stdout.close()
    errors_path.unlink()
    return writing_seconds or 0.0


def _folder_state(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Name -> (inode, size, modification time) of every file in ``folder``."""
    state = {}
    for path in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):  # a temporary file renamed meanwhile
            info = path.stat()
            state[path.name] = (info.st_ino, info.st_size, info.st_mtime_ns)
    return state


def test_killed_run_never_leaves_a_half_written_results_file(tmp_path):
    # The results file is either whole or not there: a run killed at any
    # moment leaves it absent (first run), the previous results byte for
    # byte, or a complete new workbook, and nothing else that looks like
    # results.  Kills before the write must leave it absent or as it was,
    # kills after the rename a complete new one; kills during the write may
    # give either of the last two.
    data = synthetic_data(
        Size(countries=30, stages=4, products_per_stage=8, facilities_per_stage=30, demand_countries=4)
    )
    source = write_data_workbook(data, tmp_path / "big.xlsx")
    folder = tmp_path / "results"
    folder.mkdir()
    output = folder / "out.xlsx"
    previous: str | None = None

    def outcome() -> str:
        nonlocal previous
        leftovers = [p.name for p in folder.iterdir() if p not in (output, output.with_suffix(".html"))]
        # SIGKILL leaves no chance to clean up: a kill mid-write may leave
        # the hidden temporary file, never anything a user takes for results.
        assert all(name.startswith(f".{output.stem}-") and name.endswith(".tmp") for name in leftovers), leftovers
        for name in leftovers:
            (folder / name).unlink()
        if not output.exists():
            assert previous is None, "the previous results were removed"
            return "absent" + "+temporary" * bool(leftovers)
        if digest(output) == previous:
            return "previous" + "+temporary" * bool(leftovers)
        try:
            sheets = openpyxl.load_workbook(output, read_only=True).sheetnames
        except Exception as error:  # any failure to open is the half-written file this test is about
            pytest.fail(f"results file is neither the previous one nor a workbook: {error!r}")
        assert set(SHEETS) <= set(sheets), f"results file lacks sheets: {sorted(set(SHEETS) - set(sheets))}"
        previous = digest(output)
        return "complete" + "+temporary" * bool(leftovers)

    outcomes = []
    _kill_run(source, output, "solving")
    outcomes.append(outcome())
    writing = _kill_run(source, output, "done")
    outcomes.append(outcome())
    _kill_run(source, output, "solving")
    outcomes.append(outcome())
    assert outcomes == ["absent", "complete", "previous"]  # no temporary file either
    for _ in range(3):  # retried only if the machine was too busy to catch the write
        _kill_run(source, output, "first-change")
        outcomes.append(outcome())
        if outcomes[-1].endswith("+temporary"):
            break
    for fraction in (0.3, 0.6):
        _kill_run(source, output, "writing", fraction * writing)
        outcomes.append(outcome())
    # The kill on the first change follows the write's first step, so one
    # kill at least must have landed while the temporary file existed;
    # otherwise this test did not test the write.
    assert any(o.endswith("+temporary") for o in outcomes[3:]), outcomes


@pytest.mark.parametrize("name", ["out.txt", "out.xls"])
def test_results_must_be_xlsx(tmp_path, name, capsys):
    source = write_case(tmp_path / "case.xlsx", ore_case())
    assert main([str(source), "-o", str(tmp_path / name)]) == 2
    assert ".xlsx" in capsys.readouterr().err


def test_time_limit_without_a_solution_is_a_plain_failure(tmp_path, capsys):
    data = synthetic_data(Size(countries=40, stages=4, products_per_stage=10, facilities_per_stage=400))
    data.settings["solver_time_limit"] = 0.05
    source = write_data_workbook(data, tmp_path / "case.xlsx")
    output = tmp_path / "out.xlsx"
    assert main([str(source), "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert "time limit (0.05 s, setting solver_time_limit)" in err and "Traceback" not in err
    assert not output.exists()


def test_results_get_the_permissions_of_a_new_file(tmp_path):
    # mkstemp creates 0600 whatever the umask; a colleague must be able to read the results (umask 022 -> 0644).
    source = write_case(tmp_path / "case.xlsx", ore_case())
    output = tmp_path / "out.xlsx"
    previous = os.umask(0o022)
    try:
        assert main([str(source), "-o", str(output)]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(output.stat().st_mode) == 0o644
