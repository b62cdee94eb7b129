"""Hash indexes kept beside a collection store's documents.

mongomock-ng enforces unique indexes and answers every query by scanning all documents
of a collection, so an insert into a uniquely indexed collection costs O(n) and filling
one costs O(n²) (5k inserts took 20 s). These structures make the unique check a dict
lookup and narrow equality queries on an indexed field to a candidate set. Candidates are
always re-checked with mongomock's own filter, so a candidate set only has to be a
superset of the true matches.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongomock_ng.filtering import filter_applies
from mongomock_ng.helpers import NOTHING, get_value_by_dot

# Values whose Python equality and hash agree with MongoDB equality for an equality
# match (1 == 1.0 == Int64(1) in both). bool is handled apart: True == 1 in Python only.
_SIMPLE = (str, int, float, ObjectId)
# Exact types freeze() can return unchanged.
_ATOMIC = frozenset({str, int, float, ObjectId, datetime, bytes, type(None)})


def freeze(value: Any) -> Hashable:
    """A hashable stand-in for a BSON value, equal exactly when the values are equal."""
    if type(value) in _ATOMIC:  # fast path: exact types, so bool never gets here
        return value
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, Mapping):
        return ("doc", tuple((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("arr", tuple(freeze(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return value


def _simple_key(value: Any) -> Hashable | None:
    """Bucket key for a value an equality query can be narrowed on, else None.

    A server never matches true with 1, but mongomock's filter does; bools share the
    bucket of 0/1 so a narrowed query answers exactly what a full scan would.
    """
    kind = type(value)
    if kind is str or kind is ObjectId or kind is int:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, _SIMPLE):
        return value
    return None


def _exotic(frozen: Hashable) -> bool:
    """Whether a frozen value could equal a simple query value without hashing equal."""
    # Frozen bools, documents and arrays are tuples: never equal to a simple value.
    return not (type(frozen) in _ATOMIC or isinstance(frozen, (int, float, tuple)))


class UniqueIndex:
    """Maps each index entry to the document holding it.

    An entry normally has one owner; a set appears only while mongomock briefly stores
    a duplicate before its unique check rolls the write back.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.key: list[tuple[str, Any]] = [tuple(k) for k in config["key"]]  # type: ignore[misc]
        self.sparse = bool(config.get("sparse"))
        self.partial = config.get("partialFilterExpression")
        self._fields = [field for field, _ in self.key]
        self._dotted = any("." in f for f in self._fields)
        # Every matching document is in the index: equality on all fields can use it.
        self.covers_queries = not self.sparse and self.partial is None and not self._dotted
        self._owners: dict[Hashable, Any] = {}
        self._by_doc: dict[Hashable, list[Hashable]] = {}
        # Documents holding a value that may equal a simple one without hashing equal
        # (Decimal128): a query lookup always includes them.
        self._wild: set[Hashable] = set()

    def entries(self, doc: Mapping[str, Any]) -> list[Hashable]:
        """The entries this document puts in the index (none if it is not indexed).

        Same rules as mongomock's `_compute_index_entries`, which its create_index
        check also uses: a missing field is null, or unindexed for a sparse index;
        arrays expand to one entry per element (multikey).
        """
        if self.partial is not None and not filter_applies(self.partial, doc):
            return []
        values = []
        has_array = False
        for field in self._fields:
            value = get_value_by_dot(doc, field) if self._dotted else doc.get(field, NOTHING)
            if value is NOTHING:
                if self.sparse:
                    return []
                value = None
            elif type(value) in _ATOMIC:
                pass
            elif isinstance(value, (list, tuple)):
                has_array = True
            values.append(value)
        if self.sparse and all(v is None for v in values):
            return []
        if not has_array:
            return [tuple([freeze(v) for v in values])]
        expanded = [list(v) if isinstance(v, (list, tuple)) else [v] for v in values]
        return [tuple([freeze(v) for v in combo]) for combo in itertools.product(*expanded)]

    def add(self, doc_key: Hashable, doc: Mapping[str, Any]) -> None:
        entries = self.entries(doc)
        if not entries:
            return
        self._by_doc[doc_key] = entries
        if self.covers_queries and any(_exotic(v) for entry in entries for v in entry):
            self._wild.add(doc_key)
        owners = self._owners
        for entry in entries:
            current = owners.get(entry, NOTHING)
            if current is NOTHING:
                owners[entry] = doc_key
            elif isinstance(current, set):
                current.add(doc_key)
            elif current != doc_key:
                owners[entry] = {current, doc_key}

    def remove(self, doc_key: Hashable) -> None:
        self._wild.discard(doc_key)
        owners = self._owners
        for entry in self._by_doc.pop(doc_key, ()):
            current = owners.get(entry, NOTHING)
            if isinstance(current, set):
                current.discard(doc_key)
                if len(current) == 1:
                    owners[entry] = next(iter(current))
            elif current is not NOTHING and current == doc_key:
                del owners[entry]

    def conflicts(self, doc_key: Hashable, doc: Mapping[str, Any]) -> bool:
        """Whether another document already holds one of this document's entries."""
        for entry in self.entries(doc):
            current = self._owners.get(entry, NOTHING)
            if current is NOTHING:
                continue
            if isinstance(current, set):
                if len(current - {doc_key}) > 0:
                    return True
            elif current != doc_key:
                return True
        return False

    def lookup(self, spec: Mapping[str, Any]) -> set[Hashable] | None:
        """Documents that may match a query giving every field by equality, else None."""
        if not self.covers_queries:
            return None
        alternatives = []
        for field in self._fields:
            if field not in spec:
                return None
            values = equality_values(spec[field])
            if values is None or len(values) != 1:
                return None
            value = values[0]
            # Entries keep bools apart (as a server does); mongomock's filter matches
            # true with 1, so look up both.
            both = isinstance(value, (int, float)) and value in (0, 1)
            alternatives.append([value, ("bool", bool(value))] if both else [value])
        found = set(self._wild)
        for entry in itertools.product(*alternatives):
            current = self._owners.get(entry, NOTHING)
            if isinstance(current, set):
                found |= current
            elif current is not NOTHING:
                found.add(current)
        return found


