"""The input template, generated from the schema, and the same guidance added to an existing workbook.

:func:`write_template` writes an input workbook an analyst can fill in
without the README: an ``instructions`` sheet first (what each sheet is for,
its columns with their units, the order to fill the sheets in, the settings
keys), then every sheet of :data:`model.workbook.schema.SHEETS` in the order
to fill it in, each with

* its header row styled and frozen, and a comment on every header cell
  (meaning, unit, required or not, default, valid values, the sheet its
  names come from), from the column's :class:`ColumnSpec`;
* dropdowns: a key column that names another sheet's names
  (``ColumnSpec.refers_to``) offers that sheet's column through a defined
  name ``list_<sheet>_<column>`` = ``OFFSET(<first cell below the header>, 0, 0,
  MAX(1, COUNTA(<column>) - COUNTA(<header and above>)), 1)``, which grows as
  rows are added (Excel and LibreOffice evaluate it alike); yes/no columns
  offer yes and no, a column with ``ColumnSpec.choices`` its words, and
  ``settings.setting`` the known settings, listed on the instructions sheet.
  Dropdowns only warn about other text: ``*`` and ``any`` in wildcard
  columns, true/false in yes/no columns and free labels in settings are
  valid, and the program's own checks are the rule;
* number validation from the column's bounds (whole numbers where the
  column is ``integer``, exclusive minimum and non-zero as formulas), which
  refuses a value outside them, over the whole column below the header;
* two example rows (three in ``processes``, where a recipe with an input
  takes two rows, and in the facility sheets, for a planned plant),
  together a small valid case: the template runs as shipped.

A sheet added to the schema appears in the template by itself, with its
comments, dropdowns (through its ``refers_to``) and validation; only its
example rows and its plain-words purpose are written here (:data:`EXAMPLES`,
:data:`PURPOSE`), and a test fails while a sheet has no examples.

:func:`decorate` adds the comments, dropdowns and validation (not the
examples or the instructions) to an openpyxl workbook already holding
input sheets, wherever their header rows and columns stand;
:func:`decorate_workbook` does so to a file.  Neither changes a cell's value,
so calamine's used range and the reader see the same tables.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from model.workbook.schema import SETTINGS, SHEETS, YEAR_COLUMN, ColumnSpec, SheetSpec

INSTRUCTIONS = "instructions"
LAST_ROW = 1_048_576  # Excel's last row: validation covers the whole column below the header
AUTHOR = "python run.py --template"
SETTINGS_LIST = "list_settings"  # defined name: the settings keys listed on the instructions sheet
YES_NO = '"yes,no"'
_HEADER_SEARCH_ROWS = 10

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
OPTIONAL_FILL = PatternFill("solid", fgColor="5B7FA6")  # optional columns: a lighter blue
HEADER_BORDER = Border(bottom=Side(style="medium", color="000000"))
TITLE_FONT = Font(bold=True, size=14)
SECTION_FONT = Font(bold=True, size=12)
TABLE_FONT = Font(bold=True)
TABLE_FILL = PatternFill("solid", fgColor="DDEBF7")

# What each sheet is for, in plain words (a sheet not listed here shows its schema description).
PURPOSE: dict[str, str] = {
    "countries": "Every country in the chain. Mark restricted = yes for China and any other country whose "
    "involvement in a product's history should count as exposure.",
    "products": "Every material of the chain, from ore concentrate to magnets. value (USD/t) is the basis of "
    "ad-valorem tariffs; surplus_price (USD/t) credits output nobody uses (negative = disposal cost).",
    "processes": "Recipes, one row per product of a process: coefficient < 0 is an input, > 0 an output, in t per "
    "unit of activity. A process without inputs is a source (a mine). stage (mining, separation, metal, magnet, "
    "...) is what exposure is counted by.",
    "facilities": "One row per mine or plant: its country and capacity (activity units per year, shared by all its "
    "processes). restricted overrides the country's flag (e.g. ownership); expansion_max with expansion_cost lets "
    "the model add capacity.",
    "facility_processes": "Which processes each facility can run, and the operating cost per unit of activity.",
    "lanes": "Trade rules between two different countries: transport cost (USD/t), tariff (fraction of the "
    "product's value), allowed = no for a ban, max_flow (t/yr) for a quota. * means any country or product. "
    "Trade without a matching row costs the setting default_transport_cost and is allowed.",
    "demand": "What each consumer must receive per year (t/yr), delivered in its own country, with an optional "
    "penalty (USD/t) for what is not delivered.",
    "exposure_caps": "The largest share (0 to 1) of a demand row's quantity that may have passed through a "
    "restricted facility: at a named stage, at any stage (stage = any), or at each stage separately (stage = *).",
    "years": "The model years, consecutive (e.g. 2025 to 2035). Delete this sheet for a single-year case. With "
    "it, rows of the yearly sheets apply from their year column (blank = the first year) until the next row "
    "with the same key.",
    "projects": "Candidate investments that add capacity to a facility (a new plant is a facility with capacity "
    "0): capex (USD in total), earliest year online, lead time, life, fixed cost, funder.",
    "budgets": "Capex (USD) each funder can commit per decision year; a project's funder must have a row here.",
    "stockpiles": "Strategic stocks of a product held in a country: initial stock (t), minimum cover in days of "
    "demand, maximum (t), holding cost (USD/t/yr).",
    "settings": "Key/value settings of the run (see the settings keys below) and free labels such as case_name.",
    "scenarios": "Named variants of the case (a ban, a tariff, a plant delay): the workbook with the scenario's "
    "changes rows and overlay sheets <sheet>@<scenario> applied. based_on applies another scenario first; "
    "probability is used by --stochastic.",
    "changes": "One change of a scenario: on the rows of sheet selected by match (column=value pairs separated by "
    ";, blank = every row), set column to value, scale it by value or add value to it.",
    "uncertainty": "Monte Carlo factors for --samples: each row multiplies column of sheet, on the rows selected by "
    "match, by a factor drawn per sample, uniform (low, high) or triangular (low, mode, high); rows with the same "
    "group move together.",
    "observations": "Observed facts the uncapped solution should reproduce (calibration): a facility's activity "
    "(t/yr), a trade (t/yr), or the share of a consumer's product whose stage ran in source_country; compared in "
    "the results' calibration sheet.",
    "references": "The sources that source columns cite by ID; read by people, not by the model.",
}

# Example rows: column -> value, blank columns omitted.  Together a small valid two-year case: a US mine, a
# Chinese separation plant, a planned US separation plant, demand for oxide in the US and China, from the
# second year at most half of the US demand through China (from the second year, so that the observations,
# compared with an uncapped first year, raise no warning).  Entries for sheets the schema does not declare
# are not written.
EXAMPLES: dict[str, list[dict[str, object]]] = {
    "settings": [
        {"setting": "case_name", "value": "Template example", "note": "a label for the results"},
        {"setting": "unmet_demand_penalty", "value": 1_000_000, "note": "USD/t not delivered"},
    ],
    "countries": [
        {"country": "CN", "name": "China", "restricted": "yes", "group": "restricted"},
        {"country": "US", "name": "United States", "restricted": "no", "group": "allied"},
    ],
    "products": [
        {
            "product": "concentrate",
            "unit": "t",
            "value": 2_000,
            "surplus_price": 0,
            "description": "Mixed rare-earth concentrate",
        },
        {"product": "oxide", "unit": "t", "value": 60_000, "surplus_price": 0, "description": "Separated NdPr oxide"},
    ],
    "processes": [
        {"process": "mine", "stage": "mining", "product": "concentrate", "coefficient": 1},
        {"process": "separate", "stage": "separation", "product": "concentrate", "coefficient": -1.5},
        {"process": "separate", "stage": "separation", "product": "oxide", "coefficient": 1},
    ],
    "facilities": [
        {"facility": "US_Mine", "country": "US", "capacity": 100, "status": "operating"},
        {"facility": "CN_Separation", "country": "CN", "capacity": 80, "status": "operating"},
        {
            "facility": "US_Separation",
            "country": "US",
            "capacity": 0,
            "expansion_max": 30,
            "expansion_cost": 20_000,
            "status": "planned",
            "note": "a new plant: capacity 0, its size in expansion_max",
        },
    ],
    "facility_processes": [
        {"facility": "US_Mine", "process": "mine", "unit_cost": 500},
        {"facility": "CN_Separation", "process": "separate", "unit_cost": 3_000},
        {"facility": "US_Separation", "process": "separate", "unit_cost": 6_000},
    ],
    "lanes": [
        {"from": "US", "to": "CN", "product": "concentrate", "transport_cost": 100},
        {"from": "CN", "to": "US", "product": "oxide", "transport_cost": 200, "tariff": 0.25, "allowed": "yes"},
    ],
    "demand": [
        {"country": "US", "product": "oxide", "quantity": 40},
        {"country": "CN", "product": "oxide", "quantity": 20, "unmet_penalty": 500_000},
    ],
    "exposure_caps": [
        {"country": "US", "product": "oxide", "stage": "any", "max_share": 0.5, "year": 2027},
        {"country": "*", "product": "*", "stage": "mining", "max_share": 1},
    ],
    "years": [
        {"year": 2026, "stock_release": "no"},
        {"year": 2027, "stock_release": "no"},
    ],
    "projects": [
        {
            "project": "US_Separation_phase1",
            "facility": "US_Separation",
            "capacity": 20,
            "capex": 5_000_000,
            "earliest_year": 2027,
            "lead_time": 1,
            "life": 20,
            "all_or_nothing": "no",
            "funder": "DOE",
            "fixed_cost": 100_000,
        },
        {
            "project": "US_Mine_expansion",
            "facility": "US_Mine",
            "capacity": 50,
            "capex": 2_000_000,
            "lead_time": 0,
            "all_or_nothing": "no",
            "fixed_cost": 0,
        },
    ],
    "budgets": [
        {"funder": "DOE", "budget": 10_000_000},
        {"funder": "DOE", "budget": 5_000_000, "year": 2027},
    ],
    "stockpiles": [
        {
            "country": "US",
            "product": "oxide",
            "initial": 10,
            "initial_exposed": "yes",
            "min_days": 30,
            "max": 100,
            "holding_cost": 50,
            "from_year": 2027,
        },
        {"country": "US", "product": "concentrate", "initial": 20, "initial_exposed": "no", "holding_cost": 5},
    ],
    # SPEC Parts 3 and 4, written where the schema declares these sheets
    "scenarios": [
        {"scenario": "tariff", "description": "50 % tariff on Chinese oxide", "probability": 0.5},
        {"scenario": "ban", "description": "China bans oxide exports to the US", "probability": 0.5},
    ],
    "changes": [
        {
            "scenario": "tariff",
            "sheet": "lanes",
            "column": "tariff",
            "operation": "set",
            "value": 0.5,
            "match": "from=CN;to=US;product=oxide",
        },
        {
            "scenario": "ban",
            "sheet": "lanes",
            "column": "allowed",
            "operation": "set",
            "value": "no",
            "match": "from=CN;to=US;product=oxide",
        },
    ],
    "uncertainty": [
        {
            "sheet": "facilities",
            "column": "capacity",
            "distribution": "uniform",
            "low": 0.8,
            "high": 1.2,
            "match": "facility=US_Mine",
        },
        {
            "sheet": "facility_processes",
            "column": "unit_cost",
            "distribution": "triangular",
            "low": 0.9,
            "high": 1.3,
            "mode": 1.0,
            "group": "costs",
        },
    ],
    "references": [
        {
            "source_id": "S1",
            "title": "Mineral Commodity Summaries: Rare earths",
            "publisher": "U.S. Geological Survey",
            "year": "2025",
            "link": "https://www.usgs.gov",
            "taken": "facilities: capacity of US_Mine",
        },
        {
            "source_id": "ESTIMATE",
            "title": "Our estimate, explained in the note of the row citing it",
            "taken": "facility_processes: unit costs",
        },
    ],
    "observations": [
        {"kind": "activity", "observed": 90, "facility": "US_Mine", "source": "example"},
        {"kind": "trade", "observed": 60, "from": "US", "to": "CN", "product": "concentrate", "source": "example"},
    ],
}


# ---------------------------------------------------------------------------------------------------------------------
# Words


def _number(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


# What a blank cell of a wildcard sheet's column means where no other row fills it (SPEC Part 1, lane resolution).
_FALLBACK = {
    ("lanes", "transport_cost"): "the setting default_transport_cost",
    ("lanes", "tariff"): "0",
    ("lanes", "allowed"): "yes",
    ("lanes", "max_flow"): "no quota",
}
# Rules the column's own fields do not carry.
_NOTES = {
    ("facilities", "expansion_cost"): "Required where expansion_max > 0.",
    ("projects", "funder"): "The funder needs a row in the budgets sheet.",
}


def column_words(column: ColumnSpec) -> str:
    """A column as the instructions list it: ``capacity (activity units/yr)``, ``restricted (yes/no)``."""
    detail = column.unit if column.unit != column.name else ""
    detail = detail or ("yes/no" if column.kind == "yesno" else "")
    return column.name + (f" ({detail})" if detail else "") + ("*" if column.required else "")


def header_comment(spec: SheetSpec, column: ColumnSpec) -> str:
    """The comment on a header cell: meaning, unit, required or not, default, valid values, where names come from."""
    lines = [column.description or column.name]
    if column.unit:
        lines.append(f"Unit: {column.unit}")
    if column.required:
        lines.append("Required: every row needs a value.")
    elif column.header_required:
        lines.append("This column must be present; its cells may be blank.")
    elif column.kind == "text":
        lines.append("Optional: a free label.")
    elif column.kind != "key" and column.name != YEAR_COLUMN and any(c.wildcard for c in spec.columns):
        fallback = _FALLBACK.get((spec.name, column.name), "the default")
        lines.append(f"Optional. Blank = from the most specific other matching row that fills it, else {fallback}.")
    elif column.default is not None:
        lines.append(f"Optional. Blank = {_number(column.default)}.")
    else:
        lines.append("Optional." if "blank" in column.description.lower() else "Optional. Blank = none.")
    if column.kind == "yesno":
        lines.append("Valid: yes or no (also true/false, 1/0, y/n).")
    elif column.kind == "number":
        lines.append(f"Valid: {column.expectation()}.")
    if column.refers_to is not None:
        sheet, name = column.refers_to
        wild = " or *" if column.wildcard else ""
        extra = " or any" if (spec.name, column.name) == ("exposure_caps", "stage") else ""
        lines.append(f"Valid: a {name} from column {name} of the '{sheet}' sheet{wild}{extra} (dropdown).")
    elif column.choices:
        lines.append(f"Valid: {', '.join(column.choices)} (dropdown).")
    elif column.kind == "key":
        lines.append("A name, matched exactly (case-sensitive, spaces around it trimmed).")
    if (spec.name, column.name) in _NOTES:
        lines.append(_NOTES[spec.name, column.name])
    if spec.yearly and column.name == YEAR_COLUMN:
        lines.append("Only with a years sheet: leave it blank in a single-year case.")
    return "\n".join(lines)


def fill_order() -> list[str]:
    """The sheets in the order to fill them in: a sheet after those it takes names from; required first, settings last.

    Kahn's algorithm over ``refers_to``; among the sheets ready, required
    before optional, then the schema's order.  A cycle (a sheet naming its
    own names, as ``scenarios.based_on``) does not hold a sheet back.
    """
    names = list(SHEETS)
    needs = {
        name: {c.refers_to[0] for c in SHEETS[name].columns if c.refers_to and c.refers_to[0] in SHEETS} - {name}
        for name in names
    }
    order: list[str] = []
    while len(order) < len(names):
        ready = [n for n in names if n not in order and needs[n] <= set(order)]
        if not ready:  # a cycle between sheets: take the rest in the schema's order
            ready = [n for n in names if n not in order]
        order.append(min(ready, key=lambda n: (n == "settings", not SHEETS[n].required, names.index(n))))
    return order


def list_name(sheet: str, column: str) -> str:
    """The defined name of a dropdown's source: ``list_countries_country``."""
    return f"list_{sheet}_{column}"


