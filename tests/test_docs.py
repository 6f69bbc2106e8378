"""The README's column reference is generated from the schema the code reads with."""

from pathlib import Path

from model.workbook.schema import markdown_tables

ROOT = Path(__file__).resolve().parent.parent


def test_readme_column_reference_matches_schema():
    assert markdown_tables() in (ROOT / "README.md").read_text(encoding="utf-8"), (
        "README's input tables differ from model/workbook/schema.py: "
        "paste the output of `python -m model.workbook.schema`"
    )


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = text.split("```")
    assert "run.py" in blocks[1] and "pip install" in blocks[1]
    assert "pytest" in blocks[3] and '".[test]"' in blocks[3]
