"""Reading what users really type: a corpus of workbooks laid out the way analysts lay them out.

Each case starts from the small valid case of ``test_bad_input`` (solved
cost 650 USD/yr), changes its layout with openpyxl the way a user would
(a stray value far away, a second ``demand `` sheet, a misspelt header, a
merged title, a table starting in C3, an empty or hidden sheet), and runs
the command line: exit 0 with the same cost and a warning naming what was
ignored, or exit 2 with a problem naming sheet, row and column; nothing
written on exit 2 and the input never modified (``run_good``/``run_bad``).

The stray-cell cases also pin the cost: calamine sizes a sheet by the
rectangle from A1 to its last value, so one value at XFD1048576 used to
abort the process with a native backtrace (a 512 GiB allocation) and one at
A1048576 cost half a gigabyte; such sheets are now read from their XML cell
by cell, which is checked to type every cell as calamine does.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import xlsxwriter
from openpyxl import load_workbook
from openpyxl.styles import Font
from python_calamine import CalamineWorkbook

from model.workbook import read
from model.workbook.read import read_workbook
from tests.test_bad_input import Book, Stored, assert_problem, problem_lines, run_bad, run_good, sha256

ROOT = Path(__file__).resolve().parent.parent
BASE_COST = "Total cost: 650 USD per year"


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    source_dir = tmp_path / "in"
    source_dir.mkdir()
    return source_dir / "case.xlsx", tmp_path / "out" / "result.xlsx"


Edit = Callable[[object], None]  # changes an openpyxl workbook in place


def write(path: Path, *edits: Edit, book: Book | None = None) -> Path:
    """The base case (or ``book``) written, then edited with openpyxl as a user would in Excel."""
    (book or Book()).write(path)
    if edits:
        workbook = load_workbook(path)
        for edit in edits:
            edit(workbook)
        workbook.save(path)
    return path


def put(sheet: str, reference: str, value: object) -> Edit:
    def edit(workbook) -> None:
        workbook[sheet][reference] = value

    return edit


def warnings(err: str) -> list[str]:
    return [line[len("warning: ") :] for line in err.splitlines() if line.startswith("warning: ")]


def assert_warning(err: str, expected: list[str]) -> None:
    found = warnings(err)
    assert any(all(part in line for part in expected) for line in found), (
        f"no warning contains all of {expected}; stderr was:\n{err}"
    )


# --------------------------------------------------------------------------
# 1. A stray cell far away: no crash, memory and time with the cells used.

STRAYS = ["XFD1", "A1048576", "XFD1048576"]


def stray_workbook(path: Path) -> Path:
    """Stray values at XFD1 (the header row's far end), A1048576 (a key column) and XFD1048576."""
    return write(path, *(put("facilities", reference, "x") for reference in STRAYS))


@pytest.mark.skipif(sys.platform != "linux", reason="address-space limit through resource.setrlimit")
def test_stray_cells_do_not_abort_the_process(paths):
    """In its own process under a 4 GiB address-space limit: exit 2 with located problems, no native abort."""
    source, output = paths
    stray_workbook(source)
    before = sha256(source)
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)); "
    command = limit + "import sys; from model.cli import main; sys.exit(main(sys.argv[1:]))"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", command, str(source), "-o", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 2, f"exit {done.returncode}; stderr:\n{done.stderr[-3000:]}"
    assert "memory allocation" not in done.stderr and "Traceback" not in done.stderr
    assert_problem(done.stderr, ["sheet 'facilities'", "row 1048576", "column 'country'", "a value is required"])
    assert not output.exists() and sha256(source) == before
    assert seconds < 60, f"{seconds:.1f} s"


