"""The in-process engine: mongomock-ng stores and a sync client made thread-safe.

mongomock-ng keeps documents in per-collection OrderedDicts behind per-collection RW
locks, but an update mutates the stored dict in place before writing it back, and the
unique check and the write are separate steps. Two threads (the event loop through the
async facade, MongoDBSaver's executor threads, the snapshot thread) could then see a
half-applied update or both pass a unique check. Every operation therefore runs under
one re-entrant lock per engine; in-memory operations are short, so contention is low.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any, TypeVar

import bson
import mongomock_ng
from mongomock_ng import aggregate, helpers
from mongomock_ng.command_cursor import CommandCursor
from mongomock_ng.filtering import filter_applies
from mongomock_ng.store import CollectionStore, DatabaseStore, ServerStore
from pymongo.errors import DuplicateKeyError, InvalidOperation, WriteError

from .indexes import EqualityIndex, UniqueIndex, equality_values, id_lookup_key

F = TypeVar("F", bound=Callable[..., Any])

# Below this size a plain scan is as fast as narrowing to candidates.
_NARROW_MIN_DOCS = 64
# mongomock sweeps TTL indexes (a full scan) before every read; MongoDB's TTL monitor
# runs once a minute, so nothing may rely on instant expiry and a second is plenty.
TTL_SWEEP_SECONDS = 1.0


class EngineCollectionStore(CollectionStore):
    """A collection store that tracks changes and keeps hash indexes current."""

    def __init__(self, name: str, lock: threading.RLock) -> None:
        self._lock = lock
        self.dirty = False
        self._last_ttl_sweep = 0.0
        # BSON bytes of unchanged documents, so a snapshot re-encodes only what changed
        # and holds the engine lock briefly.
        self._encoded: dict[Hashable, bytes] = {}
        self._seq: dict[Hashable, int] = {}
        self._next_seq = 0
        self._unique: dict[str, UniqueIndex] = {}
        self._equality: dict[str, EqualityIndex] = {}
        super().__init__(name)
        self.dirty = False  # constructing is not a change

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

    def _rebuild(self) -> None:
        self.dirty = True
        self._encoded = {}
        self._unique = {}
        self._equality = {}
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

    def unique_conflict(self, doc_key: Hashable, doc: Mapping[str, Any]) -> str | None:
        """Name of a unique index the document would violate, if any."""
        for name, index in self._unique.items():
            if index.conflicts(doc_key, doc):
                return name
        return None

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
        if best is None or len(best) > len(self._documents) // 2:
            return None
        return [self._documents[k] for k in sorted(best, key=self._seq.__getitem__)]

    def _index_doc(self, doc_key: Hashable, doc: Mapping[str, Any]) -> None:
        for index in self._unique.values():
            index.add(doc_key, doc)
        for eq in self._equality.values():
            eq.add(doc_key, doc)

    def _unindex_doc(self, doc_key: Hashable) -> None:
        for index in self._unique.values():
            index.remove(doc_key)
        for eq in self._equality.values():
            eq.remove(doc_key)

    def _remove_expired_documents(self) -> None:
        if not self._ttl_indexes:
            return
        now = time.monotonic()
        if now - self._last_ttl_sweep < TTL_SWEEP_SECONDS:
            return
        with self._lock:
            self._last_ttl_sweep = now
            super()._remove_expired_documents()

    # -- mutations ---------------------------------------------------------------
    def __setitem__(self, key: Hashable, val: dict[str, Any]) -> None:
        with self._lock:
            super().__setitem__(key, val)
            self._encoded.pop(key, None)
            if key in self._seq:
                self._unindex_doc(key)
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

    def load(
        self,
        documents: collections.OrderedDict,
        indexes: dict[str, dict[str, Any]],
        options: dict[str, Any],
        encoded: dict[Hashable, bytes],
    ) -> None:
        """Replace the contents wholesale (snapshot loading)."""
        with self._lock:
            self._documents = documents
            self.options = options
            self._ttl_indexes = {
                n: c for n, c in indexes.items() if c.get("expireAfterSeconds") is not None
            }
            self.indexes = indexes
            self._encoded = encoded
            self.dirty = False

    def create(self, **options: Any) -> None:
        with self._lock:
            super().create(**options)
            self.dirty = True

    def drop(self) -> None:
        with self._lock:
            super().drop()
            self._rebuild()

    def create_index(self, index_name: str, index_dict: dict[str, Any]) -> None:
        with self._lock:
            super().create_index(index_name, index_dict)
            self._unique.pop(index_name, None)
            self._add_hash_index(index_name, index_dict)
            self.dirty = True

    def drop_index(self, index_name: str) -> None:
        with self._lock:
            super().drop_index(index_name)
            self._rebuild()

    def abort_transaction(self) -> None:
        with self._lock:
            super().abort_transaction()
            self._rebuild()

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
    def __init__(self, lock: threading.RLock) -> None:
        super().__init__()
        self._lock = lock

    def __getitem__(self, col_name: str) -> EngineCollectionStore:
        try:
            return self._collections[col_name]
        except KeyError:
            with self._lock:
                col = self._collections.setdefault(
                    col_name, EngineCollectionStore(col_name, self._lock)
                )
            return col

    def rename(self, name: str, new_name: str) -> None:
        with self._lock:
            col = self._collections.pop(name, None)
            if col is None:  # not `or`: a store with no documents is falsy
                col = EngineCollectionStore(new_name, self._lock)
            col.name = new_name
            col.dirty = True
            self._collections[new_name] = col

    def collection_stores(self) -> dict[str, EngineCollectionStore]:
        return dict(self._collections)


class EngineServerStore(ServerStore):
    """All databases of one engine, sharing one lock."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()

    def __getitem__(self, db_name: str) -> EngineDatabaseStore:
        try:
            return self._databases[db_name]
        except KeyError:
            with self.lock:
                db = self._databases.setdefault(db_name, EngineDatabaseStore(self.lock))
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
            selected = list(self.find(spec))
            docs = list(aggregate.process_pipeline(selected, self.database, stages, session))
        else:
            docs = list(super().aggregate(pipeline, session=session, **kwargs))
        if self.codec_options.tz_aware:
            # Computed dates ($dateFromParts, $dateTrunc...) come back naive from mongomock.
            docs = [helpers.make_datetime_timezone_aware_in_document(d) for d in docs]
        return CommandCursor(docs)

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
            self._store[target].dirty = True  # mongomock edits the options in place
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
