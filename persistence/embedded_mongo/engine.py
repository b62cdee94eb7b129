"""The in-process engine: mongomock-ng stores and a sync client made thread-safe.

mongomock-ng keeps documents in per-collection OrderedDicts behind per-collection RW
locks, but an update mutates the stored dict in place before writing it back, and the
unique check and the write are separate steps. Two threads (the event loop through the
async facade, MongoDBSaver's executor threads, the snapshot thread) could then see a
half-applied update or both pass a unique check. Every operation therefore runs under
one re-entrant lock per engine; in-memory operations are short, so contention is low.

Every change to a collection store is also recorded in the journal (journal.py) as the
state it produced, and the lock appends what a call recorded when its outermost hold
ends: one write per call, in the order the changes were made, before the call returns.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import bson
import mongomock_ng
from mongomock_ng import aggregate, filtering, helpers
from mongomock_ng.collection import Cursor
from mongomock_ng.command_cursor import CommandCursor
from mongomock_ng.filtering import filter_applies
from mongomock_ng.geospatial import extract_near_specs
from mongomock_ng.session import ClientSession, SessionOptions
from mongomock_ng.store import CollectionStore, DatabaseStore, ServerStore
from pymongo.errors import DuplicateKeyError, InvalidOperation, WriteError

from . import fast_pipeline, projection
from .codec import encode_document
from .fast_match import compile_selector
from .indexes import EqualityIndex, UniqueIndex, equality_values, id_lookup_key
from .ordered import (
    FieldKeys,
    SortedIndex,
    conditions,
    exact_paths,
    independent,
    narrowing_plan,
    ordered_plan,
)

if TYPE_CHECKING:
    from .journal import Journal

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# Below this size a plain scan is as fast as narrowing to candidates.
_NARROW_MIN_DOCS = 64
# mongomock sweeps TTL indexes (a full scan) before every read; MongoDB's TTL monitor
# runs once a minute, so nothing may rely on instant expiry and a second is plenty.
TTL_SWEEP_SECONDS = 1.0


class EngineLock:
    """The engine's re-entrant lock; the outermost release appends the journal.

    Changes record journal entries as they are made; when the thread's outermost hold
    ends (a whole insert_many, an update with its rollback), the entries go out in one
    write while the lock is still held, so the journal's order is the order of changes.
    The optional fsync waits until the lock is released.
    """

    __slots__ = ("_depth", "_lock", "journal")

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0  # only the holder changes it
        self.journal: Journal | None = None

    def __enter__(self) -> EngineLock:
        self._lock.acquire()
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._depth > 1:
            self._depth -= 1
            self._lock.release()
            return
        journal = self.journal
        position = None
        try:
            # Also when the call raised: what it changed before failing is in memory.
            if journal is not None and journal.pending:
                position = journal.commit()
        finally:
            self._depth -= 1
            self._lock.release()
        if position is not None and journal is not None and journal.fsync:
            journal.sync(position)


class EngineCollectionStore(CollectionStore):
    """A collection store that tracks changes, journals them and keeps hash indexes current."""

    def __init__(self, name: str, lock: EngineLock, db_name: str) -> None:
        self._lock = lock
        self._db_name = db_name
        # mongomock replaces `indexes` inside drop(), abort and __init__; those record
        # their own entries, so the setter only records when not told to stay quiet.
        self._quiet = True
        # Keys written while the collection is in a transaction, journaled at its commit;
        # None outside one. `_transaction_whole`: the commit journals the whole collection.
        self._transaction_keys: dict[Hashable, None] | None = None
        self._transaction_whole = False
        self.dirty = False
        self._last_ttl_sweep = 0.0
        # BSON bytes of unchanged documents, so a snapshot re-encodes only what changed
        # and holds the engine lock briefly.
        self._encoded: dict[Hashable, bytes] = {}
        self._seq: dict[Hashable, int] = {}
        self._next_seq = 0
        self._unique: dict[str, UniqueIndex] = {}
        self._equality: dict[str, EqualityIndex] = {}
        self._sorted: dict[tuple[str, ...], SortedIndex] = {}
        super().__init__(name)
        self.dirty = False  # constructing is not a change
        self._quiet = False

    # -- indexes -----------------------------------------------------------------
    # mongomock assigns `self.indexes` directly (drop_indexes, transactions), so it is a
    # property that rebuilds the hash indexes whenever it is replaced.
    @property
    def indexes(self) -> dict[str, dict[str, Any]]:
        return self._indexes

    @indexes.setter
    def indexes(self, value: dict[str, dict[str, Any]]) -> None:
        self._indexes = value
        self._rebuild()
        if not self._quiet:  # drop_indexes()
            self.record_header()

    def _rebuild(self) -> None:
        self.dirty = True
        self._encoded = {}
        self._unique = {}
        self._equality = {}
        self._sorted = {}
        documents = getattr(self, "_documents", {})
        self._seq = {key: n for n, key in enumerate(documents)}
        self._next_seq = len(self._seq)
        for name, config in self._indexes.items():
            self._add_hash_index(name, config)

    def _add_hash_index(self, name: str, config: Mapping[str, Any]) -> None:
        documents = getattr(self, "_documents", {})
        key = list(config["key"])
        if config.get("unique") and not any(d == "2dsphere" for _, d in key):
            index = UniqueIndex(config)
            for doc_key, doc in documents.items():
                index.add(doc_key, doc)
            self._unique[name] = index
        field, direction = key[0]
        # Only a plain top-level field of a regular index narrows equality queries;
        # a partial index would miss documents outside its filter.
        if (
            direction in (1, -1, "hashed")
            and "." not in field
            and field != "_id"
            and field not in self._equality
            and config.get("partialFilterExpression") is None
        ):
            eq = EqualityIndex(field)
            for doc_key, doc in documents.items():
                eq.add(doc_key, doc)
            self._equality[field] = eq
        # Every regular index (whatever its partial filter or sparseness: the sorted
        # structure holds every document) becomes a sorted one, for ranges and order.
        fields = tuple(f for f, _ in key)
        if (
            all(d in (1, -1) for _, d in key)
            and fields not in self._sorted
            and SortedIndex.supports(fields)
        ):
            ordered = SortedIndex(fields)
            for doc_key, doc in documents.items():
                ordered.add(doc_key, self._seq[doc_key], doc)
            self._sorted[fields] = ordered

    def unique_conflict(self, doc_key: Hashable, doc: Mapping[str, Any]) -> str | None:
        """Name of a unique index the document would violate, if any."""
        for name, index in self._unique.items():
            if index.conflicts(doc_key, doc):
                return name
        return None

    def by_ids(self, spec: Mapping[str, Any] | None) -> tuple[list[Any], dict[str, Any]] | None:
        """For `{"_id": {"$in": [...]}, ...}` with ObjectId or string ids: the documents with
        those ids, in natural order, and the rest of `spec` to test them with; else None.

        Those id types are equal exactly when their store keys are, so the `$in` holds for
        the documents found and is not tested again: mongomock tests `$in` by comparing the
        value with each listed id in turn, which made a join by a few hundred ids quadratic
        (posts' hashtags for an analytics window: 160 ms for 111 ids)."""
        if not spec or "_id" not in spec:
            return None
        condition = spec["_id"]
        if not isinstance(condition, Mapping) or set(condition) != {"$in"}:
            return None
        ids = condition["$in"]
        if not isinstance(ids, (list, tuple)) or not all(
            type(i) is bson.ObjectId or type(i) is str for i in ids
        ):
            return None
        found = {i for i in ids if i in self._documents}
        docs = [self._documents[k] for k in sorted(found, key=self._seq.__getitem__)]
        return docs, {k: v for k, v in spec.items() if k != "_id"}

    def candidates(self, spec: Mapping[str, Any] | None) -> list[Any] | None:
        """Documents that may match `spec`, in natural order; None means scan all."""
        if not spec or len(self._documents) < _NARROW_MIN_DOCS:
            return None
        if "_id" in spec:
            key = id_lookup_key(spec["_id"])
            if key is not None:
                doc = self._documents.get(key)
                return [] if doc is None else [doc]
        best: set[Hashable] | None = None
        for unique in self._unique.values():
            found = unique.lookup(spec)
            if found is not None and (best is None or len(found) < len(best)):
                best = found
        for field, index in self._equality.items():
            if field in spec:
                values = equality_values(spec[field])
                if values is not None:
                    found = index.candidates(values)
                    if best is None or len(found) < len(best):
                        best = found
        narrowed = self._narrowed(conditions(spec))
        half = len(self._documents) // 2
        if narrowed is not None:
            # Keyed by sequence number: natural order is a sort of ints, and document ids
            # (ObjectId hashes in Python) are hashed once, to fetch the documents.
            if best is not None:
                narrowed = {n: k for n, k in narrowed.items() if k in best}
            if len(narrowed) > half:
                return None
            documents = self._documents
            return [documents[narrowed[n]] for n in sorted(narrowed)]
        if best is None or len(best) > half:
            return None
        return [self._documents[k] for k in sorted(best, key=self._seq.__getitem__)]

    def _narrowed(self, conds: Mapping[str, Any]) -> dict[int, Hashable] | None:
        """Documents every narrowing sorted index admits (the intersection of their
        candidates, each a superset of the matches), by sequence number, or None if none
        narrows to half."""
        if not conds:
            return None
        plans = [p for p in (narrowing_plan(i, conds) for i in self._sorted.values()) if p]
        half = len(self._documents) // 2
        found: dict[int, Hashable] | None = None
        for size, plan in independent([(p.size + len(p.index.wild), p) for p in plans]):
            if size > half:
                break
            keys = plan.index.doc_seqs(plan.spans, self._seq)
            found = keys if found is None else {n: k for n, k in found.items() if n in keys}
            if len(found) <= _NARROW_MIN_DOCS:
                break  # few enough to test each
        return found

    def ordered_matches(
        self, spec: Mapping[str, Any], sort: list[tuple[str, int]], want: int | None
    ) -> list[dict[str, Any]] | None:
        """The first `want` matches (all if None) in `sort` order by walking an index.

        None when no index yields that order, or when testing and sorting the narrowed
        candidates would cost less than the walk (the cost counted in matcher calls, with
        the indexes' selectivities taken as independent). Ties keep natural order, as
        mongomock's stable sort does."""
        if len(self._documents) < _NARROW_MIN_DOCS or not sort:
            return None
        conds = conditions(spec)
        best_walk = None
        for index in self._sorted.values():
            plan = ordered_plan(index, conds, sort)
            if plan is not None and (best_walk is None or plan.size < best_walk.size):
                best_walk = plan
        if best_walk is None:
            return None
        exact = exact_paths(spec)
        if exact is not None and exact <= best_walk.used:
            # Every entry of the span matches the whole filter: no other index can spare
            # the walk anything, and the matcher has nothing left to decide.
            return self._walk(
                best_walk.index, best_walk.spans[0], best_walk.sort_at, sort, None, want, None
            )
        total = len(self._documents)
        others = []  # (size, plan) of the other indexes that narrow: cheap bisections
        smallest = total
        for index in self._sorted.values():
            plan = narrowing_plan(index, conds)
            if plan is not None:
                size = plan.size + len(index.wild)
                smallest = min(smallest, size)
                if index is not best_walk.index:
                    others.append((size, plan))
        others = independent(others)
        # Matches expected in the walked range, taking the other indexes as independent.
        selectivity = 1.0
        for size, _ in others:
            selectivity *= size / total
        expected = max(1.0, best_walk.size * selectivity)
        steps = (
            best_walk.size
            if want is None
            else min(best_walk.size, want * best_walk.size / expected)
        )
        if want is None:
            if best_walk.size > smallest:
                return None  # narrowing reads fewer documents; the sort is then cheap
        elif smallest <= steps / 20 + want:
            return None  # so few candidates that testing and sorting them all is cheaper
        # Another index's candidates spare the matcher for documents they exclude; worth
        # building (about a tenth of a matcher call each) only for sets within that budget.
        allowed: set[Hashable] | None = None
        for size, plan in others:
            if size > steps * 10:
                break
            keys = plan.index.doc_keys(plan.spans)
            allowed = keys if allowed is None else allowed & keys
        return self._walk(
            best_walk.index, best_walk.spans[0], best_walk.sort_at, sort, spec, want, allowed
        )

    def _walk(
        self,
        index: SortedIndex,
        span: tuple[int, int],
        at: int | None,
        sort: list[tuple[str, int]],
        spec: Mapping[str, Any] | None,
        want: int | None,
        allowed: set[Hashable] | None,
    ) -> list[dict[str, Any]]:
        """Walk the span in sort order; `spec` None: every entry is a match."""
        assert at is not None
        width = len(sort)
        found: list[dict[str, Any]] = []
        seen: set[Hashable] = set()
        run: list[tuple[Any, ...]] = []
        run_key: tuple[Any, ...] | None = None

        def take(entry: tuple[Any, ...]) -> None:
            doc_key = index.doc_key(entry)
            if doc_key in seen or (allowed is not None and doc_key not in allowed):
                return
            seen.add(doc_key)
            doc = self._documents[doc_key]
            if spec is None or filter_applies(spec, doc):
                found.append(doc)

        def flush() -> None:
            # Ties in natural order; a run of one entry needs no sorting.
            for entry in run if len(run) == 1 else sorted(run, key=lambda e: e[-1]):
                take(entry)

        if at + width == len(index.fields) and sort[0][1] > 0:
            # Only seq follows the sort fields in an entry, so an ascending walk meets ties
            # in natural order already: no run to gather, and it stops at `want` (a drain
            # of 10,000 posts due the same second matched all of them for each batch).
            for entry in index.walk(span[0], span[1], False):
                take(entry)
                if want is not None and len(found) >= want:
                    return found
            if not found and spec is not None:
                filter_applies(spec, {})  # still reject a malformed filter, as a scan would
            return found
        for entry in index.walk(span[0], span[1], sort[0][1] < 0):
            key = entry[2 * at : 2 * (at + width)]
            if key != run_key:
                flush()
                if want is not None and len(found) >= want:
                    return found
                run, run_key = [], key
            run.append(entry)
        flush()
        if not found and spec is not None:
            filter_applies(spec, {})  # still reject a malformed filter, as a scan would
        return found

    def _index_doc(self, doc_key: Hashable, doc: Mapping[str, Any]) -> None:
        for index in self._unique.values():
            index.add(doc_key, doc)
        for eq in self._equality.values():
            eq.add(doc_key, doc)
        seq = self._seq[doc_key]
        shared: FieldKeys = {}
        for ordered in self._sorted.values():
            ordered.add(doc_key, seq, doc, shared)

    def _reindex_doc(self, doc_key: Hashable, doc: Mapping[str, Any]) -> None:
        """An update: the sorted indexes move only the entries whose fields changed (a
        post has eight, and publishing rewrites it several times without touching them)."""
        for index in self._unique.values():
            index.remove(doc_key)
            index.add(doc_key, doc)
        for eq in self._equality.values():
            eq.remove(doc_key)
            eq.add(doc_key, doc)
        seq = self._seq[doc_key]
        shared: FieldKeys = {}
        for ordered in self._sorted.values():
            ordered.replace(doc_key, seq, doc, shared)

    def _unindex_doc(self, doc_key: Hashable) -> None:
        for index in self._unique.values():
            index.remove(doc_key)
        for eq in self._equality.values():
            eq.remove(doc_key)
        for ordered in self._sorted.values():
            ordered.remove(doc_key)

    def _remove_expired_documents(self) -> None:
        if not self._ttl_indexes:
            return
        now = time.monotonic()
        if now - self._last_ttl_sweep < TTL_SWEEP_SECONDS:
            return
        with self._lock:
            self._last_ttl_sweep = now
            super()._remove_expired_documents()

    # -- journal -----------------------------------------------------------------
    @property
    def _journal(self) -> Journal | None:
        return self._lock.journal

    def header(self) -> dict[str, Any]:
        """Options and indexes: what a snapshot file starts with and a META entry holds."""
        return {
            "options": self.options,
            "forceCreated": self.force_created,
            "indexes": [{"name": name, "spec": spec} for name, spec in self.indexes.items()],
        }

    def apply_header(self, header: Mapping[str, Any]) -> None:
        """Take options and indexes from a header (snapshot loading, journal replay)."""
        indexes = {}
        for entry in header["indexes"]:
            spec = dict(entry["spec"])
            # BSON has no tuples; mongomock compares index keys as lists of tuples.
            spec["key"] = [tuple(k) for k in spec["key"]]
            indexes[entry["name"]] = spec
        with self._lock, self._quietly():
            self.options = dict(header["options"])
            self._is_force_created = bool(header["forceCreated"])
            self._ttl_indexes = {
                n: c for n, c in indexes.items() if c.get("expireAfterSeconds") is not None
            }
            self.indexes = indexes

    def record_header(self) -> None:
        """Options or indexes changed (also in place, as collMod does): journal them."""
        with self._lock:
            self.dirty = True
            journal = self._journal
            if journal is None:
                return
            if self._transaction_keys is not None:
                self._transaction_whole = True
            else:
                journal.record_meta(self._db_name, self.name, self.header())

    def _record_document(self, journal: Journal, key: Hashable) -> None:
        """Journal the document now under `key`, or its absence."""
        doc = self._documents.get(key)
        data = None if doc is None else encode_document(self.name, doc)
        if data is None:  # gone, or not encodable: a snapshot would leave it out too
            self._encoded.pop(key, None)
            journal.record_delete(self._db_name, self.name, key)
        else:
            # The journal's bytes are the snapshot's: cache them for the next one.
            self._encoded[key] = data
            journal.record_set(self._db_name, self.name, data)

    def record_everything(self, previous_name: str | None = None) -> None:
        """Journal the whole collection, for changes that replace it wholesale.

        A rename moves contents to another name, a transaction's commit may follow a drop;
        recording them whole keeps every entry a state, so replay never depends on what
        came before.
        """
        journal = self._journal
        if journal is None:
            return
        if previous_name is not None:
            journal.record_reset(self._db_name, previous_name)
        journal.record_reset(self._db_name, self.name)
        journal.record_meta(self._db_name, self.name, self.header())
        for data in self.encoded_documents(lambda doc: encode_document(self.name, doc)):
            journal.record_set(self._db_name, self.name, data)

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    # -- mutations ---------------------------------------------------------------
    def __setitem__(self, key: Hashable, val: dict[str, Any]) -> None:
        with self._lock:
            super().__setitem__(key, val)
            journal = self._journal
            if journal is None or self._transaction_keys is not None:
                self._encoded.pop(key, None)
                if journal is not None:
                    self._transaction_keys[key] = None  # type: ignore[index]
            else:
                self._record_document(journal, key)
            if key in self._seq:
                self._reindex_doc(key, val)
            else:
                self._seq[key] = self._next_seq
                self._next_seq += 1
                self._index_doc(key, val)
            self.dirty = True

    def __delitem__(self, key: Hashable) -> None:
        with self._lock:
            super().__delitem__(key)
            self._encoded.pop(key, None)
            self._seq.pop(key, None)
            self._unindex_doc(key)
            self.dirty = True
            journal = self._journal
            if journal is not None:
                if self._transaction_keys is not None:
                    self._transaction_keys[key] = None
                else:
                    journal.record_delete(self._db_name, self.name, key)

    def contents(self) -> tuple[collections.OrderedDict, dict[Hashable, bytes]]:
        """The documents by key and their cached BSON, live (journal replay edits them)."""
        return self._documents, self._encoded

    def load(
        self,
        documents: collections.OrderedDict,
        header: Mapping[str, Any],
        encoded: dict[Hashable, bytes],
    ) -> None:
        """Replace the contents wholesale (snapshot loading)."""
        with self._lock:
            self._documents = documents
            self.apply_header(header)
            self._encoded = encoded
            self.dirty = False

    def create(self, **options: Any) -> None:
        with self._lock:
            super().create(**options)
            self.record_header()

    def drop(self) -> None:
        with self._lock:
            with self._quietly():
                super().drop()
                self._rebuild()
            journal = self._journal
            if journal is not None:
                if self._transaction_keys is not None:
                    self._transaction_whole = True
                else:
                    journal.record_reset(self._db_name, self.name)

    def create_index(self, index_name: str, index_dict: dict[str, Any]) -> None:
        with self._lock:
            super().create_index(index_name, index_dict)
            self._unique.pop(index_name, None)
            self._add_hash_index(index_name, index_dict)
            self.record_header()

    def drop_index(self, index_name: str) -> None:
        with self._lock:
            super().drop_index(index_name)
            self._rebuild()
            self.record_header()

    # mongomock applies a transaction's writes to the collection at once and keeps a copy
    # to restore on abort. Journaling them as they happen would let a crash before the
    # commit replay writes never committed; so they wait, and the commit journals the
    # resulting state of what they touched (EngineSession makes that one frame).
    def begin_transaction(self) -> None:
        with self._lock:
            super().begin_transaction()
            self._transaction_keys = {}
            self._transaction_whole = False

    def commit_transaction(self) -> None:
        with self._lock:
            super().commit_transaction()
            keys, whole = self._transaction_keys, self._transaction_whole
            self._transaction_keys, self._transaction_whole = None, False
            journal = self._journal
            if journal is None or keys is None:
                return
            if whole:
                self.record_everything()
            else:
                for key in keys:
                    self._record_document(journal, key)

    def abort_transaction(self) -> None:
        with self._lock:
            with self._quietly():
                super().abort_transaction()
                self._rebuild()
            # Back to the state before the transaction, which is what the journal holds.
            self._transaction_keys, self._transaction_whole = None, False

    def encoded_documents(
        self, encode: Callable[[dict[str, Any]], bytes | None]
    ) -> Iterator[bytes]:
        """Each stored document as BSON, reusing cached bytes; call under the engine lock.

        `encode` returns None for a document it cannot encode (skipped).
        """
        cache = self._encoded
        for key, doc in self._documents.items():
            data = cache.get(key)
            if data is None:
                data = encode(doc)
                if data is None:
                    continue
                cache[key] = data
            yield data

    @property
    def force_created(self) -> bool:
        return bool(self._is_force_created)


class EngineDatabaseStore(DatabaseStore):
    def __init__(self, lock: EngineLock, name: str) -> None:
        super().__init__()
        self._lock = lock
        self.name = name

    def __getitem__(self, col_name: str) -> EngineCollectionStore:
        try:
            return self._collections[col_name]
        except KeyError:
            with self._lock:
                col = self._collections.get(col_name)
                if col is None:
                    col = EngineCollectionStore(col_name, self._lock, self.name)
                    self._collections[col_name] = col
            return col

    def rename(self, name: str, new_name: str) -> None:
        with self._lock:
            col = self._collections.pop(name, None)
            if col is None:  # not `or`: a store with no documents is falsy
                col = EngineCollectionStore(new_name, self._lock, self.name)
            col.name = new_name
            col.dirty = True
            self._collections[new_name] = col
            col.record_everything(previous_name=name)

    def holds(self, store: EngineCollectionStore) -> bool:
        """Whether `store` is still this database's collection of its name."""
        return self._collections.get(store.name) is store

    def collection_stores(self) -> dict[str, EngineCollectionStore]:
        return dict(self._collections)


class EngineServerStore(ServerStore):
    """All databases of one engine, sharing one lock (which carries the journal)."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = EngineLock()

    @property
    def journal(self) -> Journal | None:
        """Where changes are recorded; None while loading and replaying."""
        return self.lock.journal

    @journal.setter
    def journal(self, journal: Journal | None) -> None:
        self.lock.journal = journal

    def __getitem__(self, db_name: str) -> EngineDatabaseStore:
        try:
            return self._databases[db_name]
        except KeyError:
            with self.lock:
                db = self._databases.get(db_name)
                if db is None:
                    db = self._databases[db_name] = EngineDatabaseStore(self.lock, db_name)
            return db

    def database_stores(self) -> dict[str, EngineDatabaseStore]:
        return dict(self._databases)


def _locked(method: F) -> F:
    """Run a collection/database method under the engine lock."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = self._engine_client
        with client.engine_lock:
            client.check_open()
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def _restored_on_error(document: dict[str, Any]) -> Iterator[None]:
    before = helpers._clone_document(document)
    try:
        yield
    except BaseException as exc:
        document.clear()
        document.update(before)
        if isinstance(exc, (TypeError, ValueError)):
            raise WriteError(f"update could not be applied: {exc}", 14) from exc
        raise


def _normalize_keys(keys: Any) -> Any:
    """pymongo accepts a mapping for index keys and sorts; mongomock does not."""
    if isinstance(keys, Mapping):
        return list(keys.items())
    return keys


class EngineCollection(mongomock_ng.Collection):
    """A mongomock collection with locking, hash indexes and pymongo-compatible inputs."""

    @property
    def _engine_client(self) -> EngineClient:
        return self.database.client

    def with_options(self, *args: Any, **kwargs: Any) -> EngineCollection:
        other = super().with_options(*args, **kwargs)
        if other is self:
            return self
        return EngineCollection(
            self.database,
            self.name,
            write_concern=other.write_concern,
            read_concern=other.read_concern,
            read_preference=other.read_preference,
            codec_options=other.codec_options,
            _db_store=self._db_store,
        )

    # -- hooks into mongomock internals --------------------------------------------
    def _ensure_uniques(self, new_data: Mapping[str, Any]) -> None:
        store = self._store
        doc_key = new_data.get("_id")
        if isinstance(doc_key, dict):
            doc_key = helpers.hashdict(doc_key)
        name = store.unique_conflict(doc_key, new_data)
        if name is None:
            return
        key = store.indexes[name]["key"]
        raise DuplicateKeyError(
            f"E11000 duplicate key error collection: {self.full_name} index: {name}",
            11000,
            {
                "keyPattern": dict(key),
                "keyValue": {k: helpers.get_value_by_dot(new_data, k) for k, _ in key},
            },
        )

    def _iter_documents(self, filter: Any) -> Iterator[dict[str, Any]]:
        store = self._store
        with self._engine_client.engine_lock:
            store._remove_expired_documents()
            by_ids = store.by_ids(filter)
            if by_ids is not None:
                found, rest = by_ids
                return iter([d for d in found if filter_applies(rest, d)])
            docs = store.candidates(filter)
            if docs is None:
                return super()._iter_documents(filter)
            if not docs:
                filter_applies(filter, {})  # still reject a malformed filter, as a scan would
            return iter([d for d in docs if filter_applies(filter, d)])

    def _apply_update_document(self, existing_document: dict[str, Any], *args: Any) -> None:
        # mongomock applies operators one by one to the stored dict itself; if one fails
        # (e.g. $inc on a string) the earlier ones would stay applied. A server applies
        # an update atomically and answers WriteError, so restore and convert.
        with _restored_on_error(existing_document):
            super()._apply_update_document(existing_document, *args)

    def _apply_update_pipeline(self, existing_document: dict[str, Any], *args: Any) -> None:
        with _restored_on_error(existing_document):
            super()._apply_update_pipeline(existing_document, *args)

    @_locked
    def _get_dataset(self, spec: Any, sort: Any, fields: Any, as_class: Any) -> Iterator[Any]:
        # Cursors evaluate lazily; materialize under the lock so no update is seen half-done.
        return iter(list(super()._get_dataset(spec, sort, fields, as_class)))

    @_locked
    def _window(
        self, spec: Any, sort: Any, fields: Any, skip: int, limit: int | None
    ) -> list[dict[str, Any]]:
        """Documents `skip` to `skip + limit` of a find, copied and projected.

        mongomock copies every match before sorting and cutting; here the stored documents
        are matched (through an index where one helps), sorted and cut first, and only
        what is returned is copied. Shapes this does not handle exactly ($near, projection
        operators that can drop a document) take mongomock's own path."""
        end = None if limit is None else skip + limit
        near, _ = extract_near_specs(spec) if spec else ([], spec)
        projected = fields if isinstance(fields, Mapping) else {}
        if near or any(isinstance(v, Mapping) for v in projected.values()):
            found = list(super()._get_dataset(spec, sort, fields, dict))[skip:end]
            if self.codec_options.tz_aware:
                found = [helpers.make_datetime_timezone_aware_in_document(d) for d in found]
            return found
        window = self._stored_in_order(spec, sort, end)[skip:end]
        aware = bool(self.codec_options.tz_aware)
        # One pass over each stored document copies what the projection keeps and marks
        # its dates as UTC (projection.py); other projections take mongomock's path.
        project = projection.projector(fields, aware)
        if project is not None:
            return [project(doc) for doc in window]
        out = []
        for doc in window:
            copied = self._copy_only_fields(doc, fields, dict, filter=spec)
            if copied is not None:
                out.append(
                    helpers.make_datetime_timezone_aware_in_document(copied) if aware else copied
                )
        return out

    def _stored_in_order(self, spec: Any, sort: Any, end: int | None) -> list[dict[str, Any]]:
        """The stored documents (not copies) matching a patched filter, in `sort` order (at
        least the first `end`), found through an index where one helps; under the lock."""
        order = _normalized_sort(sort)
        store = self._store
        store._remove_expired_documents()
        docs = None
        if order and all(not name.startswith("$") for name, _ in order):
            docs = store.ordered_matches(spec or {}, order, end)
        if docs is None:
            docs = _sorted_documents(list(self._iter_documents(spec)), order)
        return docs

    @_locked
    def read_each(
        self, filter: Mapping[str, Any], sort: Any, read: Callable[[Mapping[str, Any]], T]
    ) -> list[T]:
        """`read` of each document a find with this filter and sort returns, in its order,
        applied to the stored document itself under the engine lock: no copy is made.

        For callers that build their own, smaller answer from each document (the
        calendar's entries): the copy a find makes would be read once and thrown away.
        `read` must not change what it is given nor return any part of it that can be
        changed (a list, a dict): the store's own objects would escape. Stored dates are
        naive (UTC), as mongomock keeps them."""
        spec = helpers.patch_datetime_awareness_in_document(filter)
        near, _ = extract_near_specs(spec) if spec else ([], spec)
        if near:  # mongomock's path: its answers are copies, as safe to read
            return [read(doc) for doc in super()._get_dataset(spec, sort, None, dict)]
        return [read(doc) for doc in self._stored_in_order(spec, sort, None)]

    def find(self, *args: Any, **kwargs: Any) -> Cursor:
        cursor = super().find(*args, **kwargs)
        # mongomock builds its Cursor inside find(); ours differs only in how it computes
        # results (EngineCursor), so the instance takes our class and keeps its state.
        cursor.__class__ = EngineCursor
        return cursor

    # -- public API ----------------------------------------------------------------
    @_locked
    def create_index(self, keys: Any, cache_for: int = 300, session: Any = None, **kwargs: Any):
        return super().create_index(_normalize_keys(keys), cache_for, session, **kwargs)

    @_locked
    def list_indexes(self, session: Any = None) -> Iterator[dict[str, Any]]:
        return iter(list(super().list_indexes(session=session)))

    @_locked
    def aggregate(self, pipeline: Any, session: Any = None, **kwargs: Any) -> CommandCursor:
        # mongomock copies the whole collection before the first stage; a leading $match is a
        # find() filter, so only the documents it selects are copied (the tenant's, usually).
        stages = list(pipeline)
        filters = []
        while stages and set(stages[0]) == {"$match"}:
            filters.append(stages.pop(0)["$match"])
        if filters:
            spec = filters[0] if len(filters) == 1 else {"$and": filters}
            docs = self._fast_aggregate(spec, stages, session)
            if docs is None:
                selected = list(self.find(spec))
                docs = list(aggregate.process_pipeline(selected, self.database, stages, session))
        else:
            docs = list(super().aggregate(pipeline, session=session, **kwargs))
        if self.codec_options.tz_aware:
            # Computed dates ($dateFromParts, $dateTrunc...) come back naive from mongomock.
            docs = [helpers.make_datetime_timezone_aware_in_document(d) for d in docs]
        return CommandCursor(docs)

    def _fast_aggregate(
        self, spec: Mapping[str, Any], stages: list[Any], session: Any
    ) -> list[dict[str, Any]] | None:
        """The pipeline's output through its compiled stages (fast_pipeline.py), reading the
        stored documents in place; None when it has no compiled stage or hit a document the
        compiled code is not sure about, and mongomock must run it."""
        aware = bool(self.codec_options.tz_aware)
        context = fast_pipeline.Context(aware, lambda value: projection.copy_out(value, aware))
        try:
            plan = fast_pipeline.compile_pipeline(stages, context)
        except fast_pipeline.Unsupported:
            return None
        if plan is None:
            return None

        def run_rest(rest: list[Any], docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return list(aggregate.process_pipeline(docs, self.database, rest, session))

        try:
            stored = self._stored_matches(helpers.patch_datetime_awareness_in_document(spec))
            return plan.run(stored, context, run_rest)
        except Exception:
            return None

    def _stored_matches(self, spec: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The stored documents (not copies: read them only) matching a patched filter, in
        natural order, narrowed through the indexes and tested by the compiled matcher."""
        store = self._store
        store._remove_expired_documents()
        docs = store.candidates(spec)
        if docs is None:
            docs = list(store._documents.values())
        if not docs:
            filter_applies(spec, {})  # still reject a malformed filter, as a scan would
        return compile_selector(spec)(docs)

    @_locked
    def update_one(self, filter: Any, update: Any, *args: Any, **kwargs: Any):
        _check_encodable(update)
        return super().update_one(filter, update, *args, **kwargs)

    @_locked
    def update_many(self, filter: Any, update: Any, *args: Any, **kwargs: Any):
        _check_encodable(update)
        return super().update_many(filter, update, *args, **kwargs)

    @_locked
    def replace_one(self, filter: Any, replacement: Any, *args: Any, **kwargs: Any):
        _check_encodable(replacement)
        return super().replace_one(filter, replacement, *args, **kwargs)

    @_locked
    def find_one_and_update(self, filter: Any, update: Any, *args: Any, **kwargs: Any):
        _check_encodable(update)
        return super().find_one_and_update(filter, update, *args, **kwargs)

    @_locked
    def find_one_and_replace(self, filter: Any, replacement: Any, *args: Any, **kwargs: Any):
        _check_encodable(replacement)
        return super().find_one_and_replace(filter, replacement, *args, **kwargs)


# The remaining public methods only need the lock.
for _name in (
    "insert_one",
    "insert_many",
    "find_one",
    "find_one_and_delete",
    "delete_one",
    "delete_many",
    "count_documents",
    "estimated_document_count",
    "distinct",
    "create_indexes",
    "drop_index",
    "drop_indexes",
    "index_information",
    "drop",
    "rename",
    "bulk_write",
    "options",
):
    setattr(EngineCollection, _name, _locked(getattr(mongomock_ng.Collection, _name)))


class EngineCursor(Cursor):
    """A mongomock Cursor that asks the collection only for its skip/limit window."""

    _window_cache: tuple[Any, int, int | None, list[Any]] | None = None

    def _compute_results(self, with_limit_and_skip: bool = False) -> list[Any]:
        if not with_limit_and_skip:
            return super()._compute_results(with_limit_and_skip)
        limit = abs(self._limit) if self._limit else None
        cached = self._window_cache
        if cached is not None and cached[:3] == (self._factory, self._skip, limit):
            return cached[3]
        results = self.collection._window(
            self._spec, self._sort, self._projection, self._skip, limit
        )
        self._window_cache = (self._factory, self._skip, limit, results)
        return results


def _normalized_sort(sort: Any) -> list[tuple[str, int]]:
    """(field, direction) pairs, as mongomock's _get_dataset reads a sort."""
    if not sort:
        return []
    if isinstance(sort, Mapping):
        sort = sort.items()
    return [(item, 1) if isinstance(item, str) else (item[0], item[1]) for item in sort]


def _sorted_documents(docs: list[Any], order: list[tuple[str, int]]) -> list[Any]:
    """mongomock's sort (stable, one key at a time from the last), on stored documents."""
    for key, direction in reversed(order):
        if key == "$natural":
            if direction < 0:
                docs.reverse()
            continue
        if key.startswith("$"):
            raise NotImplementedError(f"Sorting by {key} is not implemented in mongomock-ng yet")
        docs.sort(key=lambda d, k=key: filtering.resolve_sort_key(k, d), reverse=direction < 0)
    return docs


def _check_encodable(document: Any) -> None:
    """Reject what PyMongo would refuse to send: mongomock only BSON-checks inserts."""
    if isinstance(document, Mapping):
        bson.encode(document, codec_options=_DRIVER_CODEC_OPTIONS)
    elif isinstance(document, list):  # update pipeline
        bson.encode({"pipeline": document}, codec_options=_DRIVER_CODEC_OPTIONS)


# PyMongo's defaults (uuid.UUID values refused unless a representation is configured).
_DRIVER_CODEC_OPTIONS = bson.CodecOptions()


class EngineDatabase(mongomock_ng.Database):
    """A mongomock database handing out EngineCollections, under the engine lock."""

    @property
    def _engine_client(self) -> EngineClient:
        return self.client

    def get_collection(
        self,
        name: str,
        codec_options: Any = None,
        read_preference: Any = None,
        write_concern: Any = None,
        read_concern: Any = None,
    ) -> EngineCollection:
        with self.client.engine_lock:
            if name not in self._collection_accesses:
                self._ensure_valid_collection_name(name)
                self._collection_accesses[name] = EngineCollection(
                    self,
                    name=name,
                    read_concern=read_concern,
                    write_concern=write_concern,
                    read_preference=read_preference or self.read_preference,
                    codec_options=codec_options or self.codec_options,
                    _db_store=self._store,
                )
                return self._collection_accesses[name]
        return self._collection_accesses[name].with_options(
            codec_options=codec_options or self.codec_options,
            read_preference=read_preference or self.read_preference,
            read_concern=read_concern,
            write_concern=write_concern,
        )

    @_locked
    def command(self, command: Any, value: Any = 1, **kwargs: Any) -> Any:
        spec = {command: value} if isinstance(command, str) else dict(command)
        result = super().command(command, value, **kwargs)
        target = spec.get("collMod")
        if isinstance(target, str):
            self._store[target].record_header()  # mongomock edits the options in place
        return result


for _name in (
    "list_collection_names",
    "list_collections",
    "drop_collection",
    "create_collection",
    "rename_collection",
    "dereference",
):
    setattr(EngineDatabase, _name, _locked(getattr(mongomock_ng.Database, _name)))


class EngineSession(ClientSession):
    """A session whose commit and abort run under the engine lock.

    A transaction's collections then commit inside one lock hold, so the journal gets
    the whole transaction in one frame: after a crash it is there entirely or not at all.
    """

    def commit_transaction(self) -> None:
        with self.client.engine_lock:
            super().commit_transaction()

    def abort_transaction(self) -> None:
        with self.client.engine_lock:
            super().abort_transaction()


class EngineClient(mongomock_ng.MongoClient):
    """The sync client over an engine store (what MongoDBSaver is given).

    Unlike mongomock's, close() keeps the data: the store belongs to EmbeddedMongo.
    """

    def __init__(self, store: EngineServerStore, tz_aware: bool = True) -> None:
        self.engine_lock = store.lock
        super().__init__(tz_aware=tz_aware, _store=store)

    def check_open(self) -> None:
        if self._closed:
            raise InvalidOperation("Cannot use MongoClient after close")

    @property
    def journal(self) -> Journal | None:
        """Where this engine's writes are journaled (None when journaling is off)."""
        return self._store.journal

    def start_session(
        self, causal_consistency: bool = True, default_transaction_options: Any = None
    ) -> EngineSession:
        self.check_open()
        return EngineSession(
            self,
            SessionOptions(
                causal_consistency=causal_consistency,
                default_transaction_options=default_transaction_options,
            ),
        )

    def get_database(
        self,
        name: str | None = None,
        codec_options: Any = None,
        read_preference: Any = None,
        write_concern: Any = None,
        read_concern: Any = None,
    ) -> EngineDatabase:
        self.check_open()
        if name is None:
            return self.get_default_database(
                codec_options=codec_options,
                read_preference=read_preference,
                write_concern=write_concern,
                read_concern=read_concern,
            )
        with self.engine_lock:
            db = self._database_accesses.get(name)
            if db is None:
                db = self._database_accesses[name] = EngineDatabase(
                    self,
                    name,
                    read_preference=read_preference or self.read_preference,
                    codec_options=codec_options or self.codec_options,
                    _store=self._store[name],
                    read_concern=read_concern,
                )
        return db

    def list_database_names(self) -> list[str]:
        with self.engine_lock:
            return super().list_database_names()

    def drop_database(self, name_or_db: Any) -> None:
        with self.engine_lock:
            super().drop_database(name_or_db)

    def close(self) -> None:
        self._closed = True
