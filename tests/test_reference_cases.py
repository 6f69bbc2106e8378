"""Real inputs: the default base case and the peer model's workbooks.

The base case must solve, pass the product's own checks and reproduce the
2025 picture uncapped: China dominates separation and magnet making for US
and Japanese supply.  BLEECAM's rare-earth case, converted to our format by
people outside this project, must solve with the normal command; those
tests skip, saying why, in a clone with no ``../shared/`` beside it.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from model.cli import main
from model.pipeline import load_data, solve_data

ROOT = Path(__file__).resolve().parent.parent
BASE_CASE = ROOT / "inputs" / "base_case.xlsx"
BLEECAM = ROOT.parent / "shared" / "reference" / "bleecam"


@pytest.fixture(scope="module")
def base_outcome():
    return solve_data(load_data(BASE_CASE))


def china_share(outcome, product: str, stage: str) -> float:
    """Quantity-weighted share of US+JPN deliveries of ``product`` whose ``stage`` ran in China."""
    sourcing = outcome.report.sheets["sourcing"]
    deliveries = outcome.report.sheets["deliveries"]
    total = china = 0.0
    for row in deliveries[deliveries["product"] == product].itertuples(index=False):
        rows = sourcing[(sourcing["country"] == row.country) & (sourcing["product"] == product)]
        rows = rows[rows["stage"] == stage]
        total += row.delivered
        china += row.delivered * float(rows[rows["source_country"] == "CHN"]["share"].sum())
    return china / total


def test_base_case_solves_and_verifies(base_outcome):
    assert base_outcome.optimal
    assert base_outcome.verification.ok
    assert base_outcome.verification.largest_violation <= 1e-6
    deliveries = base_outcome.report.sheets["deliveries"]
    assert set(deliveries["country"]) == {"USA", "JPN"}
    assert deliveries["unmet"].sum() <= 1e-6 * deliveries["quantity"].sum()


def test_base_case_pinned(base_outcome):
    # Regression pin: a change to the model or to inputs/base_case.xlsx that
    # moves these must say why in its commit (and update them here).
    # 2026-11-25: 565 rows, 1,284 columns, 3,883 non-zeros, 13 reachable tags.
    from model.formulation.build import build_model
    from model.solver.handoff import standard_form

    form = standard_form(build_model(base_outcome.data, base_outcome.sets))
    assert form.matrix.shape == (565, 1284)
    assert form.matrix.nnz == 3883
    assert len(base_outcome.sets.tags) == 13
    assert base_outcome.objective == pytest.approx(758_052_875.84, rel=1e-9)


def test_base_case_uncapped_is_todays_picture(base_outcome):
    # Reference: China ≈ 90 % of separation and of magnet making (facts file, sections 2-3).
    assert 0.75 <= china_share(base_outcome, "ndfeb_magnet", "magnet") <= 1.0
    assert 0.75 <= china_share(base_outcome, "ndfeb_magnet", "separation") <= 1.0
    magnets = base_outcome.report.sheets["deliveries"]
    magnets = magnets[magnets["product"] == "ndfeb_magnet"]
    assert (magnets["exposure_any"] >= 0.75).all()


def test_base_case_tight_cap_costs_more(base_outcome):
    capped = solve_data(load_data(BASE_CASE, exposure_cap=0.2))
    assert capped.objective > base_outcome.objective * 1.01
    caps = capped.report.sheets["exposure_caps"]
    assert (caps["achieved_share"] <= caps["max_share"] + 1e-6).all()
    assert (caps[caps["binding"] == "yes"]["shadow_price_per_pp"] >= 0).all()


@pytest.mark.skipif(
    not BLEECAM.is_dir(),
    reason="BLEECAM's workbooks: ../shared/reference/bleecam is not beside this clone (CI has it and runs them)",
)
@pytest.mark.parametrize("name", sorted(p.name for p in BLEECAM.glob("*.xlsx")) or ["(no .xlsx in the folder)"])
def test_bleecam_workbooks_solve_with_the_normal_command(name, tmp_path):
    source = BLEECAM / name
    assert source.exists(), f"{BLEECAM} holds no BLEECAM workbook"
    output = tmp_path / "out.xlsx"
    assert main([str(source), "-o", str(output)]) == 0
    workbook = openpyxl.load_workbook(output, read_only=True)
    summary = {row[0]: row[1] for row in workbook["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["status"] == "optimal"
    assert summary["objective"] > 0