# ---------------------------------------------------------------------------------------------------------------------
# Cells


def _put(worksheet: Worksheet, row: int, column: int, value: object):
    """Write a value as what it is: text stays text even when it starts with '=' (never a formula)."""
    cell = worksheet.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _header_row(worksheet: Worksheet, spec: SheetSpec) -> tuple[int, dict[str, int]] | None:
    """The header row (1-based) among the first non-empty rows, the one naming most columns, and column -> index."""
    known = {c.name for c in spec.columns}
    best: tuple[int, dict[str, int]] | None = None
    for row in worksheet.iter_rows(min_row=1, max_row=_HEADER_SEARCH_ROWS):
        found = {}
        for cell in row:
            if isinstance(cell.value, str) and cell.value.strip().lower() in known:
                found.setdefault(cell.value.strip().lower(), cell.column)
        if found and (best is None or len(found) > len(best[1])):
            best = (row[0].row, found)
    return best


def _literal(number: float) -> str:
    """A number as a formula reads it: 1000000000 rather than 1e+09."""
    number = float(number)
    return str(int(number)) if number.is_integer() else repr(number)


def number_validation(column: ColumnSpec, first_cell: str) -> DataValidation | None:
    """Excel's check of a number column's bounds, or None for a number without bounds.

    Whole or decimal, between / ≥ / ≤ / >; an exclusive minimum with a
    maximum, or non-zero, as a custom formula on ``first_cell`` (relative:
    Excel and LibreOffice shift it down the column).
    """
    low, high = column.minimum, column.maximum
    if column.kind != "number" or (low is None and high is None and not column.nonzero):
        return None
    kind = "whole" if column.integer else "decimal"
    if column.nonzero or (column.exclusive_minimum and low is not None and high is not None):
        terms = [f"ISNUMBER({first_cell})"]
        if column.integer:
            terms.append(f"INT({first_cell})={first_cell}")
        if column.nonzero:
            terms.append(f"{first_cell}<>0")
        if low is not None:
            terms.append(f"{first_cell}{'>' if column.exclusive_minimum else '>='}{_literal(low)}")
        if high is not None:
            terms.append(f"{first_cell}<={_literal(high)}")
        validation = DataValidation(type="custom", formula1=f"AND({','.join(terms)})")
    elif low is not None and high is not None:
        validation = DataValidation(type=kind, operator="between", formula1=_literal(low), formula2=_literal(high))
    elif low is not None:
        operator = "greaterThan" if column.exclusive_minimum else "greaterThanOrEqual"
        validation = DataValidation(type=kind, operator=operator, formula1=_literal(low))
    else:
        validation = DataValidation(type=kind, operator="lessThanOrEqual", formula1=_literal(high))
    validation.allow_blank = validation.showErrorMessage = True
    validation.errorStyle = "stop"
    validation.errorTitle = f"Not valid in {column.name}"[:32]
    validation.error = f"{column.name}: {column.expectation()}" + (f" ({column.unit})" if column.unit else "")
    return validation


