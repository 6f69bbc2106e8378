"""Scenarios (SPEC Part 3): change rows, overlay sheets, based_on chains, and every error they can make.

The hand case: ore is mined in CN (restricted, 10 USD/t) or AU (20 USD/t),
separated into oxide in CN (5 USD/t) or the US (30 USD/t); the US needs 50 t
of oxide.  Lane CN→* (any product) costs 1 USD/t; other trade is free.
Base optimum: CN mines and separates, ships oxide to the US: 50 × (10 + 5 + 1)
= 800 USD/yr.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from model.errors import InputError
from model.pipeline import solve_data
from model.scenarios import Change, all_scenarios, apply_changes, apply_scenario, validate_scenario
from model.workbook.read import read_workbook
from model.workbook.validate import validate
from tests.helpers import HEADERS, write_case

SCENARIO_HEADERS = {
    **HEADERS,
    "scenarios": ["scenario", "description", "based_on", "probability", "source"],
    "changes": ["scenario", "sheet", "column", "operation", "value", "match"],
    "facilities@new": HEADERS["facilities"],
    "facilities@s": HEADERS["facilities"],
    "lanes@": ["scenario", "from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow"],
}


def base_sheets() -> dict[str, list[list]]:
    return {
        "countries": [["CN", "yes"], ["AU", "no"], ["US", "no"]],
        "products": [["ore", 0, 0], ["oxide", 100, 0]],
        "processes": [
            ["mine", "mining", "ore", 1],
            ["sep", "separation", "ore", -1],
            ["sep", "separation", "oxide", 1],
        ],
        "facilities": [
            ["cn_mine", "CN", 100, None, None, None],
            ["au_mine", "AU", 100, None, None, None],
            ["cn_sep", "CN", 100, None, None, None],
            ["us_sep", "US", 100, None, None, None],
        ],
        "facility_processes": [
            ["cn_mine", "mine", 10],
            ["au_mine", "mine", 20],
            ["cn_sep", "sep", 5],
            ["us_sep", "sep", 30],
        ],
        "lanes": [["CN", "*", "*", 1, None, None, None], ["AU", "US", "ore", 0, None, None, None]],
        "demand": [["US", "oxide", 50, 1e4]],
    }


def write(tmp_path: Path, scenarios: list[list], changes: list[list], extra: dict | None = None, name="case.xlsx"):
    sheets = base_sheets()
    sheets["scenarios"] = scenarios
    sheets["changes"] = changes
    sheets.update(extra or {})
    return read_workbook(write_case(tmp_path / name, sheets, SCENARIO_HEADERS))


def facility(raw, name: str) -> dict:
    return next(r for r in raw.records["facilities"] if r["facility"] == name)


def lane(raw, origin: str, destination: str, product: str) -> dict:
    rows = [r for r in raw.records["lanes"] if (r["from"], r["to"], r["product"]) == (origin, destination, product)]
    assert len(rows) == 1
    return rows[0]


def problems_of(error: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in error.value.problems]


def test_set_scale_add_apply_exactly_and_leave_the_input_untouched(tmp_path):
    raw = write(
        tmp_path,
        [["s", "three changes", None, None, None]],
        [
            ["s", "facilities", "capacity", "set", 40, "facility=cn_mine"],
            ["s", "facilities", "capacity", "scale", 1.5, "country=US"],
            ["s", "facility_processes", "unit_cost", "add", 2.5, "process=sep"],
            ["s", "lanes", "allowed", "set", "no", "from=CN;to=*;product=*"],
        ],
    )
    changed = apply_scenario(raw, "s")
    assert facility(changed, "cn_mine")["capacity"] == 40.0
    assert facility(changed, "us_sep")["capacity"] == 150.0
    assert facility(changed, "au_mine")["capacity"] == 100.0  # not selected
    costs = {(r["facility"], r["process"]): r["unit_cost"] for r in changed.records["facility_processes"]}
    assert costs == {("cn_mine", "mine"): 10, ("au_mine", "mine"): 20, ("cn_sep", "sep"): 7.5, ("us_sep", "sep"): 32.5}
    assert lane(changed, "CN", "*", "*")["allowed"] is False
    # the input workbook's records are as read
    assert facility(raw, "cn_mine")["capacity"] == 100.0 and lane(raw, "CN", "*", "*")["allowed"] is None
    assert {(r["facility"], r["process"]): r["unit_cost"] for r in raw.records["facility_processes"]}[
        ("cn_sep", "sep")
    ] == 5


def test_scenario_solves_as_the_same_changes_made_by_hand(tmp_path):
    """Ban CN exports: AU ore (20) to the US separator (30), 50 t → 2,500 USD/yr; by hand: the same workbook edited."""
    raw = write(
        tmp_path,
        [["ban", "CN exports banned", None, None, None]],
        [["ban", "lanes", "allowed", "set", "no", "from=CN;to=*;product=*"]],
    )
    data = validate_scenario(raw, "ban")
    sheets = base_sheets()
    sheets["lanes"][0][5] = "no"
    by_hand = validate(read_workbook(write_case(tmp_path / "by_hand.xlsx", sheets)))
    assert solve_data(data).objective == pytest.approx(2500.0, rel=1e-9)
    assert solve_data(by_hand).objective == pytest.approx(2500.0, rel=1e-9)
    assert solve_data(validate(raw)).objective == pytest.approx(800.0, rel=1e-9)  # the base ignores scenarios


def test_based_on_applies_the_parent_first(tmp_path):
    """child (add 10) based on parent (scale 2): (100 × 2) + 10 = 210, not (100 + 10) × 2 = 220."""
    raw = write(
        tmp_path,
        [
            ["child", "", "parent", None, None],
            ["parent", "", None, None, None],
            ["grandchild", "", "child", None, None],
        ],
        [
            ["child", "facilities", "capacity", "add", 10, "facility=au_mine"],
            ["parent", "facilities", "capacity", "scale", 2, "facility=au_mine"],
            ["grandchild", "facilities", "capacity", "scale", 0.5, "facility=au_mine"],
        ],
    )
    assert facility(apply_scenario(raw, "parent"), "au_mine")["capacity"] == 200.0
    assert facility(apply_scenario(raw, "child"), "au_mine")["capacity"] == 210.0
    assert facility(apply_scenario(raw, "grandchild"), "au_mine")["capacity"] == 105.0


def test_changes_apply_in_sheet_order(tmp_path):
    raw = write(
        tmp_path,
        [["s", "", None, None, None]],
        [
            ["s", "facilities", "capacity", "add", 10, "facility=au_mine"],
            ["s", "facilities", "capacity", "scale", 3, "facility=au_mine"],
        ],
    )
    assert facility(apply_scenario(raw, "s"), "au_mine")["capacity"] == 330.0


def test_overlay_sheets_replace_rows_with_the_same_key_and_add_the_others(tmp_path):
    """facilities@new doubles cn_sep and adds a plant; lanes@ (scenario column) serves two scenarios."""
    overlay = [
        ["cn_sep", "CN", 200, None, None, None],
        ["jp_sep", "US", 80, "no", None, None],
    ]
    raw = write(
        tmp_path,
        [["new", "", None, None, None], ["other", "", None, None, None]],
        [["new", "facility_processes", "unit_cost", "set", 1, "facility=cn_sep"]],
        {
            "facilities@new": overlay,
            "lanes@": [
                ["new", "CN", "*", "*", 3, None, None, None],
                ["new", "AU", "US", "oxide", 2, None, None, None],
                ["other", "CN", "*", "*", 9, None, None, None],
            ],
        },
    )
    assert not raw.warnings or all("not part of the input format" not in w for w in raw.warnings)
    changed = apply_scenario(raw, "new")
    names = [r["facility"] for r in changed.records["facilities"]]
    assert names == ["cn_mine", "au_mine", "cn_sep", "us_sep", "jp_sep"]
    assert facility(changed, "cn_sep")["capacity"] == 200.0
    assert facility(changed, "jp_sep")["capacity"] == 80.0 and facility(changed, "jp_sep")["restricted"] is False
    assert lane(changed, "CN", "*", "*")["transport_cost"] == 3.0
    assert lane(changed, "AU", "US", "oxide")["transport_cost"] == 2.0
    assert len(changed.records["lanes"]) == 3
    # the change row runs after the overlay rows
    assert {r["facility"]: r["unit_cost"] for r in changed.records["facility_processes"]}["cn_sep"] == 1.0
    assert lane(apply_scenario(raw, "other"), "CN", "*", "*")["transport_cost"] == 9.0
    assert len(raw.records["facilities"]) == 4


def test_star_selects_only_star_cells_in_lane_and_cap_keys_and_every_row_elsewhere(tmp_path):
    raw = write(
        tmp_path,
        [["s", "", None, None, None]],
        [
            ["s", "lanes", "transport_cost", "set", 7, "to=*"],  # only CN→* (AU→US has to=US)
            ["s", "facilities", "capacity", "set", 60, "country=*"],  # every facility
        ],
    )
    changed = apply_scenario(raw, "s")
    assert lane(changed, "CN", "*", "*")["transport_cost"] == 7.0
    assert lane(changed, "AU", "US", "ore")["transport_cost"] == 0.0
    assert {r["capacity"] for r in changed.records["facilities"]} == {60.0}


def test_set_naming_every_key_column_adds_a_lane_or_cap_row(tmp_path):
    raw = write(
        tmp_path,
        [["s", "", None, None, None]],
        [
            ["s", "lanes", "tariff", "set", 0.25, "from=CN;to=US;product=oxide"],
            ["s", "exposure_caps", "max_share", "set", 0.2, "country=US;product=*;stage=any"],
        ],
    )
    changed = apply_scenario(raw, "s")
    added = lane(changed, "CN", "US", "oxide")
    assert added["tariff"] == 0.25 and added["transport_cost"] is None and added["allowed"] is None
    assert [(r["country"], r["product"], r["stage"], r["max_share"]) for r in changed.records["exposure_caps"]] == [
        ("US", "*", "any", 0.2)
    ]
    # The added rows take effect: a 20 % cap forces 40 t through AU + US (50/t), 10 t from CN at 16 + 25 tariff
    # (the CN→US oxide row is more specific than CN→*: its transport is blank, so CN→*'s 1 USD/t still applies):
    # 40 × 50 + 10 × (10 + 5 + 1 + 0.25 × 100) = 2,000 + 410 = 2,410 USD/yr.
    assert solve_data(validate_scenario(raw, "s")).objective == pytest.approx(2410.0, rel=1e-9)


def test_change_given_in_code_applies_without_a_changes_sheet(tmp_path):
    raw = write(tmp_path, [], [])
    changed = apply_changes(raw, [Change("demand", "quantity", "scale", 2, "country=US")])
    assert changed.records["demand"][0]["quantity"] == 100.0 and raw.records["demand"][0]["quantity"] == 50.0


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("change", "parts"),
    [
        (["s", "facilitys", "capacity", "set", 1, None], ["'changes', row 2", "'sheet'", "did you mean 'facilities'"]),
        (["s", "facilities", "capacty", "set", 1, None], ["'changes', row 2", "'column'", "did you mean 'capacity'"]),
        (["s", "facilities", "capacity", "double", 1, None], ["'changes', row 2", "set, scale or add"]),
        (["s", "facilities", "capacity", "set", 1, "facility=cn_mnie"], ["row 2", "no row has facility", "cn_mine"]),
        (["s", "facilities", "capacity", "set", 1, "facility cn_mine"], ["row 2", "'match'", "has no '='"]),
        (["s", "facilities", "capacity", "set", 1, "plant=cn_mine"], ["row 2", "'match'", "'plant' is not one"]),
        (["s", "facilities", "capacity", "scale", "lots", None], ["row 2", "'value'", "a number (the factor)"]),
        (["s", "facilities", "capacity", "set", "-5", "facility=cn_mine"], ["row 2", "'value'", "between 0 and"]),
        (
            ["s", "facilities", "capacity", "add", -150, "facility=au_mine"],
            ["'changes', row 2", "facilities row 3", "100 → -50", "between 0 and"],
        ),
        (["s", "lanes", "max_flow", "scale", 2, "from=AU"], ["'changes', row 2", "lanes row 3", "it is blank"]),
        (["s", "facilities", "country", "scale", 2, None], ["'changes', row 2", "numeric column"]),
        (["s", "lanes", "tariff", "set", 0.1, "from=CN;to=US"], ["row 2", "name every key column"]),
        (["s", "lanes", "tariff", "set", 0.1, "from=AU;to=*"], ["row 2", "selects only cells holding *"]),
        (["s", "settings", "value", "set", 0.2, "setting=default_exposure_cap"], ["row 2", "the sheet has no rows"]),
    ],
)
def test_bad_change_names_the_change_row_and_the_target_row(tmp_path, change, parts):
    raw = write(tmp_path, [["s", "", None, None, None]], [change])
    with pytest.raises(InputError) as error:
        apply_scenario(raw, "s")
    shown = problems_of(error)
    assert any(all(part in line for part in parts) for line in shown), shown


def test_every_problem_of_a_scenario_is_listed_at_once(tmp_path):
    raw = write(
        tmp_path,
        [["s", "", None, None, None]],
        [
            ["s", "facilitys", "capacity", "set", 1, None],
            ["s", "facilities", "capacity", "set", 1, "facility=nope"],
        ],
    )
    with pytest.raises(InputError) as error:
        apply_scenario(raw, "s")
    assert [p.row for p in error.value.problems] == [2, 3]


def test_unknown_scenario_and_based_on_and_cycles(tmp_path):
    raw = write(
        tmp_path,
        [["a", "", "b", None, None], ["b", "", "a", None, None], ["c", "", "missing", None, None]],
        [["ghost", "facilities", "capacity", "set", 1, None]],
    )
    with pytest.raises(InputError) as error:
        apply_scenario(raw, "a")
    assert any("row 2" in line and "without cycles" in line and "a → b → a" in line for line in problems_of(error))
    with pytest.raises(InputError) as error:
        apply_scenario(raw, "c")
    assert any("'scenarios', row 4" in line and "'missing'" in line for line in problems_of(error))
    with pytest.raises(InputError) as error:
        apply_scenario(raw, "ghost")
    assert any("'ghost'" in line and "named in the 'scenarios' sheet" in line for line in problems_of(error))
    assert all_scenarios(raw) == ["a", "b", "c", "ghost"]


def test_a_change_making_an_unknown_name_is_reported_on_the_target_row_with_the_change(tmp_path):
    raw = write(
        tmp_path, [["s", "", None, None, None]], [["s", "facilities", "country", "set", "XX", "facility=cn_sep"]]
    )
    with pytest.raises(InputError) as error:
        validate_scenario(raw, "s")
    assert any(
        "'facilities', row 4" in line and "'XX'" in line and "changes row 2 (scenario 's')" in line
        for line in problems_of(error)
    ), problems_of(error)


def test_an_overlay_row_with_an_unknown_name_is_reported_on_its_overlay_sheet(tmp_path):
    raw = write(
        tmp_path,
        [["s", "", None, None, None]],
        [],
        {"facilities@s": [["kz_mine", "KZ", 10, None, None, None]]},
    )
    with pytest.raises(InputError) as error:
        validate_scenario(raw, "s")
    assert any("'facilities@s', row 2" in line and "'KZ'" in line for line in problems_of(error)), problems_of(error)


def test_a_broken_scenario_fails_only_itself(tmp_path):
    raw = write(
        tmp_path,
        [["good", "", None, None, None], ["bad", "", None, None, None]],
        [
            ["good", "facilities", "capacity", "scale", 2, None],
            ["bad", "facilities", "capacity", "scale", "n/a", None],
            ["bad", "facilities", "capacity", "scale", 2, "facility=x"],
        ],
    )
    assert validate(raw).case_name  # the base solves
    assert facility(apply_scenario(raw, "good"), "au_mine")["capacity"] == 200.0
    with pytest.raises(InputError):
        apply_scenario(raw, "bad")


def test_unreadable_cells_of_the_changes_sheet_fail_only_their_scenario(tmp_path):
    raw = write(
        tmp_path,
        [["good", "", None, None, None], ["bad", "", None, 2, None]],  # probability 2 is outside 0..1
        [["good", "facilities", "capacity", "scale", 2, None], ["bad", "facilities", None, "set", 1, None]],
    )
    validate(raw)  # the base is not affected
    apply_scenario(raw, "good")
    with pytest.raises(InputError) as error:
        apply_scenario(raw, "bad")
    shown = problems_of(error)
    assert any("'scenarios', row 3" in line and "'probability'" in line for line in shown), shown
    assert any("'changes', row 3" in line and "'column'" in line for line in shown), shown


def test_blank_cells_of_a_scale_are_named_once_with_every_row_and_the_lane_hint(tmp_path):
    # Lanes rows 2 (CN,*,*) and 3 (AU,US,ore) hold blank max_flow cells: one problem lists both rows and
    # says how blanks on lanes inherit, instead of one problem per row.
    raw = write(tmp_path, [["s", "", None, None, None]], [["s", "lanes", "max_flow", "scale", 2, None]])
    with pytest.raises(InputError) as error:
        apply_scenario(raw, "s")
    shown = problems_of(error)
    assert len(shown) == 1, shown
    assert "lanes rows 2, 3 column 'max_flow'" in shown[0] and "they are blank" in shown[0], shown
    assert "less specific lane row" in shown[0], shown
