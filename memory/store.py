"""Per-tenant long-term memory on Chroma.

Isolation is structural, not a filter: every (organization, kind) pair is its own Chroma
collection, ``t_<orgid>_<kind>``, and the organization id must be a 24-hex ObjectId, so no
crafted id can name another tenant's collection. Every memory also carries
``organization_id`` in its metadata, and searches filter on it as a second guard.

Chroma's Python client is synchronous; every operation runs in a worker thread
(``asyncio.to_thread``) so the event loop never blocks on disk, network or the embedding model.
"""

from __future__ import annotations

import asyncio
import math
import numbers
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, TypeVar

import chromadb
import numpy as np
from bson import ObjectId
from chromadb.errors import NotFoundError
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, Field

from memory.kinds import MemoryKind

T = TypeVar("T")

#: Metadata keys the store writes itself; callers may not set them (``organization_id`` may be
#: passed if it equals the tenant, since the specification lists it as a field).
ORGANIZATION_KEY = "organization_id"
RESERVED_KEYS = frozenset({ORGANIZATION_KEY, "created_at", "updated_at"})

_ORG_ID = re.compile(r"[0-9a-fA-F]{24}")
_MAX_ID_LENGTH = 256

Scalar = str | int | float | bool
MetadataValue = Scalar | list[str] | list[int] | list[float] | list[bool]


class MemoryNotFound(KeyError):
    """No memory with that id in this tenant's collection of that kind."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "memory not found"


class InvalidMetadata(ValueError):
    """Metadata that Chroma cannot store; the message names the offending key."""


class MemoryHit(BaseModel):
    """A stored memory, as returned by search and get.

    ``distance`` is Chroma's cosine distance (0 = same direction, 2 = opposite); ``score`` is
    the cosine similarity ``1 - distance`` clamped to [0, 1], higher is more relevant. Both are
    None for :meth:`TenantMemory.get`, which does not rank.
    """

    id: str
    kind: MemoryKind
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    score: float | None = None
    distance: float | None = None


def validate_org_id(org_id: object) -> str:
    """The organization id as 24 lowercase hex characters, or ValueError.

    Accepts a ``bson.ObjectId`` or its string form; lowercasing makes one tenant one collection
    whatever the case of the input.
    """
    value = str(org_id) if isinstance(org_id, ObjectId) else org_id
    if not isinstance(value, str) or not _ORG_ID.fullmatch(value):
        raise ValueError(f"organization id must be a 24-character hex ObjectId, got {org_id!r}")
    return value.lower()


def collection_name(org_id: object, kind: MemoryKind | str) -> str:
    """The Chroma collection that holds ``kind`` memories of one organization."""
    return f"t_{validate_org_id(org_id)}_{MemoryKind.parse(kind).value}"


def _validate_memory_id(memory_id: object) -> str:
    if not isinstance(memory_id, str) or not memory_id.strip():
        raise ValueError(f"memory id must be a non-empty string, got {memory_id!r}")
    if len(memory_id) > _MAX_ID_LENGTH:
        raise ValueError(f"memory id is longer than {_MAX_ID_LENGTH} characters")
    return memory_id


def _validate_text(text: object, what: str = "text") -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"memory {what} must be a non-empty string")
    return text


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _scalar(key: str, value: Any) -> Scalar | None:
    """A Chroma-storable scalar for ``value``, None for None, or InvalidMetadata."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, np.generic):
        # numpy scalars (np.float32, np.int64, np.bool_) come straight out of the analytics tools.
        value = value.item()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise InvalidMetadata(f"metadata {key!r}: {value} is not a finite number")
        return float(value)
    if isinstance(value, datetime):
        # Aware times are stored in UTC, naive ones are taken as UTC (the project's rule).
        aware = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise InvalidMetadata(
        f"metadata {key!r}: {type(value).__name__} is not supported; use str, int, float, bool, "
        "a list of one of those, a nested mapping (flattened to dotted keys) or None"
    )