class EqualityIndex:
    """Buckets documents by the value of one top-level field, for equality queries."""

    def __init__(self, field: str) -> None:
        self.field = field
        self._buckets: dict[Hashable, set[Hashable]] = {}
        # Documents whose value might equal a simple value without hashing equal
        # (Decimal128, exotic types): always candidates.
        self._wild: set[Hashable] = set()
        self._by_doc: dict[Hashable, list[Hashable] | None] = {}

    def _keys(self, doc: Mapping[str, Any]) -> list[Hashable] | None:
        """Bucket keys for a document; None marks it wild."""
        value = doc.get(self.field, NOTHING)
        if value is NOTHING:
            return []
        values = value if isinstance(value, list) else (value,)
        keys: list[Hashable] = []
        for item in values:
            key = _simple_key(item)
            if key is not None:
                keys.append(key)
            elif item is None or isinstance(item, (Mapping, list)):
                continue  # never equal to a simple value
            else:
                return None
        return keys

    def add(self, doc_key: Hashable, doc: Mapping[str, Any]) -> None:
        keys = self._keys(doc)
        self._by_doc[doc_key] = keys
        if keys is None:
            self._wild.add(doc_key)
            return
        for key in keys:
            self._buckets.setdefault(key, set()).add(doc_key)

    def remove(self, doc_key: Hashable) -> None:
        if doc_key not in self._by_doc:
            return
        keys = self._by_doc.pop(doc_key)
        if keys is None:
            self._wild.discard(doc_key)
            return
        for key in keys:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.discard(doc_key)
                if not bucket:
                    del self._buckets[key]

    def candidates(self, values: Iterable[Hashable]) -> set[Hashable]:
        found = set(self._wild)
        for key in values:
            found |= self._buckets.get(key, set())
        return found


def equality_values(condition: Any) -> list[Hashable] | None:
    """Bucket keys a field condition matches by equality, or None if it can't narrow."""
    if isinstance(condition, Mapping):
        if set(condition) == {"$eq"}:
            condition = condition["$eq"]
        elif set(condition) == {"$in"} and isinstance(condition["$in"], (list, tuple)):
            keys = [_simple_key(v) for v in condition["$in"]]
            return None if any(k is None for k in keys) else keys  # type: ignore[return-value]
        else:
            return None
    key = _simple_key(condition)
    return None if key is None else [key]


def id_lookup_key(value: Any) -> Hashable | None:
    """The store key of an `_id` equality value, or None if it can't be looked up.

    Embedded-document ids are left to the scan (mongomock keys them by an
    order-insensitive hashdict).
    """
    if isinstance(value, Mapping) and set(value) == {"$eq"}:
        value = value["$eq"]
    if isinstance(value, bool):
        return None
    return _simple_key(value)
