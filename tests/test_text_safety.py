"""Names stay text: what users really type reaches the results workbook as they typed it.

A name that reads like a formula (``=1+1``, ``+SUM(A1)``, ``-2``, ``@x``), a
link (``https://…``, ``external:…``, ``mailto:…``, ``internal:…``) or is long
must appear in every results sheet as a text cell holding exactly that name:
never a formula, a hyperlink or a number, and no library warning reaches the
console.  Text longer than a cell holds (32,767 UTF-16 units) is cut with a
visible mark and a warning; numbers are written as numbers by their type
(numpy scalars too), NaN, None and ±inf as blanks.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from model.cli import main
from model.workbook.write import CHART_NAME_LIMIT, EXCEL_TEXT_LIMIT, chart_name, write_results, write_workbook
from tests.helpers import HEADERS

RESTRICTED = "=1+1"  # a country
CONSUMER = "https://example.com/x"  # a country
HOLDER = "internal:summary!A1"  # a country with a stockpile: its chart series name must stay text
ORE, OXIDE, MAGNET = "+SUM(A1)", "-2", "@x"
MINING, SEPARATION, MAGNETS = "=2+2", "mailto:stage@b", "external:stage"  # stages
MINE, SEPARATE, MAKE = "external:foo", "mailto:a@b", "p" * 300  # processes
CN_MINE, US_MINE, US_SEP, US_MAG = '=HYPERLINK("https://x","y")', "-5", "f" * 300, "http://plant"  # facilities
NOTE = "n" * 40_000  # longer than a cell holds

NAMES = {
    "country": [RESTRICTED, CONSUMER, HOLDER],
    "product": [ORE, OXIDE, MAGNET],
    "stage": [MINING, SEPARATION, MAGNETS],
    "process": [MINE, SEPARATE, MAKE],
    "facility": [CN_MINE, US_MINE, US_SEP, US_MAG],
}


def typed_case() -> dict[str, list[list]]:
    """A mine → separation → magnet chain whose every name is one of the above."""
    return {
        "settings": [["unmet_demand_penalty", 100_000], ["case_name", NOTE]],
        "countries": [[RESTRICTED, "yes"], [CONSUMER, "no"], [HOLDER, "no"]],
        "products": [[ORE, 10, 0], [OXIDE, 100, 0], [MAGNET, 1000, 0]],
        "processes": [
            [MINE, MINING, ORE, 1],
            [SEPARATE, SEPARATION, ORE, -2],
            [SEPARATE, SEPARATION, OXIDE, 1],
            [MAKE, MAGNETS, OXIDE, -1],
            [MAKE, MAGNETS, MAGNET, 1],
        ],
        "facilities": [
            [CN_MINE, RESTRICTED, 1000, None, 0, None, NOTE],
            [US_MINE, CONSUMER, 60, None, 0, None, "note"],
            [US_SEP, CONSUMER, 500, None, 0, None, None],
            [US_MAG, CONSUMER, 500, None, 0, None, None],
        ],
        "facility_processes": [[CN_MINE, MINE, 1], [US_MINE, MINE, 4], [US_SEP, SEPARATE, 2], [US_MAG, MAKE, 3]],
        "lanes": [[RESTRICTED, CONSUMER, "*", 5, 0.1, "yes", None], [CONSUMER, HOLDER, "*", 1, None, None, None]],
        "demand": [[CONSUMER, MAGNET, 50, None], [CONSUMER, OXIDE, 5, None]],
        "exposure_caps": [[CONSUMER, MAGNET, MINING, 0.5]],
        "stockpiles": [[HOLDER, MAGNET, 10, "no", None, 20, 1, None]],
    }


def write_text_case(path: Path, sheets: dict[str, list[list]]) -> Path:
    """Like tests.helpers.write_case, but every str is stored as text: openpyxl would store a str
    starting with '=' as a formula (with no cached value), which the reader would see as blank."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    headers = {**HEADERS, "facilities": [*HEADERS["facilities"], "note"]}
    for name, rows in sheets.items():
        ws = workbook.create_sheet(name)
        ws.append(headers[name])
        for row in rows:
            ws.append(list(row))
        for cells in ws.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    workbook.save(path)
    return path