def test_stray_cells_are_read_in_little_memory_and_time(paths):
    source, _ = paths
    stray_workbook(source)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        raw = read_workbook(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - started
    assert peak < 20 << 20, f"peak {peak / 2**20:.0f} MiB of Python memory"  # was ~500 MiB for A1048576 alone
    assert seconds < 10, f"{seconds:.1f} s"
    assert [record["_row"] for record in raw.records["facilities"]] == [2, 3, 4, 5, 1048576]
    assert any("XFD1 'x'" in w and "XFD1048576 'x'" in w and "outside the table" in w for w in raw.warnings)


@pytest.mark.parametrize("reference", ["XFD1048576", "XFD1", "Z1048576", "K7", "XFD3"])
def test_stray_value_outside_the_table_is_ignored_with_a_warning(capsys, paths, reference):
    source, output = paths
    write(source, put("facilities", reference, "x"))
    out, err = run_good(capsys, source, output)
    assert BASE_COST in out
    assert_warning(err, ["sheet 'facilities'", f"cell {reference} 'x'", "outside the table", "ignored"])


@pytest.mark.parametrize(("reference", "column"), [("A1048576", "country"), ("C1048576", "facility")])
def test_far_value_in_a_table_column_is_a_row(capsys, paths, reference, column):
    source, output = paths
    write(source, put("facilities", reference, "x"))
    err = run_bad(capsys, source, output)
    assert_problem(err, ["sheet 'facilities'", "row 1048576", f"column '{column}'", "a value is required"])


def test_far_cells_without_a_value_are_not_read(capsys, paths):
    """A formatted empty cell, a blank text and a lying <dimension> cost nothing; a far #N/A is named."""

    def styled(workbook) -> None:
        workbook["facilities"]["XFD1048576"].font = Font(bold=True)

    source, output = paths
    write(source, styled, put("demand", "XFD1048576", "   "), put("products", "XFD1048576", "#N/A"))
    out, err = run_good(capsys, source, output)
    assert BASE_COST in out
    assert_warning(err, ["sheet 'products'", "cell XFD1048576 #N/A", "outside the table"])
    assert "facilities" not in err and "demand" not in err


def test_stray_cells_in_several_sheets_and_unknown_sheets(capsys, paths):
    def scratch(workbook) -> None:
        workbook.create_sheet("scratch")["XFD1048576"] = "notes"

    source, output = paths
    write(source, scratch, put("demand", "XFD1048576", 1), put("countries", "AA100000", "y"))
    out, err = run_good(capsys, source, output)
    assert BASE_COST in out
    assert_warning(err, ["sheet 'demand'", "cell XFD1048576 1", "outside the table"])
    assert_warning(err, ["sheet 'countries'", "cell AA100000 'y'", "outside the table"])
    assert_warning(err, ["sheet 'scratch'", "not part of the input format"])


# The reading cell by cell from the XML types every cell as calamine does.


def every_kind_of_cell(path: Path, date1904: bool = False) -> Path:
    workbook = xlsxwriter.Workbook(path, {"date_1904": date1904})
    sheet = workbook.add_worksheet("cells")
    formats = [
        None,
        "yyyy-mm-dd",
        "dd/mm/yyyy hh:mm",
        "h:mm AM/PM",
        "[h]:mm:ss",
        "[mm]",
        14,
        22,
        46,
        "0.00%",
        '"d"0',
        "[Red]0.00",
        '#,##0 "days"',
        "\\d0",
        "General",
    ]
    numbers = [0, 0.25, 1, 59, 60, 61, 45000, 45000.5, 45000.123456789, -3, 1e-300, 2958465, 2958466.5]
    for column, number_format in enumerate(formats):
        style = workbook.add_format({"num_format": number_format}) if number_format is not None else None
        for row, number in enumerate(numbers):
            sheet.write_number(row, column, number, style)
    row = len(numbers) + 1
    bold = workbook.add_format({"bold": True})
    sheet.write_string(row, 0, "shared text")
    sheet.write_string(row, 1, "  padded  ")
    sheet.write_string(row, 2, "12")
    sheet.write_string(row, 3, "   ")
    sheet.write_rich_string(row, 4, "rich ", bold, "text")
    sheet.write_boolean(row, 5, True)
    sheet.write_boolean(row, 6, False)
    sheet.write_formula(row, 7, "=1+1", None, 2)
    sheet.write_formula(row, 8, '="a"&"b"', None, "ab")
    sheet.write_formula(row, 9, "=NA()", None, "#N/A")
    sheet.write_blank(row, 10, None, bold)
    sheet.write_string(row, 11, "ünïcödé <&> \"'")
    sheet.write_datetime(
        row, 12, dt.datetime(2025, 3, 1, 6, 30), workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    )
    sheet.write_number(row + 5, 20, 7)
    workbook.close()
    return path


def cells_both_ways(path: Path) -> list[tuple[str, read.Cells, read.Cells]]:
    workbook = CalamineWorkbook.from_path(str(path))
    scans = read._scan_sheets(path, set(workbook.sheet_names))
    book = read._book_xml(path)
    return [
        (
            name,
            read._dense_cells(workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)),
            read._xml_cells(path, scans[name].target, book),
        )
        for name in workbook.sheet_names
    ]


