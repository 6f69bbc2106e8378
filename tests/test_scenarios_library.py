"""The scenario library (inputs/data/scenarios.csv, changes.csv) applied to the base case: every scenario solves.

The workbook is inputs/base_case.xlsx with the two CSVs added as its
scenarios and changes sheets, as the base-case builder adds every CSV of
inputs/data.  Beyond solving, each scenario moves the cost the way its
change must: a ban or a quota, a delayed plant or a lost mine can only make
supply dearer; dropping a tariff or opening routes can only make it
cheaper; the ban is at least as dear as the quota on the same products,
and the October controls at least as dear as their suspended version.  The
base case is a MIP solved to a relative gap of 1e-4, hence the tolerance.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from model.batch import Variant, run_batch
from model.scenarios import all_scenarios, validate_scenario
from model.workbook.read import read_workbook

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "inputs" / "data"
GAP = 2e-4  # two MIP gaps


def rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    book = load_workbook(ROOT / "inputs" / "base_case.xlsx")
    for sheet in ("scenarios", "changes"):
        if sheet in book.sheetnames:
            del book[sheet]
        table = rows(f"{sheet}.csv")
        ws = book.create_sheet(sheet)
        ws.append(list(table[0]))
        for row in table:
            ws.append([float(v) if _number(v) else (v or None) for v in row.values()])
    path = tmp_path_factory.mktemp("library") / "base_case_with_scenarios.xlsx"
    book.save(path)
    return read_workbook(path)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_every_change_and_scenario_has_a_source_and_a_known_scenario():
    scenarios = {row["scenario"] for row in rows("scenarios.csv")}
    assert all(row["source"].strip() for row in rows("scenarios.csv"))
    assert all(row["source"].strip() for row in rows("changes.csv"))
    assert {row["scenario"] for row in rows("changes.csv")} <= scenarios
    assert all(row["based_on"] in scenarios for row in rows("scenarios.csv") if row["based_on"])


def test_every_library_scenario_applies_to_the_base_case(library):
    assert not library.scenario_problems
    names = all_scenarios(library)
    assert names == [row["scenario"] for row in rows("scenarios.csv")]
    for name in names:
        validate_scenario(library, name)  # raises InputError naming the change rows otherwise


def test_every_library_scenario_solves_and_moves_the_cost_the_way_it_must(library):
    names = all_scenarios(library)
    results = run_batch(library, [Variant("base"), *(Variant(name, scenario=name) for name in names)], workers=1)
    failed = [(row.name, row.message) for row in results if not row.ok]
    assert not failed
    cost = {row.name: row.objective for row in results}
    assert all(row.status == "optimal" for row in results)

    def at_least(dearer: str, cheaper: str) -> None:
        assert cost[dearer] >= cost[cheaper] * (1 - GAP), (dearer, cost[dearer], cheaper, cost[cheaper])

    for restriction in ("april2025_ban", "april2025_quota", "mp10x_delayed", "lynas_hre_delayed", "myanmar_cut"):
        at_least(restriction, "base")
    at_least("april2025_ban", "april2025_quota")
    at_least("oct2025_controls", "oct2025_suspended")
    at_least("oct2025_suspended", "april2025_ban")
    at_least("base", "no_section301")
    at_least("base", "allied_routes")
    at_least("demand_growth_all_uses", "base")


def test_the_library_makes_the_base_case_a_two_stage_choice(library):
    """no_disruption (p 0.7) and april2025_ban (p 0.3) are the scenarios with a probability (the values are
    illustrative, said in their notes), so `--stochastic` runs on the base case.  The expected cost is the
    probability-weighted cost of the two scenarios under the shared plan; the ban can only cost more than
    no disruption; the value of the stochastic solution is never negative beyond the MIP gaps, since the
    no-disruption plan is one of the plans the extensive form could have chosen."""
    from model.studies.stochastic import solve_stochastic

    probabilities = {row["scenario"]: float(row["probability"]) for row in rows("scenarios.csv") if row["probability"]}
    assert probabilities == {"april2025_ban": 0.3, "no_disruption": 0.7}
    outcome, _ = solve_stochastic(library)
    table = outcome.sheets["stochastic"].set_index("scenario")
    weighted = sum(table.loc[name, "probability"] * table.loc[name, "objective"] for name in probabilities)
    assert outcome.objective == pytest.approx(weighted, rel=1e-9)
    assert table.loc["april2025_ban", "objective"] >= table.loc["no_disruption", "objective"]
    assert outcome.value_of_stochastic_solution >= -GAP * abs(outcome.objective)
