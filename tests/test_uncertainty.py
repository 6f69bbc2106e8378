"""Monte Carlo over the uncertainty sheet (--samples, --seed): draws, correlation, reproducibility, checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from model.cli import main
from model.errors import InputError
from model.studies.uncertainty import draw, factor_value, solve_samples
from model.workbook.read import read_workbook
from model.workbook.study_inputs import Factor
from tests.helpers import HEADERS, write_case

UNCERTAINTY = ["sheet", "column", "distribution", "low", "high", "mode", "match", "group"]


def factor(row: int, distribution: str, low: float, high: float, mode=None, group: str = "") -> Factor:
    return Factor(row, "demand", "quantity", distribution, low, high, mode, None, group)


def two_mines(uncertainty: list[list]) -> dict[str, list[list]]:
    """USA needs 100·f t of oxide (f the drawn factor): a Chinese mine (10 USD/t, 100 t/yr), then a US mine
    (30 USD/t, 60 t/yr).  z(f) = 1,000·f for f ≤ 1 and 1,000 + 30·(100·f − 100) above; the US mine runs
    exactly in the draws with f > 1."""
    return {
        "countries": [["CHN", "yes"], ["USA", "no"]],
        "products": [["oxide", 0, 0]],
        "processes": [["mine_cn", "mining", "oxide", 1], ["mine_us", "mining", "oxide", 1]],
        "facilities": [["cn", "CHN", 100], ["us", "USA", 60]],
        "facility_processes": [["cn", "mine_cn", 10], ["us", "mine_us", 30]],
        "demand": [["USA", "oxide", 100, 1000]],
        "uncertainty": uncertainty,
    }


def write(tmp_path: Path, uncertainty: list[list], name: str = "mc.xlsx") -> Path:
    return write_case(tmp_path / name, two_mines(uncertainty), {**HEADERS, "uncertainty": UNCERTAINTY})


def test_draws_come_from_seed_and_sample_and_groups_share_a_quantile():
    factors = [factor(2, "uniform", 1, 2, group="g"), factor(3, "uniform", 2, 4, group="g"), factor(4, "uniform", 0, 1)]
    first = draw(factors, 7, 5)
    assert first == draw(factors, 7, 5)  # the same (seed, sample): the same numbers, whenever drawn
    assert first != draw(factors, 7, 6) and first != draw(factors, 8, 5)
    # one quantile u for group g: f2 = 1 + u, f3 = 2 + 2u, so f3 − 2 = 2·(f2 − 1)
    assert first["factor_3"] - 2 == pytest.approx(2 * (first["factor_2"] - 1), rel=1e-12)
    generator = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(5,)))
    u = generator.random(2)  # groups in the order of their first row: g, then row 4 alone
    assert first["factor_2"] == pytest.approx(1 + u[0], rel=1e-15)
    assert first["factor_4"] == pytest.approx(u[1], rel=1e-15)


def test_triangular_inverse_cdf():
    # (low 0, mode 0, high 1): F(x) = 1 − (1 − x)², so F⁻¹(q) = 1 − √(1 − q)
    for q in (0.0, 0.19, 0.5, 0.99):
        assert factor_value(factor(2, "triangular", 0, 1, 0), q) == pytest.approx(1 - (1 - q) ** 0.5, rel=1e-12)
    # symmetric (1, 2, 3): the median is the mode; (2, 2, 2) is always 2
    assert factor_value(factor(2, "triangular", 1, 3, 2), 0.5) == pytest.approx(2.0)
    assert factor_value(factor(2, "triangular", 2, 2, 2), 0.3) == 2.0
    assert factor_value(factor(2, "uniform", 0.5, 1.5), 0.25) == pytest.approx(0.75)


def test_samples_values_derived_and_percentiles(tmp_path: Path):
    path = write(tmp_path, [["demand", "quantity", "uniform", 0.5, 1.5, None, "country=USA", None]])
    samples, percentiles, failed = solve_samples(read_workbook(path), 12, seed=3, workers=1)
    assert failed == []
    assert list(samples.columns) == [
        "sample",
        "factor_2",
        "objective",
        "unmet_total",
        "exposure_any_USA_oxide",
        "status",
        "message",
    ]
    f = samples["factor_2"].to_numpy()
    expected = np.where(f <= 1, 1000 * f, 1000 + 30 * (100 * f - 100))
    assert samples["objective"].to_numpy() == pytest.approx(expected, rel=1e-9)
    by_figure = percentiles.set_index("figure")
    for column in ("p10", "p50", "p90"):
        q = int(column[1:])
        assert by_figure.loc["objective", column] == pytest.approx(np.percentile(expected, q), rel=1e-9)
    assert by_figure.loc["runs_us", "mean"] == pytest.approx(float(np.mean(f > 1 + 1e-9)))
    assert by_figure.loc["runs_cn", "mean"] == 1.0
    utilisation = np.minimum(f, 1.0)  # cn runs 100·min(f, 1) of 100
    assert by_figure.loc["utilisation_cn", "mean"] == pytest.approx(float(np.mean(utilisation)), rel=1e-9)


def test_one_and_two_workers_give_identical_numbers(tmp_path: Path):
    path = write(
        tmp_path,
        [
            ["demand", "quantity", "triangular", 0.6, 1.6, 1.0, None, "demand"],
            ["facility_processes", "unit_cost", "uniform", 0.5, 2.0, None, "facility=us", None],
            ["facilities", "capacity", "uniform", 0.5, 1.0, None, "facility=cn", "demand"],
        ],
    )
    raw = read_workbook(path)
    serial, serial_percentiles, _ = solve_samples(raw, 10, seed=11, workers=1)
    parallel, parallel_percentiles, _ = solve_samples(raw, 10, seed=11, workers=2)
    assert serial.equals(parallel)
    assert serial_percentiles.equals(parallel_percentiles)
    assert serial["objective"].nunique() == 10  # the draws do move the answer


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (["demnd", "quantity", "uniform", 1, 2, None, None, None], ["row 2, column 'sheet'", "an input sheet"]),
        (["demand", "qty", "uniform", 1, 2, None, None, None], ["row 2, column 'column'", "not a column"]),
        (["demand", "country", "uniform", 1, 2, None, None, None], ["row 2, column 'column'", "holds no numbers"]),
        (["demand", "quantity", "normal", 1, 2, None, None, None], ["column 'distribution'", "uniform or triangular"]),
        (["demand", "quantity", "uniform", 2, 1, None, None, None], ["row 2, column 'high'", "≥ low (2)"]),
        (["demand", "quantity", "triangular", 1, 2, 3, None, None], ["column 'mode'", "between low (1) and high (2)"]),
        (["demand", "quantity", "triangular", 1, 2, None, None, None], ["column 'mode'", "required for triangular"]),
        (["demand", "quantity", "uniform", 1, 2, None, "country=JPN", None], ["column 'match'", "country = 'JPN'"]),
        (["demand", "quantity", "uniform", 1, 2, None, "colour=red", None], ["row 2, column 'match'", "'colour'"]),
        (["demand", "quantity", "uniform", "n/a", 2, None, None, None], ["row 2, column 'low'", "a number"]),
        (
            ["facilities", "expansion_cost", "uniform", 1, 2, None, None, None],
            ["facilities rows 2, 3", "they are blank"],
        ),
    ],
)
def test_bad_uncertainty_rows_are_refused(tmp_path: Path, capsys, row, expected):
    path = write(tmp_path, [row])
    out = tmp_path / "out.xlsx"
    assert main([str(path), "-o", str(out)]) == 2  # checked with every run, not only with --samples
    err = capsys.readouterr().err
    assert "sheet 'uncertainty'" in err
    for text in expected:
        assert text in err
    assert not out.exists()


def test_cli_adds_samples_and_percentiles(tmp_path: Path, capsys):
    path = write(tmp_path, [["demand", "quantity", "uniform", 0.5, 1.5, None, None, None]])
    out = tmp_path / "out.xlsx"
    assert main([str(path), "-o", str(out), "--samples", "4", "--seed", "2"]) == 0
    book = load_workbook(out, read_only=True)
    samples = list(book["samples"].iter_rows(values_only=True))
    assert samples[0][:3] == ("sample", "factor_2", "objective") and len(samples) == 5
    figures = [r[0] for r in book["percentiles"].iter_rows(values_only=True)]
    assert figures[0] == "figure" and {"objective", "unmet_total", "runs_us", "utilisation_cn"} <= set(figures)

    bare = write_case(tmp_path / "bare.xlsx", {k: v for k, v in two_mines([]).items() if k != "uncertainty"})
    assert main([str(bare), "-o", str(tmp_path / "o2.xlsx"), "--samples", "3"]) == 2
    assert "at least one factor row for --samples" in capsys.readouterr().err


def test_a_factor_whose_match_names_the_column_it_scales_draws_without_failing(tmp_path: Path):
    # The match selects the US mine by its own cost (unit_cost=30), the column the factor scales. A draw
    # changes that cost, so checking the uncertainty sheet again on the drawn workbook found nothing to match
    # and failed every draw. Draws of factor f in [1, 2]: the US mine never runs (the Chinese one covers the
    # 100 t at 10 USD/t), so every draw's objective is 1,000 USD.
    path = write(
        tmp_path, [["facility_processes", "unit_cost", "uniform", 1, 2, None, "process=mine_us;unit_cost=30", None]]
    )
    samples, _, failed = solve_samples(read_workbook(path), 4, seed=1, workers=1)
    assert failed == []
    assert samples["objective"].tolist() == pytest.approx([1000.0] * 4)


def test_the_base_case_uncertainty_sheet_draws_and_moves_the_premium_rows_together():
    # inputs/base_case.xlsx carries sourced factors (inputs/data/uncertainty.csv): China's own magnet use, and
    # the ex-China conversion premium as one group of two rows. Both rows of the group take the same quantile u:
    # f3 = 0.667 + 0.666·u and f4 = 0.934 + 0.133·u, so (f3 − 0.667)/0.666 = (f4 − 0.934)/0.133.
    from model.workbook.study_inputs import read_factors

    raw = read_workbook(Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx")
    problems: list = []
    factors = read_factors(raw.records, problems)
    assert problems == [] and len(factors) == 3
    values = draw(factors, 7, 1)
    assert (values["factor_3"] - 0.667) / 0.666 == pytest.approx((values["factor_4"] - 0.934) / 0.133, rel=1e-9)
    samples, _, failed = solve_samples(raw, 2, seed=7, workers=1)
    assert failed == [] and (samples["status"] == "optimal").all()


SCENARIO_SHEETS = {
    "scenarios": ["scenario", "description", "based_on", "probability", "source"],
    "changes": ["scenario", "sheet", "column", "operation", "value", "match"],
}


def with_scenario(tmp_path: Path, uncertainty: list[list], changes: list[list]) -> Path:
    sheets = {**two_mines(uncertainty), "scenarios": [["dear", "", None, None, None]], "changes": changes}
    return write_case(tmp_path / "mc_s.xlsx", sheets, {**HEADERS, "uncertainty": UNCERTAINTY, **SCENARIO_SHEETS})


def test_a_scenario_that_moves_a_factors_match_still_solves(tmp_path: Path, capsys):
    # The factor selects the US mine by its cost (unit_cost=30); scenario 'dear' puts every cost up 10 % (US
    # mine 33), so on the scenario's data the match finds nothing. The scenario does not use the uncertainty
    # sheet: it solves, z = 100 t x 11 USD/t = 1,100 USD (the Chinese mine covers the demand).
    path = with_scenario(
        tmp_path,
        [["facility_processes", "unit_cost", "uniform", 1, 2, None, "unit_cost=30", None]],
        [["dear", "facility_processes", "unit_cost", "scale", 1.1, None]],
    )
    out = tmp_path / "dear.xlsx"
    assert main([str(path), "--scenario", "dear", "-q", "-o", str(out)]) == 0, capsys.readouterr().err
    summary = dict(load_workbook(out, read_only=True)["summary"].iter_rows(min_row=2, max_col=2, values_only=True))
    assert summary["objective"] == pytest.approx(1100.0)


def test_samples_of_a_scenario_check_the_factors_on_the_scenarios_data(tmp_path: Path):
    # On the scenario's data the US mine costs 33: a match on unit_cost=33 selects it there (and nothing in the
    # workbook as given), a match on unit_cost=30 the other way round.
    changes = [["dear", "facility_processes", "unit_cost", "scale", 1.1, None]]
    on_scenario = with_scenario(
        tmp_path, [["facility_processes", "unit_cost", "uniform", 1, 2, None, "unit_cost=33", None]], changes
    )
    samples, _, failed = solve_samples(read_workbook(on_scenario), 3, seed=2, workers=1, scenario="dear")
    assert failed == [] and samples["objective"].tolist() == pytest.approx([1100.0] * 3)
    on_base = with_scenario(
        tmp_path, [["facility_processes", "unit_cost", "uniform", 1, 2, None, "unit_cost=30", None]], changes
    )
    with pytest.raises(InputError) as error:
        solve_samples(read_workbook(on_base), 3, seed=2, workers=1, scenario="dear")
    assert "unit_cost=30" in str(error.value.problems[0])


def test_samples_without_an_uncertainty_sheet_are_refused_before_solving(tmp_path: Path, capsys):
    # Nothing to draw: exit 2 with the sheet named, and the case is not solved first (no solving step printed,
    # no results written).
    path = write_case(tmp_path / "plain.xlsx", {k: v for k, v in two_mines([]).items() if k != "uncertainty"}, HEADERS)
    out = tmp_path / "out.xlsx"
    assert main([str(path), "--samples", "5", "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert "sheet 'uncertainty'" in captured.err and "missing or empty" in captured.err
    assert "Solving" not in captured.out and not out.exists()
