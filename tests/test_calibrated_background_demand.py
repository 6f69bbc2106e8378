"""Background demand rows (demand column ``capped`` = no): they compete for supply, but no exposure cap applies.

Hand case.  China (restricted) mines ore at 10 USD/t, capacity 100 t; Japan mines it at 50 USD/t,
capacity 100 t; transport is free.  Demand: Japan 60 t (penalty 2,000 USD/t), China 80 t (penalty
1,000 USD/t, ``capped`` = no).  With ``--exposure-cap 0`` (every capped row at most 0 % exposed):

* Japan's row must be clean: 60 t from the Japanese mine at 50 USD/t = 3,000 USD;
* China's row is a background row, so the override does not apply to it: the cheapest supply is its own
  mine, 80 t at 10 USD/t = 800 USD, 100 % exposed and nothing unmet.

Objective 3,800 USD.  Had the cap applied to China's row too (as it would to a row without ``capped`` = no),
its 80 t would be served clean from Japan's remaining 40 t at 50 USD/t and 40 t would be unmet at 1,000 USD/t
(Japan's row, with the higher penalty, is served first):
2,000 + 40,000 + 3,000 = 45,000 USD; that is the second half of the test.  Japan's marginal cost is 50 USD/t
(one more tonne from the Japanese mine), China's 10 USD/t (its own mine, not binding).
"""

from __future__ import annotations

import pytest

from model.pipeline import load_data, solve_data
from tests.helpers import HEADERS, write_case


def _case(path, china_capped: str):
    headers = dict(HEADERS, demand=["country", "product", "quantity", "unmet_penalty", "capped"])
    return write_case(
        path,
        {
            "countries": [["CHN", "yes"], ["JPN", "no"]],
            "products": [["ore", 0, 0]],
            "processes": [["mine", "mining", "ore", 1]],
            "facilities": [["cn_mine", "CHN", 100, None, None, None], ["jp_mine", "JPN", 100, None, None, None]],
            "facility_processes": [["cn_mine", "mine", 10], ["jp_mine", "mine", 50]],
            "demand": [["JPN", "ore", 60, 2000, None], ["CHN", "ore", 80, 1000, china_capped]],
        },
        headers,
    )


def test_no_cap_applies_to_a_background_row(tmp_path):
    data = load_data(_case(tmp_path / "case.xlsx", "no"), exposure_cap=0.0)
    outcome = solve_data(data)
    assert outcome.objective == pytest.approx(3_800)
    d = outcome.report.sheets["deliveries"].set_index("country")
    assert d.loc["JPN", "delivered"] == pytest.approx(60) and d.loc["JPN", "exposure_any"] == pytest.approx(0)
    assert d.loc["CHN", "delivered"] == pytest.approx(80) and d.loc["CHN", "exposure_any"] == pytest.approx(1)
    assert d.loc["JPN", "marginal_cost"] == pytest.approx(50)
    assert d.loc["CHN", "marginal_cost"] == pytest.approx(10)
    caps = outcome.report.sheets["exposure_caps"]
    assert set(caps["country"]) == {"JPN"}


def test_a_row_without_capped_no_is_capped_as_before(tmp_path):
    outcome = solve_data(load_data(_case(tmp_path / "case.xlsx", "yes"), exposure_cap=0.0))
    assert outcome.objective == pytest.approx(45_000)
    d = outcome.report.sheets["deliveries"].set_index("country")
    assert d.loc["CHN", "unmet"] == pytest.approx(40) and d.loc["CHN", "exposure_any"] == pytest.approx(0)
