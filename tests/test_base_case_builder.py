"""inputs/base_case.xlsx is what inputs/build_base_case.py writes, checked by the model's own reader.

The builder is byte-reproducible (fixed zip timestamps and document
properties), so the committed workbook must equal a fresh build byte for
byte: a change to the data in one without the other fails here.  It reads
nothing beside the clone (its sources are cited by ID, not read), so these
tests run in a bare clone too.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILDER = ROOT / "inputs" / "build_base_case.py"
BASE_CASE = ROOT / "inputs" / "base_case.xlsx"


@pytest.fixture
def builder(monkeypatch):
    """inputs/build_base_case.py as a fresh module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("build_base_case", BUILDER)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_committed_base_case_is_what_the_builder_writes(builder, tmp_path):
    output = tmp_path / "base_case.xlsx"
    assert builder.main(["-o", str(output)]) == 0
    assert output.read_bytes() == BASE_CASE.read_bytes(), (
        "inputs/base_case.xlsx differs from what inputs/build_base_case.py writes: "
        "run `python inputs/build_base_case.py` and commit both"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["base_case.xlsx"]  # no temporary file left


def test_check_builds_and_validates_but_writes_nothing(builder, tmp_path, capsys):
    output = tmp_path / "base_case.xlsx"
    assert builder.main(["--check", "-o", str(output)]) == 0
    assert "0 problems" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("options", [[], ["--check"]], ids=["build", "check"])
def test_a_broken_table_is_refused_with_the_models_own_message(builder, tmp_path, monkeypatch, capsys, options):
    # A negative capacity on the first facility (Excel row 2 of 'facilities').
    # The message must be the model's reader's, which names sheet, row and
    # column: a second copy of the input rules in the builder would word it
    # otherwise (or miss the problem), and the output must stay untouched.
    build_facilities = builder.build_facilities

    def broken():
        facilities, pairs = build_facilities()
        facilities[0] = {**facilities[0], "capacity": builder.V(-5, "ESTIMATE", "broken on purpose")}
        return facilities, pairs

    monkeypatch.setattr(builder, "build_facilities", broken)
    output = tmp_path / "base_case.xlsx"
    output.write_bytes(b"previous workbook")
    assert builder.main([*options, "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert "problem: sheet 'facilities', row 2, column 'capacity': -5 — " in err, err
    assert output.read_bytes() == b"previous workbook"
    assert [p.name for p in tmp_path.iterdir()] == ["base_case.xlsx"]
