"""The results workbook reads well: legend, order, links, formats, widths, filters and charts.

Runs the command line on a single-year case and on the chain over years (every Part 2 corner), opens
the workbook with openpyxl and checks what an analyst sees.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from model.cli import main
from model.results.report import LEGEND, Report, describe_column, legend_for
from model.workbook.charts import CHART_SHEET, TABLE_COLUMN, money_scale, plan_charts
from model.workbook.write import NUMBER_FORMATS, SHEET_CONTENTS, number_format, reading_order, write_workbook
from tests.helpers import write_case
from tests.test_layout_and_labels import YEAR_HEADERS as SMALL_HEADERS
from tests.test_layout_and_labels import small_case
from tests.test_matrix import YEAR_HEADERS, chain_over_years

SHARE, MONEY, TONNES, YEAR = (NUMBER_FORMATS[k] for k in ("share", "money", "tonnes", "year"))


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("results")
    cases = {
        "one year": (small_case(False), SMALL_HEADERS),
        "years": (small_case(True), SMALL_HEADERS),
        "chain over years": (chain_over_years(), YEAR_HEADERS),
    }
    out = {}
    for name, (sheets, headers) in cases.items():
        source = write_case(folder / f"{name}.xlsx", sheets, headers)
        output = folder / f"{name} results.xlsx"
        assert main([str(source), "-o", str(output)]) == 0, name
        out[name] = output
    return out


def undescribed(path: Path) -> list[str]:
    """``sheet.column`` of every header cell of every sheet that has no row in the legend sheet."""
    book = openpyxl.load_workbook(path, read_only=True)
    legend = {(row[0], row[1]) for row in book["legend"].iter_rows(min_row=2, values_only=True)}
    missing = []
    for sheet in book.sheetnames:
        header = next(book[sheet].iter_rows(max_row=1, values_only=True), ())
        missing += [f"{sheet}.{column}" for column in header if column is not None and (sheet, column) not in legend]
    return missing


@pytest.mark.parametrize("case", ["one year", "years", "chain over years"])
def test_every_column_of_every_sheet_has_a_legend_row(workbooks, case):
    missing = undescribed(workbooks[case])
    assert not missing, (
        f"columns without a legend row (add (sheet, column, meaning, unit) to LEGEND in "
        f"model/results/report.py): {', '.join(missing)}"
    )


def test_a_column_without_a_legend_entry_is_named(tmp_path: Path):
    # A sheet added the documented way (Report.add_sheet) gets legend rows for the columns LEGEND describes,
    # a placeholder entry covering its per-consumer columns; a column LEGEND lacks is named by the check.
    LEGEND.append(("trial", "exposure_any_<country>_<product>", "Exposed share of that consumer", "share 0..1"))
    try:
        report = Report({"summary": pd.DataFrame(columns=["item", "value", "unit"])}, {}, ["mining"], False)
        report.add_sheet("legend", pd.DataFrame())
        frame = pd.DataFrame({"exposure_any_US_magnet": [0.25], "mystery": [1.0]})
        report.add_sheet("trial", frame, before="legend")
        legend = report.sheets["legend"]
        rows = {(s, c): u for s, c, _, u in legend.itertuples(index=False)}
        assert rows[("trial", "exposure_any_US_magnet")] == "share 0..1"
        assert ("trial", "mystery") not in rows
        assert ("summary", "sheet") in rows and ("summary", "contents") in rows
        path = tmp_path / "x.xlsx"
        write_workbook(report.sheets, path)
        assert undescribed(path) == ["trial.mystery"]
        # The new sheet's number formats come from its legend unit, and by name where there is none.
        ws = openpyxl.load_workbook(path)["trial"]
        assert ws["A2"].number_format == SHARE
    finally:
        LEGEND.pop()


def test_legend_expands_stage_columns_only_for_the_case_stages():
    frame = pd.DataFrame(columns=["country", "product", "exposure_any", "exposure_mining", "exposure_bogus"])
    legend = legend_for({"deliveries": frame}, ["mining"])
    columns = list(legend.loc[legend["sheet"] == "deliveries", "column"])
    assert columns == ["country", "product", "exposure_any", "exposure_mining"]
    assert describe_column("deliveries", "exposure_mining", ["mining"]) == (
        "Share of the quantity that passed through a restricted facility at the mining stage",
        "share 0..1",
    )


@pytest.mark.parametrize("case", ["one year", "chain over years"])
def test_sheets_come_in_reading_order_summary_first_and_linked(workbooks, case):
    book = openpyxl.load_workbook(workbooks[case])
    names = book.sheetnames
    assert names[:3] == ["summary", CHART_SHEET, "deliveries"]
    assert names[-2:] == ["warnings", "legend"]
    assert names == reading_order(names)
    summary = book["summary"]
    assert [summary.cell(1, c).value for c in (1, 2, 3, 5, 6)] == ["item", "value", "unit", "sheet", "contents"]
    links = {}
    for row in range(2, summary.max_row + 1):
        cell = summary.cell(row, 5)
        if cell.value is not None:
            assert cell.hyperlink is not None and cell.hyperlink.location == f"'{cell.value}'!A1", cell.coordinate
            links[cell.value] = summary.cell(row, 6).value
    assert list(links) == names[1:], "the summary links every other sheet, in the workbook's order"
    assert all(links[name] == SHEET_CONTENTS[name] for name in names[1:])


def test_reading_order_places_a_new_sheet_before_warnings_and_legend():
    # Listed sheets in SHEET_CONTENTS' order; an unlisted one right after the listed sheet it followed.
    given = ["summary", "trade", "legend", "warnings", "my_new_sheet", "deliveries", "frontier"]
    assert reading_order(given) == ["summary", "deliveries", "frontier", "trade", "my_new_sheet", "warnings", "legend"]
    given = [*SHEET_CONTENTS, "added_last"]  # e.g. sheets["x"] = frame after the legend
    assert reading_order(given)[-3:] == ["added_last", "warnings", "legend"]
    assert reading_order(["legend", "zeta", "summary"]) == ["summary", "zeta", "legend"]


def column_width(ws, index: int) -> float:
    """Width of column ``index`` (1-based): openpyxl keeps one dimension for a run of equal widths."""
    for dimension in ws.column_dimensions.values():
        if dimension.min is not None and dimension.min <= index <= dimension.max:
            return dimension.width
    raise AssertionError(f"{ws.title}: no width set for column {index}")


def test_every_table_has_a_frozen_header_an_auto_filter_and_fitted_widths(workbooks):
    book = openpyxl.load_workbook(workbooks["chain over years"])
    for ws in book.worksheets:
        if ws.title == CHART_SHEET:
            continue
        header = [c.value for c in ws[1]]
        width = len(header) if ws.title != "summary" else 3
        last = get_column_letter(width)
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref == f"A1:{last}{max(ws.max_row, 2)}", (ws.title, ws.auto_filter.ref)
        for index, name in enumerate(header[:width], start=1):
            shown = column_width(ws, index)
            assert shown >= min(60, len(name) + 3), (ws.title, name, shown)  # the name and the filter button
    facilities = book["facilities"]
    names = [c.value for c in facilities[1]]
    longest = max(len(str(r[0].value)) for r in facilities.iter_rows(min_row=2))
    assert column_width(facilities, 1) >= longest, "the facility names fit"
    assert names[0] == "facility"


def test_numbers_are_formatted_by_their_unit(workbooks):
    book = openpyxl.load_workbook(workbooks["chain over years"])

    def fmt(sheet: str, column: str) -> str:
        ws = book[sheet]
        index = [c.value for c in ws[1]].index(column) + 1
        return ws.cell(2, index).number_format

    assert fmt("deliveries", "year") == YEAR  # 2025, never 2,025
    assert fmt("deliveries", "quantity") == TONNES
    assert fmt("deliveries", "exposure_any") == fmt("deliveries", "exposure_magnet") == SHARE
    assert fmt("deliveries", "marginal_cost") == MONEY
    assert fmt("facilities", "utilisation") == SHARE and fmt("facilities", "capacity_value") == MONEY
    assert fmt("exposure_caps", "max_share") == SHARE and fmt("exposure_caps", "shadow_price_per_pp") == MONEY
    assert fmt("trade", "tariff_cost") == MONEY and fmt("trade", "quantity") == TONNES
    assert fmt("budgets", "shadow_price") == NUMBER_FORMATS["ratio"]  # USD per USD: two decimals
    assert fmt("costs_by_year", "discount_factor") == NUMBER_FORMATS["factor"]
    assert fmt("stockpiles", "days_of_cover") == TONNES
    summary = {row[0].value: row[1].number_format for row in book["summary"].iter_rows(min_row=2) if row[0].value}
    assert summary["objective"] == MONEY and summary["cost_transport"] == MONEY
    assert summary["demand_total"] == TONNES
    assert summary["solve_seconds"] == NUMBER_FORMATS["seconds"]
    assert summary["status"] == "General"


@pytest.mark.parametrize(
    ("column", "unit", "expected"),
    [
        # Columns other sheets bring, by unit or, without one, by name.
        ("exposure_any_USA_ndfeb_magnet", None, SHARE),
        ("exposure_cap", None, SHARE),
        ("objective_change", None, MONEY),
        ("min_flow", "t/yr", TONNES),
        ("shortfall", None, TONNES),
        ("factor_4", None, NUMBER_FORMATS["factor"]),
        ("probability", None, SHARE),
        ("sample", None, YEAR),
        ("observed", "t/yr or share (see kind)", NUMBER_FORMATS["mixed"]),
        ("p50", None, NUMBER_FORMATS["mixed"]),
        ("mean_utilisation", None, SHARE),
        ("binding_caps", None, None),
        ("value", "USD (present value)", MONEY),
        ("mip_gap", "relative", None),
        ("anything", "share 0..1", SHARE),
        ("anything", "USD/yr per point", MONEY),
    ],
)
def test_number_format_from_unit_or_name(column, unit, expected):
    assert number_format(column, unit) == expected


def test_charts_refer_to_numbers_written_beside_them(workbooks):
    # Every series of every chart reads a range of the charts sheet that holds numbers: a chart can't be empty.
    path = workbooks["chain over years"]
    book = openpyxl.load_workbook(path)
    ws = book[CHART_SHEET]
    with zipfile.ZipFile(path) as archive:
        xml = [archive.read(n).decode() for n in archive.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
    assert len(xml) >= 12
    for chart in xml:
        ranges = re.findall(r"<c:val><c:numRef><c:f>(.*?)</c:f>", chart)
        assert ranges, "a chart without series"
        numbers = 0
        for reference in ranges:
            sheet, cells = reference.split("!")
            assert sheet == CHART_SHEET
            block = ws[cells.replace("$", "")]
            for row in block if isinstance(block, tuple) else ((block,),):
                numbers += sum(isinstance(c.value, (int, float)) for c in row)
                assert all(c.column == row[0].column for c in row)
                assert row[0].column > TABLE_COLUMN  # the table sits right of the chart, from column N
        assert numbers, f"a chart drawing no number: {ranges}"


def test_chart_plans_follow_the_results(workbooks):
    sheets = pd.read_excel(workbooks["chain over years"], sheet_name=None, engine="openpyxl")
    plans = {plan.title: plan for plan in plan_charts(sheets)}
    # Supply of US magnet in the last year, by stage and source country; each stage sums to the traced shares.
    supply = plans["US magnet: where each stage of its supply ran, 2028"].table.set_index("stage")
    sourcing = sheets["sourcing"]
    rows = sourcing[(sourcing["country"] == "US") & (sourcing["product"] == "magnet") & (sourcing["year"] == 2028)]
    for stage, group in rows.groupby("stage"):
        for country, share in zip(group["source_country"], group["share"], strict=True):
            assert supply.loc[stage, country] == pytest.approx(share)
    assert list(supply.index) == ["mining", "separation", "magnet"]  # the chain's order
    # Caps: one bar per cap of the last year, red where it binds.
    caps = plans["Exposure against its cap, by consumer and stage, 2028"]
    last = sheets["exposure_caps"][sheets["exposure_caps"]["year"] == 2028]
    assert list(caps.table["cap share"]) == list(last["max_share"])
    assert [c == "#C0392B" for c in caps.point_colours] == list(last["binding"] == "yes")
    # Bottlenecks: plants with a positive capacity value, largest first.
    bottleneck = plans["Bottleneck plants: value of one more unit of capacity"].table
    assert list(bottleneck["capacity_value"]) == sorted(bottleneck["capacity_value"], reverse=True)
    assert (bottleneck["capacity_value"] > 0).all()
    # Costs: the components of the summary, the surplus credit negative.
    cost = plans["Cost by stage and component"].table
    summary = dict(zip(sheets["summary"]["item"], sheets["summary"]["value"], strict=False))
    assert cost.iloc[:, 1].sum() == pytest.approx(
        sum(float(v) for k, v in summary.items() if str(k).startswith("cost_")) - float(summary["surplus_credit"])
    )


def test_money_scale():
    assert money_scale(5e6) == ("", "#,##0", "#,##0")
    assert money_scale(3.7e9)[0] == "million "


def test_a_workbook_without_chartable_sheets_has_no_charts_sheet(tmp_path: Path):
    path = tmp_path / "plain.xlsx"
    write_workbook({"summary": pd.DataFrame(columns=["item", "value", "unit"]), "odd": pd.DataFrame({"a": [1]})}, path)
    assert openpyxl.load_workbook(path).sheetnames == ["summary", "odd"]


def test_many_consumers_chart_the_largest(tmp_path: Path):
    # 40 demand rows: one supply chart each for the 24 largest of the last year, the 30 largest on the
    # exposure bars, the 16 largest on the lines over the years; the workbook stays small and readable.
    consumers = [(f"C{i:02d}", "magnet", 100.0 + i) for i in range(40)]
    deliveries = pd.DataFrame(
        [(c, p, y, q, q, 0.0, 0.5, 0.5, 0.0) for c, p, q in consumers for y in (2025, 2026)],
        columns=["country", "product", "year", "quantity", "delivered", "unmet", "exposure_any", "exposure_mining",
                 "exposure_magnet"],
    )  # fmt: skip
    sourcing = pd.DataFrame(
        [(c, p, 2026, "mining", "CN", 1.0) for c, p, _ in consumers],
        columns=["country", "product", "year", "stage", "source_country", "share"],
    )
    plans = plan_charts({"deliveries": deliveries, "sourcing": sourcing})
    supply = [p for p in plans if "where each stage" in p.title]
    assert len(supply) == 24
    assert {p.title.split(":")[0] for p in supply} == {f"C{i:02d} magnet" for i in range(16, 40)}
    bars = next(p for p in plans if p.title.startswith("Exposure by consumer"))
    assert len(bars.table) == 30 and "30 largest" in bars.note
    lines = next(p for p in plans if p.title.startswith("Exposure (any stage)"))
    assert len(lines.table.columns) == 1 + 16
