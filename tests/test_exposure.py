"""Exposure tags, caps, shadow prices and the least-exposure report."""

from __future__ import annotations

import pytest

from model.cli import main
from tests.conftest import row_of, summary_value
from tests.helpers import write_case


def magnet_case(caps=(), settings=()):
    """USA makes magnets from AUS NdPr oxide (clean) and CHN Dy oxide.

    Oxide sources (stage separation): AUS NdPr at 10 USD/t, CHN Dy at 50 USD/t.
    Recipes in USA (stage magnet), per tonne of magnet:
      standard:  0.9 t NdPr + 0.1 t Dy, 100 USD  → 100 + 9 + 5 = 114 USD/t
      dy_free:   1.0 t NdPr,            300 USD  → 300 + 10    = 310 USD/t
    Demand: 100 t of magnets in USA.
    """
    return {
        "settings": [["unmet_demand_penalty", 10000], *settings],
        "countries": [["USA", "no"], ["AUS", "no"], ["CHN", "yes"]],
        "products": [["ndpr_oxide", 0, 0], ["dy_oxide", 0, 0], ["magnet", 0, 0]],
        "processes": [
            ["separate_ndpr", "separation", "ndpr_oxide", 1],
            ["separate_dy", "separation", "dy_oxide", 1],
            ["standard", "magnet", "ndpr_oxide", -0.9],
            ["standard", "magnet", "dy_oxide", -0.1],
            ["standard", "magnet", "magnet", 1],
            ["dy_free", "magnet", "ndpr_oxide", -1],
            ["dy_free", "magnet", "magnet", 1],
        ],
        "facilities": [
            ["AUS separation", "AUS", 1000, None, 0, None],
            ["CHN separation", "CHN", 1000, None, 0, None],
            ["USA magnets", "USA", 1000, None, 0, None],
        ],
        "facility_processes": [
            ["AUS separation", "separate_ndpr", 10],
            ["CHN separation", "separate_dy", 50],
            ["USA magnets", "standard", 100],
            ["USA magnets", "dy_free", 300],
        ],
        "demand": [["USA", "magnet", 100, None]],
        "exposure_caps": [list(cap) for cap in caps],
    }


def test_clean_ndpr_and_china_dy_make_an_exposed_magnet(solve):
    # Uncapped: all standard magnets, 100·114 = 11 400.  The recipe combines
    # clean NdPr with Dy separated in China, so every magnet carries the tag
    # {separation}: exposed 100% at separation and at any stage, 0% elsewhere.
    outcome = solve(magnet_case())
    assert outcome.objective == pytest.approx(11400.0)
    row = row_of(outcome.report.sheets["deliveries"], product="magnet")
    assert row["exposure_any"] == pytest.approx(1.0)
    assert row["exposure_separation"] == pytest.approx(1.0)
    assert row["exposure_magnet"] == pytest.approx(0.0)
    assert row["marginal_cost"] == pytest.approx(114.0)


def test_any_cap_splits_the_recipes_exactly(solve):
    # Cap any ≤ 0.25: 25 t standard + 75 t dy-free = 25·114 + 75·310 = 26 100.
    # One more tonne of allowed exposure saves 310 − 114 = 196 → η = −196 per t,
    # per percentage point of 100 t: 0.01·100·196 = 196 USD/yr.
    # Marginal cost of a tonne of demand (cap scaling): 0.25·114 + 0.75·310 = 261.
    outcome = solve(magnet_case(caps=[["USA", "magnet", "any", 0.25]]))
    assert outcome.objective == pytest.approx(26100.0)
    row = row_of(outcome.report.sheets["deliveries"], product="magnet")
    assert row["exposure_any"] == pytest.approx(0.25)
    assert row["exposure_separation"] == pytest.approx(0.25)
    assert row["unmet"] == pytest.approx(0.0)
    assert row["marginal_cost"] == pytest.approx(261.0)
    cap = row_of(outcome.report.sheets["exposure_caps"], stage="any")
    assert cap["binding"] == "yes"
    assert cap["achieved_share"] == pytest.approx(0.25)
    assert cap["shadow_price_per_pp"] == pytest.approx(196.0)
    activity = outcome.report.sheets["activity"]
    assert row_of(activity, process="standard")["activity"] == pytest.approx(25.0)
    assert row_of(activity, process="dy_free")["activity"] == pytest.approx(75.0)
    assert row_of(activity, process="standard")["exposed_activity"] == pytest.approx(25.0)
    assert row_of(activity, process="dy_free")["exposed_activity"] == pytest.approx(0.0)


def test_stage_cap_and_wildcard_stage(solve):
    # `*` = one cap per stage: separation (binds like the any cap above) and
    # magnet (never binds: magnets are made in USA).
    outcome = solve(magnet_case(caps=[["USA", "magnet", "*", 0.25]]))
    assert outcome.objective == pytest.approx(26100.0)
    caps = outcome.report.sheets["exposure_caps"]
    assert sorted(caps["stage"]) == ["magnet", "separation"]
    assert row_of(caps, stage="separation")["binding"] == "yes"
    assert row_of(caps, stage="magnet")["binding"] == "no"
    assert row_of(caps, stage="magnet")["shadow_price_per_pp"] == 0.0


