"""Scenarios (SPEC Part 3): named variants of the input workbook, by change rows and overlay sheets."""

from model.scenarios.apply import BASE, all_scenarios, apply_scenario, defined_scenarios, validate_scenario
from model.scenarios.changes import Change, apply_changes

__all__ = [
    "BASE",
    "Change",
    "all_scenarios",
    "apply_changes",
    "apply_scenario",
    "defined_scenarios",
    "validate_scenario",
]
