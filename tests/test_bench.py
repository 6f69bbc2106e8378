"""The benchmark runs end to end and its two routes agree (no timing asserted)."""

from pathlib import Path

import pytest

from model.bench.highs_alone import highs_alone
from model.bench.matrix import build_matrix, solve_matrix
from model.bench.run import MARK_END, MARK_START, main
from model.bench.scenarios import first_year_only, variants
from model.bench.synthetic import Size, synthetic_data, write_data_workbook
from model.formulation.sets import build_sets
from model.pipeline import load_data
from model.workbook.read import read_workbook
from model.workbook.validate import validate

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"


def test_benchmark_smallest_size_over_years_updates_only_its_block(tmp_path, capsys):
    page = tmp_path / "performance.md"
    page.write_text(f"# Performance\n\nProse kept.\n\n{MARK_START}\nold table\n{MARK_END}\n\nMore prose.\n")
    # 1 when objectives differ by more than 1e-7 (a MIP: its mip_gap)
    assert main(["--sizes", "xs", "--years", "1,2", "--output", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "| xs | 1 | LP | 5,392 |" in text and "| xs | 2 | MIP |" in text and "old table" not in text
    assert "- xs: whole run (no I/O) ÷ HiGHS alone: 1 y " in text and "2 years against 1:" in text
    assert "`python -m model.bench --sizes xs --years 1,2`" in text and "highspy 1." in text
    assert text.startswith("# Performance\n\nProse kept.") and text.endswith("More prose.\n")
    assert "largest objective gap" in capsys.readouterr().out


@pytest.mark.parametrize("years", ["0", "1,x", ""])
def test_benchmark_refuses_bad_years(years, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        main(["--sizes", "xs", "--years", years, "--output", str(tmp_path / "page.md")])
    assert stopped.value.code == 2


@pytest.mark.parametrize(
    "size",
    [Size(years=4, seed=3), Size(years=1, projects=3, stockpiles=2, seed=5), Size(countries=4, seed=8)],
    ids=["four years", "one year with projects and stockpiles", "one year"],
)
def test_benchmark_workbook_reads_back_as_the_same_case(size, tmp_path):
    """What the benchmark's routes read is the synthetic case: same years, plans, rows by year, and the same LP."""
    data = synthetic_data(size)
    back = load_data(write_data_workbook(data, tmp_path / "case.xlsx"))
    assert (back.years, back.has_years, back.stock_release_years) == (
        data.years,
        data.has_years,
        data.stock_release_years,
    )
    assert [(p.name, p.online_years, p.all_or_nothing, p.funder) for p in back.projects] == [
        (p.name, p.online_years, p.all_or_nothing, p.funder) for p in data.projects
    ]
    assert back.budgets == data.budgets and back.stockpiles == data.stockpiles
    for year in data.years:
        ours, theirs = data.at(year), back.at(year)
        assert [d.quantity for d in theirs.demands.values()] == [d.quantity for d in ours.demands.values()]
        assert {f.name: (f.capacity, f.expansion_max, f.expansion_cost) for f in theirs.facilities.values()} == {
            f.name: (f.capacity, f.expansion_max, f.expansion_cost) for f in ours.facilities.values()
        }
        assert [(c.country, c.product, c.stage, c.max_share) for c in theirs.exposure_caps] == [
            (c.country, c.product, c.stage, c.max_share) for c in ours.exposure_caps
        ]
    lp, lp_back = build_matrix(data, build_sets(data)), build_matrix(back, build_sets(back))
    assert lp_back.shape == lp.shape and len(lp_back.integer) == len(lp.integer)
    assert solve_matrix(lp_back, mip_gap=1e-9)[0] == pytest.approx(solve_matrix(lp, mip_gap=1e-9)[0], rel=1e-9)


def test_highs_alone_solves_the_same_lps_as_the_product():
    """The batch benchmark's physical limit solves each variant's LP to the product's objective.

    ``first_year_only`` keeps the base case's 2025 rows (a one-year LP: projects divisible), the
    variants change costs, demand and capacities; HiGHS alone (plain highspy, warm and cold) must reach
    the objective the product's model cache reaches on the same numbers, else its times measure
    another problem.
    """
    raw = first_year_only(read_workbook(BASE_CASE))
    assert all(
        not isinstance(r.get("year"), int | float) or r["year"] <= 2025 for rows in raw.records.values() for r in rows
    )
    data = validate(raw)
    assert data.years == [2025] and not any(p.all_or_nothing for p in data.projects)
    batch = variants(raw, 4, seed=3)
    alone = highs_alone(raw, batch)
    assert alone.runs == 4
    assert alone.objective_gap < 1e-9
    assert alone.warm_seconds > 0 and alone.cold_seconds > 0
