"""The LangGraph SDK's store API (``client.store``) on an organization's long-term memory.

Only where the two map cleanly: a namespace is exactly one label, a memory kind
(``["brand_voice"]``), so the namespaces are the kinds and nothing deeper; an item's key is the
memory's id; its value is ``{"text": "...", ...}``: ``text`` is what is embedded and searched,
every other field is kept as the memory's metadata (flat scalars or lists of them, as the
memory store keeps metadata). Search with ``query`` ranks by meaning; without, it pages.
Everything is the caller's organization's: the memory store keeps one collection per tenant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bson import ObjectId
from pydantic import BaseModel

from memory.kinds import MemoryKind
from memory.store import RESERVED_KEYS, MemoryHit, TenantMemory
from persistence.errors import InvalidInput, NotFound

TEXT = "text"


class StoreItem(BaseModel):
    namespace: list[str]
    key: str
    value: dict[str, Any]
    created_at: str | None = None
    updated_at: str | None = None
    score: float | None = None


def kind_of(namespace: Sequence[str], field: str) -> MemoryKind:
    """The memory kind a namespace names, or a 422 naming ``field`` and the valid ones."""
    if len(namespace) != 1:
        raise InvalidInput.field(field, f"a namespace is one memory kind: [{_KINDS}]")
    try:
        return MemoryKind.parse(namespace[0])
    except ValueError as exc:
        raise InvalidInput.field(field, str(exc)) from exc


_KINDS = " | ".join(k.value for k in MemoryKind)


def _item(hit: MemoryHit) -> StoreItem:
    meta = dict(hit.metadata)
    created, updated = meta.get("created_at"), meta.get("updated_at")
    value = {k: v for k, v in meta.items() if k not in RESERVED_KEYS}
    return StoreItem(
        namespace=[hit.kind.value],
        key=hit.id,
        value={TEXT: hit.text, **value},
        created_at=str(created) if created else None,
        updated_at=str(updated) if updated else None,
        score=hit.score,
    )


async def put(
    memory: TenantMemory,
    org_id: ObjectId,
    namespace: Sequence[str],
    key: str,
    value: Mapping[str, Any],
) -> None:
    """Store (or replace) the item: its ``text`` embedded, the rest as metadata."""
    kind = kind_of(namespace, "body.namespace")
    text = value.get(TEXT)
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput.field("body.value.text", "the text to remember (a non-empty string)")
    metadata = {k: v for k, v in value.items() if k != TEXT}
    try:
        await memory.add(org_id, kind, text, metadata, memory_id=key)
    except ValueError as exc:  # metadata the store cannot keep, a reserved key, a bad key
        raise InvalidInput.field("body.value", str(exc)) from exc


async def get(
    memory: TenantMemory, org_id: ObjectId, namespace: Sequence[str], key: str
) -> StoreItem:
    kind = kind_of(namespace, "query.namespace")
    hit = await memory.get(org_id, kind, key)
    if hit is None:
        raise NotFound(f"no item {key!r} in {kind.value}")
    return _item(hit)


async def delete(
    memory: TenantMemory, org_id: ObjectId, namespace: Sequence[str], key: str
) -> None:
    kind = kind_of(namespace, "body.namespace")
    if not await memory.delete(org_id, kind, key):
        raise NotFound(f"no item {key!r} in {kind.value}")


def _where(filter: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An SDK filter (field -> value, all must match) as a memory filter; keys are plain
    names (no operators), so a filter can only narrow."""
    if not filter:
        return None
    for key, value in filter.items():
        if not key or key.startswith("$") or key in RESERVED_KEYS:
            raise InvalidInput.field("body.filter", f"{key!r} cannot be filtered on")
        if value is None or isinstance(value, dict | list):
            raise InvalidInput.field("body.filter", f"{key!r}: match one scalar value")
    return dict(filter)


async def search(
    memory: TenantMemory,
    org_id: ObjectId,
    namespace_prefix: Sequence[str],
    *,
    query: str | None = None,
    filter: Mapping[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
) -> list[StoreItem]:
    """Items under ``namespace_prefix`` (``[]``: every kind): by meaning when ``query`` is
    given, best first; otherwise in storage order."""
    kinds = (
        [kind_of(namespace_prefix, "body.namespace_prefix")]
        if namespace_prefix
        else list(MemoryKind)
    )
    where = _where(filter)
    hits: list[MemoryHit] = []
    for kind in kinds:
        if query:
            hits += await memory.search(org_id, kind, query, k=offset + limit, where=where)
        else:
            hits += await memory.page(org_id, kind, limit=offset + limit, where=where)
    if query:
        hits.sort(key=lambda h: h.score or 0.0, reverse=True)
    return [_item(h) for h in hits[offset : offset + limit]]


async def namespaces(
    memory: TenantMemory,
    org_id: ObjectId,
    *,
    prefix: Sequence[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[list[str]]:
    """The kinds the organization has memories of, as one-label namespaces."""
    counts = await memory.stats(org_id)
    found = [[k.value] for k in MemoryKind if counts.get(k)]
    if prefix:
        found = [n for n in found if n[: len(prefix)] == list(prefix)]
    return found[offset : offset + limit]
