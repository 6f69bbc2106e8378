"""Shared fixtures: solve a hand case written to a temporary workbook."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.pipeline import RunOutcome, load_data, solve_data
from tests.helpers import write_case


@pytest.fixture
def solve(tmp_path: Path):
    """solve(sheets, exposure_cap=None) -> RunOutcome, through a real workbook."""

    def _solve(sheets: dict[str, list[list]], exposure_cap: float | None = None, name: str = "case") -> RunOutcome:
        path = write_case(tmp_path / f"{name}.xlsx", sheets)
        return solve_data(load_data(path, exposure_cap))

    return _solve


def row_of(frame, **keys):
    """The single row of ``frame`` matching ``keys`` (column=value)."""
    mask = None
    for column, value in keys.items():
        match = frame[column] == value
        mask = match if mask is None else mask & match
    rows = frame[mask]
    assert len(rows) == 1, f"expected one row for {keys}, found {len(rows)}"
    return rows.iloc[0]


def summary_value(outcome: RunOutcome, item: str):
    return row_of(outcome.report.sheets["summary"], item=item)["value"]
