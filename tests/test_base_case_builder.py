"""inputs/base_case.xlsx and inputs/examples/*.xlsx are what inputs/build_base_case.py writes.

The builder is byte-reproducible (fixed zip timestamps and document
properties), so each committed workbook must equal a fresh build byte for
byte: a change to the data in one without the other fails here.  The
examples are the base case's tables plus the rows they are about, and
nothing else.  The builder checks each workbook with the model's own
reader.  It reads nothing beside the clone (its sources are cited by ID,
not read), so these tests run in a bare clone too.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILDER = ROOT / "inputs" / "build_base_case.py"
BASE_CASE = ROOT / "inputs" / "base_case.xlsx"
EXAMPLES = ROOT / "inputs" / "examples"
VARIANTS = ["base_case", "dy_tb_ban_2027", "cap50_from_2028", "cap20_from_2028"]


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


@pytest.mark.parametrize("variant", VARIANTS)
def test_committed_examples_are_what_the_builder_writes(builder, tmp_path, variant):
    committed = BASE_CASE if variant == "base_case" else EXAMPLES / f"{variant}.xlsx"
    assert builder.VARIANTS[variant].path == committed
    output = tmp_path / committed.name
    assert builder.main(["--variant", variant, "-o", str(output)]) == 0
    assert output.read_bytes() == committed.read_bytes(), (
        f"{committed.relative_to(ROOT)} differs from what inputs/build_base_case.py writes: "
        "run `python inputs/build_base_case.py` and commit the workbooks"
    )


def test_examples_are_the_base_case_plus_their_own_rows(builder):
    base, _ = builder.build_tables(builder.VARIANTS["base_case"])

    def added(variant: str) -> dict[str, list[list]]:
        tables, _ = builder.build_tables(builder.VARIANTS[variant])
        assert tables.keys() == base.keys()
        changed = {}
        for sheet, rows in tables.items():
            if sheet in ("settings", "years"):
                continue
            assert rows[: len(base[sheet])] == base[sheet], f"{variant}: a base row of {sheet} changed"
            if rows[len(base[sheet]) :]:
                changed[sheet] = rows[len(base[sheet]) :]
        settings = {r[0]: r[1] for r in tables["settings"]}
        assert settings.pop("case_name") == variant
        assert settings == {r[0]: r[1] for r in base["settings"] if r[0] != "case_name"}
        return changed

    columns = builder.SHEET_COLUMNS
    ban = added("dy_tb_ban_2027")
    assert list(ban) == ["lanes"]
    lanes = [dict(zip(columns["lanes"], row, strict=True)) for row in ban["lanes"]]
    assert {(r["from"], r["to"], r["allowed"], r["year"]) for r in lanes} == {
        ("CHN", "*", "no", 2027),
        ("CHN", "*", "yes", 2029),
    }
    assert {r["product"] for r in lanes} == {"dy_oxide", "tb_oxide", "dy_metal", "tb_metal", "ndfeb_magnet"}
    tables, _ = builder.build_tables(builder.VARIANTS["dy_tb_ban_2027"])
    released = [row[0] for row in tables["years"] if row[1] == "yes"]
    assert released == [2027, 2028]
    assert [row[:2] for row in base["years"]] == [[year, None] for year in range(2025, 2036)]
    for variant, share in (("cap50_from_2028", 0.5), ("cap20_from_2028", 0.2)):
        caps = added(variant)
        assert list(caps) == ["exposure_caps"]
        assert [row[:5] for row in caps["exposure_caps"]] == [["*", "*", "any", share, 2028]]


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
