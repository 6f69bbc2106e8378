"""The ``observations`` sheet and the ``calibration`` results sheet (SPEC.md Part 4).

Hand cases where every modelled figure can be worked out on paper, one
broken workbook per validation rule, and a recomputation of the whole
calibration sheet from the other results sheets of a written workbook.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from model.cli import main
from model.pipeline import load_data, solve_data
from tests.conftest import row_of, summary_value
from tests.helpers import assert_line, run_refused, write_case
from tests.test_matrix import chain
from tests.test_min_flow import LANE_HEADER, ore_case

OBSERVATION_HEADER = [
    "kind",
    "observed",
    "facility",
    "from",
    "to",
    "country",
    "product",
    "stage",
    "source_country",
    "tolerance",
    "source",
]
HEADERS = {"lanes": LANE_HEADER, "observations": OBSERVATION_HEADER}


def activity(facility, observed, product=None, tolerance=None, source="S1"):
    return ["activity", observed, facility, None, None, None, product, None, None, tolerance, source]


def trade(origin, destination, product, observed, tolerance=None, source="S2"):
    return ["trade", observed, None, origin, destination, None, product, None, None, tolerance, source]


def share(country, product, stage, source_country, observed, tolerance=None, source="S3"):
    return ["share", observed, None, None, None, country, product, stage, source_country, tolerance, source]


@pytest.fixture
def solve_case(tmp_path: Path):
    def _solve(sheets, headers=HEADERS, name="case"):
        return solve_data(load_data(write_case(tmp_path / f"{name}.xlsx", sheets, headers)))

    return _solve


def contracted(observations: list[list]) -> dict[str, list[list]]:
    """ore_case of test_min_flow with B → A min_flow 30 (transport 5): A mines 40, B ships 30, C idle.

    Objective 1000 (test_min_flow derives it).  A's pool of ore: 40 own + 30 from B = 70 t.
    """
    case = ore_case([["B", "A", "ore", 5, None, None, None, 30]])
    case["observations"] = observations
    return case


def test_activity_trade_and_share_by_hand(solve_case):
    # mine A: 40 of 40 → deviation 0, yes; utilisation 40 / 100.
    # mine B, its output of ore: 30 against 20 ± 25 % (5) → deviation 10, no; utilisation 0.3.
    # mine C: 0 against 10 → −10, no; utilisation 0.
    # B → A: 30 against 24 ± 25 % = 6 → deviation 6, on the bound: yes (inclusive).
    # C → A: 0 against 0 → yes.
    # A's ore mined in B: 30 / 70 = 0.428571 against 0.5 ± 0.1 (absolute) → −0.0714, yes.
    # A's ore mined in A: 40 / 70 = 0.571429 against 0.9 ± 0.25 → −0.3286, no.
    # A's ore mined in C: no sourcing row → 0 against 0.05 ± 0.25 → yes.
    observations = [
        activity("mine A", 40),
        activity("mine B", 20, product="ore"),
        activity("mine C", 10),
        trade("B", "A", "ore", 24),
        trade("C", "A", "ore", 0),
        share("A", "ore", "mining", "B", 0.5, tolerance=0.1),
        share("A", "ore", "mining", "A", 0.9),
        share("A", "ore", "mining", "C", 0.05, source="an estimate"),
    ]
    outcome = solve_case(contracted(observations))
    assert outcome.objective == pytest.approx(1000.0)
    table = outcome.report.sheets["calibration"]
    assert list(table.columns) == [
        "kind",
        "facility",
        "from",
        "to",
        "country",
        "product",
        "stage",
        "source_country",
        "observed",
        "modelled",
        "deviation",
        "tolerance",
        "within_tolerance",
        "utilisation",
        "source",
    ]
    expected = [
        (40.0, 0.0, "yes", 0.4),
        (30.0, 10.0, "no", 0.3),
        (0.0, -10.0, "no", 0.0),
        (30.0, 6.0, "yes", None),
        (0.0, 0.0, "yes", None),
        (30 / 70, 30 / 70 - 0.5, "yes", None),
        (40 / 70, 40 / 70 - 0.9, "no", None),
        (0.0, -0.05, "yes", None),
    ]
    for (_, row), (modelled, deviation, inside, busy) in zip(table.iterrows(), expected, strict=True):
        assert row["modelled"] == pytest.approx(modelled, abs=1e-9), row.to_dict()
        assert row["deviation"] == pytest.approx(deviation, abs=1e-9), row.to_dict()
        assert row["within_tolerance"] == inside, row.to_dict()
        if busy is None:
            assert pd.isna(row["utilisation"]), row.to_dict()
        else:
            assert row["utilisation"] == pytest.approx(busy), row.to_dict()
    assert list(table["tolerance"]) == pytest.approx([0.25, 0.25, 0.25, 0.25, 0.25, 0.1, 0.25, 0.25])
    assert list(table["source"]) == ["S1", "S1", "S1", "S2", "S2", "S3", "S3", "an estimate"]
    assert summary_value(outcome, "observations_within_tolerance") == pytest.approx(5 / 8)
    assert not any(w.startswith("observations:") for w in outcome.warnings)


def test_utilisation_counts_the_capacity_added(solve_case):
    # A's mine: 40 t plus up to 50 of expansion at 1 USD per t of capacity: a tonne from A costs
    # 10 + 1 = 11 < 12 from C (< 20 from B), so A runs 70 with 30 added.  Utilisation 70 / (40 + 30) = 1,
    # not 70 / 40.
    case = ore_case([["B", "A", "ore", 5, None, None, None, None]])
    case["facilities"][0][2:6] = [40, None, 50, 1]
    case["observations"] = [activity("mine A", 70)]
    outcome = solve_case(case)
    row = outcome.report.sheets["calibration"].iloc[0]
    assert row["modelled"] == pytest.approx(70.0)
    assert row["utilisation"] == pytest.approx(1.0)
    assert row_of(outcome.report.sheets["facilities"], facility="mine A")["utilisation"] == pytest.approx(1.0)


def test_activity_with_a_product_is_the_output_of_it(solve_case):
    # The chain case uncapped; the CN separation plant's output of lanthanum is 0.25 per unit of
    # activity, so modelled = 0.25 × its activity, and its oxide output = 1 × its activity.
    case = chain(exposure_caps=[])
    case["observations"] = [activity("CN sep", 1.0), activity("CN sep", 1.0, "la"), activity("CN sep", 1.0, "oxide")]
    outcome = solve_case(case)
    table = outcome.report.sheets["calibration"]
    level = outcome.report.sheets["activity"].query("facility == 'CN sep'")["activity"].sum()
    assert level > 0
    assert list(table["modelled"]) == pytest.approx([level, 0.25 * level, level])


def test_first_model_year_only(solve_case):
    # Years 2025-2026, demand growing 10 %: A mines 70 in 2025 and 77 in 2026; the sheet compares 2025.
    case = ore_case([["B", "A", "ore", 5, None, None, None, None, None]])
    case["years"] = [[2025], [2026]]
    case["settings"].append(["demand_growth", 0.1])
    case["observations"] = [activity("mine A", 70)]
    headers = {**HEADERS, "lanes": [*LANE_HEADER, "year"]}
    outcome = solve_case(case, headers=headers)
    table = outcome.report.sheets["calibration"]
    assert list(table.columns)[8:10] == ["year", "observed"]
    assert table.iloc[0]["year"] == 2025
    assert table.iloc[0]["modelled"] == pytest.approx(70.0)
    assert row_of(outcome.report.sheets["facilities"], facility="mine A", year=2026)["activity"] == pytest.approx(77.0)


def test_caps_in_the_first_year_are_warned(solve_case):
    case = contracted([activity("mine A", 40)])
    case["exposure_caps"] = [["A", "ore", "any", 0.5]]
    outcome = solve_case(case)
    assert any(w.startswith("observations: exposure caps below 1") for w in outcome.warnings), outcome.warnings


def test_no_observations_no_sheet(solve_case):
    outcome = solve_case(contracted([]))
    assert "calibration" not in outcome.report.sheets
    assert "observations_within_tolerance" not in set(outcome.report.sheets["summary"]["item"])


# ---- the calibration sheet recomputed from the written results --------------------


def chain_observations(case: dict[str, list[list]]) -> list[list]:
    """Observations of every kind on the chain case: each facility's activity and each of its outputs,
    every trade between two of its countries, and every (consumer, stage, country) share."""
    countries = [row[0] for row in case["countries"]]
    stage_of = {row[0]: row[1] for row in case["processes"]}
    outputs = {(row[0], row[2]) for row in case["processes"] if row[3] > 0}
    rows = []
    for number, (facility, process, _) in enumerate(case["facility_processes"]):
        rows.append(activity(facility, 10.0 * number, tolerance=0.5))
        rows += [activity(facility, 20.0, product, source="out") for q, product in sorted(outputs) if q == process]
    rows = list({(r[0], *r[2:9]): r for r in rows}.values())  # a facility with two processes: one total row
    for product in ("ore", "oxide", "dy", "magnet"):
        for origin in countries:
            for destination in countries:
                if origin != destination:
                    rows.append(trade(origin, destination, product, 40.0))
    stages = list(dict.fromkeys(stage_of.values()))
    for country, product, *_ in case["demand"]:
        for stage in stages:
            for source in countries:
                rows.append(share(country, product, stage, source, 0.3, tolerance=0.2))
    return rows


def test_calibration_sheet_agrees_with_the_other_results_sheets(tmp_path, capsys):
    case = chain(exposure_caps=[])
    case["observations"] = chain_observations(case)
    source = write_case(tmp_path / "chain.xlsx", case, {"observations": OBSERVATION_HEADER})
    output = tmp_path / "chain_results.xlsx"
    assert main([str(source), "-o", str(output)]) == 0, capsys.readouterr().err
    sheets = pd.read_excel(output, sheet_name=None, engine="openpyxl")
    calibration = sheets["calibration"]
    assert len(calibration) == len(case["observations"])

    recipe = {(row[0], row[2]): row[3] for row in case["processes"] if row[3] > 0}
    act = sheets["activity"]
    total = act.groupby("facility")["activity"].sum()
    output_of: dict[tuple[str, str], float] = {}
    for facility, process, level in act[["facility", "process", "activity"]].itertuples(index=False):
        for (q, product), coefficient in recipe.items():
            if q == process:
                output_of[facility, product] = output_of.get((facility, product), 0.0) + coefficient * level
    capacity = sheets["facilities"].set_index("facility")["capacity"]
    shipped = sheets["trade"].set_index(["from", "to", "product"])["quantity"]
    shares = sheets["sourcing"].set_index(["country", "product", "stage", "source_country"])["share"]

    checked = {"activity": 0, "trade": 0, "share": 0}
    nonzero = 0
    for (_, row), observation in zip(calibration.iterrows(), case["observations"], strict=True):
        kind, observed, facility, origin, destination, country, product, stage, source_country, tol, _ = observation
        tolerance = 0.25 if tol is None else tol
        assert row["kind"] == kind and row["observed"] == pytest.approx(observed)
        if kind == "activity":
            assert row["facility"] == facility
            modelled = output_of.get((facility, product), 0.0) if product else float(total.get(facility, 0.0))
            assert row["utilisation"] == pytest.approx(float(total.get(facility, 0.0)) / capacity[facility])
        elif kind == "trade":
            assert (row["from"], row["to"], row["product"]) == (origin, destination, product)
            modelled = float(shipped.get((origin, destination, product), 0.0))
        else:
            assert (row["country"], row["product"], row["stage"], row["source_country"]) == (
                country,
                product,
                stage,
                source_country,
            )
            modelled = float(shares.get((country, product, stage, source_country), 0.0))
        allowed = tolerance if kind == "share" else tolerance * observed
        assert row["modelled"] == pytest.approx(modelled, abs=1e-9), row.to_dict()
        assert row["deviation"] == pytest.approx(modelled - observed, abs=1e-9), row.to_dict()
        assert row["within_tolerance"] == ("yes" if abs(modelled - observed) <= allowed + 1e-9 else "no")
        checked[kind] += 1
        nonzero += modelled > 1e-9
    assert min(checked.values()) > 5 and nonzero > 10, (checked, nonzero)
    assert set(calibration["within_tolerance"]) == {"yes", "no"}
    legend = sheets["legend"]
    assert set(calibration.columns) <= set(legend[legend["sheet"] == "calibration"]["column"])


# ---- bad input -------------------------------------------------------------------


def refused(tmp_path, capsys, observations: list[list]) -> str:
    return run_refused(tmp_path, capsys, HEADERS, contracted(observations))


def test_unknown_kind(tmp_path, capsys):
    err = refused(tmp_path, capsys, [["flow", 3, "mine A", None, None, None, None, None, None, None, None]])
    assert_line(err, ["sheet 'observations'", "row 2", "column 'kind'", "'flow'", "activity, trade, share"])


def test_kind_in_any_case_is_accepted(solve_case):
    outcome = solve_case(contracted([["Activity", 40, "mine A", None, None, None, None, None, None, None, None]]))
    assert outcome.report.sheets["calibration"].iloc[0]["kind"] == "activity"


def test_missing_key_of_the_kind(tmp_path, capsys):
    err = refused(tmp_path, capsys, [trade("B", None, "ore", 30)])
    assert_line(err, ["sheet 'observations'", "row 2", "column 'to'", "kind trade needs 'from', 'to' and 'product'"])


def test_key_another_kind_uses_is_refused(tmp_path, capsys):
    row = activity("mine A", 40)
    row[5] = "A"  # country: a share's key
    err = refused(tmp_path, capsys, [row])
    assert_line(err, ["sheet 'observations'", "row 2", "column 'country'", "'A'", "kind activity uses only"])


def test_unknown_names_get_a_hint(tmp_path, capsys):
    err = refused(
        tmp_path,
        capsys,
        [activity("mine a", 40), trade("B", "Z", "ore", 1), share("A", "ore", "minning", "B", 0.5)],
    )
    assert_line(err, ["sheet 'observations'", "row 2", "column 'facility'", "did you mean 'mine A'"])
    assert_line(err, ["sheet 'observations'", "row 3", "column 'to'", "'Z'", "country named in the 'countries'"])
    assert_line(err, ["sheet 'observations'", "row 4", "column 'stage'", "did you mean 'mining'"])


def test_product_the_facility_does_not_make(tmp_path, capsys):
    case = contracted([activity("mine A", 40, product="slag")])
    case["products"].append(["slag", 0, 0])
    err = run_refused(tmp_path, capsys, HEADERS, case)
    assert_line(err, ["sheet 'observations'", "row 2", "column 'product'", "'slag'", "makes (ore)"])


def test_share_needs_a_demand_row_and_a_share(tmp_path, capsys):
    err = refused(tmp_path, capsys, [share("B", "ore", "mining", "B", 0.5), share("A", "ore", "mining", "B", 1.5)])
    assert_line(err, ["sheet 'observations'", "row 2", "column 'country'", "demand row for ore"])
    assert_line(err, ["sheet 'observations'", "row 3", "column 'observed'", "1.5", "between 0 and 1"])


def test_trade_inside_a_country(tmp_path, capsys):
    err = refused(tmp_path, capsys, [trade("A", "A", "ore", 3)])
    assert_line(err, ["sheet 'observations'", "row 2", "column 'to'", "other than 'from'"])


def test_duplicate_observation(tmp_path, capsys):
    err = refused(tmp_path, capsys, [trade("B", "A", "ore", 3), trade("B", "A", "ore", 4, source="other")])
    assert_line(err, ["sheet 'observations'", "row 3", "duplicate of row 2"])


def test_numbers_are_checked(tmp_path, capsys):
    err = refused(tmp_path, capsys, [trade("B", "A", "ore", -3), trade("C", "A", "ore", 3, tolerance="n/a")])
    assert_line(err, ["sheet 'observations'", "row 2", "column 'observed'", "-3"])
    assert_line(err, ["sheet 'observations'", "row 3", "column 'tolerance'", "'n/a'"])


def test_source_text_is_written_as_text(tmp_path, capsys):
    # A source that looks like a formula stays text in the results (write_string), never a formula or link.
    import openpyxl

    text = '=HYPERLINK("http://example.org","S9")'
    source = write_case(tmp_path / "case.xlsx", contracted([activity("mine A", 40, source=text)]), HEADERS)
    workbook = openpyxl.load_workbook(source)  # store the input cell as text, not as a formula
    for cells in workbook["observations"].iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    workbook.save(source)
    output = tmp_path / "result.xlsx"
    assert main([str(source), "-o", str(output)]) == 0, capsys.readouterr().err
    sheet = openpyxl.load_workbook(output)["calibration"]
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("source") + 1)
    assert cell.value == text and cell.data_type == "s"