def shown(cells: read.Cells) -> dict[tuple[int, int], str]:
    return {(row, column): repr(value) for row, values in cells.items() for column, value in values.items()}


@pytest.mark.parametrize("date1904", [False, True])
def test_xml_reading_types_cells_as_calamine_does(tmp_path, date1904):
    for name, dense, sparse in cells_both_ways(every_kind_of_cell(tmp_path / "cells.xlsx", date1904)):
        assert shown(sparse) == shown(dense), name


def test_xml_reading_of_the_base_cases_equals_calamine(tmp_path):
    for path in (ROOT / "inputs" / "base_case.xlsx", Book().write(tmp_path / "case.xlsx")):
        for name, dense, sparse in cells_both_ways(path):
            assert shown(sparse) == shown(dense), (path.name, name)


def test_whole_workbook_read_from_xml_gives_the_same_records(tmp_path, monkeypatch):
    book = Book()
    book.set("facilities", 4, "capacity", Stored("<f>250*2</f><v>500</v>"))
    book.set("facilities", 2, "status", Stored("<v>#N/A</v>", cell_type="e"))
    book.set("facilities", 3, "capacity", Stored("<f>1/0</f><v>#DIV/0!</v>", cell_type="e"))
    book.set("demand", 2, "quantity", Stored("<f>SUM(A1:A2)</f>"))
    book.set("lanes", 2, "max_flow", dt.datetime(2025, 1, 1))
    path = book.write(tmp_path / "case.xlsx")
    by_calamine = read_workbook(path)
    monkeypatch.setattr(read._SheetScan, "sparse", property(lambda self: True))
    by_xml = read_workbook(path)
    assert by_xml.records == by_calamine.records
    assert by_xml.problems == by_calamine.problems and len(by_xml.problems) == 3
    assert by_xml.warnings == by_calamine.warnings


# --------------------------------------------------------------------------
# 2. The sheet read is the sheet meant.


def second_sheet(copy_of: str, name: str, hidden: bool = False) -> Edit:
    def edit(workbook) -> None:
        sheet = workbook.copy_worksheet(workbook[copy_of])
        sheet.title = name
        if hidden:
            sheet.sheet_state = "hidden"

    return edit


@pytest.mark.parametrize(
    ("original", "other"),
    [("demand", "demand "), ("demand", " Demand"), ("facilities", "Facilities "), ("lanes", "Lanes ")],
)
def test_two_sheets_matching_one_name_are_an_error_naming_both(capsys, paths, original, other):
    source, output = paths
    write(source, second_sheet(original, other))
    err = run_bad(capsys, source, output)
    assert_problem(err, [f"sheet '{original}'", f"'{original}' and '{other}'", "both match"])
    assert len(problem_lines(err)) == 1


def test_a_hidden_second_sheet_is_named_as_hidden(capsys, paths):
    source, output = paths
    write(source, second_sheet("demand", "Demand ", hidden=True))
    err = run_bad(capsys, source, output)
    assert_problem(err, ["sheet 'demand'", "'demand' and 'Demand ' (hidden)", "both match"])


# --------------------------------------------------------------------------
# 3. One mistake does not hide the others; misspelt headers get a hint.


