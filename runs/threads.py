"""Threads of the runs API: stored per tenant, their checkpoints kept by the engine's saver.

A thread document says which graph last ran on it, its status and its metadata; its state
is whatever the checkpointer holds under the tenant's thread key. Metadata is refused at the
door when it could not be stored or searched safely: keys that would be operators or paths,
and values nested too deep or too large.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from bson import ObjectId
from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from persistence.errors import InvalidInput, NotFound
from persistence.models.runs import LgThread
from runs.engine import RunEngine
from runs.errors import AlreadyExists, ThreadBusy, ThreadNotStarted
from runs.sdk import ACTIVE, get_thread, runs, threads

MAX_METADATA_DEPTH = 8
MAX_METADATA_BYTES = 16_384


def checked_metadata(metadata: Any, field: str = "body.metadata") -> dict[str, Any]:
    """Metadata that can be stored and searched: an object whose keys are plain names (they
    become document paths), nested at most ``MAX_METADATA_DEPTH`` deep, small when encoded."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidInput.field(field, "must be an object")

    def walk(value: Any, depth: int) -> None:
        if depth > MAX_METADATA_DEPTH:
            raise InvalidInput.field(field, f"nested deeper than {MAX_METADATA_DEPTH} levels")
        if isinstance(value, Mapping):
            for key, inner in value.items():
                if not isinstance(key, str) or not key or key.startswith("$") or "." in key:
                    raise InvalidInput.field(field, "keys must be names without '$' or '.'")
                if "\x00" in key:
                    raise InvalidInput.field(field, "keys may not contain NUL characters")
                walk(inner, depth + 1)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, depth + 1)

    walk(metadata, 1)
    try:
        size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise InvalidInput.field(field, "must be plain JSON with valid text") from exc
    if size > MAX_METADATA_BYTES:
        raise InvalidInput.field(field, f"larger than {MAX_METADATA_BYTES} bytes")
    return dict(metadata)


def search_query(
    metadata: dict[str, Any] | None,
    status: str | None,
    ids: list[str] | None,
) -> dict[str, Any]:
    """A thread filter: metadata (exact keys; ``graph_id`` is the graph), status, ids."""
    query: dict[str, Any] = {}
    for key, value in checked_metadata(metadata).items():
        query["graphId" if key == "graph_id" else f"metadata.{key}"] = value
    if status:
        query["status"] = status
    if ids:
        query["threadId"] = {"$in": list(ids)}
    return query


class Threads:
    def __init__(self, engine: RunEngine) -> None:
        self.engine = engine
        self.db = engine.services.db

    async def create(
        self,
        org_id: ObjectId,
        *,
        thread_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        if_exists: Literal["raise", "do_nothing"] = "raise",
    ) -> LgThread:
        thread_id = thread_id or str(uuid.uuid4())
        existing = await threads(self.db).find_one(org_id, {"threadId": thread_id})
        if existing is not None:
            if if_exists == "do_nothing":
                return existing
            raise AlreadyExists(f"thread {thread_id!r} already exists")
        doc = LgThread(
            organization_id=org_id, thread_id=thread_id, metadata=checked_metadata(metadata)
        )
        await threads(self.db).insert(doc)
        return doc

    async def search(
        self, org_id: ObjectId, query: dict[str, Any], *, offset: int, limit: int
    ) -> list[LgThread]:
        return await threads(self.db).find(
            org_id, query, sort=[("createdAt", -1), ("threadId", -1)], skip=offset, limit=limit
        )

    async def count(self, org_id: ObjectId, query: dict[str, Any]) -> int:
        return await threads(self.db).count(org_id, query)

    async def update(
        self, org_id: ObjectId, thread_id: str, metadata: dict[str, Any] | None
    ) -> LgThread:
        """Merge ``metadata`` into the thread's."""
        thread = await get_thread(self.db, org_id, thread_id)
        merged = checked_metadata({**thread.metadata, **checked_metadata(metadata)})
        updated = await threads(self.db).update(org_id, thread.id, {"metadata": merged})
        return updated or thread

    async def delete(self, org_id: ObjectId, thread_id: str) -> None:
        """The thread, its runs and its checkpoints."""
        thread = await get_thread(self.db, org_id, thread_id)
        await self.engine.services.checkpointer.adelete_thread(
            thread_id, organization_id=str(org_id)
        )
        await threads(self.db).delete(org_id, thread.id)
        await self.db["lg_runs"].delete_many({"organizationId": org_id, "threadId": thread_id})

    def _ctx(self, org_id: ObjectId, user_id: Any, thread: LgThread) -> Any:
        return self.engine.context(
            org_id, graph=thread.graph_id or "", thread_id=thread.thread_id, user_id=user_id
        )

    async def state(
        self, org_id: ObjectId, user_id: Any, thread: LgThread, checkpoint_id: str | None = None
    ) -> StateSnapshot | None:
        """The thread's state (latest, or at ``checkpoint_id``); None before its first run.
        An unknown checkpoint is NotFound."""
        if not thread.graph_id:
            if checkpoint_id:
                raise NotFound(f"no checkpoint {checkpoint_id!r} on thread {thread.thread_id!r}")
            return None
        snapshot = await self.engine.state(self._ctx(org_id, user_id, thread), checkpoint_id)
        if snapshot.config is None or snapshot.created_at is None:
            if checkpoint_id:
                raise NotFound(f"no checkpoint {checkpoint_id!r} on thread {thread.thread_id!r}")
            return None
        return snapshot

    async def update_state(
        self,
        org_id: ObjectId,
        user_id: Any,
        thread_id: str,
        values: Any,
        *,
        as_node: str | None = None,
        checkpoint_id: str | None = None,
    ) -> RunnableConfig:
        """Write ``values`` as if ``as_node`` had returned them."""
        thread = await get_thread(self.db, org_id, thread_id)
        if not thread.graph_id:
            raise ThreadNotStarted(
                f"thread {thread_id!r} has not run a graph yet; start a run first"
            )
        busy = await runs(self.db).count(
            org_id, {"threadId": thread_id, "status": {"$in": list(ACTIVE)}}
        )
        if busy:
            raise ThreadBusy(f"thread {thread_id!r} has a run in progress")
        if checkpoint_id:
            await self.state(org_id, user_id, thread, checkpoint_id)  # NotFound if unknown
        return await self.engine.update_state(
            self._ctx(org_id, user_id, thread),
            values,
            as_node=as_node,
            checkpoint_id=checkpoint_id,
        )

    async def history(
        self,
        org_id: ObjectId,
        user_id: Any,
        thread_id: str,
        *,
        limit: int,
        before: str | None = None,
    ) -> list[StateSnapshot]:
        """Checkpoints newest first, at most ``limit``, older than ``before`` when given."""
        thread = await get_thread(self.db, org_id, thread_id)
        if not thread.graph_id:
            return []
        return await self.engine.history(
            self._ctx(org_id, user_id, thread), limit=limit, before=before
        )
