"""Async classes answering PyMongo's async API (pymongo 4.20) over the engine.

Operations are in-memory and short, so they run directly in the coroutine: no threads,
no awaiting inside. Only what application code calls is mirrored; anything else raises
AttributeError or NotImplementedError rather than silently doing something different.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

from pymongo.errors import InvalidOperation

from .engine import EngineClient, EngineCollection, EngineDatabase, _normalize_keys

T = TypeVar("T")


def _delegate(name: str) -> Any:
    """An async method forwarding to the same-named method of the sync object."""

    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._check_open()
        return getattr(self._sync, name)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Same as PyMongo's async `{name}`."
    return method


class EmbeddedAsyncCommandCursor:
    """Like `AsyncCommandCursor`: results of aggregate, list_indexes, list_collections."""

    def __init__(self, documents: Iterable[Any]) -> None:
        self._docs: deque[Any] = deque(documents)
        self._killed = False

    @property
    def alive(self) -> bool:
        return bool(self._docs) and not self._killed

    def batch_size(self, batch_size: int) -> EmbeddedAsyncCommandCursor:
        return self

    async def to_list(self, length: int | None = None) -> list[Any]:
        if isinstance(length, int) and length < 1:
            raise ValueError("to_list() length must be greater than 0")
        count = len(self._docs) if length is None else min(length, len(self._docs))
        return [self._docs.popleft() for _ in range(count)]

    async def next(self) -> Any:
        if self._killed or not self._docs:
            raise StopAsyncIteration
        return self._docs.popleft()

    async def try_next(self) -> Any | None:
        return self._docs.popleft() if self._docs and not self._killed else None

    async def close(self) -> None:
        self._killed = True
        self._docs.clear()

    def __aiter__(self) -> EmbeddedAsyncCommandCursor:
        return self

    async def __anext__(self) -> Any:
        return await self.next()

    async def __aenter__(self) -> EmbeddedAsyncCommandCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class EmbeddedAsyncCursor:
    """Like `AsyncCursor`: returned by `find()` without awaiting; evaluated on first read."""

    def __init__(self, collection: EmbeddedAsyncCollection, cursor: Any) -> None:
        self._collection = collection
        self._cursor = cursor
        self._started = False
        self._killed = False

    @property
    def collection(self) -> EmbeddedAsyncCollection:
        return self._collection

    @property
    def alive(self) -> bool:
        return not self._killed

    def _option(self, name: str, *args: Any) -> EmbeddedAsyncCursor:
        if self._started:
            raise InvalidOperation("cannot set options after executing query")
        getattr(self._cursor, name)(*args)
        return self

    def sort(self, key_or_list: Any, direction: int | str | None = None) -> EmbeddedAsyncCursor:
        return self._option("sort", _normalize_keys(key_or_list), direction)

    def skip(self, skip: int) -> EmbeddedAsyncCursor:
        if not isinstance(skip, int):
            raise TypeError("skip must be an integer")
        if skip < 0:
            raise ValueError("skip must be >= 0")
        return self._option("skip", skip)

    def limit(self, limit: int) -> EmbeddedAsyncCursor:
        if not isinstance(limit, int):
            raise TypeError("limit must be an integer")
        return self._option("limit", limit)

    def batch_size(self, batch_size: int) -> EmbeddedAsyncCursor:
        if not isinstance(batch_size, int):
            raise TypeError("batch_size must be an integer")
        if batch_size < 0:
            raise ValueError("batch_size must be >= 0")
        return self  # no batches in memory

    def hint(self, index: Any) -> EmbeddedAsyncCursor:
        return self._option("hint", index)

    def max_time_ms(self, max_time_ms: int | None) -> EmbeddedAsyncCursor:
        return self._option("max_time_ms", max_time_ms)

    def collation(self, collation: Any) -> EmbeddedAsyncCursor:
        return self._option("collation", collation)

    def allow_disk_use(self, allow_disk_use: bool) -> EmbeddedAsyncCursor:
        return self._option("allow_disk_use", allow_disk_use)

    def comment(self, comment: Any) -> EmbeddedAsyncCursor:
        return self  # comments only show up in server logs

    def clone(self) -> EmbeddedAsyncCursor:
        return EmbeddedAsyncCursor(self._collection, self._cursor.clone())

    def _pull(self) -> Iterator[Any]:
        self._collection._check_open()
        self._started = True
        return self._cursor

    async def next(self) -> Any:
        if self._killed:
            raise StopAsyncIteration
        try:
            return next(self._pull())
        except StopIteration:
            self._killed = True
            raise StopAsyncIteration from None

    async def to_list(self, length: int | None = None) -> list[Any]:
        if isinstance(length, int) and length < 1:
            raise ValueError("to_list() length must be greater than 0")
        if self._killed:
            return []
        cursor = self._pull()
        out: list[Any] = []
        for doc in cursor:
            out.append(doc)
            if length is not None and len(out) >= length:
                return out
        self._killed = True
        return out

    async def distinct(self, key: str) -> list[Any]:
        self._collection._check_open()
        return self._cursor.distinct(key)

    async def rewind(self) -> EmbeddedAsyncCursor:
        self._cursor.rewind()
        self._started = False
        self._killed = False
        return self

    async def close(self) -> None:
        self._killed = True

    def __aiter__(self) -> EmbeddedAsyncCursor:
        return self

    async def __anext__(self) -> Any:
        return await self.next()

    async def __aenter__(self) -> EmbeddedAsyncCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class EmbeddedAsyncCollection:
    """Like `AsyncCollection`."""

    def __init__(self, database: EmbeddedAsyncDatabase, sync: EngineCollection) -> None:
        self._database = database
        self._sync = sync

    def _check_open(self) -> None:
        self._database.client._check_open()

    @property
    def name(self) -> str:
        return self._sync.name

    @property
    def full_name(self) -> str:
        return self._sync.full_name

    @property
    def database(self) -> EmbeddedAsyncDatabase:
        return self._database

    @property
    def codec_options(self) -> Any:
        return self._sync.codec_options

    @property
    def sync_collection(self) -> EngineCollection:
        """The underlying in-process collection (embedded form only)."""
        return self._sync

    def with_options(self, **kwargs: Any) -> EmbeddedAsyncCollection:
        return EmbeddedAsyncCollection(self._database, self._sync.with_options(**kwargs))

    def __getitem__(self, name: str) -> EmbeddedAsyncCollection:
        return self._database.get_collection(f"{self.name}.{name}")

    def __getattr__(self, name: str) -> EmbeddedAsyncCollection:
        if name.startswith("_"):
            raise AttributeError(
                f"AsyncCollection has no attribute {name!r}. To access the {self.name}.{name}"
                f" collection, use database['{self.name}.{name}']."
            )
        return self[name]

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        name = self.name.rsplit(".", 1)[-1]
        raise TypeError(
            f"'AsyncCollection' object is not callable. If you meant to call the '{name}' "
            "method on an 'AsyncCollection' object it is failing because no such method exists."
        )

    def __bool__(self) -> bool:
        raise NotImplementedError(
            "AsyncCollection objects do not implement truth value testing or bool(). "
            "Please compare with None instead: collection is not None"
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EmbeddedAsyncCollection):
            return self._sync == other._sync
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("EmbeddedAsyncCollection", self.full_name))

    def __repr__(self) -> str:
        return f"EmbeddedAsyncCollection({self._database!r}, {self.name!r})"

    def find(self, *args: Any, **kwargs: Any) -> EmbeddedAsyncCursor:
        """Same as PyMongo's `find`: not awaited, returns a cursor."""
        if "sort" in kwargs:
            kwargs["sort"] = _normalize_keys(kwargs["sort"])
        return EmbeddedAsyncCursor(self, self._sync.find(*args, **kwargs))

    async def read_each(
        self, filter: Mapping[str, Any], sort: Any, read: Callable[[Mapping[str, Any]], T]
    ) -> list[T]:
        """The engine's own, without a PyMongo counterpart: `read` of each matching stored
        document, in `sort` order, without copies (``EngineCollection.read_each``)."""
        self._check_open()
        return self._sync.read_each(filter, _normalize_keys(sort), read)

    async def aggregate(self, pipeline: list[Mapping[str, Any]], *args: Any, **kwargs: Any):
        """Same as PyMongo's async `aggregate`: awaited, returns a command cursor."""
        self._check_open()
        return EmbeddedAsyncCommandCursor(self._sync.aggregate(pipeline, *args, **kwargs))

    async def list_indexes(self, *args: Any, **kwargs: Any) -> EmbeddedAsyncCommandCursor:
        """Same as PyMongo's async `list_indexes`: awaited, returns a command cursor."""
        self._check_open()
        kwargs.pop("comment", None)
        return EmbeddedAsyncCommandCursor(self._sync.list_indexes(*args, **kwargs))

    async def watch(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("change streams are not available on the embedded store")

    insert_one = _delegate("insert_one")
    insert_many = _delegate("insert_many")
    find_one = _delegate("find_one")
    update_one = _delegate("update_one")
    update_many = _delegate("update_many")
    replace_one = _delegate("replace_one")
    delete_one = _delegate("delete_one")
    delete_many = _delegate("delete_many")
    count_documents = _delegate("count_documents")
    estimated_document_count = _delegate("estimated_document_count")
    distinct = _delegate("distinct")
    create_index = _delegate("create_index")
    create_indexes = _delegate("create_indexes")
    drop_index = _delegate("drop_index")
    drop_indexes = _delegate("drop_indexes")
    index_information = _delegate("index_information")
    find_one_and_update = _delegate("find_one_and_update")
    find_one_and_replace = _delegate("find_one_and_replace")
    find_one_and_delete = _delegate("find_one_and_delete")
    bulk_write = _delegate("bulk_write")
    drop = _delegate("drop")
    options = _delegate("options")

    async def rename(self, new_name: str, *args: Any, **kwargs: Any) -> Any:
        """Same as PyMongo's async `rename`."""
        self._check_open()
        kwargs.pop("session", None)
        kwargs.pop("comment", None)
        return self._sync.rename(new_name, *args, **kwargs)


class EmbeddedAsyncDatabase:
    """Like `AsyncDatabase`."""

    def __init__(self, client: EmbeddedAsyncClient, sync: EngineDatabase) -> None:
        self._client = client
        self._sync = sync
        self._collections: dict[str, EmbeddedAsyncCollection] = {}

    def _check_open(self) -> None:
        self._client._check_open()

    @property
    def name(self) -> str:
        return self._sync.name

    @property
    def client(self) -> EmbeddedAsyncClient:
        return self._client

    @property
    def codec_options(self) -> Any:
        return self._sync.codec_options

    def get_collection(self, name: str, **kwargs: Any) -> EmbeddedAsyncCollection:
        if kwargs:
            return EmbeddedAsyncCollection(self, self._sync.get_collection(name, **kwargs))
        coll = self._collections.get(name)
        if coll is None:
            coll = self._collections[name] = EmbeddedAsyncCollection(
                self, self._sync.get_collection(name)
            )
        return coll

    def __getitem__(self, name: str) -> EmbeddedAsyncCollection:
        return self.get_collection(name)

    def __getattr__(self, name: str) -> EmbeddedAsyncCollection:
        if name.startswith("_"):
            raise AttributeError(
                f"AsyncDatabase has no attribute {name!r}. To access the {name}"
                f" collection, use database[{name!r}]."
            )
        return self[name]

    def __bool__(self) -> bool:
        raise NotImplementedError(
            "AsyncDatabase objects do not implement truth value testing or bool(). "
            "Please compare with None instead: database is not None"
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EmbeddedAsyncDatabase):
            return self._client is other._client and self.name == other.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("EmbeddedAsyncDatabase", self.name))

    def __repr__(self) -> str:
        return f"EmbeddedAsyncDatabase({self.name!r})"

    async def list_collection_names(
        self, session: Any = None, filter: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[str]:
        self._check_open()
        return self._sync.list_collection_names(filter=filter)

    async def list_collections(
        self, session: Any = None, filter: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> EmbeddedAsyncCommandCursor:
        self._check_open()
        return EmbeddedAsyncCommandCursor(self._sync.list_collections(filter=filter))

    async def command(self, command: str | Mapping[str, Any], value: Any = 1, **kwargs: Any):
        """Supports what mongomock does: ping, ismaster/isMaster, collMod."""
        self._check_open()
        for ignored in ("check", "allowable_errors", "read_preference", "session", "comment"):
            kwargs.pop(ignored, None)
        kwargs.pop("codec_options", None)
        if isinstance(command, Mapping):
            command = dict(command)  # mongomock updates the command in place
        return self._sync.command(command, value, **kwargs)

    async def drop_collection(self, name_or_collection: Any, *args: Any, **kwargs: Any) -> None:
        self._check_open()
        name = getattr(name_or_collection, "name", name_or_collection)
        self._sync.drop_collection(name)

    async def create_collection(self, name: str, **kwargs: Any) -> EmbeddedAsyncCollection:
        self._check_open()
        for driver_option in (
            "session",
            "check_exists",
            "codec_options",
            "read_preference",
            "write_concern",
            "read_concern",
        ):
            kwargs.pop(driver_option, None)
        self._sync.create_collection(name, **kwargs)
        return self.get_collection(name)

    async def watch(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("change streams are not available on the embedded store")


class EmbeddedAsyncClient:
    """Like `AsyncMongoClient(tz_aware=True)`, over an in-process engine."""

    def __init__(self, sync: EngineClient) -> None:
        self._sync = sync
        self._closed = False
        self._databases: dict[str, EmbeddedAsyncDatabase] = {}

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidOperation("Cannot use AsyncMongoClient after close")
        self._sync.check_open()

    @property
    def codec_options(self) -> Any:
        return self._sync.codec_options

    @property
    def sync_client(self) -> EngineClient:
        return self._sync

    def get_database(self, name: str | None = None, **kwargs: Any) -> EmbeddedAsyncDatabase:
        self._check_open()
        if name is None:
            return EmbeddedAsyncDatabase(self, self._sync.get_database(None, **kwargs))
        db = self._databases.get(name)
        if db is None:
            db = self._databases[name] = EmbeddedAsyncDatabase(self, self._sync.get_database(name))
        return db

    def get_default_database(self, default: str | None = None, **kwargs: Any):
        return EmbeddedAsyncDatabase(self, self._sync.get_default_database(default, **kwargs))

    def __getitem__(self, name: str) -> EmbeddedAsyncDatabase:
        return self.get_database(name)

    def __getattr__(self, name: str) -> EmbeddedAsyncDatabase:
        if name.startswith("_"):
            raise AttributeError(
                f"AsyncMongoClient has no attribute {name!r}. To access the {name}"
                f" database, use client[{name!r}]."
            )
        return self[name]

    def start_session(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("sessions and transactions are not available embedded")

    async def bulk_write(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("client-level bulk_write is not available embedded")

    def append_metadata(self, driver_info: Any) -> None:
        """Accepted and ignored (langgraph's Mongo savers call it)."""

    async def aconnect(self) -> None:
        self._check_open()

    async def server_info(self, session: Any = None) -> dict[str, Any]:
        self._check_open()
        return self._sync.server_info()

    async def list_database_names(self, session: Any = None, **kwargs: Any) -> list[str]:
        self._check_open()
        return self._sync.list_database_names()

    async def drop_database(self, name_or_database: Any, *args: Any, **kwargs: Any) -> None:
        self._check_open()
        name = getattr(name_or_database, "name", name_or_database)
        self._sync.drop_database(name)

    async def close(self) -> None:
        """Like PyMongo: the client can't be used afterwards. The data stays in the engine."""
        self._closed = True

    async def __aenter__(self) -> EmbeddedAsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return "EmbeddedAsyncClient()"
