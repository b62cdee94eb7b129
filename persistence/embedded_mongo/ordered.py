"""Sorted compound indexes beside a collection store, and the plans that use them.

mongomock-ng answers a query by testing every document and a sorted query by sorting all
matches; with 50,000 posts in one organization even the equality index on
``organizationId`` narrows nothing. A `SortedIndex` keeps one entry per declared index
key (compound, dotted paths, one entry per array element) in a `SortedList`, so a query
with equalities on a prefix of the key and a range on the next field is a few bisections,
and a sorted, limited query can walk the index in the requested order and stop early.

Correctness comes first: an index only proposes candidates (a superset of the matches)
and mongomock's own matcher still decides. Values are keyed as ``(rank, value)`` with the
BSON type order mongomock uses (filtering._get_compare_type), so a range, which mongomock
brackets by type, maps to one interval. A document with a value the key cannot order
exactly (Decimal128, NaN, aware datetimes, nested arrays, sub-documents) is "wild": it is
a candidate of every narrowed query and disables ordered walks on that index.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongomock_ng.helpers import NOTHING
from sortedcontainers import SortedList

# Type ranks from mongomock_ng.filtering._get_compare_type (the BSON comparison order).
_NULL, _NUMBER, _STRING, _OBJECT_ID, _BOOL, _DATE = 5, 10, 15, 35, 40, 45
# Greater than every rank and every seq: closes an interval over a whole key prefix.
_TOP = math.inf
# A document expanding to more entries than this (arrays in several key fields, which a
# server refuses anyway) is left wild rather than indexed.
_MAX_ENTRIES_PER_DOC = 256

Key = tuple[Any, ...]
#: Per index field, what ``field_keys`` found in one document (shared by its indexes).
FieldKeys = dict[str, tuple[list[Key], bool] | None]


def encode(value: Any) -> Key | None:
    """The ordered key of a scalar, or None when it cannot be ordered exactly."""
    kind = type(value)
    if kind is str:
        return (_STRING, value)
    if kind is ObjectId:
        # Its 12 bytes order as the ObjectId does, and bytes are not tracked by the
        # garbage collector (a full collection walks every tracked object of the store).
        return (_OBJECT_ID, value.binary)
    if value is None or value is NOTHING:
        return (_NULL, None)
    if isinstance(value, bool):
        return (_BOOL, bool(value))
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None
        return (_NUMBER, value)
    if isinstance(value, datetime):
        # Stored dates are naive UTC; an aware one would not compare with them.
        return None if value.tzinfo is not None else (_DATE, value)
    if isinstance(value, str):
        return (_STRING, str(value))
    return None


def _terminal_values(value: Any, parts: Sequence[str], out: list[Any]) -> bool:
    """The values a dotted path reaches, as mongomock's iter_key_candidates finds them.

    Returns False for shapes left to the scan (an array directly inside an array)."""
    if not parts:
        out.append(value)
        return True
    if isinstance(value, list):
        for element in value:
            if isinstance(element, Mapping):
                if not _terminal_values(element.get(parts[0], NOTHING), parts[1:], out):
                    return False
            elif isinstance(element, list):
                return False
            else:
                out.append(NOTHING)
        return True
    if isinstance(value, Mapping):
        return _terminal_values(value.get(parts[0], NOTHING), parts[1:], out)
    out.append(NOTHING)
    return True


def field_keys(doc: Mapping[str, Any], parts: Sequence[str]) -> tuple[list[Key], bool] | None:
    """The keys a document gives one index field and whether it gave several (multikey).

    None when a value cannot be keyed (the document is wild)."""
    found: list[Any] = []
    if not _terminal_values(doc, parts, found):
        return None
    multi = len(found) != 1
    keys: list[Key] = []
    for value in found:
        if isinstance(value, list):
            multi = True
            if not value:
                keys.append((_NULL, None))  # present in the index; matches no narrowed query
            for element in value:
                key = encode(element)
                if key is None:
                    return None
                keys.append(key)
            continue
        key = encode(value)
        if key is None:
            return None
        keys.append(key)
    if not keys:  # an empty array on the way: still in the index, as a server keeps it
        return [(_NULL, None)], True
    return list(dict.fromkeys(keys)), multi


class SortedIndex:
    """The entries of one compound index: ``(rank_1, value_1, ..., rank_n, value_n, seq)``.

    ``seq`` is the document's place in natural order: it breaks ties the way mongomock's
    stable sort does, and makes every entry unique. Entries are flat tuples of untracked
    values (the garbage collector stops tracking them), one object per entry.
    """

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = list(fields)
        self._parts = [f.split(".") for f in self.fields]
        self.entries: SortedList = SortedList()
        self._by_doc: dict[Hashable, list[Key]] = {}
        self._doc_of_seq: dict[int, Hashable] = {}
        self.wild: set[Hashable] = set()
        # Per field, how many documents give it several values (or an array): an ordered
        # walk must not sort on such a field, mongomock sorts arrays by their first element.
        self.multi = [0] * len(self.fields)
        self._multi_by_doc: dict[Hashable, tuple[int, ...]] = {}

    @staticmethod
    def supports(fields: Sequence[str]) -> bool:
        """Positional paths (``a.0.b``) are left to the scan."""
        return all(not part.isdigit() for f in fields for part in f.split("."))

    def __len__(self) -> int:
        return len(self._by_doc) + len(self.wild)

    def _keyed(
        self, seq: int, doc: Mapping[str, Any], shared: FieldKeys | None
    ) -> tuple[list[Key], tuple[int, ...]] | None:
        """The document's entries and its multikey field positions; None if it is wild.

        ``shared`` holds the field keys other indexes already took from this document
        (one write re-indexes it in every index, and most share ``organizationId``)."""
        per_field = []
        multi_positions = []
        total = 1
        for i, (name, parts) in enumerate(zip(self.fields, self._parts, strict=True)):
            if shared is not None and name in shared:
                keyed = shared[name]
            else:
                keyed = field_keys(doc, parts)
                if shared is not None:
                    shared[name] = keyed
            if keyed is None:
                return None
            keys, multi = keyed
            total *= len(keys)
            if multi:
                multi_positions.append(i)
            per_field.append(keys)
        if total > _MAX_ENTRIES_PER_DOC:
            return None
        entries = [
            (*itertools.chain.from_iterable(combo), seq) for combo in itertools.product(*per_field)
        ]
        return entries, tuple(multi_positions)

    def add(
        self, doc_key: Hashable, seq: int, doc: Mapping[str, Any], shared: FieldKeys | None = None
    ) -> None:
        self._store(doc_key, self._keyed(seq, doc, shared))

    def replace(
        self, doc_key: Hashable, seq: int, doc: Mapping[str, Any], shared: FieldKeys | None = None
    ) -> None:
        """Re-index a document that changed; a change that leaves this index's fields as
        they were (most updates) costs no removal and no insertion in the sorted list."""
        keyed = self._keyed(seq, doc, shared)
        if (
            keyed is not None
            and self._by_doc.get(doc_key) == keyed[0]
            and self._multi_by_doc.get(doc_key, ()) == keyed[1]
        ):
            return
        self.remove(doc_key)
        self._store(doc_key, keyed)

    def _store(self, doc_key: Hashable, keyed: tuple[list[Key], tuple[int, ...]] | None) -> None:
        if keyed is None:
            self.wild.add(doc_key)
            return
        entries, multi_positions = keyed
        self._by_doc[doc_key] = entries
        self._doc_of_seq[entries[0][-1]] = doc_key
        self.entries.update(entries)
        if multi_positions:
            self._multi_by_doc[doc_key] = multi_positions
            for i in multi_positions:
                self.multi[i] += 1

    def remove(self, doc_key: Hashable) -> None:
        if doc_key in self.wild:
            self.wild.discard(doc_key)
            return
        entries = self._by_doc.pop(doc_key, None)
        if entries is None:
            return
        for entry in entries:
            self.entries.remove(entry)
        self._doc_of_seq.pop(entries[0][-1], None)
        for i in self._multi_by_doc.pop(doc_key, ()):
            self.multi[i] -= 1

    def span(self, low: Key, high: Key) -> tuple[int, int]:
        """Positions of the entries ``low <= entry < high``."""
        return self.entries.bisect_left(low), self.entries.bisect_left(high)

    def walk(self, start: int, stop: int, reverse: bool) -> Iterator[Key]:
        return self.entries.islice(start, stop, reverse=reverse)

    def doc_key(self, entry: Key) -> Hashable:
        return self._doc_of_seq[entry[-1]]

    def doc_seqs(
        self, spans: Sequence[tuple[int, int]], seq_of: Mapping[Hashable, int]
    ) -> dict[int, Hashable]:
        """The documents with an entry in `spans`, and the wild ones, by sequence number
        (``seq_of``: the store's)."""
        of_seq = self._doc_of_seq
        found = {seq_of[k]: k for k in self.wild}
        for start, stop in spans:
            for entry in self.entries.islice(start, stop):
                n = entry[-1]
                found[n] = of_seq[n]
        return found

    def doc_keys(self, spans: Sequence[tuple[int, int]]) -> set[Hashable]:
        """The documents with an entry in `spans`, and the wild ones."""
        of_seq = self._doc_of_seq
        found = set(self.wild)
        for start, stop in spans:
            found.update(of_seq[entry[-1]] for entry in self.entries.islice(start, stop))
        return found


# --- query conditions -------------------------------------------------------------------


@dataclass
class Condition:
    """What a filter says about one path that an index can use.

    ``points``: the path equals one of these keys. Otherwise a range within one type
    rank: ``low``/``high`` are (key, inclusive) or None for that end of the rank."""

    points: list[Key] | None = None
    rank: int | None = None
    low: tuple[Key, bool] | None = None
    high: tuple[Key, bool] | None = None

    def bounds(self, prefix: Key) -> tuple[Key, Key]:
        """The entry interval [low, high) of this range after an equality prefix."""
        if self.low is None:
            low = (*prefix, self.rank)
        else:
            key, inclusive = self.low
            low = (*prefix, *key) if inclusive else (*prefix, *key, _TOP)
        if self.high is None:
            high = (*prefix, self.rank + 0.5)  # type: ignore[operator]
        else:
            key, inclusive = self.high
            high = (*prefix, *key, _TOP) if inclusive else (*prefix, *key)
        return low, high


def _equality_points(value: Any) -> list[Key] | None:
    """Keys an equality with `value` can match; mongomock's filter matches true with 1."""
    if value is None or isinstance(value, (list, dict)):
        return None  # null also matches missing fields; arrays match whole arrays
    key = encode(value)
    if key is None:
        return None
    if key[0] == _NUMBER and value in (0, 1):
        return [key, (_BOOL, bool(value))]
    if key[0] == _BOOL:
        return [key, (_NUMBER, int(value))]
    return [key]


_RANGE_OPS = {
    "$gt": (False, False),
    "$gte": (False, True),
    "$lt": (True, False),
    "$lte": (True, True),
}


def _condition(value: Any) -> Condition | None:
    if (
        not isinstance(value, Mapping)
        or not value
        or not all(isinstance(k, str) and k.startswith("$") for k in value)
    ):
        if isinstance(value, Mapping):
            return None  # equality with a whole sub-document
        points = _equality_points(value)
        return None if points is None else Condition(points=points)
    if "$eq" in value:
        points = _equality_points(value["$eq"])
        if points is not None:
            return Condition(points=points)
    if "$in" in value and isinstance(value["$in"], (list, tuple)) and value["$in"]:
        points = []
        for item in value["$in"]:
            found = _equality_points(item)
            if found is None:
                points = None
                break
            points.extend(found)
        if points is not None:
            return Condition(points=list(dict.fromkeys(points)))
    condition = Condition()
    for op, (is_high, inclusive) in _RANGE_OPS.items():
        if op not in value:
            continue
        key = encode(value[op])
        if key is None or key[0] == _NULL:
            continue
        if condition.rank is None:
            condition.rank = key[0]
        elif condition.rank != key[0]:
            continue  # mongomock brackets types: this bound is checked by the matcher
        if is_high:
            if condition.high is None or key < condition.high[0]:
                condition.high = (key, inclusive)
        elif condition.low is None or key > condition.low[0]:
            condition.low = (key, inclusive)
    return condition if condition.rank is not None else None


# Types whose equality and order mongomock's matcher decides exactly as their index keys
# do (numbers are left out: 1 also matches true, and Int64/Decimal128 mix with them).
_EXACT_RANKS = frozenset({_STRING, _OBJECT_ID, _DATE})


def _exact_term(value: Any) -> bool:
    """Whether `_condition(value)` says all that `value` does: an equality with a string,
    ObjectId or date, or range operators whose bounds are all of one of those types."""
    if isinstance(value, Mapping):
        if not value or not all(op in _RANGE_OPS or op == "$eq" for op in value):
            return False
        if "$eq" in value:
            return len(value) == 1 and _exact_term(value["$eq"])
        ranks = set()
        for bound in value.values():
            key = encode(bound)
            if key is None:
                return False
            ranks.add(key[0])
        return len(ranks) == 1 and ranks <= _EXACT_RANKS
    if isinstance(value, (list, dict)):
        return False
    key = encode(value)
    return key is not None and key[0] in _EXACT_RANKS


def exact_paths(spec: Mapping[str, Any]) -> frozenset[str] | None:
    """The paths of a filter that `conditions` captures whole, or None when the filter says
    anything more (operators at the top level, ``$and``, a term the index cannot state).

    An index walk bounded by every one of these paths meets only matching documents, so
    the matcher need not test them."""
    paths = []
    for key, value in spec.items():
        if not isinstance(key, str) or key.startswith("$") or not _exact_term(value):
            return None
        paths.append(key)
    return frozenset(paths)


def conditions(spec: Mapping[str, Any]) -> dict[str, Condition]:
    """Per path, a condition every match satisfies: top-level fields and ``$and`` terms."""
    found: dict[str, Condition] = {}

    def visit(part: Mapping[str, Any]) -> None:
        for key, value in part.items():
            if key == "$and" and isinstance(value, (list, tuple)):
                for term in value:
                    if isinstance(term, Mapping):
                        visit(term)
            elif isinstance(key, str) and not key.startswith("$"):
                condition = _condition(value)
                if condition is None:
                    continue
                current = found.get(key)
                # Equality narrows most; else the first range found.
                if current is None or (condition.points and not current.points):
                    found[key] = condition

    visit(spec)
    return found


# --- plans ------------------------------------------------------------------------------


@dataclass
class Plan:
    """Entry intervals of one index; ``sort_at``: where the sort fields start, if ordered.

    ``used``: the paths whose conditions bound the spans; for an ordered walk, only the
    paths bounded exactly (single-valued, so each entry in a span satisfies them)."""

    index: SortedIndex
    spans: list[tuple[int, int]] = field(default_factory=list)
    sort_at: int | None = None
    used: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        return sum(stop - start for start, stop in self.spans)


def narrowing_plan(index: SortedIndex, conds: Mapping[str, Condition]) -> Plan | None:
    """Intervals holding every entry that can match, or None if the index cannot narrow."""
    prefixes: list[Key] = [()]
    for name in index.fields:
        condition = conds.get(name)
        if condition is None:
            break
        if condition.points is not None:
            prefixes = [(*p, *point) for p in prefixes for point in condition.points]
            if len(prefixes) > 64:
                return None
            continue
        if index.multi[len(prefixes[0]) // 2] and condition.low and condition.high:
            # On an array, each bound may be met by a different element ([0, 10] matches
            # {$gte: 1, $lt: 5}): only one bound may narrow.
            condition = Condition(rank=condition.rank, low=condition.low)
        plan = Plan(index, used=frozenset(index.fields[: len(prefixes[0]) // 2 + 1]))
        for prefix in prefixes:
            plan.spans.append(index.span(*condition.bounds(prefix)))
        return plan
    if prefixes == [()]:
        return None
    spans = [index.span(p, (*p, _TOP)) for p in prefixes]
    return Plan(index, spans, used=frozenset(index.fields[: len(prefixes[0]) // 2]))


def independent(plans: Sequence[tuple[int, Plan]]) -> list[tuple[int, Plan]]:
    """Of (size, plan) pairs, smallest first, those that each bound a path no smaller one
    did: (status) after (organizationId, status) would only count the same condition twice."""
    covered: set[str] = set()
    kept = []
    for size, plan in sorted(plans, key=lambda p: p[0]):
        if plan.used - covered:
            kept.append((size, plan))
            covered |= plan.used
    return kept


def ordered_plan(
    index: SortedIndex, conds: Mapping[str, Condition], sort: Sequence[tuple[str, int]]
) -> Plan | None:
    """A walk of `index` that yields entries in the order of `sort`, or None.

    Needs single-valued equalities on the fields before the sort fields, the sort fields
    next in the index, one direction, and no wild or multikey values on the sort fields."""
    if index.wild or len({d for _, d in sort}) != 1:
        return None
    names = [name for name, _ in sort]
    prefix: Key = ()
    for at, name in enumerate(index.fields):
        if index.fields[at : at + len(names)] == names:
            break
        condition = conds.get(name)
        if condition is None or condition.points is None or len(condition.points) != 1:
            return None
        prefix = (*prefix, *condition.points[0])
    else:
        return None
    if any(index.multi[at + i] for i in range(len(names))):
        return None
    # An entry in the span has each equality of the prefix: a document with several values
    # for such a field has one entry per value, and equality with any one is a match.
    used = list(index.fields[:at])
    first = conds.get(names[0])
    if first is not None and first.points is None:  # not multikey: both bounds narrow
        span = index.span(*first.bounds(prefix))
        used.append(names[0])
    elif first is not None and first.points is not None and len(first.points) == 1:
        point = first.points[0]
        span = index.span((*prefix, *point), (*prefix, *point, _TOP))
        used.append(names[0])
    else:
        span = index.span(prefix, (*prefix, _TOP))
    return Plan(index, [span], sort_at=at, used=frozenset(used))