def test_the_input_holds_the_names_as_text(tmp_path):
    """The test's own premise: the input workbook stores '=1+1' as text, not as a formula."""
    path = write_text_case(tmp_path / "typed.xlsx", typed_case())
    with zipfile.ZipFile(path) as archive:
        xml = b"".join(archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/"))
    assert b"<f>" not in xml
    assert b"<t>=1+1</t>" in xml
    countries = load_workbook(path)["countries"]
    assert countries["A2"].value == RESTRICTED and countries["A2"].data_type == "s"


def test_names_stay_text_in_every_results_sheet(tmp_path, capsys, recwarn):
    source = write_text_case(tmp_path / "typed.xlsx", typed_case())
    output = tmp_path / "results" / "typed.xlsx"
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # a warning the run raises is recorded, never hidden by a filter
        status = main([str(source), "-o", str(output)])
    captured = capsys.readouterr()
    assert status == 0, captured.err

    raw = [w for w in recwarn if "xlsxwriter" in w.filename or "openpyxl" in w.filename]
    assert raw == [], [str(w.message) for w in raw]
    for text in ("xlsxwriter", "openpyxl", "UserWarning", "Warning:", "Traceback"):
        assert text not in captured.err, captured.err

    book = load_workbook(output)
    found: dict[str, set[str]] = {}
    for ws in book.worksheets:
        assert not ws._hyperlinks, f"{ws.title} has links"
        for cells in ws.iter_rows():
            for cell in cells:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if cell.hyperlink is not None:  # only the summary's list of sheets links, each to its sheet
                    link = cell.hyperlink
                    where = f"{ws.title}!{cell.coordinate}"
                    assert ws.title == "summary" and cell.column_letter == "E", f"{where} is a link"
                    assert link.target is None and link.location == f"'{cell.value}'!A1", link
                    assert cell.value in book.sheetnames
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    found.setdefault(cell.value, set()).add(ws.title)
    sheets = {ws.title: ws for ws in book.worksheets}

    def where(name: str) -> set[str]:
        return found.get(name, set())

    # Every name, in the sheets that name it, exactly as typed.
    assert {"facilities", "trade", "sourcing"} <= where(RESTRICTED)
    assert {"deliveries", "exposure_caps", "facilities", "trade", "sourcing"} <= where(CONSUMER)
    assert "stockpiles" in where(HOLDER)
    assert "trade" in where(ORE)
    assert {"deliveries", "sourcing"} <= where(OXIDE)
    assert {"deliveries", "exposure_caps", "sourcing", "stockpiles"} <= where(MAGNET)
    for stage in (MINING, SEPARATION, MAGNETS):
        assert {"activity", "sourcing"} <= where(stage), stage
        assert "deliveries" in where(f"exposure_{stage}"), stage  # a column name
        assert "summary" in where(f"cost_operating_{stage}"), stage
    assert "exposure_caps" in where(MINING)
    for process in (MINE, SEPARATE, MAKE):
        assert "activity" in where(process), process
    for facility in (CN_MINE, US_MINE, US_SEP, US_MAG):
        assert {"facilities", "activity"} <= where(facility), facility

    # '-2' is a product, not a number: every product cell of the deliveries is text.
    deliveries = sheets["deliveries"]
    products = [row[1] for row in deliveries.iter_rows(min_row=2, max_row=deliveries.max_row, values_only=True)]
    assert OXIDE in products and all(isinstance(p, str) for p in products if p is not None)

    # The case name (a 40,000-character note) holds what a cell can: exactly, or cut with the mark.
    summary = {row[0]: row[1] for row in sheets["summary"].iter_rows(min_row=2, values_only=True)}
    case_name = summary["case_name"]
    assert len(case_name) <= EXCEL_TEXT_LIMIT
    assert case_name == NOTE[:EXCEL_TEXT_LIMIT] or (case_name.startswith("n" * 30_000) and "[cut:" in case_name)

    # The stockpile chart's series name stays text ('x!A1' would be read as a reference to a cell).
    with zipfile.ZipFile(output) as archive:
        charts = "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart"))
    assert f"<c:tx><c:v>{chart_name(HOLDER + ' ' + MAGNET)}</c:v></c:tx>" in charts
    assert "<c:f>internal:" not in charts

    # Column widths stay readable however long the names are.
    for ws in book.worksheets:
        for dimension in ws.column_dimensions.values():
            assert dimension.width is None or dimension.width <= 70, (ws.title, dimension.width)


ODD_TEXT = [
    "=1+1",
    "+SUM(A1)",
    "-2",
    "@x",
    "https://example.com/x",
    "external:foo",
    "mailto:a@b",
    "internal:Sheet1!A1",
    "ftp://files",
    " lead and trail ",
    "multi\nline",
    "12",
    "TRUE",
    "#N/A",
    "'quoted",
    "h" * 300,
    "u" * 2_000,  # over the 255 characters of a link
]


