"""Build ``inputs/base_case.xlsx`` (2025, planned to 2035) and its examples from the CSV files of ``inputs/data``.

Run from the repository root::

    python inputs/build_base_case.py                  # writes inputs/base_case.xlsx and inputs/examples/*.xlsx
    python inputs/build_base_case.py --check          # builds and checks them, writes nothing
    python inputs/build_base_case.py --variant cap20_from_2028   # one workbook, at its own path
    python inputs/build_base_case.py -o other.xlsx    # the base case, elsewhere

The data live in ``inputs/data/<sheet>.csv``, one file per sheet of the input
workbook, each row with a ``source`` (IDs of ``inputs/data/references.csv``:
S1 ... S88 from the facts file, or ESTIMATE / DERIVED / DEFINITION /
SCENARIO) and a ``note`` saying what was taken and, for an estimate, why.
Every CSV of that folder becomes a sheet (whatever its name: scenario
sheets added later are carried over as they are), in the order of the
input schema (:data:`model.workbook.schema.SHEETS`), then by name.

The builder computes only what is derived from other data, so that a data
maintainer changes the figure and not its consequences:

* the separation recipes ``sep_<concentrate>``: for each element of
  ``data/derive/compositions.csv`` (% of TREO, as sourced) its separated
  product (``data/derive/elements.csv``) gets
  ``share / 100 x recovery`` t per t REO fed (``data/derive/recoveries.csv``);
  elements without a product of their own and the unreported rest to
  100 % go to ``other_reo``;
* the ``taken`` column of ``references``: which sheets and rows cite it.

The examples (VARIANTS) are the base case plus the rows they are about: a
Chinese Dy/Tb export ban in 2027-2028 with stocks released, and caps on China
exposure from 2028.  Each workbook is built in a temporary folder and read back
with the model's own reader and validator (``model.pipeline.load_data``), so it
is checked exactly as a run would check it; only a workbook without problems
replaces the output.  The builder itself checks what the model cannot know:
that every number has a source, that every cited ID is in ``references``, and
that every estimate says why.  The output is byte-for-byte reproducible (fixed
zip timestamps and document properties).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DERIVE = DATA / "derive"
DEFAULT_OUTPUT = HERE / "base_case.xlsx"
SOURCES_MD = HERE.parent / "docs" / "sources.md"

Row = dict[str, object]  # column -> cell value (str, int, float or None)
Tables = dict[str, list[Row]]

# Kinds of number that are not taken from a source (rows of references.csv too)
PSEUDO_IDS = ("ESTIMATE", "DERIVED", "DEFINITION", "SCENARIO", "ISO 3166-1")

# ---------------------------------------------------------------------------
# Reading the CSV files
# ---------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _schema():
    from model.workbook.schema import SHEETS

    return SHEETS


def _cell(sheet: str, column: str, text: str) -> object:
    """A CSV cell as a workbook cell: numbers in number columns (and on sheets the schema does not know), else text."""
    if text == "":
        return None
    spec = _schema().get(sheet)
    numeric = True
    if spec is not None:
        known = {c.name: c for c in spec.columns}
        numeric = column in known and known[column].kind in ("number", "any")
    if numeric and _NUMBER.match(text.strip()):
        value = float(text)
        return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
    return text


def read_csv(path: Path, sheet: str | None = None) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as file:
        return [
            {k: _cell(sheet or path.stem, k, (v or "").strip()) for k, v in r.items()} for r in csv.DictReader(file)
        ]


def columns_of(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as file:
        return next(csv.reader(file))


def ids(source: object) -> list[str]:
    out: list[str] = []
    for s in str(source or "").split(";"):
        if s.strip() and s.strip() not in out:
            out.append(s.strip())
    return out


# ---------------------------------------------------------------------------
# Derived numbers
# ---------------------------------------------------------------------------


def separation_rows() -> list[Row]:
    """sep_<concentrate> recipes: 1 t REO fed -> share x recovery t of each separated oxide (t per t REO).

    Each concentrate gets two recipes: ``sep_<kind>_<deposit>`` separates every element of
    ``derive/elements.csv``; ``sep_<kind>_<deposit>_lre`` is a light-RE circuit, whose heavy elements
    (``heavy`` = yes: Dy, Tb) leave unseparated in the mixed ``other_reo`` compound, as at the plants
    without a heavy-RE circuit (facts section 2: outside China only Lynas separated Dy and Tb in 2025).
    """
    rows: list[Row] = []
    elements = read_csv(DERIVE / "elements.csv", "derive")
    products = {str(r["element"]): str(r["product"]) for r in elements}
    light = {str(r["element"]): "other_reo" if r.get("heavy") == "yes" else str(r["product"]) for r in elements}
    rows += _separation_rows(products, "")
    rows += _separation_rows(light, "_lre")
    return rows


def _separation_rows(products: dict[str, str], suffix: str) -> list[Row]:
    compositions = read_csv(DERIVE / "compositions.csv", "derive")
    recoveries = {r["concentrate"]: r for r in read_csv(DERIVE / "recoveries.csv", "derive")}
    order = [p for p in dict.fromkeys(products.values()) if p != "other_reo"] + ["other_reo"]
    rows: list[Row] = []
    for conc in dict.fromkeys(r["concentrate"] for r in compositions):
        comp = [r for r in compositions if r["concentrate"] == conc]
        rec = recoveries[conc]
        recovery = float(rec["recovery"])
        shares: dict[str, float] = {}
        elements: dict[str, list[str]] = {}
        for r in comp:
            product = products.get(str(r["element"]), "other_reo")
            shares[product] = shares.get(product, 0.0) + float(r["share_of_treo_pct"])
            elements.setdefault(product, []).append(str(r["element"]))
        total = sum(shares.values())
        if total > 100.0:  # a published distribution summing to more than 100 % (S5 Xunwu: 103.6 %) is scaled to 100
            shares = {k: v * 100.0 / total for k, v in shares.items()}
        named = sum(v for k, v in shares.items() if k != "other_reo")
        lumped = shares.get("other_reo", 0.0)
        shares["other_reo"] = max(0.0, 100.0 - named)
        scaled = f" (the source's shares sum to {total:.4g} %, scaled to 100 %)" if total > 100.0 else ""
        kind, short = conc.split("_conc_")
        process = f"sep_{kind}_{short}{suffix}"
        comp_ids = ids("; ".join(str(r["source"]) for r in comp))
        rows.append(
            dict(process=process, stage="separation", product=conc, coefficient=-1, source="DEFINITION",
                 note="activity = 1 t REO of concentrate fed")
        )  # fmt: skip
        for product in order:
            pct = shares.get(product, 0.0)
            if pct <= 1e-9:
                continue
            if product == "other_reo":
                what = (
                    f"100 % minus the named oxides ({', '.join(elements.get('other_reo', []))} "
                    f"{lumped:.4g} % and the unreported rest)"
                )
            else:
                what = f"{'+'.join(elements[product])} {pct:.4g} % of TREO"
            if suffix and product == "other_reo":
                what += "; light-RE circuit: the heavy elements stay in this mixed compound"
            rows.append(
                dict(
                    process=process,
                    stage="separation",
                    product=product,
                    coefficient=round(pct / 100 * recovery, 6),
                    source="; ".join(ids("; ".join([*comp_ids, str(rec["source"]), "DERIVED"]))),
                    note=f"DERIVED: {what}{scaled} x recovery {recovery:g} (composition: {comp[0]['note']}; "
                    f"recovery: {rec['note']})",
                )
            )
    return rows


def add_taken(tables: Tables) -> None:
    """Fill the blank ``taken`` cells of references with the sheets and rows that cite each ID."""
    cited: dict[str, dict[str, list[str]]] = {}
    for sheet, rows in tables.items():
        if sheet == "references":
            continue
        for r in rows:
            label = " / ".join(str(v) for k, v in list(r.items())[:3] if v is not None and k not in ("source", "note"))
            for i in ids(r.get("source")):
                cited.setdefault(i, {}).setdefault(sheet, []).append(label)
    for r in tables.get("references", []):
        if r.get("taken"):
            continue
        by_sheet = cited.get(str(r["source_id"]), {})
        if not by_sheet:
            r["taken"] = "not cited by the base case (kept for the record)"
            continue
        parts = []
        for sheet, labels in by_sheet.items():
            labels = list(dict.fromkeys(labels))
            shown = ", ".join(labels[:4]) + (f", +{len(labels) - 4} more" if len(labels) > 4 else "")
            parts.append(f"{sheet} ({len(labels)}): {shown}")
        r["taken"] = "; ".join(parts)


# ---------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------

BAN_PRODUCTS = ["dy_oxide", "tb_oxide", "dy_metal", "tb_metal", "ndfeb_magnet"]
BAN_FROM, BAN_UNTIL = 2027, 2028
CAP_FROM = 2028


@dataclass(frozen=True)
class Variant:
    name: str
    path: Path
    case_name: str
    description: str
    ban: bool = False  # Chinese Dy/Tb exports banned BAN_FROM..BAN_UNTIL, stocks released then
    cap: float | None = None  # any-stage cap on every demand row from CAP_FROM


VARIANTS = {
    v.name: v
    for v in (
        Variant("base_case", DEFAULT_OUTPUT, "base_case_2025_2035", "today's policy, 2025-2035"),
        Variant(
            "dy_tb_ban_2027",
            HERE / "examples" / "dy_tb_ban_2027.xlsx",
            "dy_tb_ban_2027",
            "base case + Chinese exports of Dy, Tb and NdFeB magnets banned in 2027-2028, stocks released then",
            ban=True,
        ),
        Variant(
            "cap50_from_2028",
            HERE / "examples" / "cap50_from_2028.xlsx",
            "cap50_from_2028",
            "base case + at most 50 % China exposure (any stage) on every demand row from 2028",
            cap=0.5,
        ),
        Variant(
            "cap20_from_2028",
            HERE / "examples" / "cap20_from_2028.xlsx",
            "cap20_from_2028",
            "base case + at most 20 % China exposure (any stage) on every demand row from 2028",
            cap=0.2,
        ),
    )
}


def apply_variant(tables: Tables, variant: Variant) -> None:
    for r in tables["settings"]:
        if r["setting"] == "case_name":
            r["value"], r["note"] = variant.case_name, variant.description
    if variant.ban:
        for r in tables["years"]:
            if BAN_FROM <= int(r["year"]) <= BAN_UNTIL:
                r["stock_release"] = "yes"
                r["note"] = "Chinese Dy/Tb export ban: stockpiles may be drawn below their cover"
        for product in BAN_PRODUCTS:
            for year, allowed, note in (
                (BAN_FROM, "no", f"SCENARIO: Chinese exports of {product} banned {BAN_FROM}-{BAN_UNTIL} "
                 "(Ann. 18 licensing turned into a ban, S37)"),
                (BAN_UNTIL + 1, "yes", f"SCENARIO: ban lifted from {BAN_UNTIL + 1}"),
            ):  # fmt: skip
                tables["lanes"].append(
                    {"from": "CHN", "to": "*", "product": product, "allowed": allowed, "year": year,
                     "source": "S37; SCENARIO", "note": note}
                )  # fmt: skip
    if variant.cap is not None:
        tables.setdefault("exposure_caps", []).append(
            dict(country="*", product="*", stage="any", max_share=variant.cap, year=CAP_FROM, source="SCENARIO",
                 note=f"SCENARIO: at most {variant.cap:.0%} of every demand row exposed to China at any stage, "
                 f"from {CAP_FROM}; no cap before (the key has no row yet)")
        )  # fmt: skip


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def sheet_order(names: list[str]) -> list[str]:
    known = list(_schema())
    return [n for n in known if n in names] + sorted(n for n in names if n not in known)


def build_tables(variant: Variant = VARIANTS["base_case"]) -> tuple[Tables, dict[str, list[str]]]:
    """The sheets (rows as dicts) and their column order."""
    tables: Tables = {}
    columns: dict[str, list[str]] = {}
    for path in sorted(DATA.glob("*.csv")):
        tables[path.stem] = read_csv(path)
        columns[path.stem] = columns_of(path)
    processes = tables["processes"]
    cut = max(i for i, r in enumerate(processes) if r["stage"] == "mining") + 1
    tables["processes"] = processes[:cut] + separation_rows() + processes[cut:]
    apply_variant(tables, variant)
    if "exposure_caps" in tables and "exposure_caps" not in columns:
        columns["exposure_caps"] = ["country", "product", "stage", "max_share", "year", "source", "note"]
    add_taken(tables)
    order = sheet_order(list(tables))
    return {s: tables[s] for s in order}, {s: columns[s] for s in order}


# ---------------------------------------------------------------------------
# Checks the model cannot make: provenance
# ---------------------------------------------------------------------------

TEXT_COLUMNS = {"source", "note", "status", "owner", "stage", "name", "group", "unit", "description", "year"}


def numeric_cells(sheet: str, row: Row) -> list[str]:
    """The columns of ``row`` holding numbers that are data (not years or keys)."""
    skip = {"year", "earliest_year", "from_year"} if sheet != "settings" else set()
    return [k for k, v in row.items() if isinstance(v, int | float) and not isinstance(v, bool) and k not in skip]


def provenance_problems(tables: Tables) -> list[str]:
    """Numbers without a source, cited IDs missing from references, estimates that do not say why."""
    problems: list[str] = []
    known = {str(r["source_id"]) for r in tables.get("references", [])}
    for sheet, rows in tables.items():
        if sheet == "references":
            continue
        for n, r in enumerate(rows, start=2):
            cited = ids(r.get("source"))
            if numeric_cells(sheet, r) and not cited:
                problems.append(f"{sheet} row {n}: numbers {numeric_cells(sheet, r)} without a source")
            problems += [f"{sheet} row {n}: source ID {i} is not in references" for i in cited if i not in known]
            if "ESTIMATE" in cited and len(str(r.get("note") or "")) < 20:
                problems.append(f"{sheet} row {n}: an ESTIMATE without a note saying why")
    return problems


def product_problems(path: Path) -> tuple[list[str], list[str]]:
    """(problems, warnings) the model's own reader and validator find in ``path``."""
    from model.errors import InputError
    from model.pipeline import load_data
    from model.workbook.numerics import numeric_warnings

    try:
        data = load_data(path)
    except InputError as error:
        return [str(problem) for problem in error.problems], []
    return [], [*data.warnings, *numeric_warnings(data)]


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
FIXED_TIME = datetime(2025, 12, 31, tzinfo=timezone.utc)
NUMBER_FORMATS = {"coefficient": "0.000000", "tariff": "0.000", "max_share": "0.00"}