@pytest.mark.parametrize(
    ("sheet", "column", "typed"),
    [
        ("facilities", "capacity", "capacity_t"),
        ("facilities", "capacity", "Capacity (t/yr)"),
        ("facilities", "country", "Country code"),
        ("facility_processes", "unit_cost", "unit cost"),
        ("facility_processes", "unit_cost", "unit-cost"),
        ("demand", "quantity", "quantaty"),
        ("countries", "restricted", "restriced"),
    ],
)
def test_misspelt_required_header_is_named_with_a_hint(capsys, paths, sheet, column, typed):
    source, output = paths
    book = Book()
    book.headers[sheet][book.headers[sheet].index(column)] = typed
    write(source, book=book)
    err = run_bad(capsys, source, output)
    assert_problem(err, [f"sheet '{sheet}'", "row 1", f"column '{column}'", "missing", f"did you mean '{column}'"])
    assert f"'{typed}'" in err


def test_misspelt_header_does_not_hide_the_other_problems(capsys, paths):
    source, output = paths
    book = Book()
    book.headers["facilities"][2] = "capacity_t"
    book.set("facilities", 3, "country", None)  # same sheet, another column
    book.set("facilities", 4, "expansion_cost", "five")  # same sheet, an optional column
    book.set("demand", 2, "quantity", "n/a")  # another sheet
    book.set("products", 3, "value", -1)  # another sheet
    book.headers["lanes"][0] = "form"  # a second misspelt header
    write(source, second_sheet("exposure_caps", "Exposure_Caps "), book=book)
    err = run_bad(capsys, source, output)
    assert_problem(err, ["sheet 'facilities'", "row 1", "column 'capacity'", "did you mean 'capacity'", "'capacity_t'"])
    assert_problem(err, ["sheet 'facilities'", "row 3", "column 'country'", "a value is required"])
    assert_problem(err, ["sheet 'facilities'", "row 4", "column 'expansion_cost'", "'five'"])
    assert_problem(err, ["sheet 'demand'", "row 2", "column 'quantity'", "'n/a'"])
    assert_problem(err, ["sheet 'products'", "row 3", "column 'value'"])
    assert_problem(err, ["sheet 'lanes'", "row 1", "column 'from'", "did you mean 'from'", "'form'"])
    assert_problem(err, ["sheet 'exposure_caps'", "'exposure_caps' and 'Exposure_Caps '"])
    assert len(problem_lines(err)) == 7


def test_misspelt_key_header_below_a_title_is_named_at_its_row(capsys, paths):
    # The header problem is at row 3, so validation goes on to the cross-sheet
    # checks (it stops early only on row-1 problems): whatever those add
    # (facility names are unknown without the key column), the run must end
    # in exit 2 naming the header, never in a failure.
    source, output = paths
    book = Book()
    book.headers["facilities"][0] = "facilty"
    write(source, title_above("facilities", "Facilities"), book=book)
    err = run_bad(capsys, source, output)
    assert_problem(err, ["sheet 'facilities'", "row 3", "column 'facility'", "did you mean 'facility'", "'facilty'"])


def test_misspelt_optional_header_is_a_warning_with_a_hint(capsys, paths):
    source, output = paths
    book = Book()
    book.headers["demand"][3] = "unmet_penalties"
    book.headers["lanes"][6] = "max flow"
    book.headers["facilities"][5] = " Expansion_Cost "  # spaces and case: the column itself
    book.headers["products"][1] = "units"
    for sheet, extra in (("products", "unit_price"), ("facilities", "capex_per_t"), ("facilities", "source")):
        book.headers[sheet].append(extra)  # extra columns beside the table: allowed, no hint
    write(source, book=book)
    out, err = run_good(capsys, source, output)
    assert BASE_COST in out
    assert_warning(err, ["sheet 'demand'", "'unmet_penalties'", "cell D1", "ignored", "did you mean 'unmet_penalty'"])
    assert_warning(err, ["sheet 'lanes'", "'max flow'", "did you mean 'max_flow'"])
    assert_warning(err, ["sheet 'products'", "'units'", "did you mean 'unit'"])
    assert len([w for w in warnings(err) if "did you mean" in w]) == 3


# --------------------------------------------------------------------------
# 4. Merged or decorated cells outside the table and in free-text columns.


