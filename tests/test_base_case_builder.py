"""inputs/base_case.xlsx and inputs/examples/*.xlsx are what inputs/build_base_case.py writes from inputs/data/*.csv.

The builder is byte-reproducible (fixed zip timestamps and document
properties), so each committed workbook must equal a fresh build byte for
byte: a change to the data in one without the other fails here.  The
examples are the base case's tables plus the rows they are about, and
nothing else.  The builder checks each workbook with the model's own
reader, and checks the provenance of every number itself.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILDER = ROOT / "inputs" / "build_base_case.py"
BASE_CASE = ROOT / "inputs" / "base_case.xlsx"
EXAMPLES = ROOT / "inputs" / "examples"
DATA = ROOT / "inputs" / "data"
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


def test_docs_sources_is_the_references_sheet(builder):
    tables, _ = builder.build_tables()
    assert (ROOT / "docs" / "sources.md").read_text(encoding="utf-8") == builder.sources_markdown(tables), (
        "docs/sources.md is not what the builder writes from inputs/data/references.csv: run the builder"
    )
    # every source ID of the facts file is in the bibliography, with a link
    facts_ids = {f"S{i}" for i in range(1, 89)}
    rows = {r["source_id"]: r for r in tables["references"]}
    assert facts_ids <= set(rows)
    assert all(rows[i]["link"].startswith("http") and rows[i]["title"] and rows[i]["year"] for i in facts_ids)


def test_examples_are_the_base_case_plus_their_own_rows(builder):
    base, _ = builder.build_tables(builder.VARIANTS["base_case"])

    def added(variant: str) -> dict[str, list[dict]]:
        tables, _ = builder.build_tables(builder.VARIANTS[variant])
        assert set(tables) - {"exposure_caps"} == set(base)
        changed = {}
        for sheet, rows in tables.items():
            if sheet in ("settings", "years", "references"):
                continue
            before = base.get(sheet, [])
            assert rows[: len(before)] == before, f"{variant}: a base row of {sheet} changed"
            if rows[len(before) :]:
                changed[sheet] = rows[len(before) :]
        settings = {r["setting"]: r["value"] for r in tables["settings"]}
        assert settings.pop("case_name") == variant
        assert settings == {r["setting"]: r["value"] for r in base["settings"] if r["setting"] != "case_name"}
        return changed

    ban = added("dy_tb_ban_2027")
    assert list(ban) == ["lanes"]
    assert {(r["from"], r["to"], r["allowed"], r["year"]) for r in ban["lanes"]} == {
        ("CHN", "*", "no", 2027),
        ("CHN", "*", "yes", 2029),
    }
    assert {r["product"] for r in ban["lanes"]} == {"dy_oxide", "tb_oxide", "dy_metal", "tb_metal", "ndfeb_magnet"}
    tables, _ = builder.build_tables(builder.VARIANTS["dy_tb_ban_2027"])
    assert [r["year"] for r in tables["years"] if r.get("stock_release") == "yes"] == [2027, 2028]
    assert [r["year"] for r in base["years"]] == list(range(2025, 2036))
    assert all(r.get("stock_release") is None for r in base["years"])
    for variant, share in (("cap50_from_2028", 0.5), ("cap20_from_2028", 0.2)):
        caps = added(variant)
        assert list(caps) == ["exposure_caps"]
        keys = ("country", "product", "stage", "max_share", "year")
        assert [[r[k] for k in keys] for r in caps["exposure_caps"]] == [["*", "*", "any", share, 2028]]


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
    build_tables = builder.build_tables

    def broken(variant=builder.VARIANTS["base_case"]):
        tables, columns = build_tables(variant)
        tables["facilities"][0]["capacity"] = -5
        return tables, columns

    monkeypatch.setattr(builder, "build_tables", broken)
    output = tmp_path / "base_case.xlsx"
    output.write_bytes(b"previous workbook")
    assert builder.main([*options, "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert "problem: sheet 'facilities', row 2, column 'capacity': -5 — " in err, err
    assert output.read_bytes() == b"previous workbook"
    assert [p.name for p in tmp_path.iterdir()] == ["base_case.xlsx"]


def test_every_csv_becomes_a_sheet_in_schema_order(builder, tmp_path, monkeypatch):
    # Another branch may add scenarios.csv / changes.csv: the builder carries any CSV over as a sheet, known
    # sheets in the schema's order, unknown ones after them by name.
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    (data / "zz_extra.csv").write_text("key,value,source,note\na,1.5,ESTIMATE,an example row that says why\n")
    monkeypatch.setattr(builder, "DATA", data)
    monkeypatch.setattr(builder, "DERIVE", data / "derive")
    tables, columns = builder.build_tables()
    from model.workbook.schema import SHEETS

    known = [s for s in tables if s in SHEETS]
    assert known == [s for s in SHEETS if s in tables]
    assert list(tables)[-1] == "zz_extra" and tables["zz_extra"] == [
        {"key": "a", "value": 1.5, "source": "ESTIMATE", "note": "an example row that says why"}
    ]
    assert columns["zz_extra"] == ["key", "value", "source", "note"]


def _csv_rows():
    for path in sorted(DATA.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as file:
            for n, row in enumerate(csv.DictReader(file), start=2):
                yield path.relative_to(DATA), n, row


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


YEAR_LIKE = {"year", "earliest_year", "from_year", "lead_time"}


def test_every_number_in_the_data_has_a_source_and_every_estimate_says_why():
    unsourced, unexplained = [], []
    for path, n, row in _csv_rows():
        if path.name == "references.csv":
            continue
        numbers = [k for k, v in row.items() if k not in YEAR_LIKE and v and _is_number(v)]
        cited = [s.strip() for s in (row.get("source") or "").split(";") if s.strip()]
        if numbers and not cited:
            unsourced.append(f"{path} row {n}: {numbers}")
        if "ESTIMATE" in cited and len((row.get("note") or "").split()) < 4:
            unexplained.append(f"{path} row {n}: ESTIMATE with note {row.get('note')!r}")
    assert not unsourced, "numbers without a source:\n" + "\n".join(unsourced)
    assert not unexplained, "estimates that do not say why:\n" + "\n".join(unexplained)


def test_every_cited_id_is_in_the_references():
    with (DATA / "references.csv").open(newline="", encoding="utf-8") as file:
        known = {r["source_id"] for r in csv.DictReader(file)}
    missing = {
        (str(path), s.strip())
        for path, _, row in _csv_rows()
        for s in (row.get("source") or "").split(";")
        if s.strip() and s.strip() not in known and path.name != "references.csv"
    }
    assert not missing, sorted(missing)


def test_the_builder_refuses_an_estimate_without_a_reason(builder, monkeypatch, capsys, tmp_path):
    build_tables = builder.build_tables

    def unexplained(variant=builder.VARIANTS["base_case"]):
        tables, columns = build_tables(variant)
        tables["demand"][0].update(source="ESTIMATE", note="")
        tables["facilities"][1].update(source="")
        return tables, columns

    monkeypatch.setattr(builder, "build_tables", unexplained)
    assert builder.main(["--check", "-o", str(tmp_path / "x.xlsx")]) == 1
    err = capsys.readouterr().err
    assert "demand row 2: an ESTIMATE without a note saying why" in err
    assert "facilities row 3: numbers ['capacity'] without a source" in err
