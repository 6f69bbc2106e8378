"""The cost–exposure frontier (SPEC Part 3): each point as --exposure-cap, monotone, hand values."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from model.cli import main
from model.pipeline import load_data, solve_data
from model.studies.frontier import DEFAULT_SHARES, check_monotone, solve_frontier
from model.workbook.read import read_workbook
from tests.helpers import write_case

ROOT = Path(__file__).resolve().parent.parent


def two_mines(settings: list[list] | None = None) -> dict[str, list[list]]:
    """USA needs 100 t of oxide: a Chinese mine at 10 USD/t (100 t/yr) or a US mine at 30 USD/t (60 t/yr).

    With every demand row's `any` cap at share s, the exposed delivery is at
    most 100·s t; the rest is clean (US mine, at most 60 t) or unmet at
    1,000 USD/t:

      s ≥ 0.4: CHN 100·s, US 100 − 100·s      z(s) = 10·100s + 30·(100 − 100s) = 3,000 − 2,000·s
               one more tonne of cap replaces a US tonne by a Chinese one: 20 USD/t,
               per percentage point 0.01 × 100 t × 20 = 20 USD
      s < 0.4: CHN 100·s, US 60, unmet 40 − 100·s
               z(s) = 10·100s + 1,800 + 1,000·(40 − 100s) = 41,800 − 99,000·s
               one more tonne replaces an unmet tonne: 990 USD/t, 990 USD per point
      s = 1:   no cap row (it always holds): z = 1,000, nothing binds.
      s = 0:   the cap row Σ exposed ≤ 0 binds with no exposed flow at all: the LP is degenerate
               there and its dual is any value between the 990 above and 1,000 (the unmet
               penalty: a clean tonne relabelled as exposed is worth as much as an unmet one);
               SPEC accepts any optimal dual, so the test accepts that range.
    """
    return {
        "settings": settings or [["case_name", "two mines"]],
        "countries": [["CHN", "yes"], ["USA", "no"]],
        "products": [["oxide", 0, 0]],
        "processes": [["mine_cn", "mining", "oxide", 1], ["mine_us", "mining", "oxide", 1]],
        "facilities": [["cn", "CHN", 100], ["us", "USA", 60]],
        "facility_processes": [["cn", "mine_cn", 10], ["us", "mine_us", 30]],
        "demand": [["USA", "oxide", 100, 1000]],
    }


# (share, objective, unmet_total, shadow_price_per_pp, binding_stage), derived in two_mines' docstring
HAND = [
    (1.0, 1_000.0, 0.0, 0.0, ""),
    (0.5, 2_000.0, 0.0, 20.0, "any"),
    (0.2, 22_000.0, 20.0, 990.0, "any"),
    (0.0, 41_800.0, 40.0, 990.0, "any"),
]


def test_hand_case_values_derived(tmp_path: Path):
    path = write_case(tmp_path / "two_mines.xlsx", two_mines())
    table = solve_frontier(read_workbook(path), (1.0, 0.5, 0.2, 0.0), workers=1)
    assert list(table.columns[:5]) == [
        "exposure_cap",
        "objective",
        "unmet_total",
        "shadow_price_per_pp",
        "binding_stage",
    ]
    for row, (share, objective, unmet, price, stage) in zip(table.itertuples(index=False), HAND, strict=True):
        assert row.exposure_cap == share
        assert row.objective == pytest.approx(objective, rel=1e-9)
        assert row.unmet_total == pytest.approx(unmet, abs=1e-7)
        if share == 0:  # degenerate (see two_mines)
            assert price - 1e-6 <= row.shadow_price_per_pp <= 1_000 + 1e-6
        else:
            assert row.shadow_price_per_pp == pytest.approx(price, rel=1e-7)
        assert row.binding_stage == stage
        assert row.status == "optimal"


def test_each_point_is_the_run_exposure_cap_makes(tmp_path: Path):
    """A frontier point equals an independent run of the same workbook with --exposure-cap SHARE."""
    path = write_case(tmp_path / "two_mines.xlsx", two_mines())
    shares = (0.7, 0.3)
    table = solve_frontier(read_workbook(path), shares, workers=1)
    for row in table.itertuples(index=False):
        alone = solve_data(load_data(path, row.exposure_cap))
        assert row.objective == pytest.approx(alone.objective, rel=1e-9)
        summary = alone.report.sheets["summary"].set_index("item")["value"]
        assert row.unmet_total == pytest.approx(float(summary["unmet_total"]), abs=1e-7)


def test_cli_writes_sheet_and_chart_and_the_setting_does_the_same(tmp_path: Path):
    path = write_case(tmp_path / "two_mines.xlsx", two_mines())
    out = tmp_path / "out.xlsx"
    assert main([str(path), "-o", str(out), "--frontier", "0,0.5,1"]) == 0
    sheet = load_workbook(out, read_only=True)["frontier"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("exposure_cap", "objective", "unmet_total", "shadow_price_per_pp", "binding_stage")
    assert [r[0] for r in rows[1:]] == [1, 0.5, 0]  # loosest first
    assert [r[1] for r in rows[1:]] == pytest.approx([1_000, 2_000, 41_800])
    with zipfile.ZipFile(out) as archive:
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
        texts = [archive.read(name).decode() for name in charts]
    assert any("frontier!$B$2:$B$4" in text and "frontier!$C$2:$C$4" in text for text in texts)
    legend = [r[:2] for r in load_workbook(out, read_only=True)["legend"].iter_rows(values_only=True)]
    assert ("frontier", "shadow_price_per_pp") in legend

    with_setting = write_case(
        tmp_path / "with_setting.xlsx", two_mines([["case_name", "two mines"], ["frontier", "1, 0.2"]])
    )
    out2 = tmp_path / "out2.xlsx"
    assert main([str(with_setting), "-o", str(out2)]) == 0
    rows = list(load_workbook(out2, read_only=True)["frontier"].iter_rows(values_only=True))
    assert [(r[0], r[1]) for r in rows[1:]] == [(1, pytest.approx(1_000)), (0.2, pytest.approx(22_000))]


def test_bad_frontier_setting_and_argument_are_refused(tmp_path: Path, capsys):
    path = write_case(tmp_path / "bad.xlsx", two_mines([["case_name", "x"], ["frontier", "1, 0.5, lots"]]))
    assert main([str(path), "-o", str(tmp_path / "o.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "sheet 'settings', row 3, column 'value': '1, 0.5, lots'" in err
    assert "shares between 0 and 1 separated by commas" in err
    assert not (tmp_path / "o.xlsx").exists()
    good = write_case(tmp_path / "good.xlsx", two_mines())
    assert main([str(good), "-o", str(tmp_path / "o.xlsx"), "--frontier", "1,1.5"]) == 2
    assert "not a list of shares between 0 and 1" in capsys.readouterr().err


def test_default_shares():
    assert DEFAULT_SHARES == (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0)


def test_check_monotone_catches_a_cheaper_tighter_point():
    import pandas as pd

    table = pd.DataFrame({"exposure_cap": [1.0, 0.5], "objective": [100.0, 99.0]})
    with pytest.raises(Exception, match="cheaper as the cap tightened"):
        check_monotone(table)
    check_monotone(table, mip_gap=0.02)  # within the gap a MIP stops at


def test_base_case_frontier_never_gets_cheaper():
    """The base case (a MIP with all-or-nothing projects) at three caps: cost rises as the cap tightens."""
    raw = read_workbook(ROOT / "inputs" / "base_case.xlsx")
    table = solve_frontier(raw, (1.0, 0.5, 0.0), mip_gap=1e-4, workers=1)  # checks monotone itself
    assert (table["status"] == "optimal").all()
    objectives = table["objective"].tolist()
    for looser, tighter in zip(objectives, objectives[1:], strict=False):
        assert tighter >= looser * (1 - 1e-4)
    assert objectives[-1] > objectives[0]  # de-risking the base case fully costs something
    assert table["unmet_total"].iloc[-1] >= table["unmet_total"].iloc[0] - 1e-6


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    capacities=st.lists(st.integers(0, 120), min_size=4, max_size=4),
    costs=st.lists(st.integers(1, 60), min_size=4, max_size=4),
    restricted=st.lists(st.booleans(), min_size=2, max_size=2),
    quantity=st.integers(1, 150),
    stage_cap=st.sampled_from([None, 0.0, 0.5]),
)
def test_random_frontiers_never_get_cheaper(tmp_path_factory, capacities, costs, restricted, quantity, stage_cap):
    """Random two-stage chains (mine → refine in two countries): every frontier is monotone, cap 1 = no cap."""
    tmp_path = tmp_path_factory.mktemp("random")
    sheets = {
        "countries": [["A", "yes" if restricted[0] else "no"], ["B", "yes" if restricted[1] else "no"], ["C", "no"]],
        "products": [["ore", 0, 0], ["oxide", 100, 0]],
        "processes": [
            ["mine", "mining", "ore", 1],
            ["refine", "separation", "ore", -1.2],
            ["refine", "separation", "oxide", 1],
        ],
        "facilities": [
            ["ma", "A", capacities[0]],
            ["mb", "B", capacities[1]],
            ["ra", "A", capacities[2]],
            ["rb", "B", capacities[3]],
        ],
        "facility_processes": [
            ["ma", "mine", costs[0]],
            ["mb", "mine", costs[1]],
            ["ra", "refine", costs[2]],
            ["rb", "refine", costs[3]],
        ],
        "lanes": [["*", "*", "*", 5, 0.1, "yes", None]],
        "demand": [["C", "oxide", quantity, 5000]],
    }
    if stage_cap is not None:
        sheets["exposure_caps"] = [["C", "oxide", "mining", stage_cap]]
    path = write_case(tmp_path / "random.xlsx", sheets)
    raw = read_workbook(path)
    table = solve_frontier(raw, (1.0, 0.75, 0.5, 0.25, 0.0), workers=1)
    objectives = table["objective"].tolist()
    for looser, tighter in zip(objectives, objectives[1:], strict=False):
        assert tighter >= looser - 1e-6 * max(1.0, abs(looser))
    uncapped = solve_data(load_data(path)).objective if stage_cap is None else None
    if uncapped is not None:
        assert objectives[0] == pytest.approx(uncapped, rel=1e-9)
