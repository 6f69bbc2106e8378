"""Results are written whole or not at all, and never over something they must not replace."""

from __future__ import annotations

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


def test_killed_run_never_leaves_a_half_written_results_file(tmp_path):
    # A case large enough that writing takes a noticeable time; the run is
    # killed at several moments.  Each time the results file is either the
    # previous one, byte for byte, or a complete workbook.
    data = synthetic_data(
        Size(countries=30, stages=4, products_per_stage=8, facilities_per_stage=120, demand_countries=4)
    )
    source = write_data_workbook(data, tmp_path / "big.xlsx")
    output = tmp_path / "out.xlsx"
    assert main([str(source), "-o", str(output)]) == 0
    previous = digest(output)
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    outcomes = set()
    for delay in (0.8, 1.6, 2.4, 3.2, 4.0):
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), str(source), "-o", str(output)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tmp_path,
            env=environment,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if digest(output) == previous:
            outcomes.add("previous")
        else:
            workbook = openpyxl.load_workbook(output, read_only=True)
            assert set(SHEETS) <= set(workbook.sheetnames)
            previous = digest(output)
            outcomes.add("complete")
    assert outcomes  # every kill ended in one of the two acceptable states


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