def write_workbook(tables: Tables, columns: dict[str, list[str]], path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for sheet, rows in tables.items():
        ws = wb.create_sheet(sheet)
        header = columns[sheet]
        ws.append(header)
        for r in rows:
            ws.append([r.get(c) for c in header])
        _style(ws, header)
    wb.properties.creator = "inputs/build_base_case.py"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    from model.workbook.template import decorate  # the checkout's model (see __main__)

    decorate(wb)  # header comments and dropdowns, as in the template (model/workbook/template.py)
    buf = io.BytesIO()
    wb.save(buf)
    _write_atomically(_reproducible(buf.getvalue()), path)


def _style(ws, header: list[str]) -> None:
    for i, name in enumerate(header, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        width = max([len(name)] + [len(str(c.value or "")) for c in ws[get_column_letter(i)]])
        ws.column_dimensions[get_column_letter(i)].width = min(max(10, width + 2), 60)
        fmt = NUMBER_FORMATS.get(name)
        for c in ws[get_column_letter(i)][1:]:
            if isinstance(c.value, int | float):
                c.number_format = fmt or ("#,##0" if float(c.value).is_integer() else "General")
    ws.freeze_panes = "A2"


def _reproducible(data: bytes) -> bytes:
    """The zip rewritten with fixed timestamps so equal data give equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\2", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(2025, 12, 31, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def _write_atomically(data: bytes, path: Path) -> None:
    """``path`` holds ``data`` whole, or is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def sources_markdown(tables: Tables) -> str:
    """docs/sources.md: the references sheet as a page (written with the workbooks, tested to be current)."""
    lines = [
        "# Sources of the base case",
        "",
        "Generated by `inputs/build_base_case.py` from `inputs/data/references.csv` (do not edit by hand).",
        "Every number of the input workbook cites these IDs in its row's `source` column; the row's `note` says",
        "what was taken and, for an estimate, why. The same table is the workbook's `references` sheet.",
        "LOWREL marks a vendor page, an aggregator or an AI-written summary, used only where nothing better was",
        "found. `taken` lists the sheets and rows that cite the source (count per sheet, first rows).",
        "",
        "| ID | title | publisher | year | link | taken | note |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(value: object) -> str:
        return str(value or "").replace("|", "/").replace("\n", " ")

    for r in tables["references"]:
        links = " ".join(f"<{x.strip()}>" for x in str(r.get("link") or "").split(" ; ") if x.strip())
        lines.append(
            f"| {cell(r['source_id'])} | {cell(r.get('title'))} | {cell(r.get('publisher'))} | {cell(r.get('year'))} "
            f"| {links} | {cell(r.get('taken'))} | {cell(r.get('note'))} |"
        )
    return "\n".join(lines) + "\n"


def build_variant(variant: Variant, output: Path, check: bool) -> int:
    """Build one workbook, check it with the model's reader, write it (unless ``check``); the number of problems."""
    tables, columns = build_tables(variant)
    problems = provenance_problems(tables)
    with tempfile.TemporaryDirectory(prefix=f"{variant.name}-") as folder:
        built = Path(folder) / output.name
        write_workbook(tables, columns, built)
        found, warnings = product_problems(built)
        problems += found
        for w in warnings:
            print(f"warning: {w} [{variant.name}]", file=sys.stderr)
        for p in problems:
            print(f"problem: {p} [{variant.name}]", file=sys.stderr)
        n = sum(len(r) for r in tables.values())
        if check:
            print(f"{variant.name}: {len(tables)} sheets, {n} rows, {len(problems)} problems")
            return len(problems)
        if problems:
            print(f"{output} was not written", file=sys.stderr)
            return len(problems)
        _write_atomically(built.read_bytes(), output)
    print(f"wrote {output} ({len(tables)} sheets, {n} rows)")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--variant",
        choices=sorted(VARIANTS),
        help="build only this workbook (default: all of them, or base_case when -o is given)",
    )
    ap.add_argument("-o", "--output", type=Path, help="where to write the one workbook built (default: its own path)")
    ap.add_argument(
        "--check", action="store_true", help="build the workbooks and check them with the model's reader; write nothing"
    )
    args = ap.parse_args(argv)
    if args.output is not None:
        targets = [(VARIANTS[args.variant or "base_case"], args.output)]
    elif args.variant is not None:
        targets = [(VARIANTS[args.variant], VARIANTS[args.variant].path)]
    else:
        targets = [(variant, variant.path) for variant in VARIANTS.values()]
    problems = sum(build_variant(variant, output, args.check) for variant, output in targets)
    if args.output is None and args.variant is None and not args.check and not problems:
        _write_atomically(sources_markdown(build_tables()[0]).encode("utf-8"), SOURCES_MD)
        print(f"wrote {SOURCES_MD}")
    return 1 if problems else 0


if __name__ == "__main__":
    # Check with the model of this checkout, whatever else is installed.
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())
