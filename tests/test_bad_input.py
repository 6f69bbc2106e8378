"""Bad-input corpus: every broken workbook stops with exit 2 and a located message.

A small valid case (two countries, China restricted; mine -> separation ->
magnet chain with three products; one lane, one demand row, one exposure cap)
is built in code, and each variant breaks it in one way (a few in several).
For every broken variant the command line must return 2, name the sheet, the
Excel row and the column of the problem on one line of stderr, write no
results file and leave the input's bytes unchanged (SPEC.md, "Bad input" and
"Precise rules").  Inputs that only look odd (numbers stored as text, spaces
around names, yes/no spellings) must be accepted.  Path problems are checked
through ``main()`` as well.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from model.cli import main
from model.pipeline import load_data
from tests.helpers import patch_sheet_xml, write_case

# --------------------------------------------------------------------------
# The valid base case.  Excel row = index in the list + 2 (row 1 = header).

BASE_HEADERS: dict[str, list[str]] = {
    "settings": ["setting", "value", "note"],
    "countries": ["country", "name", "restricted"],
    "products": ["product", "unit", "value", "surplus_price"],
    "processes": ["process", "stage", "product", "coefficient"],
    "facilities": ["facility", "country", "capacity", "restricted", "expansion_max", "expansion_cost", "status"],
    "facility_processes": ["facility", "process", "unit_cost"],
    "lanes": ["from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow"],
    "demand": ["country", "product", "quantity", "unmet_penalty"],
    "exposure_caps": ["country", "product", "stage", "max_share"],
}

BASE_ROWS: dict[str, list[list]] = {
    "settings": [
        ["unmet_demand_penalty", 100000, "USD/t"],  # row 2
        ["case_name", "tiny", None],  # row 3
        ["solver_time_limit", 60, "s"],  # row 4
    ],
    "countries": [
        ["CHN", "China", "yes"],  # row 2
        ["USA", "United States", "no"],  # row 3
    ],
    "products": [
        ["ore", "t", 10, 0],  # row 2
        ["oxide", "t", 100, 0],  # row 3
        ["magnet", "t", 1000, 0],  # row 4
    ],
    "processes": [
        ["mine", "mining", "ore", 1],  # row 2
        ["separate", "separation", "ore", -2],  # row 3
        ["separate", "separation", "oxide", 1],  # row 4
        ["make", "magnets", "oxide", -1],  # row 5
        ["make", "magnets", "magnet", 1],  # row 6
    ],
    "facilities": [
        ["cn_mine", "CHN", 1000, None, 0, None, "operating"],  # row 2
        ["us_mine", "USA", 100, None, 0, None, "operating"],  # row 3
        ["us_sep", "USA", 500, None, 100, 5, "operating"],  # row 4
        ["us_mag", "USA", 500, None, None, None, "operating"],  # row 5
    ],
    "facility_processes": [
        ["cn_mine", "mine", 1],  # row 2
        ["us_mine", "mine", 4],  # row 3
        ["us_sep", "separate", 2],  # row 4
        ["us_mag", "make", 3],  # row 5
    ],
    "lanes": [
        ["CHN", "USA", "*", 5, 0.1, "yes", None],  # row 2
    ],
    "demand": [
        ["USA", "magnet", 50, None],  # row 2
    ],
    "exposure_caps": [
        ["USA", "magnet", "mining", 0.5],  # row 2
    ],
}

REQUIRED_SHEETS = ["countries", "products", "processes", "facilities", "facility_processes", "demand"]

# Required (bold) columns of SPEC.md's input table, per sheet.
REQUIRED_COLUMNS: dict[str, list[str]] = {
    "settings": ["setting", "value"],
    "countries": ["country", "restricted"],
    "products": ["product"],
    "processes": ["process", "stage", "product", "coefficient"],
    "facilities": ["facility", "country", "capacity"],
    "facility_processes": ["facility", "process", "unit_cost"],
    "lanes": ["from", "to", "product"],
    "demand": ["country", "product", "quantity"],
    "exposure_caps": ["country", "product", "stage", "max_share"],
}


class Stored:
    """A cell content openpyxl cannot write (``NaN``, ``INF``, a formula with
    its cached value): written as a sentinel number, then patched into the XML."""

    def __init__(self, xml: str, cell_type: str = "n"):
        self.xml = xml
        self.cell_type = cell_type


class Quoted:
    """Text typed in Excel with a leading apostrophe: a string with quotePrefix."""

    def __init__(self, text: str):
        self.text = text


class Book:
    """A workbook as Python rows, easy to break in one place."""

    def __init__(self) -> None:
        self.headers = copy.deepcopy(BASE_HEADERS)
        self.rows = copy.deepcopy(BASE_ROWS)

    def set(self, sheet: str, row: int, column: str, value: object) -> Book:
        self.rows[sheet][row - 2][self.headers[sheet].index(column)] = value
        return self

    def add(self, sheet: str, *values: object) -> int:
        """Append a row; returns its Excel row number."""
        row = list(values) + [None] * (len(self.headers[sheet]) - len(values))
        self.rows[sheet].append(row)
        return len(self.rows[sheet]) + 1

    def drop_sheet(self, sheet: str) -> Book:
        del self.rows[sheet], self.headers[sheet]
        return self

    def drop_column(self, sheet: str, column: str) -> Book:
        index = self.headers[sheet].index(column)
        del self.headers[sheet][index]
        for row in self.rows[sheet]:
            del row[index]
        return self

    def write(self, path: Path) -> Path:
        rows = copy.deepcopy(self.rows)
        stored: dict[bytes, bytes] = {}
        quoted: list[tuple[str, int, int, str]] = []
        for sheet, sheet_rows in rows.items():
            for r, row in enumerate(sheet_rows):
                for c, value in enumerate(row):
                    if isinstance(value, Stored):
                        sentinel = 987654000 + len(stored)
                        stored[f't="n"><v>{sentinel}</v>'.encode()] = f't="{value.cell_type}">{value.xml}'.encode()
                        row[c] = sentinel
                    elif isinstance(value, Quoted):
                        quoted.append((sheet, r + 2, c + 1, value.text))
                        row[c] = value.text
        write_case(path, rows, self.headers)
        if quoted:
            workbook = load_workbook(path)
            for sheet, r, c, text in quoted:
                cell = workbook[sheet].cell(row=r, column=c)
                cell.value = text
                cell.quotePrefix = True
            workbook.save(path)
        if stored:
            patch_sheet_xml(path, stored)
            with zipfile.ZipFile(path) as archive:
                raw = b"".join(archive.read(name) for name in archive.namelist())
            assert not any(key in raw for key in stored), "sentinel not patched"
        return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(capsys, args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def problem_lines(err: str) -> list[str]:
    return [line.strip()[2:] for line in err.splitlines() if line.startswith("  - ")]


def assert_problem(err: str, expected: list[str]) -> None:
    """One problem line of stderr holds every expected substring."""
    lines = problem_lines(err)
    assert any(all(part in line for part in expected) for line in lines), (
        f"no problem line contains all of {expected}; stderr was:\n{err}"
    )


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    source_dir = tmp_path / "in"
    source_dir.mkdir()
    return source_dir / "case.xlsx", tmp_path / "out" / "result.xlsx"


def run_bad(capsys, source: Path, output: Path, extra_args: list[str] | None = None) -> str:
    """Run a workbook that must be refused; check the common promises."""
    before = sha256(source) if source.is_file() else None
    listing = sorted(p.name for p in source.parent.iterdir())
    code, _, err = run_cli(capsys, [str(source), "-o", str(output), *(extra_args or [])])
    assert code == 2, f"exit {code}; stderr:\n{err}"
    assert "Traceback" not in err
    assert not output.exists()
    assert not output.parent.exists() or not any(output.parent.iterdir()), "something was written"
    if before is not None:
        assert sha256(source) == before, "the input workbook was modified"
    assert sorted(p.name for p in source.parent.iterdir()) == listing, "files appeared next to the input"
    return err


def run_good(capsys, source: Path, output: Path) -> tuple[str, str]:
    before = sha256(source)
    code, out, err = run_cli(capsys, [str(source), "-o", str(output)])
    assert code == 0, f"exit {code}; stderr:\n{err}"
    assert output.is_file()
    assert sha256(source) == before
    return out, err


# --------------------------------------------------------------------------
# The base case itself solves.


def test_base_case_solves(capsys, paths):
    source, output = paths
    Book().write(source)
    out, err = run_good(capsys, source, output)
    assert "Status: optimal" in out
    assert "problem" not in err


# --------------------------------------------------------------------------
# The corpus of broken variants.

Mutation = Callable[[Book], object]


def where(sheet: str, row: int, column: str) -> list[str]:
    return [f"sheet '{sheet}'", f"row {row}", f"column '{column}'"]


def cell(sheet: str, row: int, column: str, value: object) -> Mutation:
    return lambda book: book.set(sheet, row, column, value)


def add(sheet: str, *values: object) -> Mutation:
    return lambda book: book.add(sheet, *values)


def replace_rows(sheet: str, *rows: list) -> Mutation:
    def mutate(book: Book) -> None:
        book.rows[sheet] = [list(r) + [None] * (len(book.headers[sheet]) - len(r)) for r in rows]

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(book: Book) -> None:
        for mutation in mutations:
            mutation(book)

    return mutate


def case(case_id: str, mutation: Mutation, expected: list[str], count: int | None = 1):
    """A broken variant; ``count`` problems exactly (None: at least one)."""
    return pytest.param(mutation, expected, count, id=case_id)


def _missing_sheets():
    for sheet in REQUIRED_SHEETS:
        yield case(
            f"missing-sheet-{sheet}",
            lambda book, s=sheet: book.drop_sheet(s),
            [f"sheet '{sheet}'", "required sheet is missing"],
        )


def _missing_columns():
    for sheet, columns in REQUIRED_COLUMNS.items():
        for column in columns:
            yield case(
                f"missing-column-{sheet}-{column}",
                lambda book, s=sheet, c=column: book.drop_column(s, c),
                [*where(sheet, 1, column), "missing"],
            )


NAMES_REFERRED_TO = {
    ("countries", "country"),
    ("products", "product"),
    ("processes", "process"),
    ("processes", "stage"),
    ("facilities", "facility"),
}


def _blank_required_cells():
    for sheet, columns in REQUIRED_COLUMNS.items():
        for column in columns:
            if (sheet, column) == ("settings", "value"):
                continue  # a blank setting value takes the default
            # Blanking a name that other rows refer to leaves those rows dangling.
            count = None if (sheet, column) in NAMES_REFERRED_TO else 1
            yield case(
                f"blank-{sheet}-{column}",
                cell(sheet, 2, column, None),
                [*where(sheet, 2, column), "blank", "a value is required"],
                count,
            )
    yield case(
        "blank-spaces-only-capacity",
        cell("facilities", 3, "capacity", "   "),
        [*where("facilities", 3, "capacity"), "a value is required"],
    )


TEXT_IN_NUMBERS = [
    ("facilities", 3, "capacity", "1,000"),
    ("facilities", 3, "capacity", "n/a"),
    ("facilities", 3, "capacity", "12 t"),
    ("facilities", 3, "capacity", "\u22125"),  # Unicode minus sign
    ("facilities", 3, "capacity", "-"),
    ("facilities", 3, "capacity", "1 000"),
    ("facilities", 4, "expansion_max", "lots"),
    ("facilities", 4, "expansion_cost", "5 USD"),
    ("demand", 2, "quantity", "n/a"),
    ("demand", 2, "unmet_penalty", "high"),
    ("facility_processes", 3, "unit_cost", "1,000"),
    ("lanes", 2, "tariff", "10%"),
    ("lanes", 2, "transport_cost", "five"),
    ("lanes", 2, "max_flow", "unlimited"),
    ("processes", 3, "coefficient", "-2 t"),
    ("exposure_caps", 2, "max_share", "50%"),
    ("products", 2, "value", "$10"),
    ("products", 2, "surplus_price", "n/a"),
]


def _text_in_numbers():
    for sheet, row, column, text in TEXT_IN_NUMBERS:
        yield case(
            f"text-{sheet}-{column}-{text!r}",
            cell(sheet, row, column, text),
            [*where(sheet, row, column), repr(text), "a number"],
        )
    yield case(
        "bool-in-number-column",
        cell("facilities", 3, "capacity", True),
        [*where("facilities", 3, "capacity"), "a number"],
    )


def _non_finite():
    yield case(
        "nan-stored-capacity",
        cell("facilities", 3, "capacity", Stored("<v>NaN</v>")),
        where("facilities", 3, "capacity"),
    )
    yield case(
        "inf-stored-quantity", cell("demand", 2, "quantity", Stored("<v>INF</v>")), where("demand", 2, "quantity")
    )
    yield case(
        "minus-inf-stored-unit-cost",
        cell("facility_processes", 4, "unit_cost", Stored("<v>-inf</v>")),
        where("facility_processes", 4, "unit_cost"),
    )
    yield case(
        "inf-text-capacity", cell("facilities", 3, "capacity", "inf"), [*where("facilities", 3, "capacity"), "'inf'"]
    )
    yield case("nan-text-tariff", cell("lanes", 2, "tariff", "nan"), [*where("lanes", 2, "tariff"), "'nan'"])
    yield case(
        "overflow-text-quantity", cell("demand", 2, "quantity", "1e999"), [*where("demand", 2, "quantity"), "'1e999'"]
    )
    yield case(
        "excel-error-in-required-cell",
        cell("facilities", 3, "capacity", Stored("<f>1/0</f><v>#DIV/0!</v>", cell_type="e")),
        [*where("facilities", 3, "capacity"), "#DIV/0!", "Excel error"],
    )
    # In an optional column a broken formula must not silently take the default
    # (here: no quota, no ban).
    yield case(
        "excel-error-in-optional-cell",
        cell("lanes", 2, "max_flow", Stored("<f>VLOOKUP(A2,quotas!A:B,2,FALSE)</f><v>#N/A</v>", cell_type="e")),
        [*where("lanes", 2, "max_flow"), "#N/A", "Excel error"],
    )
    yield case(
        "excel-error-in-yes-no-cell",
        cell("lanes", 2, "allowed", Stored("<v>#REF!</v>", cell_type="e")),
        [*where("lanes", 2, "allowed"), "#REF!", "Excel error"],
    )
    yield case(
        "formula-never-computed",
        cell("lanes", 2, "tariff", Stored("<f>0.05*2</f><v></v>")),
        [*where("lanes", 2, "tariff"), "=0.05*2", "never saved"],
    )
    yield case(
        "formula-written-by-a-script",  # openpyxl stores formulas without a result
        cell("facilities", 3, "capacity", "=2*250"),
        [*where("facilities", 3, "capacity"), "=2*250", "never saved"],
    )
    yield case(
        "excel-error-in-name-cell",
        cell("demand", 2, "country", Stored("<v>#NAME?</v>", cell_type="e")),
        [*where("demand", 2, "country"), "#NAME?", "Excel error"],
    )


NEGATIVES = [
    ("facilities", 3, "capacity", -5),
    ("facilities", 4, "expansion_max", -1),
    ("facilities", 4, "expansion_cost", -5),
    ("demand", 2, "quantity", -1),
    ("facility_processes", 4, "unit_cost", -2),
    ("lanes", 2, "tariff", -0.1),
    ("lanes", 2, "transport_cost", -5),
    ("lanes", 2, "max_flow", -10),
    ("products", 3, "value", -100),
]


def _negatives():
    for sheet, row, column, value in NEGATIVES:
        yield case(
            f"negative-{sheet}-{column}",
            cell(sheet, row, column, value),
            [*where(sheet, row, column), f": {value:g} ", "between 0 and"],
        )
    yield case(
        "negative-text-capacity",
        cell("facilities", 3, "capacity", "-5"),
        [*where("facilities", 3, "capacity"), "between 0 and"],
    )


def _ranges():
    yield case(
        "max-share-above-1",
        cell("exposure_caps", 2, "max_share", 1.5),
        [*where("exposure_caps", 2, "max_share"), "1.5", "between 0 and 1"],
    )
    yield case(
        "max-share-below-0",
        cell("exposure_caps", 2, "max_share", -0.1),
        [*where("exposure_caps", 2, "max_share"), "-0.1", "between 0 and 1"],
    )
    yield case(
        "unmet-penalty-zero",
        cell("demand", 2, "unmet_penalty", 0),
        [*where("demand", 2, "unmet_penalty"), "> 0"],
    )
    yield case(
        "coefficient-zero",
        cell("processes", 2, "coefficient", 0),
        [*where("processes", 2, "coefficient"), "other than 0"],
    )
    yield case(
        "date-in-capacity",
        cell("facilities", 3, "capacity", dt.date(2024, 1, 5)),
        [*where("facilities", 3, "capacity"), "2024-01-05", "date"],
    )
    yield case(
        "datetime-in-quantity",
        cell("demand", 2, "quantity", dt.datetime(2025, 10, 28, 12, 0)),
        [*where("demand", 2, "quantity"), "2025-10-28", "date"],
    )
    for sheet, row, column in [
        ("countries", 3, "restricted"),
        ("facilities", 2, "restricted"),
        ("lanes", 2, "allowed"),
    ]:
        yield case(
            f"bad-yesno-{sheet}-{column}",
            cell(sheet, row, column, "maybe"),
            [*where(sheet, row, column), "'maybe'", "yes or no"],
        )


BAD_SETTINGS = [
    ("default_exposure_cap", 1.5),
    ("default_exposure_cap", -0.2),
    ("default_exposure_cap", "20%"),
    ("unmet_demand_penalty", 0),
    ("unmet_demand_penalty", -1),
    ("unmet_demand_penalty", "lots"),
    ("solver_time_limit", -1),
    ("solver_time_limit", 0),
    ("default_transport_cost", -3),
    ("solver_method", "fastest"),
    ("threads", 0),
]


def _settings():
    yield case(
        "setting-key-case-mismatch",
        cell("settings", 2, "setting", "Unmet_Demand_Penalty"),
        [*where("settings", 2, "setting"), "did you mean 'unmet_demand_penalty'"],
    )
    yield case(
        "setting-value-excel-error",
        cell("settings", 2, "value", Stored("<v>#VALUE!</v>", cell_type="e")),
        [*where("settings", 2, "value"), "#VALUE!"],
    )
    for name, value in BAD_SETTINGS:
        row = 2 if name == "unmet_demand_penalty" else 4  # replace row 4 (solver_time_limit) for the others
        yield case(
            f"setting-{name}-{value!r}",
            both(cell("settings", row, "setting", name), cell("settings", row, "value", value)),
            [*where("settings", row, "value"), name],
        )


# (sheet, row, column, bad key, known key the hint must name)
CASE_MISMATCHES = [
    ("facilities", 2, "country", "chn", "CHN"),
    ("facility_processes", 3, "facility", "US_MINE", "us_mine"),
    ("facility_processes", 4, "process", "Separate", "separate"),
    ("processes", 4, "product", "Oxide", "oxide"),
    ("demand", 2, "country", "usa", "USA"),
    ("demand", 2, "product", "Magnet", "magnet"),
    ("lanes", 2, "from", "chn", "CHN"),
    ("lanes", 2, "to", "Usa", "USA"),
    ("lanes", 2, "product", "ORE", "ore"),
    ("exposure_caps", 2, "country", "usa", "USA"),
    ("exposure_caps", 2, "product", "MAGNET", "magnet"),
    ("exposure_caps", 2, "stage", "Mining", "mining"),
    ("exposure_caps", 2, "stage", "ANY", "any"),
]

# (sheet, row, column, unknown key, words of the expectation)
UNKNOWN_KEYS = [
    ("facilities", 2, "country", "JPN", "a country named in the 'countries' sheet"),
    ("facility_processes", 3, "facility", "jp_plant", "a facility named in the 'facilities' sheet"),
    ("facility_processes", 4, "process", "recycle", "a process named in the 'processes' sheet"),
    ("processes", 4, "product", "alloy", "a product named in the 'products' sheet"),
    ("demand", 2, "country", "JPN", "a country named in the 'countries' sheet"),
    ("demand", 2, "product", "powder", "a product named in the 'products' sheet"),
    ("lanes", 2, "from", "AUS", "a country named in the 'countries' sheet or *"),
    ("lanes", 2, "to", "JPN", "a country named in the 'countries' sheet or *"),
    ("lanes", 2, "product", "alloy", "a product named in the 'products' sheet or *"),
    ("exposure_caps", 2, "country", "JPN", "a country named in the 'countries' sheet or *"),
    ("exposure_caps", 2, "product", "alloy", "a product named in the 'products' sheet or *"),
    ("exposure_caps", 2, "stage", "refining", "a stage named in the 'processes' sheet or * or any"),
    ("demand", 2, "country", "*", "a country named in the 'countries' sheet"),
]


def _references():
    for sheet, row, column, bad, good in CASE_MISMATCHES:
        yield case(
            f"case-mismatch-{sheet}-{column}",
            cell(sheet, row, column, bad),
            [*where(sheet, row, column), repr(bad), f"did you mean '{good}'"],
        )
    for sheet, row, column, bad, words in UNKNOWN_KEYS:
        yield case(
            f"unknown-{sheet}-{column}-{bad}",
            cell(sheet, row, column, bad),
            [*where(sheet, row, column), repr(bad), words],
        )
    yield case(
        "typo-product-hint",
        cell("processes", 4, "product", "oxyde"),
        [*where("processes", 4, "product"), "did you mean 'oxide'"],
    )


DUPLICATES = [
    # sheet, new row, column named, first row
    ("settings", ["unmet_demand_penalty", 5000], "setting", 2),
    ("countries", ["CHN", "China again", "yes"], "country", 2),
    ("countries", ["  USA ", None, "no"], "country", 3),  # equal after trimming
    ("products", ["ore", "t", 10, 0], "product", 2),
    ("processes", ["separate", "separation", "ore", -3], "process, product", 3),
    ("facilities", ["us_sep", "USA", 10], "facility", 4),
    ("facility_processes", ["us_sep", "separate", 9], "facility, process", 4),
    ("lanes", ["CHN", "USA", " * ", 5, 0.1, "yes"], "from, to, product", 2),
    ("demand", ["USA", "magnet", 10], "country, product", 2),
    ("exposure_caps", ["USA", "magnet", "mining", 0.5], "country, product, stage", 2),
]


def _duplicates():
    for sheet, row, column, first in DUPLICATES:
        new_row = len(BASE_ROWS[sheet]) + 2
        yield case(
            f"duplicate-{sheet}-{str(row[0]).strip()}",
            add(sheet, *row),
            [*where(sheet, new_row, column), f"duplicate of row {first}"],
        )


def _recipes_and_rules():
    yield case(
        "process-without-output",
        add("processes", "leach", "separation", "ore", -1),
        [*where("processes", 7, "coefficient"), "'leach'", "at least one output"],
    )
    yield case(
        "process-in-two-stages",
        cell("processes", 4, "stage", "refining"),
        [*where("processes", 4, "stage"), "'refining'", "one stage"],
    )
    for stage in ("any", "*"):
        yield case(
            f"process-stage-{stage}",
            cell("processes", 2, "stage", stage),
            [*where("processes", 2, "stage"), repr(stage), "reserved"],
            count=2,  # and the cap on 'mining' now names a stage no process has
        )
    yield case(
        "expansion-without-cost",
        cell("facilities", 4, "expansion_cost", None),
        [*where("facilities", 4, "expansion_cost"), "expansion_max is 100"],
    )
    yield case(
        "lane-same-country",
        add("lanes", "USA", "USA", "ore", 1),
        [*where("lanes", 3, "to"), "'USA'", "other than 'from'"],
    )
    yield case(
        "lane-conflict-tariff",
        replace_rows("lanes", ["CHN", "*", "*", None, 0.1], ["*", "USA", "*", None, 0.2]),
        [*where("lanes", 3, "tariff"), ": 0.2 ", "conflicts with row 2 (tariff 0.1 there)", "CHN → USA"],
    )
    yield case(
        "lane-conflict-transport",
        replace_rows("lanes", ["CHN", "*", "ore", 1], ["*", "USA", "ore", 2]),
        [*where("lanes", 3, "transport_cost"), "conflicts with row 2", "ore"],
    )
    yield case(
        "lane-conflict-allowed",
        replace_rows("lanes", ["CHN", "*", "oxide", None, None, "no"], ["*", "USA", "oxide", None, None, "yes"]),
        [*where("lanes", 3, "allowed"), "'yes'", "conflicts with row 2 (allowed no there)", "CHN → USA oxide"],
    )
    yield case(
        "lane-conflict-max-flow",
        replace_rows("lanes", ["CHN", "USA", "*", None, None, None, 10], ["CHN", "*", "ore", None, None, None, 20]),
        [*where("lanes", 3, "max_flow"), "conflicts with row 2"],
    )
    yield case(
        "cap-conflict",
        replace_rows("exposure_caps", ["USA", "*", "mining", 0.3], ["*", "magnet", "mining", 0.4]),
        [*where("exposure_caps", 3, "max_share"), ": 0.4 ", "conflicts with row 2 (max_share 0.3 there)"],
    )
    yield case(
        "cap-conflict-star-stage",
        replace_rows("exposure_caps", ["USA", "magnet", "*", 0.3], ["USA", "*", "separation", 0.4]),
        [*where("exposure_caps", 3, "max_share"), "conflicts with row 2"],
    )


def _sheet_structure():
    def duplicate_header(book: Book) -> None:
        book.headers["facilities"].append("Capacity")
        for row in book.rows["facilities"]:
            row.append(1)

    yield case("header-column-twice", duplicate_header, [*where("facilities", 1, "capacity"), "twice"])

    def empty_sheet(book: Book) -> None:
        book.headers["demand"] = None
        book.rows["demand"] = []

    yield case("empty-demand-sheet", empty_sheet, ["sheet 'demand'", "row 1", "header row is empty"])

    def gap_row(book: Book) -> None:
        # An empty row 6 is skipped but still counted: the bad row is row 7.
        book.rows["facilities"].append([None] * 7)
        book.add("facilities", "extra", "USA", -1)

    yield case("row-number-after-blank-row", gap_row, [*where("facilities", 7, "capacity"), "between 0 and"])


BROKEN = [
    *_missing_sheets(),
    *_missing_columns(),
    *_blank_required_cells(),
    *_text_in_numbers(),
    *_non_finite(),
    *_negatives(),
    *_ranges(),
    *_settings(),
    *_references(),
    *_duplicates(),
    *_recipes_and_rules(),
    *_sheet_structure(),
]


@pytest.mark.parametrize(("mutation", "expected", "count"), BROKEN)
def test_broken_workbook(capsys, paths, mutation, expected, count):
    source, output = paths
    book = Book()
    mutation(book)
    book.write(source)
    err = run_bad(capsys, source, output)
    assert_problem(err, expected)
    lines = problem_lines(err)
    if count is not None:
        assert len(lines) == count, f"expected {count} problem line(s), got:\n{err}"
        assert f"has {count} problem" in err


def test_empty_workbook_lists_every_required_sheet(capsys, paths):
    source, output = paths
    write_case(source, {"Sheet1": []})
    err = run_bad(capsys, source, output)
    lines = problem_lines(err)
    for sheet in REQUIRED_SHEETS:
        assert any(f"sheet '{sheet}'" in line and "missing" in line for line in lines), err
    for optional in ("settings", "lanes", "exposure_caps"):
        assert not any(f"sheet '{optional}'" in line for line in lines), err
    assert len(lines) == len(REQUIRED_SHEETS)


def test_every_problem_is_listed_at_once(capsys, paths):
    """Three problems in three sheets, found by different checks, three lines."""
    source, output = paths
    book = Book()
    book.set("facilities", 3, "capacity", -5)  # a cell value
    book.set("demand", 2, "country", "JPN")  # an unknown name
    book.add("products", "ore", "t", 10, 0)  # a duplicate key (row 5)
    book.write(source)
    err = run_bad(capsys, source, output)
    assert_problem(err, [*where("facilities", 3, "capacity"), "between 0 and"])
    assert_problem(err, [*where("demand", 2, "country"), "'JPN'"])
    assert_problem(err, [*where("products", 5, "product"), "duplicate of row 2"])
    assert len(problem_lines(err)) == 3
    assert "has 3 problems" in err


def test_many_problems_in_one_sheet_and_across_phases(capsys, paths):
    source, output = paths
    book = Book()
    book.set("facilities", 2, "capacity", "1,000")
    book.set("facilities", 3, "capacity", "n/a")
    book.set("facilities", 4, "country", "chn")
    book.set("exposure_caps", 2, "max_share", 2)
    book.rows["lanes"] = [["CHN", "*", "*", None, 0.1], ["*", "USA", "*", None, 0.2]]
    book.write(source)
    err = run_bad(capsys, source, output)
    assert_problem(err, where("facilities", 2, "capacity"))
    assert_problem(err, where("facilities", 3, "capacity"))
    assert_problem(err, [*where("facilities", 4, "country"), "did you mean 'CHN'"])
    assert_problem(err, where("exposure_caps", 2, "max_share"))
    assert_problem(err, [*where("lanes", 3, "tariff"), "conflicts with row 2"])
    assert len(problem_lines(err)) == 5


def test_problems_in_other_sheets_reported_with_a_missing_column(capsys, paths):
    source, output = paths
    book = Book().drop_column("facilities", "capacity")
    book.set("demand", 2, "quantity", "n/a")
    book.write(source)
    err = run_bad(capsys, source, output)
    assert_problem(err, [*where("facilities", 1, "capacity"), "missing"])
    assert_problem(err, where("demand", 2, "quantity"))


def test_bad_exposure_cap_argument(capsys, paths):
    source, output = paths
    Book().write(source)
    for value in ("1.5", "-0.1", "twenty"):
        err = run_bad(capsys, source, output, ["--exposure-cap", value])
        assert value in err


# --------------------------------------------------------------------------
# Inputs that look odd but are valid: exit 0.


def _good_cases():
    yield pytest.param(cell("facilities", 3, "capacity", "12"), id="number-as-text")
    yield pytest.param(cell("facilities", 3, "capacity", Quoted("12")), id="number-with-apostrophe")
    yield pytest.param(cell("demand", 2, "quantity", " 50 "), id="number-as-text-with-spaces")
    for text in ("12.5", ".5", "+5", "1e3", "12."):
        yield pytest.param(cell("facilities", 3, "capacity", text), id=f"plain-number-text-{text}")
    yield pytest.param(cell("lanes", 2, "tariff", Quoted("0.1")), id="tariff-with-apostrophe")
    yield pytest.param(cell("products", 2, "surplus_price", -5), id="negative-surplus-price")
    yield pytest.param(
        cell("facilities", 4, "capacity", Stored("<f>250*2</f><v>500</v>")), id="formula-with-cached-value"
    )
    yield pytest.param(
        cell("lanes", 2, "max_flow", Stored('<f>IF(TRUE,"",1)</f><v></v>', cell_type="str")),
        id="formula-with-empty-text-result",
    )
    yield pytest.param(
        cell("facilities", 2, "status", Stored("<v>#N/A</v>", cell_type="e")), id="excel-error-in-a-free-label"
    )

    def spaces(book: Book) -> None:
        book.set("facilities", 2, "country", " CHN ")
        book.set("facility_processes", 4, "facility", "  us_sep")
        book.set("facility_processes", 4, "process", "separate\u00a0")  # non-breaking space
        book.set("demand", 2, "product", "magnet ")
        book.set("lanes", 2, "product", " * ")
        book.headers["facilities"][2] = " Capacity "
        book.headers["demand"][0] = "COUNTRY"

    yield pytest.param(spaces, id="spaces-around-names-and-headers")

    def yes_no(book: Book) -> None:
        book.set("countries", 2, "restricted", "TRUE")
        book.set("countries", 3, "restricted", "n")
        book.set("facilities", 2, "restricted", "y")
        book.set("facilities", 3, "restricted", 0)
        book.set("facilities", 4, "restricted", "No")
        book.set("facilities", 5, "restricted", False)
        book.set("lanes", 2, "allowed", 1)

    yield pytest.param(yes_no, id="yes-no-variants")
    yield pytest.param(
        replace_rows("lanes", ["CHN", "*", "*", None, 0.1], ["*", "USA", "*", None, 0.1]), id="lanes-equal-values"
    )
    yield pytest.param(
        replace_rows("lanes", ["CHN", "*", "*", None, 0.1], ["*", "USA", "*", 3, None]), id="lanes-different-columns"
    )
    yield pytest.param(
        replace_rows(
            "lanes", ["CHN", "*", "*", None, 0.1], ["*", "USA", "*", None, 0.2], ["CHN", "USA", "*", None, 0.3]
        ),
        id="lanes-conflict-settled-by-a-more-specific-row",
    )
    yield pytest.param(
        replace_rows("lanes", ["*", "CHN", "*", None, 0.1], ["CHN", "*", "*", None, 0.2]),
        id="lanes-overlap-only-inside-a-country",
    )
    yield pytest.param(
        replace_rows("exposure_caps", ["USA", "magnet", "*", 0.3], ["USA", "magnet", "any", 0.4]),
        id="caps-star-stage-is-not-any",
    )
    yield pytest.param(
        both(cell("settings", 4, "value", None), add("settings", "default_exposure_cap", None)),
        id="blank-setting-values",
    )
    yield pytest.param(add("settings", "analyst", "J. Doe"), id="free-setting-label")


@pytest.mark.parametrize("mutation", list(_good_cases()))
def test_accepted_variant(capsys, paths, mutation):
    source, output = paths
    book = Book()
    mutation(book)
    book.write(source)
    run_good(capsys, source, output)


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12.0), (" 12 ", 12.0), ("12.5", 12.5), (".5", 0.5), ("+5", 5.0), ("1e3", 1000.0), ("12.", 12.0)],
)
def test_number_as_text_reads_as_the_number(tmp_path, text, number):
    source = Book().set("facilities", 3, "capacity", text).write(tmp_path / "case.xlsx")
    assert load_data(source).facilities["us_mine"].capacity == number


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        *[(v, True) for v in ("yes", "YES", "Yes", "y", "Y", "true", "TRUE", "True", " yes ", True, 1, "1")],
        *[(v, False) for v in ("no", "NO", "No", "n", "N", "false", "FALSE", False, 0, "0")],
    ],
)
def test_yes_no_spellings(tmp_path, value, flag):
    book = Book()
    book.set("facilities", 3, "restricted", value)  # us_mine, in unrestricted USA
    book.set("countries", 2, "restricted", value)
    data = load_data(book.write(tmp_path / "case.xlsx"))
    assert data.facilities["us_mine"].restricted is flag
    assert data.countries["CHN"] is flag


def test_formula_is_read_by_its_cached_value(tmp_path):
    book = Book().set("facilities", 4, "capacity", Stored("<f>250*2</f><v>500</v>"))
    assert load_data(book.write(tmp_path / "case.xlsx")).facilities["us_sep"].capacity == 500


def test_extra_spaces_are_trimmed(tmp_path):
    book = Book()
    book.set("facilities", 2, "country", " CHN ")
    book.set("facility_processes", 4, "process", "separate\u00a0")
    book.headers["facilities"][2] = " Capacity "
    data = load_data(book.write(tmp_path / "case.xlsx"))
    assert data.facilities["cn_mine"].country == "CHN"
    assert data.facilities["cn_mine"].capacity == 1000
    assert any(fp.process == "separate" and fp.facility == "us_sep" for fp in data.facility_processes)


def test_setting_key_typo_is_a_warning(capsys, paths):
    source, output = paths
    Book().set("settings", 4, "setting", "solver_time_limt").write(source)
    _, err = run_good(capsys, source, output)
    assert "settings row 4" in err and "did you mean 'solver_time_limit'" in err


def test_unknown_sheet_is_a_warning(capsys, paths):
    source, output = paths
    book = Book()
    book.headers["scratch"] = ["text"]
    book.rows["scratch"] = [["anything"]]
    book.write(source)
    _, err = run_good(capsys, source, output)
    assert "scratch" in err and "ignored" in err


def test_documentation_sheets_are_ignored_quietly(capsys, paths):
    # A `sources` sheet is where a case documents its numbers: no warning for it.
    source, output = paths
    book = Book()
    book.headers["sources"] = ["sheet", "item", "source"]
    book.rows["sources"] = [["facilities", "capacity", "S1"]]
    book.write(source)
    _, err = run_good(capsys, source, output)
    assert "sources" not in err


def test_unreachable_demand_is_a_warning(capsys, paths):
    source, output = paths
    book = Book()
    book.add("products", "alloy", "t", 500, 0)
    book.add("demand", "USA", "alloy", 5)
    book.write(source)
    out, err = run_good(capsys, source, output)
    assert "warning" in err and "alloy" in err
    assert "UNMET" in out


# --------------------------------------------------------------------------
# Path problems.


def test_input_does_not_exist(capsys, tmp_path):
    err = run_bad(capsys, tmp_path / "nope.xlsx", tmp_path / "out" / "r.xlsx")
    assert "does not exist" in err


def test_input_is_a_directory(capsys, tmp_path):
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    err = run_bad(capsys, folder, tmp_path / "out" / "r.xlsx")
    assert "folder" in err


def test_old_xls_name(capsys, tmp_path):
    source = tmp_path / "old.xls"
    source.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    err = run_bad(capsys, source, tmp_path / "out" / "r.xlsx")
    assert ".xls" in err and "save it as .xlsx" in err


def _text_file(path: Path) -> None:
    path.write_text("country,restricted\nCHN,yes\n")


def _truncated_zip(path: Path) -> None:
    Book().write(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _other_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")


def _empty_file(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("make", [_text_file, _truncated_zip, _other_zip, _empty_file])
def test_file_that_is_not_a_workbook(capsys, paths, make):
    source, output = paths
    make(source)
    err = run_bad(capsys, source, output)
    assert "cannot be read as an Excel workbook" in err
    assert "case.xlsx" in err
    assert "sheet '" not in err  # the file, not a sheet, is the problem


def test_output_equal_to_input(capsys, paths):
    source, _ = paths
    Book().write(source)
    before = sha256(source)
    for output in (source, source.parent / ".." / source.parent.name / source.name):
        code, _, err = run_cli(capsys, [str(source), "-o", str(output)])
        assert code == 2
        assert "overwrite the input" in err
        assert "Traceback" not in err
        assert sha256(source) == before


def test_output_not_xlsx(capsys, paths):
    source, output = paths
    Book().write(source)
    err = run_bad(capsys, source, output.with_suffix(".csv"))
    assert ".xlsx" in err


def test_password_protected_file_is_explained(capsys, paths):
    # An encrypted .xlsx is an OLE compound file, not a zip.
    source, output = paths
    source.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    err = run_bad(capsys, source, output)
    assert "password-protected" in err and "save it as .xlsx" in err


def test_csv_renamed_is_explained(capsys, paths):
    source, output = paths
    _text_file(source)
    assert "CSV or text file renamed" in run_bad(capsys, source, output)


def test_merged_cells_in_a_table(capsys, paths):
    source, output = paths
    Book().write(source)
    workbook = load_workbook(source)
    workbook["facilities"].merge_cells("C2:C3")  # capacity of rows 2 and 3
    workbook.save(source)
    err = run_bad(capsys, source, output)
    assert_problem(err, ["sheet 'facilities'", "row 2", "column 'capacity'", "C2:C3", "merged"])


def test_hidden_rows_are_read_with_a_warning(capsys, paths):
    source, output = paths
    Book().write(source)
    workbook = load_workbook(source)
    workbook["demand"].row_dimensions[2].hidden = True
    workbook.save(source)
    out, err = run_good(capsys, source, output)
    assert "sheet 'demand' rows 2 are hidden" in err
    assert "USA" in out  # the hidden demand row was solved


def test_xlsm_is_accepted(capsys, tmp_path):
    source = Book().write(tmp_path / "case.xlsm")
    out, _ = run_good(capsys, source, tmp_path / "out.xlsx")
    assert "Status: optimal" in out