def _list_value(key: str, values: list[Any] | tuple[Any, ...] | set[Any]) -> list[Any] | None:
    items = [_scalar(key, v) for v in values]
    if any(v is None for v in items):
        raise InvalidMetadata(f"metadata {key!r}: lists may not contain None")
    if not items:
        return None  # Chroma rejects empty lists; an empty list means "no value"
    types = {type(v) for v in items}
    if types == {int, float}:
        return [float(v) for v in items]  # type: ignore[arg-type]
    if len(types) != 1:
        names = ", ".join(sorted(t.__name__ for t in types))
        raise InvalidMetadata(f"metadata {key!r}: list mixes types ({names}); use one type")
    return items


def flatten_metadata(
    metadata: Mapping[str, Any] | None, *, keep_none: bool = False
) -> dict[str, MetadataValue | None]:
    """Metadata Chroma can store: nested mappings become dotted keys, enums their values,
    datetimes ISO-8601 strings, tuples and sets lists; anything else is InvalidMetadata.

    None values (and empty lists) are dropped, or kept as None when ``keep_none`` (an update,
    where None removes the key).
    """
    out: dict[str, MetadataValue | None] = {}

    def walk(prefix: str, mapping: Mapping[Any, Any]) -> None:
        for raw_key, value in mapping.items():
            if not isinstance(raw_key, str) or not raw_key:
                raise InvalidMetadata(f"metadata keys must be non-empty strings, got {raw_key!r}")
            if raw_key.startswith(("#", "$")):
                # Chroma reserves these prefixes for its own fields and operators.
                raise InvalidMetadata(f"metadata key {raw_key!r} may not start with # or $")
            key = f"{prefix}{raw_key}"
            if isinstance(value, Mapping):
                walk(f"{key}.", value)
                continue
            if isinstance(value, list | tuple | set | frozenset):
                flat: MetadataValue | None = _list_value(key, list(value))
            else:
                flat = _scalar(key, value)
            if flat is not None or keep_none:
                out[key] = flat

    if metadata is None:
        return out
    if not isinstance(metadata, Mapping):
        raise InvalidMetadata(f"metadata must be a mapping, got {type(metadata).__name__}")
    walk("", metadata)
    return out