def test_the_writer_writes_values_by_their_type(tmp_path, recwarn):
    long_text, wide_text = "y" * 40_000, "😀" * 20_000  # 40,000 UTF-16 units both
    frame = pd.DataFrame(
        {
            "text": [*ODD_TEXT, long_text, wide_text, None, np.nan, "end"],
            "number": [1.5, np.float64(2.5), np.int64(3), 4, np.nan, float("inf"), -np.inf, None, pd.NA, 0.0]
            + [1.0] * 12,
            "flag": [True, np.bool_(False), None] + [True] * 19,
        }
    )
    path = tmp_path / "odd.xlsx"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        notes = write_workbook({"summary": pd.DataFrame(columns=["item", "value", "unit"]), "odd": frame}, path)
    assert not recwarn.list

    ws = load_workbook(path)["odd"]
    assert not ws._hyperlinks
    texts = [row[0] for row in ws.iter_rows(min_row=2)]
    for cell, expected in zip(texts, ODD_TEXT, strict=False):
        assert (cell.value, cell.data_type, cell.hyperlink) == (expected, "s", None)
    cut = [texts[len(ODD_TEXT)].value, texts[len(ODD_TEXT) + 1].value]
    for value, original in zip(cut, (long_text, wide_text), strict=True):
        assert len(value.encode("utf-16-le")) // 2 <= EXCEL_TEXT_LIMIT
        assert value.startswith(original[:10_000]) and value.endswith("characters in all; a cell holds 32,767]")
    assert texts[len(ODD_TEXT) + 2].value is None and texts[len(ODD_TEXT) + 3].value is None

    numbers = [row[1] for row in ws.iter_rows(min_row=2, max_row=11)]
    assert [c.value for c in numbers] == [1.5, 2.5, 3, 4, None, None, None, None, None, 0]
    assert all(c.data_type == "n" for c in numbers)
    flags = [row[2] for row in ws.iter_rows(min_row=2, max_row=4)]
    assert [(c.value, c.data_type) for c in flags] == [(True, "b"), (False, "b"), (None, "n")]

    assert len(notes) == 4, notes  # two cut texts, two infinite numbers
    assert any("odd!A19" in note and "40,000 characters" in note for note in notes)
    assert any("odd!A20" in note for note in notes)
    assert sum("infinite" in note for note in notes) == 2
    assert ws.column_dimensions["A"].width <= 70


def test_a_column_name_longer_than_a_cell_is_cut(tmp_path):
    stage = "s" * EXCEL_TEXT_LIMIT
    frame = pd.DataFrame({"country": ["A"], f"exposure_{stage}": [0.5]})
    notes = write_workbook(
        {"summary": pd.DataFrame(columns=["item", "value", "unit"]), "deliveries": frame}, tmp_path / "x.xlsx"
    )
    ws = load_workbook(tmp_path / "x.xlsx")["deliveries"]
    assert ws["B1"].value.startswith("exposure_sss") and "[cut:" in ws["B1"].value
    assert ws["B2"].value == 0.5
    assert len(notes) == 1 and "deliveries!B1" in notes[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CHN magnet", "CHN magnet"),
        ("=1+1 ore", "=1+1 ore"),
        ("x!A1 ore", "x!\u200bA1 ore"),  # would be read as a reference to cell A1 of sheet x
        ("=Sheet1!$B$2", "=Sheet1!\u200b$B$2"),
        ("n" * 300, "n" * (CHART_NAME_LIMIT - 1) + "…"),
    ],
)
def test_chart_series_names_stay_text(text, expected):
    assert chart_name(text) == expected


def test_cut_text_is_listed_in_the_warnings_sheet(tmp_path):
    frame = pd.DataFrame({"facility": ["z" * 40_000]})
    existing = pd.DataFrame({"sheet": ["lanes"], "row": [3], "message": ["an input warning"]})
    sheets = {"summary": pd.DataFrame(columns=["item", "value", "unit"]), "facilities": frame, "warnings": existing}
    notes = write_workbook(sheets, tmp_path / "x.xlsx")
    rows = list(load_workbook(tmp_path / "x.xlsx")["warnings"].iter_rows(min_row=2, values_only=True))
    assert rows[0] == ("lanes", 3, "an input warning")
    assert rows[1:] == [("(results)", None, notes[0])] and "facilities!A2" in notes[0]
    assert len(sheets["facilities"].iat[0, 0]) == 40_000, "the caller's frames are left as they are"
    collected: list[str] = []
    assert write_results(sheets, tmp_path / "y.xlsx", collected) == (tmp_path / "y.xlsx", None)
    assert collected == notes
