"""Column-by-column resolution of rule tables whose keys may be ``*``.

Used by ``lanes`` (from, to, product) and ``exposure_caps`` (country,
product, stage).  For a concrete key, each value column is taken from the
most specific matching rule (most non-``*`` keys) that has a value in that
column.  Two equally specific matching rules with different values for the
same column are a conflict, unless a more specific rule with a value decides
the column for that key.

Lookups go through one dictionary per wildcard pattern (2**n patterns for n
key columns, only the patterns some rule uses are probed), so resolving a key
costs at most 2**n dictionary probes, independent of the number of rules.

Finding every conflict (:func:`find_conflicts`) never compares all rules
with each other: two rules can only conflict where both apply, so only rules
of equally specific, different patterns that agree on the key cells both pin
are paired (a hash join on those cells), and of those only pairs with
different values in some column (rules grouped by value per column); whether
a more specific rule settles the pair's overlap is looked up per rule, not
per key.  The work grows with the number of rules plus the number of such
differing pairs, not with the square of the number of rules nor with the
number of keys.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter

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


def _picker(positions: tuple[int, ...]) -> Callable[[Keys], Keys]:
    """A function returning ``tuple(key[i] for i in positions)``, as fast as Python allows."""
    if not positions:
        return lambda key: ()
    if len(positions) == 1:
        (position,) = positions
        return lambda key: (key[position],)
    return itemgetter(*positions)


class WildcardTable:
    """Rules indexed by their wildcard pattern for fast resolution."""

    def __init__(self, rules: Sequence[Rule], columns: Sequence[str], width: int = 3):
        self.rules = list(rules)
        self.columns = list(columns)
        self.patterns = sorted(itertools.product((True, False), repeat=width), key=lambda p: -sum(p))
        self.index: dict[tuple[bool, ...], dict[Keys, Rule]] = {p: {} for p in self.patterns}
        index = self.index
        for rule in self.rules:
            keys = rule.keys
            index[tuple([key != WILDCARD for key in keys])][tuple([key for key in keys if key != WILDCARD])] = rule
        # Per pattern some rule uses, most specific first: the pattern, its specificity, a picker of the
        # pinned cells of a key and, by those cells, the rule and the (column, value) pairs it gives.
        self._probes: list[tuple[tuple[bool, ...], int, Callable[[Keys], Keys], dict[Keys, tuple[Rule, tuple]]]] = []
        columns = self.columns
        for pattern in self.patterns:
            if not self.index[pattern]:
                continue
            given = {}
            for cells, rule in self.index[pattern].items():
                values = rule.values
                given[cells] = (rule, tuple([(c, v) for c in columns if (v := values.get(c)) is not None]))
            pick = _picker(tuple(i for i, pinned in enumerate(pattern) if pinned))
            self._probes.append((pattern, sum(pattern), pick, given))

    def _matching(self, key: Keys, pinned_only: Callable[[int, str], bool] | None) -> list[tuple]:
        """(rule, specificity, given values) of the rules matching ``key``, most specific first."""
        found = []
        for pattern, rank, pick, given in self._probes:
            if pinned_only and any(not pinned and pinned_only(i, key[i]) for i, pinned in enumerate(pattern)):
                continue
            entry = given.get(pick(key))
            if entry is not None:
                found.append((entry[0], rank, entry[1]))
        return found

    def matching(self, key: Keys, pinned_only: Callable[[int, str], bool] | None = None) -> list[Rule]:
        """All rules matching ``key``, most specific first.

        ``pinned_only(position, value)`` True means that key value can only be
        matched by a rule naming it explicitly (``any`` stage for caps).
        """
        return [rule for rule, _, _ in self._matching(key, pinned_only)]

    def resolve(
        self, key: Keys, pinned_only: Callable[[int, str], bool] | None = None
    ) -> tuple[dict[str, tuple[object, int]], list[Conflict]]:
        """Per column, (value, row) from the most specific rule with a value.

        Returns the resolved columns (absent = no rule gives a value) and the
        conflicts met on the way.  Costs one dictionary probe per pattern in
        use (at most 2**width), whatever the number of rules.
        """
        resolved: dict[str, tuple[object, int]] = {}
        level: dict[str, int] = {}
        conflicts: list[Conflict] = []
        for rule, rank, values in self._matching(key, pinned_only):
            for column, value in values:
                if column not in resolved:
                    resolved[column] = (value, rule.row)
                    level[column] = rank
                elif level[column] == rank and resolved[column][0] != value:
                    conflicts.append(
                        Conflict(column, key, (resolved[column][1], rule.row), (resolved[column][0], value))
                    )
        return resolved, conflicts


def _class_of(value: object) -> object:
    """Grouping key of a value: equal values share it; NaN, equal to nothing, is alone."""
    return value if value == value else object()


def _differing_pairs(
    firsts: list[Rule], seconds: list[Rule], shared: tuple[int, ...], columns: Sequence[str]
) -> Iterator[tuple[Rule, Rule, list[str]]]:
    """Pairs (a, b, columns), a from ``firsts`` and b from ``seconds``, that agree on the
    ``shared`` key cells (so both apply somewhere) and give different values in ``columns``
    (those of the given ``columns`` where both have a value and the values differ).

    In the order of the nested loop ``for a in firsts: for b in seconds``, but
    without visiting the pairs that fail: ``seconds`` are grouped by their
    shared cells, then per column by value, so the work is one pass over each
    list plus the pairs yielded.
    """
    pick = _picker(shared)
    # shared cells -> column -> value class -> (a value of the class, indices into seconds)
    groups: dict[Keys, dict[str, dict[object, tuple[object, list[int]]]]] = {}
    for index, rule in enumerate(seconds):
        values = rule.values
        by_column = None
        for column in columns:
            value = values.get(column)
            if value is None:
                continue
            if by_column is None:
                by_column = groups.setdefault(pick(rule.keys), {})
            classes = by_column.setdefault(column, {})
            group = _class_of(value)
            entry = classes.get(group)
            if entry is None:
                classes[group] = (value, [index])
            else:
                entry[1].append(index)
    if not groups:
        return
    for rule_a in firsts:
        by_column = groups.get(pick(rule_a.keys))
        if by_column is None:
            continue
        partners: dict[int, list[str]] = {}
        for column, classes in by_column.items():
            value = rule_a.values.get(column)
            if value is None:
                continue
            for other, indices in classes.values():
                if value != other:
                    for index in indices:
                        partners.setdefault(index, []).append(column)
        for index in sorted(partners):
            yield rule_a, seconds[index], sorted(partners[index], key=columns.index)


def find_conflicts(
    table: WildcardTable,
    domains: Sequence[Iterable[str]],
    exists: Callable[[Keys], bool],
) -> list[Conflict]:
    """Conflicts over every concrete key that ``exists``, as :meth:`WildcardTable.resolve` meets them.

    At a key, the rules of the top level of a column (the most specific ones
    there with a value in it) conflict when they differ, each against the first
    of them in pattern order.  Two such rules have equally specific, different
    patterns (rules of one pattern are disjoint), so only those pairs are
    examined, and only where both apply and differ (:func:`_differing_pairs`).
    For a pair (a, b) and a column where they differ, the conflict is reported
    when some existing key of their overlap has no more specific rule with a
    value in the column and no equally specific rule with a value in it whose
    pattern comes before a's (it would be the first, and b would be compared
    with it instead): the first such key, in the order of ``domains``, is the
    one the conflict names.  The keys an overlap's other rules decide are
    found per rule (:class:`_Overlap`), not by trying every key, so the work
    grows with the number of rules and of differing pairs, not with the
    square of the number of rules nor with the number of keys.

    Conflicts come out ordered by their later row, then the earlier row and
    the column.
    """
    domains = [list(d) for d in domains]
    places = [{value: index for index, value in enumerate(domain)} for domain in domains]
    patterns = [pattern for pattern in table.patterns if table.index[pattern]]
    order = {pattern: rank for rank, pattern in enumerate(table.patterns)}
    present = {
        pattern: {c for rule in table.index[pattern].values() for c, v in rule.values.items() if v is not None}
        for pattern in patterns
    }
    covers: dict[tuple[tuple[bool, ...], tuple[int, ...]], dict] = {}
    found: dict[tuple[str, tuple[int, int]], Conflict] = {}
    for i, first in enumerate(patterns):
        for second in patterns[i + 1 :]:
            level = sum(first)
            if sum(second) != level:
                continue
            shared = tuple(p for p, (a, b) in enumerate(zip(first, second, strict=True)) if a and b)
            columns = [c for c in table.columns if c in present[first] and c in present[second]]
            if not columns:
                continue
            rules_a = list(table.index[first].values())
            rules_b = list(table.index[second].values())
            # Patterns whose rules take a column away from the pair: more specific ones decide it,
            # equally specific ones before ``first`` would be compared with instead.
            rivals = [p for p in patterns if sum(p) > level or (sum(p) == level and order[p] < order[first])]
            overlap = _Overlap(table, first, second, rivals, covers, domains, places, exists)
            for rule_a, rule_b, differing in _differing_pairs(rules_a, rules_b, shared, columns):
                cells = tuple(a if a != WILDCARD else b for a, b in zip(rule_a.keys, rule_b.keys, strict=True))
                for column in differing:
                    key = overlap.first_shown(cells, column)
                    if key is None:
                        continue
                    rows = (rule_a.row, rule_b.row)
                    known = found.get((column, rows))
                    if known is None or _place(key, places) < _place(known.key, places):
                        found[(column, rows)] = Conflict(
                            column, key, rows, (rule_a.values[column], rule_b.values[column])
                        )
    columns = {column: index for index, column in enumerate(table.columns)}
    return sorted(found.values(), key=lambda c: (max(c.rows), min(c.rows), columns[c.column]))


def _place(key: Keys, places: list[dict[str, int]]) -> tuple[int, ...]:
    """Position of a key in the order of the domains (values outside them first)."""
    return tuple(place.get(value, -1) for value, place in zip(key, places, strict=True))


class _Overlap:
    """The keys the rules of two patterns share, and which of them rival rules take.

    For rules a and b of ``first`` and ``second``, the overlap is the set of
    keys with a's or b's cell where either pins one (``cells``) and any
    domain value elsewhere (the free positions).  A rival pattern's rule with
    a value in the column takes either the whole overlap (it pins no free
    position) or the keys with its cells at the free positions it pins.  The
    rival rules that can meet an overlap are found through a dictionary per
    rival pattern, built on first use and shared (``covers``) between pairs of
    patterns: by the rival's cells at the overlap's pinned positions, per
    column with a value, the set of its cells at the free positions.
    """

    def __init__(self, table, first, second, rivals, covers, domains, places, exists):
        self.table = table
        self.pinned = tuple(a or b for a, b in zip(first, second, strict=True))
        self.free = tuple(i for i, p in enumerate(self.pinned) if not p)
        self.domains = domains
        self.everything = [set(place) for place in places]
        self.exists = exists
        self.covers = covers
        # Rivals that cover whole overlaps first: they settle a pair without building any set.
        self.rivals = sorted(rivals, key=lambda p: any(p[i] for i in self.free))
        self.ready: list[tuple | None] = [None] * len(self.rivals)

    def _rival(self, number: int) -> tuple:
        """(picker of the rival's cells at the pinned positions, its free positions, its cover)."""
        ready = self.ready[number]
        if ready is None:
            pattern = self.rivals[number]
            inside = tuple(i for i, p in enumerate(pattern) if p and self.pinned[i])
            outside = tuple(i for i, p in enumerate(pattern) if p and not self.pinned[i])
            if not outside:  # its rules are found by the overlap's cells: the table's own index
                ready = self.ready[number] = (_picker(inside), (), self.table.index[pattern])
                return ready
            cover = self.covers.get((pattern, inside))
            if cover is None:
                cover = self.covers[(pattern, inside)] = {}
                pick_in, pick_out = _picker(inside), _picker(outside)
                for rule in self.table.index[pattern].values():
                    by_column = cover.setdefault(pick_in(rule.keys), {})
                    for column in self.table.columns:
                        if rule.values.get(column) is not None:
                            by_column.setdefault(column, set()).add(pick_out(rule.keys))
            ready = self.ready[number] = (_picker(inside), tuple(self.free.index(i) for i in outside), cover)
        return ready

    def first_shown(self, cells: Keys, column: str) -> Keys | None:
        """First existing key of the overlap at ``cells`` that no rival rule takes ``column`` from, or None."""
        taken: list[tuple[tuple[int, ...], set[Keys]]] = []  # (positions within free, their cells taken)
        for number in range(len(self.rivals)):
            pick, outside, cover = self._rival(number)
            found = cover.get(pick(cells))
            if found is None:
                continue
            if not outside:  # a rule that covers the whole overlap
                if found.values.get(column) is not None:
                    return None
                continue
            values = found.get(column)
            if values is not None:
                taken.append((outside, values))
        free, exists = self.free, self.exists
        if not free:
            return cells if exists(cells) else None
        if len(free) == 1:
            (position,) = free
            excluded: set[str] = {cell for _, values in taken for (cell,) in values}
            if len(excluded) >= len(self.everything[position]) and self.everything[position] <= excluded:
                return None
            for value in self.domains[position]:
                if value in excluded:
                    continue
                key = cells[:position] + (value,) + cells[position + 1 :]
                if exists(key):
                    return key
            return None
        for choice in itertools.product(*(self.domains[i] for i in free)):
            if any(tuple(choice[i] for i in outside) in values for outside, values in taken):
                continue
            key = list(cells)
            for position, value in zip(free, choice, strict=True):
                key[position] = value
            if exists(tuple(key)):
                return tuple(key)
        return None
