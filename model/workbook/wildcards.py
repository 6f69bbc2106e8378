"""Column-by-column resolution of rule tables whose keys may be ``*``.

Used by ``lanes`` (from, to, product) and ``exposure_caps`` (country,
product, stage).  For a concrete key, each value column is taken from the
most specific matching rule (most non-``*`` keys) that has a value in that
column.  Two equally specific matching rules with different values for the
same column are a conflict, unless a more specific rule with a value decides
the column for that key.

Lookups go through one dictionary per wildcard pattern (2**n patterns for n
key columns), so resolving a key costs 2**n dictionary probes, independent of
the number of rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from model.workbook.schema import WILDCARD

Keys = tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    keys: Keys
    values: dict[str, object]  # column -> value (None = blank)
    row: int


@dataclass(frozen=True)
class Conflict:
    column: str
    key: Keys
    rows: tuple[int, int]
    values: tuple[object, object]


def specificity(keys: Keys) -> int:
    return sum(1 for key in keys if key != WILDCARD)


def pattern_of(keys: Keys) -> tuple[bool, ...]:
    """True where the key is pinned (not ``*``)."""
    return tuple(key != WILDCARD for key in keys)


class WildcardTable:
    """Rules indexed by their wildcard pattern for fast resolution."""

    def __init__(self, rules: Sequence[Rule], columns: Sequence[str], width: int = 3):
        self.rules = list(rules)
        self.columns = list(columns)
        self.patterns = sorted(itertools.product((True, False), repeat=width), key=lambda p: -sum(p))
        self.index: dict[tuple[bool, ...], dict[Keys, Rule]] = {p: {} for p in self.patterns}
        for rule in self.rules:
            self.index[pattern_of(rule.keys)][tuple(k for k in rule.keys if k != WILDCARD)] = rule

    def matching(self, key: Keys, pinned_only: Callable[[int, str], bool] | None = None) -> list[Rule]:
        """All rules matching ``key``, most specific first.

        ``pinned_only(position, value)`` True means that key value can only be
        matched by a rule naming it explicitly (``any`` stage for caps).
        """
        found = []
        for pattern in self.patterns:
            if pinned_only and any(not pinned and pinned_only(i, key[i]) for i, pinned in enumerate(pattern)):
                continue
            rule = self.index[pattern].get(tuple(k for k, pinned in zip(key, pattern, strict=True) if pinned))
            if rule is not None:
                found.append(rule)
        return found

    def resolve(
        self, key: Keys, pinned_only: Callable[[int, str], bool] | None = None
    ) -> tuple[dict[str, tuple[object, int]], list[Conflict]]:
        """Per column, (value, row) from the most specific rule with a value.

        Returns the resolved columns (absent = no rule gives a value) and the
        conflicts met on the way.
        """
        resolved: dict[str, tuple[object, int]] = {}
        level: dict[str, int] = {}
        conflicts: list[Conflict] = []
        for rule in self.matching(key, pinned_only):
            rank = specificity(rule.keys)
            for column in self.columns:
                value = rule.values.get(column)
                if value is None:
                    continue
                if column not in resolved:
                    resolved[column] = (value, rule.row)
                    level[column] = rank
                elif level[column] == rank and resolved[column][0] != value:
                    conflicts.append(
                        Conflict(column, key, (resolved[column][1], rule.row), (resolved[column][0], value))
                    )
        return resolved, conflicts


def overlap_keys(a: Keys, b: Keys, domains: Sequence[Iterable[str]]) -> Iterable[Keys]:
    """Every concrete key matched by both ``a`` and ``b``."""
    choices = []
    for key_a, key_b, domain in zip(a, b, domains, strict=True):
        if key_a != WILDCARD and key_b != WILDCARD:
            if key_a != key_b:
                return []
            choices.append([key_a])
        elif key_a != WILDCARD:
            choices.append([key_a])
        elif key_b != WILDCARD:
            choices.append([key_b])
        else:
            choices.append(list(domain))
    return itertools.product(*choices)


def find_conflicts(
    table: WildcardTable,
    domains: Sequence[Iterable[str]],
    exists: Callable[[Keys], bool],
) -> list[Conflict]:
    """Conflicts over every concrete key that ``exists``.

    Only pairs of equally specific rules with different wildcard patterns can
    conflict (same pattern means identical keys, a duplicate, or disjoint
    keys), so only those pairs are examined, and only on their overlap.
    """
    domains = [list(d) for d in domains]
    by_pattern: dict[tuple[bool, ...], list[Rule]] = {}
    for rule in table.rules:
        by_pattern.setdefault(pattern_of(rule.keys), []).append(rule)
    found: dict[tuple[str, Keys], Conflict] = {}
    patterns = list(by_pattern)
    for i, first in enumerate(patterns):
        for second in patterns[i + 1 :]:
            if sum(first) != sum(second):
                continue
            for rule_a in by_pattern[first]:
                for rule_b in by_pattern[second]:
                    differing = [
                        c
                        for c in table.columns
                        if rule_a.values.get(c) is not None
                        and rule_b.values.get(c) is not None
                        and rule_a.values[c] != rule_b.values[c]
                    ]
                    if not differing:
                        continue
                    for key in overlap_keys(rule_a.keys, rule_b.keys, domains):
                        if not exists(key):
                            continue
                        _, conflicts = table.resolve(key)
                        for conflict in conflicts:
                            found.setdefault((conflict.column, conflict.rows), conflict)
    return list(found.values())
