"""The benchmark runs end to end and its two routes agree (no timing asserted)."""

import pytest

from model.bench.matrix import build_matrix, solve_matrix
from model.bench.run import MARK_END, MARK_START, main
from model.bench.synthetic import Size, synthetic_data, write_data_workbook
from model.formulation.sets import build_sets
from model.pipeline import load_data


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