def _list_validation(source: str, title: str, message: str) -> DataValidation:
    """A dropdown that warns (and lets the user keep the value) on text not in the list."""
    validation = DataValidation(type="list", formula1=source, allow_blank=True, showErrorMessage=True)
    validation.errorStyle = "warning"
    validation.errorTitle = title[:32]
    validation.error = message[:255]
    return validation


def _list_formula(worksheet: Worksheet, header_row: int, column: int) -> str:
    """A range that grows with the rows below a header: OFFSET(first cell, 0, 0, rows filled, 1)."""
    sheet = quote_sheetname(worksheet.title)
    letter = get_column_letter(column)
    first = f"{sheet}!${letter}${header_row + 1}"
    above = f"COUNTA({sheet}!${letter}$1:${letter}${header_row})"
    return f"OFFSET({first},0,0,MAX(1,COUNTA({sheet}!${letter}:${letter})-{above}),1)"


def _set_name(workbook: Workbook, name: str, formula: str) -> None:
    if name in workbook.defined_names:
        del workbook.defined_names[name]
    workbook.defined_names[name] = DefinedName(name, attr_text=formula)


def _drop_validations(worksheet: Worksheet, columns: Iterable[int]) -> None:
    """Remove validations covering ``columns`` (so decorating twice does not stack them)."""
    managed = set(columns)
    kept = [
        dv
        for dv in worksheet.data_validations.dataValidation
        if not any(r.min_col <= column <= r.max_col for r in dv.sqref.ranges for column in managed)
    ]
    worksheet.data_validations.dataValidation = kept