def test_more_specific_cap_wins(solve):
    # (*,*,any) 0.5 and (USA,magnet,any) 0.25: the specific row applies.
    outcome = solve(magnet_case(caps=[["*", "*", "any", 0.5], ["USA", "magnet", "any", 0.25]]))
    assert outcome.objective == pytest.approx(26100.0)
    assert row_of(outcome.report.sheets["exposure_caps"], stage="any")["max_share"] == 0.25


def cap_rows(outcome) -> int:
    """Number of exposure-cap rows in the LP the run solved."""
    from model.formulation.build import build_model

    return len(build_model(outcome.data, outcome.sets).exposure_cap_constraint)


def test_cap_of_one_makes_no_row_and_a_cap_just_below_one_binds(solve):
    # Uncapped every magnet is exposed (share 1), so a cap of 1 holds as it
    # is: no row, 11 400.  A cap of 0.999 gets its row and binds: 99.9 t
    # standard + 0.1 t dy-free = 11 400 + 0.1·196 = 11 419.6, and one more
    # point of allowed exposure (1 t) saves 196 USD/yr.
    at_one = solve(magnet_case(caps=[["USA", "magnet", "any", 1.0]]), name="one")
    assert cap_rows(at_one) == 0
    assert at_one.objective == pytest.approx(11400.0)
    nearly = solve(magnet_case(caps=[["USA", "magnet", "any", 0.999]]), name="nearly")
    assert cap_rows(nearly) == 1
    assert nearly.objective == pytest.approx(11419.6)
    cap = row_of(nearly.report.sheets["exposure_caps"], stage="any")
    assert cap["binding"] == "yes"
    assert cap["shadow_price_per_pp"] == pytest.approx(196.0)


def test_default_cap_and_command_line_override(solve):
    # default_exposure_cap 0.5: 50·114 + 50·310 = 21 200.
    outcome = solve(magnet_case(settings=[["default_exposure_cap", 0.5]]))
    assert outcome.objective == pytest.approx(21200.0)
    assert row_of(outcome.report.sheets["exposure_caps"], stage="any")["source"] == "default_exposure_cap"
    # --exposure-cap replaces both the default and explicit any rows: 0.25 → 26 100.
    overridden = solve(
        magnet_case(caps=[["USA", "magnet", "any", 0.9]], settings=[["default_exposure_cap", 0.5]]),
        exposure_cap=0.25,
        name="override",
    )
    assert overridden.objective == pytest.approx(26100.0)


def test_cap_that_cannot_be_met_leaves_priced_unmet_demand(tmp_path, capsys):
    # Without the dy-free recipe and a cap of 0.25, only 25 t can be made:
    # 25·114 + 75·10 000 = 752 850; the run warns and still exits 0.
    case = magnet_case(caps=[["USA", "magnet", "any", 0.25]])
    case["facility_processes"] = [fp for fp in case["facility_processes"] if fp[1] != "dy_free"]
    source = write_case(tmp_path / "case.xlsx", case)
    output = tmp_path / "out.xlsx"
    assert main([str(source), "-o", str(output)]) == 0
    captured = capsys.readouterr()
    assert "not fully met" in captured.err
    assert "UNMET 75.0 t" in captured.out
    assert output.exists()


def test_least_exposure_is_reported_at_equal_cost(solve):
    # NdPr oxide costs the same from AUS (clean) and CHN (restricted); the
    # cost is 10·50 = 500 either way, and the report must not overstate
    # exposure: all of it comes from AUS.
    case = magnet_case()
    case["processes"].append(["separate_ndpr_cn", "separation", "ndpr_oxide", 1])
    case["facility_processes"].append(["CHN separation", "separate_ndpr_cn", 10])
    case["demand"] = [["USA", "ndpr_oxide", 50, None]]
    outcome = solve(case)
    assert outcome.objective == pytest.approx(500.0)
    assert row_of(outcome.report.sheets["deliveries"], product="ndpr_oxide")["exposure_any"] == 0.0


def test_sourcing_traces_each_stage(solve):
    # 25 t standard (22.5 t AUS NdPr + 2.5 t CHN Dy) and 75 t dy-free (75 t AUS NdPr).
    # By input mass separation happened in CHN for 2.5 / 100 of the magnets, but the 25 standard
    # magnets carry the separation tag (exposure_separation 0.25): sourcing traces the tagged pools,
    # so the relabelled AUS NdPr in them is attributed to the CHN separation it is counted with
    # (model/results/sourcing.py): CHN 0.25 (restricted), AUS 0.75 (the dy-free magnets).
    outcome = solve(magnet_case(caps=[["USA", "magnet", "any", 0.25]]))
    sourcing = outcome.report.sheets["sourcing"]
    chn = row_of(sourcing, stage="separation", source_country="CHN")
    assert chn["share"] == pytest.approx(0.25) and chn["restricted"] == "yes"
    assert row_of(outcome.report.sheets["deliveries"], product="magnet")["exposure_separation"] == pytest.approx(0.25)
    assert row_of(sourcing, stage="separation", source_country="AUS")["share"] == pytest.approx(0.75)
    assert row_of(sourcing, stage="magnet", source_country="USA")["share"] == pytest.approx(1.0)
    assert summary_value(outcome, "status") == "optimal"