def checked_metadata(org_id: object, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """``metadata`` as the store will keep it (flattened, reserved keys refused), or
    InvalidMetadata: for callers that check a batch before storing any of it."""
    return _strip_reserved(validate_org_id(org_id), flatten_metadata(metadata))


def _strip_reserved(org: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """Drop a matching ``organization_id``; refuse any other reserved key."""
    owner = metadata.pop(ORGANIZATION_KEY, org)
    if owner != org:
        raise InvalidMetadata(
            f"metadata organization_id {owner!r} does not match the tenant; it is set by the store"
        )
    clash = RESERVED_KEYS.intersection(metadata)
    if clash:
        raise InvalidMetadata(f"metadata keys {sorted(clash)} are set by the store")
    return metadata


def _tenant_filter(org: str, where: Mapping[str, Any] | None) -> dict[str, Any]:
    """The caller's filter AND the tenant: ``$and`` means ``where`` can only narrow.

    A multi-key ``where`` (``{"platform": "x", "severity": 2}``) is the implicit AND most
    callers expect; Chroma wants one key per clause, so each key becomes its own clause.
    """
    own: dict[str, Any] = {ORGANIZATION_KEY: org}
    if where is None:
        return own
    if not isinstance(where, Mapping):
        raise ValueError(f"where must be a Chroma metadata filter (a mapping), got {where!r}")
    if not where:
        return own
    return {"$and": [own, *({key: value} for key, value in where.items())]}


def _similarity(distance: float) -> float:
    return min(1.0, max(0.0, 1.0 - distance))


class TenantMemory:
    """Long-term memory of many organizations, one Chroma collection per (org, kind).

    Collections are created on first write; reads of a kind never written return nothing and
    create nothing. Vector-store objects are cached per collection; a collection deleted
    behind the cache (another process, or :meth:`delete_tenant`) is reopened transparently.
    """

    def __init__(self, client: chromadb.ClientAPI, embeddings: Embeddings) -> None:
        self._client = client
        self._embeddings = embeddings
        self._stores: dict[str, Chroma] = {}
        self._lock = threading.Lock()

    # --- collections ---------------------------------------------------------------------

    def _open(self, name: str, *, create: bool) -> Chroma | None:
        """The cached vector store for ``name``; None if it does not exist and not ``create``."""
        store = self._stores.get(name)
        if store is not None:
            return store
        try:
            store = Chroma(
                client=self._client,
                collection_name=name,
                embedding_function=self._embeddings,
                # Cosine distance: scores mean the same whatever the model or its normalization.
                collection_configuration={"hnsw": {"space": "cosine"}},  # type: ignore[arg-type]
                create_collection_if_not_exists=create,
            )
        except NotFoundError:
            return None
        with self._lock:
            # Another thread may have opened it meanwhile; keep one object per collection.
            return self._stores.setdefault(name, store)

    def _evict(self, name: str) -> None:
        with self._lock:
            self._stores.pop(name, None)

    def _with_store(self, name: str, create: bool, op: Callable[[Chroma], T], empty: T) -> T:
        """Run ``op`` on the collection, or return ``empty`` if it does not exist.

        A stale cached collection (deleted elsewhere) raises NotFoundError on use: evict it
        and try once more with a fresh lookup.
        """
        for attempt in range(2):
            store = self._open(name, create=create)
            if store is None:
                return empty
            try:
                return op(store)
            except NotFoundError:
                self._evict(name)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _target(self, org_id: object, kind: MemoryKind | str) -> tuple[str, MemoryKind, str]:
        org = validate_org_id(org_id)
        kind = MemoryKind.parse(kind)
        return org, kind, f"t_{org}_{kind.value}"

    def heartbeat(self) -> int:
        """Ask Chroma whether it answers; returns how many collections it holds (blocking)."""
        self._client.heartbeat()
        return self._client.count_collections()

    async def similarity(self, first: str, second: str) -> float:
        """Cosine similarity of two texts under the memory's embedding model, in [-1, 1]. No
        tenant data is read or written: it is the model, lent to the agents' quality checks
        (is a draft about its brief?) so they use the same embeddings as memory search."""
        a, b = await asyncio.to_thread(self._embeddings.embed_documents, [first, second])
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
        return dot / norm if norm else 0.0

    # --- operations ----------------------------------------------------------------------

    async def add(
        self,
        org_id: object,
        kind: MemoryKind | str,
        text: str,
        metadata: Mapping[str, Any] | None = None,
        memory_id: str | None = None,
    ) -> str:
        """Store a memory and return its id (a new UUID if none given).

        Adding with an existing ``memory_id`` replaces that memory (Chroma upsert).
        """
        org, kind, name = self._target(org_id, kind)
        text = _validate_text(text)
        memory_id = uuid.uuid4().hex if memory_id is None else _validate_memory_id(memory_id)
        meta = checked_metadata(org, metadata)
        now = _now()
        meta.update({ORGANIZATION_KEY: org, "created_at": now, "updated_at": now})

        def op(store: Chroma) -> str:
            return store.add_texts([text], metadatas=[meta], ids=[memory_id])[0]

        return await asyncio.to_thread(self._with_store, name, True, op, memory_id)

    async def search(
        self,
        org_id: object,
        kind: MemoryKind | str,
        query: str,
        k: int = 5,
        where: Mapping[str, Any] | None = None,
    ) -> list[MemoryHit]:
        """The ``k`` memories nearest to ``query``, most similar first.

        ``where`` is a Chroma metadata filter (``{"platform": "instagram"}``,
        ``{"score": {"$gte": 0.5}}``, ``$and``/``$or``...); it is ANDed with the tenant, so it
        can narrow the results but never reach another organization.
        """
        org, kind, name = self._target(org_id, kind)
        query = _validate_text(query, "query")
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        flt = _tenant_filter(org, where)

        def op(store: Chroma) -> list[MemoryHit]:
            results = store.similarity_search_with_score(query, k=k, filter=flt)
            return [
                MemoryHit(
                    id=str(doc.id),
                    kind=kind,
                    text=doc.page_content,
                    metadata=dict(doc.metadata),
                    score=_similarity(distance),
                    distance=distance,
                )
                for doc, distance in results
            ]

        return await asyncio.to_thread(self._with_store, name, False, op, [])

    def _get_sync(self, store: Chroma, kind: MemoryKind, memory_id: str) -> MemoryHit | None:
        found = store.get(ids=[memory_id], include=["documents", "metadatas"])
        if not found["ids"]:
            return None
        return MemoryHit(
            id=found["ids"][0],
            kind=kind,
            text=found["documents"][0] or "",
            metadata=dict(found["metadatas"][0] or {}),
        )

    async def get(self, org_id: object, kind: MemoryKind | str, memory_id: str) -> MemoryHit | None:
        """The memory with that id in this tenant's collection, or None."""
        _, kind, name = self._target(org_id, kind)
        memory_id = _validate_memory_id(memory_id)
        return await asyncio.to_thread(
            self._with_store, name, False, lambda s: self._get_sync(s, kind, memory_id), None
        )

    async def page(
        self,
        org_id: object,
        kind: MemoryKind | str,
        *,
        limit: int = 10,
        offset: int = 0,
        where: Mapping[str, Any] | None = None,
    ) -> list[MemoryHit]:
        """Memories of ``kind`` without ranking (Chroma's storage order), ``where`` narrowing
        them as in :meth:`search`; for paging through a tenant's memory."""
        org, kind, name = self._target(org_id, kind)
        if not isinstance(limit, int) or not isinstance(offset, int) or limit < 1 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        flt = _tenant_filter(org, where)

        def op(store: Chroma) -> list[MemoryHit]:
            found = store.get(
                where=flt, limit=limit, offset=offset, include=["documents", "metadatas"]
            )
            return [
                MemoryHit(id=i, kind=kind, text=doc or "", metadata=dict(meta or {}))
                for i, doc, meta in zip(
                    found["ids"], found["documents"], found["metadatas"], strict=True
                )
            ]

        return await asyncio.to_thread(self._with_store, name, False, op, [])

    async def update(
        self,
        org_id: object,
        kind: MemoryKind | str,
        memory_id: str,
        text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> MemoryHit:
        """Change a memory's text (re-embedded) and/or merge ``metadata`` into its metadata.

        A None value in ``metadata`` removes that key. Raises :class:`MemoryNotFound` if the id
        is not in this tenant's collection. Returns the memory as stored afterwards.
        """
        org, kind, name = self._target(org_id, kind)
        memory_id = _validate_memory_id(memory_id)
        if text is not None:
            text = _validate_text(text)
        patch = _strip_reserved(org, flatten_metadata(metadata, keep_none=True))

        def op(store: Chroma) -> MemoryHit | None:
            current = self._get_sync(store, kind, memory_id)
            if current is None:
                return None
            # Chroma merges update metadata key by key and deletes keys given as None.
            changes: dict[str, Any] = {**patch, "updated_at": _now()}
            merged = {k: v for k, v in {**current.metadata, **changes}.items() if v is not None}
            kwargs: dict[str, Any] = {"ids": [memory_id], "metadatas": [changes]}
            if text is not None and text != current.text:
                kwargs["documents"] = [text]
                kwargs["embeddings"] = self._embeddings.embed_documents([text])
            store._collection.update(**kwargs)
            return current.model_copy(
                update={"text": text if text is not None else current.text, "metadata": merged}
            )

        result = await asyncio.to_thread(self._with_store, name, False, op, None)
        if result is None:
            raise MemoryNotFound(f"no {kind.value} memory {memory_id!r} for this organization")
        return result

    async def delete(self, org_id: object, kind: MemoryKind | str, memory_id: str) -> bool:
        """Remove one memory; False if this tenant had no memory with that id."""
        _, kind, name = self._target(org_id, kind)
        memory_id = _validate_memory_id(memory_id)

        def op(store: Chroma) -> bool:
            if not store.get(ids=[memory_id], include=[])["ids"]:
                return False
            store.delete(ids=[memory_id])
            return True

        return await asyncio.to_thread(self._with_store, name, False, op, False)

    async def count(self, org_id: object, kind: MemoryKind | str) -> int:
        """How many memories of ``kind`` the organization has."""
        _, _, name = self._target(org_id, kind)
        return await asyncio.to_thread(
            self._with_store, name, False, lambda s: s._collection.count(), 0
        )

    async def stats(self, org_id: object) -> dict[MemoryKind, int]:
        """Memory counts of every kind for one organization (0 for kinds never written)."""
        org = validate_org_id(org_id)

        def run() -> dict[MemoryKind, int]:
            return {
                kind: self._with_store(
                    f"t_{org}_{kind.value}", False, lambda s: s._collection.count(), 0
                )
                for kind in MemoryKind
            }

        return await asyncio.to_thread(run)

    def _tenant_collections(self, org: str) -> list[str]:
        # By name prefix, not by MemoryKind: a kind added later (or dropped from the enum
        # with collections still stored) is the tenant's all the same.
        prefix = f"t_{org}_"
        listed = self._client.list_collections()
        names = [c if isinstance(c, str) else c.name for c in listed]
        return sorted(n for n in names if n.startswith(prefix))

    async def tenant_collections(self, org_id: object) -> list[str]:
        """The names of every Chroma collection of the organization."""
        return await asyncio.to_thread(self._tenant_collections, validate_org_id(org_id))

    async def export_tenant(self, org_id: object) -> dict[str, list[dict[str, Any]]]:
        """Every memory of the organization, by collection suffix (the kind): id, text and
        metadata, without vectors (GDPR export)."""
        org = validate_org_id(org_id)

        def run() -> dict[str, list[dict[str, Any]]]:
            out: dict[str, list[dict[str, Any]]] = {}
            for name in self._tenant_collections(org):
                try:
                    collection = self._client.get_collection(name=name, embedding_function=None)
                    found = collection.get(include=["documents", "metadatas"])
                except NotFoundError:
                    continue  # deleted meanwhile
                out[name.removeprefix(f"t_{org}_")] = [
                    {"id": i, "text": text or "", "metadata": dict(meta or {})}
                    for i, text, meta in zip(
                        found["ids"],
                        found["documents"] or [],
                        found["metadatas"] or [],
                        strict=False,
                    )
                ]
            return out

        return await asyncio.to_thread(run)

    async def delete_tenant(self, org_id: object) -> int:
        """Erase every memory of the organization (GDPR); returns how many were removed.

        Drops the tenant's collections outright rather than deleting records, so nothing of
        the tenant (vectors, index files) is left behind.
        """
        org = validate_org_id(org_id)

        def run() -> int:
            removed = 0
            for name in self._tenant_collections(org):
                self._evict(name)
                try:
                    collection = self._client.get_collection(name=name, embedding_function=None)
                    n = collection.count()
                    self._client.delete_collection(name=name)
                except NotFoundError:
                    continue  # deleted concurrently
                removed += n
                self._evict(name)  # in case another thread reopened it meanwhile
            return removed

        return await asyncio.to_thread(run)
