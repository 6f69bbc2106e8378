"""Whatever a user types into a valid workbook, the run ends in exit 0 with a verified answer or exit 2 naming
where the problem is — never exit 1, never a traceback.

Hypothesis edits one to three cells of a small but complete workbook (every Part 1 and Part 2 sheet) with the
things people really type: blanks, text in number cells, huge and tiny numbers, signs, percentages, names that
look like formulas or links, reserved words, other sheets' names, look-alike names, dates and booleans.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from model.cli import main

SHEETS: dict[str, list[list]] = {
    "settings": [["setting", "value"], ["unmet_demand_penalty", 1000], ["discount_rate", 0.05]],
    "countries": [["country", "restricted"], ["A", "no"], ["C", "yes"]],
    "products": [["product", "value", "surplus_price"], ["ore", 100, 0], ["oxide", 500, 0]],
    "processes": [
        ["process", "stage", "product", "coefficient"],
        ["mine", "mining", "ore", 1],
        ["separate", "separation", "ore", -1.2],
        ["separate", "separation", "oxide", 1],
    ],
    "facilities": [
        ["facility", "country", "capacity", "restricted", "expansion_max", "expansion_cost", "year"],
        ["mine A", "A", 50, None, 20, 15, None],
        ["mine C", "C", 200, None, 0, None, None],
        ["plant A", "A", 0, None, 0, None, None],
        ["plant C", "C", 200, None, 0, None, None],
    ],
    "facility_processes": [
        ["facility", "process", "unit_cost"],
        ["mine A", "mine", 20],
        ["mine C", "mine", 10],
        ["plant A", "separate", 40],
        ["plant C", "separate", 25],
    ],
    "lanes": [
        ["from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow", "year"],
        ["*", "*", "*", 2, None, None, None, None],
        ["C", "A", "oxide", None, 0.25, None, None, None],
        ["C", "A", "oxide", None, None, "no", None, 2027],
    ],
    "demand": [["country", "product", "quantity", "unmet_penalty", "growth"], ["A", "oxide", 60, None, 0.03]],
    "exposure_caps": [["country", "product", "stage", "max_share", "year"], ["A", "oxide", "any", 0.5, 2026]],
    "years": [["year", "stock_release"], [2025, "no"], [2026, "no"], [2027, "yes"]],
    "projects": [
        ["project", "facility", "capacity", "capex", "earliest_year", "lead_time", "life", "all_or_nothing", "funder"],
        ["plant A build", "plant A", 40, 5000, 2026, 1, 10, "yes", "DOE"],
    ],
    "budgets": [["funder", "budget", "year"], ["DOE", 10000, None]],
    "stockpiles": [
        ["country", "product", "initial", "initial_exposed", "min_days", "max", "holding_cost"],
        ["A", "oxide", 10, "yes", 30, 100, 1],
    ],
}

TYPED = st.one_of(
    st.sampled_from(
        [
            None,
            "",
            " ",
            "n/a",
            "-",
            "1,000",
            "12 t",
            "10%",
            "−5",
            "1e3",
            ".5",
            "+5",
            "yes",
            "No",
            "TRUE",
            "*",
            "any",
            "=1+1",
            "=SUM(A1:A3)",
            "https://example.com/x",
            "external:foo",
            "A",
            "C",
            "Ａ",
            "ore",
            "Ore",
            "oxide",
            "mining",
            "Mining",
            "mine A",
            "DOE",
            "x" * 300,
            "Montréal",
            2025,
            2030,
            1999,
            0,
            -1,
            0.5,
            1.5,
            32.1,
            100,
            1e9,
            1e10,
            1e11,
            1e20,
            1e300,
            -1e300,
            1e-300,
            True,
            False,
            dt.datetime(2025, 1, 1),
        ]
    ),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.integers(-10, 10_000),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12),  # what a cell can hold
)


@st.composite
def edits(draw):
    """One to three (sheet, row, column, value) edits; row 0 is the header, rows past the table add rows."""
    chosen = []
    for _ in range(draw(st.integers(1, 3))):
        sheet = draw(st.sampled_from(sorted(SHEETS)))
        rows = SHEETS[sheet]
        row = draw(st.integers(0, len(rows)))
        column = draw(st.integers(0, len(rows[0])))
        chosen.append((sheet, row, column, draw(TYPED)))
    return chosen


def write(path: Path, changes) -> Path:
    tables = {name: [list(row) for row in rows] for name, rows in SHEETS.items()}
    for sheet, row, column, value in changes:
        table = tables[sheet]
        while row >= len(table):
            table.append([None] * len(table[0]))
        while column >= len(table[row]):
            table[row].append(None)
        table[row][column] = value
    book = Workbook()
    book.remove(book.active)
    for name, rows in tables.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # typed text, not a formula
    book.save(path)
    return path


def test_the_unedited_workbook_solves(tmp_path):
    assert main([str(write(tmp_path / "case.xlsx", [])), "-o", str(tmp_path / "out.xlsx")]) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=edits())
def test_any_edit_ends_in_a_verified_answer_or_a_named_problem(tmp_path_factory, capsys, changes):
    folder = tmp_path_factory.mktemp("edit")
    source = write(folder / "case.xlsx", changes)
    output = folder / "out.xlsx"
    status = main([str(source), "-o", str(output)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unexpected failure" not in err, (changes, err)
    assert status in (0, 2), (changes, err)
    if status == 2:
        assert "sheet '" in err and not output.exists(), (changes, err)
    else:
        assert output.exists(), (changes, err)