def decorate(workbook: Workbook) -> list[str]:
    """Add header comments, dropdowns and number validation to the input sheets of ``workbook``.

    Sheets are matched by name after trimming and lower-casing, as the
    reader matches them; each sheet's header row is found as the reader
    finds it.  Returns the defined names created (one per referenced
    column present in the workbook).  Cell values are untouched.
    """
    sheets = {ws.title.strip().lower(): ws for ws in workbook.worksheets}
    headers = {}
    for name, spec in SHEETS.items():
        if name in sheets and (found := _header_row(sheets[name], spec)) is not None:
            headers[name] = found
    created: list[str] = []
    for name, (header_row, columns) in headers.items():
        spec, worksheet = SHEETS[name], sheets[name]
        _drop_validations(worksheet, columns.values())
        for column in spec.columns:
            index = columns.get(column.name)
            if index is None:
                continue
            letter = get_column_letter(index)
            cell = worksheet.cell(row=header_row, column=index)
            text = header_comment(spec, column)
            comment = Comment(text, AUTHOR)
            comment.width = 320
            comment.height = 40 + 16 * (text.count("\n") + 1 + len(text) // 60)
            cell.comment = comment
            area = f"{letter}{header_row + 1}:{letter}{LAST_ROW}"
            validation = _column_validation(workbook, sheets, headers, spec, column, f"{letter}{header_row + 1}")
            if validation is None:
                continue
            if validation.type == "list" and column.refers_to is not None:
                created.append(validation.formula1)
            validation.add(area)
            worksheet.add_data_validation(validation)
    return sorted(set(created))


def _column_validation(
    workbook: Workbook,
    sheets: dict[str, Worksheet],
    headers: dict[str, tuple[int, dict[str, int]]],
    spec: SheetSpec,
    column: ColumnSpec,
    first_cell: str,
) -> DataValidation | None:
    """The validation of one column: a dropdown of another sheet's names, yes/no, the settings, or bounds."""
    if column.refers_to is not None:
        target, target_column = column.refers_to
        if target not in headers or target_column not in headers[target][1]:
            return None  # the sheet it names is not in this workbook
        header_row, columns = headers[target]
        name = list_name(target, target_column)
        _set_name(workbook, name, _list_formula(sheets[target], header_row, columns[target_column]))
        extra = []
        if column.wildcard:
            extra.append("* (any)")
        if (spec.name, column.name) == ("exposure_caps", "stage"):
            extra.append("any (any stage)")
        also = f"; {' and '.join(extra)} also allowed" if extra else ""
        return _list_validation(
            name,
            f"Unknown {target_column}",
            f"{column.name}: a {target_column} from the '{target}' sheet{also}. Add it there first, or keep this "
            "value if you will (the run lists every unknown name).",
        )
    if column.kind == "yesno":
        return _list_validation(YES_NO, f"{column.name}: yes or no", "yes or no (true/false, 1/0, y/n also work).")
    if column.choices:
        return _list_validation(
            '"' + ",".join(column.choices) + '"',
            f"Not valid in {column.name}",
            f"{column.name}: one of {', '.join(column.choices)}.",
        )
    inline = '"' + ",".join(SETTINGS) + '"'
    if (spec.name, column.name) == ("settings", "setting") and (
        SETTINGS_LIST in workbook.defined_names or len(inline) <= 255  # Excel's limit on a list typed in
    ):
        return _list_validation(
            SETTINGS_LIST if SETTINGS_LIST in workbook.defined_names else inline,
            "Not a setting the model uses",
            "Not one of the settings listed on the instructions sheet; keep it as a free label (case_name, "
            "source, ...) if you will.",
        )
    return number_validation(column, first_cell)


def decorate_workbook(path: Path) -> list[str]:
    """Add header comments, dropdowns and number validation to the input workbook at ``path``, in place.

    For workbooks we build (``inputs/base_case.xlsx``); a user's input
    workbook is never modified by a run.  Returns the dropdowns' defined names.
    """
    workbook = load_workbook(path)
    created = decorate(workbook)
    _save(workbook, path)
    return created


# ---------------------------------------------------------------------------------------------------------------------
# The template


def _instructions(workbook: Workbook, order: list[str]) -> None:
    """The instructions sheet: how to use the workbook, the sheets in order, the settings keys (a named list)."""
    ws = workbook.create_sheet(INSTRUCTIONS, 0)
    row = 1
    _put(ws, row, 1, "Input workbook of python run.py: how to fill it in").font = TITLE_FONT
    notes = [
        "1. Fill in the sheets in the order of the table below: a sheet uses names defined in the sheets above it.",
        "2. Rows 2 and below of each sheet hold a small example case that runs as it is: overwrite or delete "
        "them and type your own rows.",
        "3. Hover over a header cell for the column's meaning, unit, default and valid values. Columns marked * "
        "below are required (darker header); blank optional cells take their default.",
        "4. Dropdowns offer the names of the sheet a column refers to (countries, products, processes, "
        "facilities, stages, funders); type the name in that sheet first. Names are case-sensitive.",
        "5. Units: tonnes per year (t/yr) and US dollars (USD) unless a column says otherwise; shares and tariffs "
        "are fractions (0.25 = 25 %). yes/no cells also accept true/false, 1/0, y/n.",
        "6. Required sheets must stay. Delete an optional sheet you do not need (years: without it the case is a "
        "single year). Do not rename sheets or header cells; extra columns (note, source) are allowed.",
        "7. Save, then run:  python run.py THIS_FILE.xlsx   (results in results/THIS_FILE.xlsx; every problem "
        "found is listed with its sheet, row and column).",
    ]
    for note in notes:
        row += 1
        _put(ws, row, 1, note)
    row += 2
    _put(ws, row, 1, "Sheets, in the order to fill them in").font = SECTION_FONT
    row += 1
    for index, title in enumerate(("step", "sheet", "required", "what it is for", "columns (* = required)"), 1):
        cell = _put(ws, row, index, title)
        cell.font, cell.fill = TABLE_FONT, TABLE_FILL
    for step, name in enumerate(order, 1):
        spec = SHEETS[name]
        row += 1
        _put(ws, row, 1, step)
        _put(ws, row, 2, name)
        _put(ws, row, 3, "required" if spec.required else "optional")
        _put(ws, row, 4, PURPOSE.get(name, spec.description)).alignment = Alignment(wrap_text=True, vertical="top")
        _put(ws, row, 5, ", ".join(column_words(c) for c in spec.columns)).alignment = Alignment(
            wrap_text=True, vertical="top"
        )
        for index in (1, 2, 3):
            ws.cell(row=row, column=index).alignment = Alignment(vertical="top", horizontal="left")
    row += 2
    _put(
        ws, row, 1, "Settings keys (sheet settings: one row per setting, its value in column value)"
    ).font = SECTION_FONT
    row += 1
    for index, title in enumerate(("setting", "unit", "default", "meaning"), 1):
        cell = _put(ws, row, index, title)
        cell.font, cell.fill = TABLE_FONT, TABLE_FILL
    first = row + 1
    for setting in SETTINGS.values():
        row += 1
        _put(ws, row, 1, setting.name)
        _put(ws, row, 2, setting.unit)
        _put(ws, row, 3, "blank" if setting.default is None else _number(setting.default))
        _put(ws, row, 4, setting.description).alignment = Alignment(wrap_text=True, vertical="top")
        for index in (1, 2, 3):
            ws.cell(row=row, column=index).alignment = Alignment(vertical="top", horizontal="left")
    sheet = quote_sheetname(INSTRUCTIONS)
    _set_name(workbook, SETTINGS_LIST, f"{sheet}!$A${first}:$A${row}")
    for letter, width in zip("ABCDE", (22, 20, 12, 70, 70), strict=True):
        ws.column_dimensions[letter].width = width
    _fit_wrapped_rows(ws)


def _fit_wrapped_rows(ws: Worksheet) -> None:
    """Row heights for wrapped text (LibreOffice keeps a row's default height, cutting the text, without them).

    Lines = characters / (column width × 1.1), the width being counted in
    digits of the default font and text being narrower on average; 15 points
    a line.
    """
    for row in ws.iter_rows():
        lines = 1
        for cell in row:
            if cell.alignment.wrap_text and isinstance(cell.value, str):
                width = ws.column_dimensions[cell.column_letter].width or 10
                lines = max(lines, math.ceil(len(cell.value) / (width * 1.1)))
        if lines > 1:
            ws.row_dimensions[row[0].row].height = 15 * lines


def _sheet(workbook: Workbook, spec: SheetSpec) -> None:
    """One input sheet: styled, frozen header and its example rows."""
    ws = workbook.create_sheet(spec.name)
    for index, column in enumerate(spec.columns, 1):
        cell = _put(ws, 1, index, column.name)
        cell.font, cell.border = HEADER_FONT, HEADER_BORDER
        cell.fill = HEADER_FILL if column.required or column.header_required else OPTIONAL_FILL
        cell.alignment = Alignment(horizontal="center")
        width = max(
            [len(column.name) + 4] + [len(_number(r.get(column.name, ""))) + 2 for r in EXAMPLES.get(spec.name, [])]
        )
        ws.column_dimensions[get_column_letter(index)].width = min(max(width, 12), 40)
    for row, example in enumerate(EXAMPLES.get(spec.name, []), 2):
        for index, column in enumerate(spec.columns, 1):
            value = example.get(column.name)
            if value is not None:
                cell = _put(ws, row, index, value)
                if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 10_000:
                    cell.number_format = "#,##0"
    ws.freeze_panes = "A2"


def build_template() -> Workbook:
    """The template as an openpyxl workbook (see the module's docstring)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    order = fill_order()
    _instructions(workbook, order)
    for name in order:
        _sheet(workbook, SHEETS[name])
    decorate(workbook)
    workbook.active = 0
    return workbook


def write_template(path: Path) -> Path:
    """Write the template to ``path`` (whole or not at all) and return the path."""
    _save(build_template(), path)
    return path


def _save(workbook: Workbook, path: Path) -> None:
    """Save to a temporary file beside ``path``, then rename: ``path`` is whole or as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    try:
        workbook.save(temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


if __name__ == "__main__":  # python -m model.workbook.template inputs/template.xlsx: regenerate, overwriting
    import sys

    print(f"wrote {write_template(Path(sys.argv[1] if len(sys.argv) > 1 else 'inputs/template.xlsx'))}")