def merge(sheet: str, cells: str) -> Edit:
    def edit(workbook) -> None:
        workbook[sheet].merge_cells(cells)

    return edit


def title_above(sheet: str, title: str, rows: int = 2, merged: str | None = "A1:G1") -> Edit:
    def edit(workbook) -> None:
        workbook[sheet].insert_rows(1, rows)
        workbook[sheet]["A1"] = title
        if merged:
            workbook[sheet].merge_cells(merged)

    return edit


def test_decorative_merges_are_not_the_users_problem(capsys, paths):
    source, output = paths
    write(
        source,
        title_above("facilities", "Facilities (t/yr), 2025"),  # header now in row 3
        put("facilities", "G4", "long note over two rows"),
        merge("facilities", "G4:G5"),  # `status`, a free label
        merge("facilities", "H3:H6"),  # an empty block beside the table
        merge("demand", "F1:H1"),  # a merged heading beside the header
        put("demand", "F1", "comment"),
        merge("countries", "B2:B3"),  # `name`, a free label
    )
    out, err = run_good(capsys, source, output)
    assert BASE_COST in out
    assert_warning(err, ["sheet 'facilities'", "header is row 3", "A1 'Facilities (t/yr), 2025'", "ignored"])
    assert_warning(err, ["sheet 'demand'", "F1 'comment'", "outside the table"])
    assert "merged" not in err


@pytest.mark.parametrize(
    ("cells", "row", "column"),
    [("C2:C3", 2, "capacity"), ("F2:G2", 2, "expansion_cost"), ("A4:B4", 4, "facility"), ("D1:D3", 2, "restricted")],
)
def test_merges_over_table_cells_are_errors(capsys, paths, cells, row, column):
    source, output = paths
    write(source, merge("facilities", cells))
    err = run_bad(capsys, source, output)
    assert_problem(err, ["sheet 'facilities'", f"row {row}", f"column '{column}'", cells, "merged"])


def test_merge_in_a_table_below_a_title_names_its_excel_row(capsys, paths):
    source, output = paths
    write(source, title_above("facilities", "Facilities"), merge("facilities", "C4:C5"))
    err = run_bad(capsys, source, output)
    assert_problem(err, ["sheet 'facilities'", "row 4", "column 'capacity'", "C4:C5", "merged"])


# --------------------------------------------------------------------------
# 5. Empty, header-only and hidden sheets; tables not starting in A1.


def move(sheet: str, rows: int, columns: int) -> Edit:
    def edit(workbook) -> None:
        if rows:  # openpyxl loses every cell when asked to insert none
            workbook[sheet].insert_rows(1, rows)
        if columns:
            workbook[sheet].insert_cols(1, columns)

    return edit


def clear(sheet: str, keep_header: bool) -> Edit:
    def edit(workbook) -> None:
        ws = workbook[sheet]
        ws.delete_rows(2 if keep_header else 1, ws.max_row)

    return edit


def hide_sheet(sheet: str) -> Edit:
    def edit(workbook) -> None:
        workbook[sheet].sheet_state = "hidden"

    return edit


def hide_column(sheet: str, letter: str) -> Edit:
    def edit(workbook) -> None:
        workbook[sheet].column_dimensions[letter].hidden = True

    return edit


