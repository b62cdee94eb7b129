"""A compiled matcher for the simple filters that lead analytics pipelines.

mongomock-ng's ``filter_applies`` interprets the whole query language for every document:
about 80 µs for ``{organizationId, timeData.recordedAt: {$gte, $lt}}``, so a year of one
organization's analytics (11,000 documents) took most of a second just to be selected.
Most filters the application sends are conjunctions of equalities and ranges on plain
paths; `compile_filter` turns those into a few dictionary lookups per document.

It only ever answers what it is sure of: a value of the same type as the query's (numbers
with numbers, dates with dates, ids with ids, strings with strings) is compared directly;
anything else (arrays on the path, a missing field, another type, NaN) asks mongomock's
matcher for that one document, so the answer is always the matcher's.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongomock_ng.filtering import filter_applies

_RANGES: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
# Types compared directly when the stored value has exactly the query value's type.
_EXACT = (ObjectId, str, datetime)
_UNSURE = object()  # "ask the matcher"

Test = Callable[[Any], Any]  # a stored value -> True, False or _UNSURE


def _is_number(value: Any) -> bool:
    kind = type(value)
    return (kind is int or kind is float) and value == value  # NaN is not decided here


def _same_kind(query: Any) -> Callable[[Any], bool] | None:
    """The check that a stored value can be compared with ``query`` by Python itself."""
    if _is_number(query):
        return _is_number
    kind = type(query)
    if kind is datetime:
        naive = query.tzinfo is None  # naive and aware dates do not compare
        return lambda value: type(value) is datetime and (value.tzinfo is None) == naive
    if kind in _EXACT:
        return lambda value: type(value) is kind
    return None


def _equality(query: Any) -> Test | None:
    same = _same_kind(query)
    if same is None:
        return None
    return lambda value: (value == query) if same(value) else _UNSURE


def _range(op: Callable[[Any, Any], bool], query: Any) -> Test | None:
    same = _same_kind(query)
    if same is None or (isinstance(query, float) and math.isinf(query)):
        return None
    return lambda value: op(value, query) if same(value) else _UNSURE


def _membership(values: Any) -> Test | None:
    if not isinstance(values, list) or not values:
        return None
    kinds = {type(v) for v in values}
    if len(kinds) != 1 or not kinds <= {ObjectId, str}:
        return None
    [kind] = kinds
    members = frozenset(values)
    return lambda value: (value in members) if type(value) is kind else _UNSURE


def _condition(cond: Any) -> Test | None:
    """One field's condition as a test of its stored value, or None if not handled."""
    if isinstance(cond, Mapping):
        if not cond or not all(isinstance(k, str) and k.startswith("$") for k in cond):
            return None
        tests = []
        for op, query in cond.items():
            if op in _RANGES:
                test = _range(_RANGES[op], query)
            elif op == "$eq":
                test = _equality(query)
            elif op == "$in":
                test = _membership(query)
            else:
                return None
            if test is None:
                return None
            tests.append(test)
        if len(tests) == 1:
            return tests[0]

        def all_of(value: Any) -> Any:
            for test in tests:
                answer = test(value)
                if answer is not True:
                    return answer
            return True

        return all_of
    return _equality(cond)


def _getter(path: str) -> Callable[[Mapping[str, Any]], Any]:
    """The value at a dotted path through sub-documents; _UNSURE for anything else."""
    parts = path.split(".")

    def get(doc: Mapping[str, Any]) -> Any:
        value: Any = doc
        for part in parts:
            if type(value) is not dict or part not in value:
                return _UNSURE  # arrays, missing fields: the matcher's rules apply
            value = value[part]
        return value

    return get


def _clauses(spec: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """The (path, condition) pairs a filter requires together: its fields and those of the
    filters in a top-level ``$and`` (the tenant's filter joined to a query's); an ``$and``
    of another shape stays one clause, which no test handles."""
    out: list[tuple[Any, Any]] = []
    for key, cond in spec.items():
        joined = key == "$and" and isinstance(cond, list) and bool(cond)
        if joined and all(isinstance(part, Mapping) for part in cond):
            for part in cond:
                out.extend(_clauses(part))
            continue
        out.append((key, cond))
    return out


def compile_filter(spec: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    """``doc -> bool`` equal to ``filter_applies(spec, doc)`` for every document.

    ``spec`` is a filter as mongomock stores it (dates made naive UTC)."""
    checks = []
    for path, cond in _clauses(spec):
        test = _condition(cond) if isinstance(path, str) and not path.startswith("$") else None
        if test is None:
            return lambda doc: filter_applies(spec, doc)
        checks.append((_getter(path), test))

    def matches(doc: Mapping[str, Any]) -> bool:
        for get, test in checks:
            value = get(doc)
            answer = _UNSURE if value is _UNSURE else test(value)
            if answer is _UNSURE:
                return filter_applies(spec, doc)
            if not answer:
                return False
        return True

    return matches
