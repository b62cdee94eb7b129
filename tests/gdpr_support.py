"""Helpers for the GDPR tests: a tenant's data planted in every store, and every store
searched generically for anything of a tenant."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import chromadb
from bson import ObjectId
from fastapi import FastAPI
from langchain_core.embeddings import DeterministicFakeEmbedding
from langgraph.checkpoint.base import empty_checkpoint

from memory.store import TenantMemory

# A collection no GDPR code knows by name: erasure and export must find it all the same.
FUTURE_COLLECTION = "future_widgets"


def fake_memory(app: FastAPI, path: Path) -> chromadb.ClientAPI:
    """The runtime's memory on a real Chroma PersistentClient with a small deterministic
    embedding (the tests are about where memories live, not what they mean); its client."""
    client = chromadb.PersistentClient(path=str(path))
    app.state.runtime.memory = TenantMemory(client, DeterministicFakeEmbedding(size=16))
    return client


async def plant(app: FastAPI, org_id: str, user_id: str) -> dict[str, Any]:
    """Something of the tenant in every store: documents (one in a collection nobody
    declared), memories, a checkpoint with writes, a media file, a run with its event
    stream, a cached value. What was planted, by store."""
    runtime = app.state.runtime
    oid = ObjectId(org_id)
    await runtime.db["posts"].insert_one(
        {"organizationId": oid, "userId": ObjectId(user_id), "content": f"post of {org_id}"}
    )
    await runtime.db[FUTURE_COLLECTION].insert_one({"organizationId": oid, "widget": 1})
    run_id = uuid.uuid4().hex
    await runtime.db["lg_runs"].insert_one(
        {
            "organizationId": oid,
            "runId": run_id,
            "threadId": "t1",
            "assistantId": "console",
            "status": "success",
            "userId": user_id,
        }
    )
    memory_id = await runtime.memory.add(org_id, "brand_voice", f"the brand voice of {org_id}")
    config = {"configurable": {"thread_id": "t1", "organization_id": org_id, "checkpoint_ns": ""}}
    saved = await runtime.checkpointer.aput(config, empty_checkpoint(), {}, {})
    await runtime.checkpointer.aput_writes(saved, [("messages", "hello")], "task-1")
    media = await runtime.media.put(org_id, "logo.png", b"\x89PNG tenant", "image/png")
    await runtime.event_log.append(f"run:{run_id}", {"event": "values", "data": org_id})
    await runtime.cache.set(f"analytics:{org_id}:overview", b"{}")
    return {"run_id": run_id, "memory_id": memory_id, "media_key": media.key}


def _mentions(value: Any, org: str, oid: ObjectId) -> bool:
    if isinstance(value, ObjectId):
        return value == oid
    if isinstance(value, str):
        return org in value
    if isinstance(value, bytes):
        return org.encode() in value
    if isinstance(value, dict):
        return any(_mentions(k, org, oid) or _mentions(v, org, oid) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_mentions(v, org, oid) for v in value)
    return False


async def everything_of(
    app: FastAPI, chroma: chromadb.ClientAPI, org_id: str, *, run_id: str
) -> dict[str, list[str]]:
    """Every trace of the tenant, store by store, found by looking at everything: each
    document of each collection (any field, at any depth, naming the tenant), each Chroma
    collection, each file under the media directory, each in-process key."""
    runtime = app.state.runtime
    oid = ObjectId(org_id)
    found: dict[str, list[str]] = {}
    for name in await runtime.db.list_collection_names():
        async for raw in runtime.db[name].find({}):
            if _mentions(raw, org_id, oid):
                found.setdefault("documents", []).append(f"{name}/{raw.get('_id')}")
    for collection in chroma.list_collections():
        name = collection if isinstance(collection, str) else collection.name
        if org_id in name:
            found.setdefault("memory", []).append(name)
        else:
            got = chroma.get_collection(name).get(include=["documents", "metadatas"])
            if _mentions(got["documents"], org_id, oid) or _mentions(got["metadatas"], org_id, oid):
                found.setdefault("memory", []).append(name)
    media_root = runtime.settings.data_dir / "media"
    for path in media_root.rglob("*") if media_root.exists() else ():
        if org_id in str(path) or (path.is_file() and org_id.encode() in path.read_bytes()):
            found.setdefault("media", []).append(str(path))
    for store in (runtime.cache, runtime.rate_limiter, runtime.event_log):
        for key in store.stored_keys():
            if org_id in key or run_id in key:
                found.setdefault("keys", []).append(key)
    return found
