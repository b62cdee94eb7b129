"""A compiled matcher for the simple filters that lead analytics pipelines.

mongomock-ng's ``filter_applies`` interprets the whole query language for every document:
about 80 µs for ``{organizationId, timeData.recordedAt: {$gte, $lt}}``, so a year of one
organization's analytics (11,000 documents) took most of a second just to be selected.
Most filters the application sends are conjunctions of equalities and ranges on plain
paths; `compile_selector` turns those into straight-line generated code (one function
selecting from a list, so no call per document): a few dictionary lookups and comparisons.

It only ever answers what it is sure of: a value of the same type as the query's (numbers
with numbers, dates with dates, ids with ids, strings with strings) is compared directly;
anything else (arrays on the path, a missing field, another type, NaN) asks mongomock's
matcher for that one document, so the answer is always the matcher's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongomock_ng.filtering import filter_applies

from .fast_expr import OID_BYTES as _OID_BYTES

_RANGES = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_UNSURE = object()  # "ask the matcher"

Select = Callable[[list[Any]], list[Any]]


def _is_number(value: Any) -> bool:
    kind = type(value)
    return (kind is int or kind is float) and value == value  # NaN is not decided here


def _same_kind(query: Any, v: str) -> str | None:
    """Code checking that the stored value ``v`` can be compared with ``query`` by Python
    itself, or None when no such check is made here."""
    if _is_number(query):
        return f"(type({v}) is int or type({v}) is float) and {v} == {v}"
    kind = type(query)
    if kind is datetime:
        naive = query.tzinfo is None  # naive and aware dates do not compare
        return f"type({v}) is datetime and {v}.tzinfo is {'None' if naive else 'not None'}"
    if kind is ObjectId:
        return f"type({v}) is ObjectId"
    if kind is str:
        return f"type({v}) is str"
    return None


class _Code:
    """The generated selector's text and constants."""

    def __init__(self) -> None:
        self.env: dict[str, Any] = {"_U": _UNSURE, "ObjectId": ObjectId, "datetime": datetime}
        self.lines: list[str] = []

    def constant(self, value: Any) -> str:
        name = f"q{len(self.env)}"
        self.env[name] = value
        return name


def _tests(query: Any, code: _Code) -> list[tuple[str, str]] | None:
    """(kind check, test) pairs on the value ``v`` for one field's condition, in the order
    the conditions are decided; None when a condition is not handled here."""
    if not isinstance(query, Mapping):
        kind = _same_kind(query, "v")
        return None if kind is None else [(kind, _equals(query, code))]
    if not query or not all(isinstance(k, str) and k.startswith("$") for k in query):
        return None
    tests = []
    for op, operand in query.items():
        if op in _RANGES:
            kind = _same_kind(operand, "v")
            if kind is None or (isinstance(operand, float) and math.isinf(operand)):
                return None
            tests.append((kind, f"v {_RANGES[op]} {code.constant(operand)}"))
        elif op == "$eq":
            kind = _same_kind(operand, "v")
            if kind is None:
                return None
            tests.append((kind, _equals(operand, code)))
        elif op == "$in":
            if not isinstance(operand, list) or not operand:
                return None
            kinds = {type(v) for v in operand}
            if len(kinds) != 1 or not kinds <= {ObjectId, str}:
                return None
            [kind_of] = kinds
            if kind_of is ObjectId and _OID_BYTES:
                members = code.constant(frozenset(getattr(v, _OID_BYTES) for v in operand))
                tests.append(("type(v) is ObjectId", f"v.{_OID_BYTES} in {members}"))
            else:
                members = code.constant(frozenset(operand))
                tests.append((f"type(v) is {kind_of.__name__}", f"v in {members}"))
        else:
            return None
    return tests


def _equals(query: Any, code: _Code) -> str:
    """The test that ``v`` (already of the query's kind) equals ``query``."""
    if type(query) is ObjectId and _OID_BYTES:
        return f"v.{_OID_BYTES} == {code.constant(getattr(query, _OID_BYTES))}"
    return f"v == {code.constant(query)}"


def _read(path: str) -> list[str]:
    """Statements putting the stored value at a dotted path through sub-documents in ``v``;
    _U for anything else (arrays, missing fields: the matcher's rules apply)."""
    head, *tail = path.split(".")
    lines = [f"v = doc.get({head!r}, _U)"]
    for part in tail:
        lines.append(f"v = v.get({part!r}, _U) if type(v) is dict else _U")
    return lines


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


def compile_selector(spec: Mapping[str, Any]) -> Select:
    """``docs -> [d for d in docs if filter_applies(spec, d)]``, in the same order.

    ``spec`` is a filter as mongomock stores it (dates made naive UTC). Each field's
    conditions are decided in turn; the first that fails rejects the document, and one
    whose stored value is not of the query value's kind (or is missing, or behind an
    array) hands the document to mongomock's matcher."""
    code = _Code()
    body: list[str] = []
    for path, cond in _clauses(spec):
        tests = _tests(cond, code) if isinstance(path, str) and not path.startswith("$") else None
        if tests is None or not all(path.split(".")):
            return lambda docs: [d for d in docs if filter_applies(spec, d)]
        body.extend(_read(path))
        checked = None
        for kind, test in tests:
            if kind != checked:  # {$gte, $lt} of one kind: the value is checked once
                body.append(f"if not ({kind}):")
                body.append("    if _matches(doc): out.append(doc)")
                body.append("    continue")
                checked = kind
            body.append(f"if not ({test}): continue")
    code.env["_matches"] = lambda doc: filter_applies(spec, doc)
    text = "\n".join(
        [
            "def select(docs):",
            "    out = []",
            "    for doc in docs:",
            *("        " + line for line in body),
            "        out.append(doc)",
            "    return out",
        ]
    )
    exec(compile(text, "<fast_match>", "exec"), code.env)
    select: Select = code.env["select"]
    return select
