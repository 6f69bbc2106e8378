"""The comparison workbook of ``--all-scenarios`` (SPEC Part 3): one row per scenario, base first.

Sheet ``comparison``: ``scenario``, ``status``, ``objective``,
``objective_change`` (vs base), ``unmet_total``, one
``exposure_any_<country>_<product>`` column per consumer, ``binding_caps``,
``message``; then ``description`` (from the scenarios sheet) and
``results_file`` (the scenario's own results workbook).  With years the
objective is the discounted total, ``unmet_total`` is summed over the
years and each exposure share is of the quantities summed over the years.
A failed scenario has its ``status`` failed, its numbers blank and its
``message`` saying why.  Sheet ``legend`` gives every column's meaning
and unit; the workbook writer adds a chart of cost and unmet demand by
scenario.
"""

from __future__ import annotations

import pandas as pd

from model.batch.variants import RunSummary

FIXED = ["scenario", "status", "objective", "objective_change", "unmet_total"]
TRAILING = ["binding_caps", "message", "description", "results_file"]


def exposure_column(country: str, product: str) -> str:
    return f"exposure_any_{country}_{product}"


def comparison_table(rows: list[RunSummary], descriptions: dict[str, str] | None = None) -> pd.DataFrame:
    """The ``comparison`` sheet; ``rows[0]`` is the base run."""
    descriptions = descriptions or {}
    consumers: list[tuple[str, str]] = []
    for row in rows:
        consumers += [key for key in row.exposure_any if key not in consumers]
    base = rows[0].objective if rows and rows[0].ok else None
    records = []
    for row in rows:
        record: dict[str, object] = {
            "scenario": row.name,
            "status": row.status,
            "objective": row.objective,
            "objective_change": None if row.objective is None or base is None else row.objective - base,
            "unmet_total": row.unmet_total,
        }
        for country, product in consumers:
            record[exposure_column(country, product)] = row.exposure_any.get((country, product)) if row.ok else None
        record["binding_caps"] = "; ".join(row.binding_caps)
        record["message"] = row.message
        record["description"] = descriptions.get(row.name, "")
        record["results_file"] = row.results_path or ""
        records.append(record)
    columns = FIXED + [exposure_column(*key) for key in consumers] + TRAILING
    return pd.DataFrame(records, columns=columns)


def comparison_legend(table: pd.DataFrame, money: str) -> pd.DataFrame:
    """The ``legend`` sheet of the comparison workbook."""
    meanings = {
        "scenario": ("Scenario (base: the workbook without changes)", ""),
        "status": ("optimal, what the solver said, or failed (see message)", ""),
        "objective": ("Total cost", money),
        "objective_change": ("objective − the base's objective", money),
        "unmet_total": ("Demand not delivered (summed over the years, with years)", "t"),
        "binding_caps": ("Exposure caps at their limit: country product stage", ""),
        "message": ("Why the scenario failed, or the solver's notes", ""),
        "description": ("The scenario's description in the scenarios sheet", ""),
        "results_file": ("The scenario's own results workbook", ""),
    }
    rows = []
    for column in table.columns:
        if column.startswith("exposure_any_"):
            meaning = (
                f"Share of {column.removeprefix('exposure_any_')}'s demand exposed to restricted countries at any "
                "stage (of the quantity summed over the years, with years)",
                "share 0..1",
            )
        else:
            meaning = meanings[column]
        rows.append(("comparison", column, *meaning))
    rows += [
        ("legend", "sheet", "Sheet of this workbook", ""),
        ("legend", "column", "Column of that sheet", ""),
        ("legend", "meaning", "What it holds", ""),
        ("legend", "unit", "Unit", ""),
    ]
    return pd.DataFrame(rows, columns=["sheet", "column", "meaning", "unit"])