def _accepted_layouts():
    """(edits, warnings expected, the cost line when the edit changes the case)."""
    yield pytest.param([move("facilities", 2, 2)], [], None, id="table-starting-in-C3")
    yield pytest.param([move("demand", 1, 0)], [], None, id="blank-first-row")
    yield pytest.param([move("countries", 0, 1)], [], None, id="leading-blank-column")
    yield pytest.param(
        [title_above("products", "Products", rows=1, merged=None)],
        [["sheet 'products'", "header is row 2", "A1 'Products'"]],
        None,
        id="title-row-above-the-header",
    )
    yield pytest.param(
        [clear("exposure_caps", keep_header=False)],
        [["sheet 'exposure_caps' is empty", "read as absent"]],
        None,
        id="empty-optional-sheet",
    )
    yield pytest.param([clear("exposure_caps", keep_header=True)], [], None, id="optional-sheet-only-a-header")
    yield pytest.param([hide_sheet("facilities")], [["sheet 'facilities' is hidden", "read"]], None, id="hidden-sheet")
    yield pytest.param(
        [hide_column("facilities", "C")],
        [["sheet 'facilities' column C ('capacity') is hidden"]],
        None,
        id="hidden-column",
    )
    yield pytest.param(
        [lambda workbook: workbook["facilities"].insert_cols(3), put("facilities", "C4", "oops")],
        [["sheet 'facilities'", "cell C4 'oops'", "blank header cell"]],
        None,
        id="value-under-a-blank-header-cell",
    )
    yield pytest.param(
        [put("facilities", "H1", "note"), put("facilities", "H2", dt.datetime(2025, 6, 30))],
        [],
        None,
        id="date-in-a-free-text-column",
    )


@pytest.mark.parametrize(("edits", "expected", "cost"), list(_accepted_layouts()))
def test_accepted_layout(capsys, paths, edits, expected, cost):
    source, output = paths
    write(source, *edits)
    out, err = run_good(capsys, source, output)
    assert (cost or BASE_COST) in out
    for parts in expected:
        assert_warning(err, parts)
    if not expected:
        assert not warnings(err), err


def test_problem_in_a_moved_table_names_its_excel_row_and_cell(capsys, paths):
    source, output = paths
    book = Book().set("facilities", 3, "capacity", -5)
    write(source, move("facilities", 2, 2), book=book)
    err = run_bad(capsys, source, output)
    assert_problem(err, ["sheet 'facilities'", "row 5", "column 'capacity'", "-5"])
    assert len(problem_lines(err)) == 1


def test_empty_required_sheet_and_sheet_with_only_a_title(capsys, paths):
    source, output = paths
    write(
        source,
        clear("facilities", keep_header=False),
        clear("products", keep_header=False),
        put("products", "A1", "Products"),
    )
    err = run_bad(capsys, source, output)
    assert_problem(
        err, ["sheet 'facilities'", "row 1", "the sheet is empty", "expected columns facility, country, capacity"]
    )
    assert_problem(err, ["sheet 'products'", "row 1", "column 'product'", "missing"])


def test_warnings_found_while_reading_are_printed_even_when_the_workbook_is_refused(tmp_path, capsys):
    # A stray value outside the table (a warning) and a negative capacity (an error): exit 2, and the warning
    # about the stray cell is still shown, since the analyst will fix the workbook anyway.
    import openpyxl

    from model.cli import main
    from tests.helpers import write_case
    from tests.test_constraints import ore_case

    sheets = ore_case()
    sheets["facilities"][0][2] = -5
    source = write_case(tmp_path / "case.xlsx", sheets)
    book = openpyxl.load_workbook(source)
    book["facilities"]["K9"] = "stray"
    book.save(source)
    assert main([str(source), "-o", str(tmp_path / "out.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "column 'capacity'" in err and "K9" in err


def test_a_misspelt_header_does_not_hide_the_cross_sheet_problems(tmp_path, capsys):
    # 'capacity_t' for 'capacity' in facilities, and a demand row naming a country nobody defined: both are
    # listed at once; the facility names are still read, so facility_processes gets no follow-on "unknown" errors.
    import openpyxl

    from model.cli import main
    from tests.helpers import write_case
    from tests.test_constraints import ore_case

    sheets = ore_case()
    sheets["demand"].append(["Z", "ore", 5, None])
    headers = {"facilities": ["facility", "country", "capacity_t", "restricted", "expansion_max", "expansion_cost"]}
    source = write_case(tmp_path / "case.xlsx", sheets, headers)
    assert openpyxl.load_workbook(source)["facilities"]["C1"].value == "capacity_t"
    assert main([str(source), "-o", str(tmp_path / "out.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "sheet 'facilities', row 1, column 'capacity'" in err and "capacity_t" in err
    assert "sheet 'demand', row 3, column 'country': 'Z'" in err
    assert "sheet 'facility_processes'" not in err
