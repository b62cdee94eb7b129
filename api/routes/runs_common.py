"""Shared pieces of the LangGraph-compatible runs API: graphs, configs, JSON, lookups.

The run config is built from the principal only (tenant, services, memo, workflow), exactly
as ``api.graph_routes`` does for LangServe; a client may choose only the model.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Interrupt, StateSnapshot

from api.errors import ApiError
from graphs.registry import DESCRIPTIONS, GRAPH_NAMES, build_graph
from graphs.runner import jsonable, run_config
from persistence.models.runs import LgRun, LgThread
from persistence.repository import TenantRepository

# A fixed namespace so every deployment gives a graph the same assistant UUID.
_NAMESPACE = uuid.UUID("6f1c3a52-4d0e-4b8a-9a57-2f7d0c1e9b11")
ASSISTANT_IDS: dict[str, str] = {n: str(uuid.uuid5(_NAMESPACE, n)) for n in GRAPH_NAMES}
_BY_UUID = {v: k for k, v in ASSISTANT_IDS.items()}
_EPOCH = "2025-01-01T00:00:00+00:00"

# Compiled graphs by name: compiling is not free and a graph holds no run state. One built
# on another saver (an earlier runtime) is replaced, so none outlives its runtime for long.
_GRAPHS: dict[str, CompiledStateGraph] = {}


def graph_name(assistant_id: str) -> str:
    """The graph an assistant id (a graph name or its UUID) stands for; 404 otherwise."""
    name = _BY_UUID.get(assistant_id, assistant_id)
    if name not in ASSISTANT_IDS:
        raise ApiError(
            404, f"no assistant {assistant_id!r}; choose one of: {', '.join(GRAPH_NAMES)}"
        )
    return name


def assistant(name: str) -> dict[str, Any]:
    return {
        "assistant_id": ASSISTANT_IDS[name],
        "graph_id": name,
        "name": name,
        "description": DESCRIPTIONS.get(name),
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        "version": 1,
        "created_at": _EPOCH,
        "updated_at": _EPOCH,
    }


def graph(runtime: Any, name: str) -> CompiledStateGraph:
    cached = _GRAPHS.get(name)
    if cached is None or cached.checkpointer is not runtime.checkpointer:
        cached = _GRAPHS[name] = build_graph(name, runtime.checkpointer)
    return cached


def config_for(
    runtime: Any,
    org_id: ObjectId,
    user_id: ObjectId | str,
    name: str,
    thread_id: str,
    sent: dict[str, Any] | None = None,
) -> RunnableConfig:
    """The run config: tenant and services from the principal, never from the client."""
    model = ((sent or {}).get("configurable") or {}).get("model")
    config = run_config(
        org_id,
        runtime,
        graph=name,
        thread_id=thread_id,
        model=model if isinstance(model, str) else None,
    )
    config["configurable"]["user_id"] = str(user_id)
    return config


def to_json(value: Any) -> Any:
    """Stream chunks and state as JSON: messages, interrupts, models, dataclasses."""
    if isinstance(value, Interrupt):
        return {"value": to_json(value.value), "id": value.id}
    if isinstance(value, BaseMessage):
        return jsonable(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return to_json(asdict(value))
    return jsonable(value)


def checkpoint_of(config: RunnableConfig | None) -> dict[str, Any] | None:
    if not config:
        return None
    c = config.get("configurable") or {}
    return {
        "thread_id": str.__str__(c["thread_id"]) if c.get("thread_id") else None,
        "checkpoint_ns": c.get("checkpoint_ns", ""),
        "checkpoint_id": c.get("checkpoint_id"),
        "checkpoint_map": c.get("checkpoint_map"),
    }


def snapshot_json(snap: StateSnapshot) -> dict[str, Any]:
    """A StateSnapshot in the SDK's ThreadState shape."""
    return {
        "values": to_json(snap.values),
        "next": list(snap.next),
        "tasks": [
            {
                "id": t.id,
                "name": t.name,
                "error": str(t.error) if t.error else None,
                "interrupts": [to_json(i) for i in t.interrupts],
                "checkpoint": None,
                "state": None,
                "result": to_json(t.result) if t.result is not None else None,
            }
            for t in snap.tasks
        ],
        "checkpoint": checkpoint_of(snap.config),
        "parent_checkpoint": checkpoint_of(snap.parent_config),
        "metadata": to_json(snap.metadata or {}),
        "created_at": snap.created_at,
        "interrupts": [to_json(i) for i in snap.interrupts],
    }


def empty_state(thread_id: str) -> dict[str, Any]:
    return {
        "values": {},
        "next": [],
        "tasks": [],
        "checkpoint": {
            "thread_id": thread_id,
            "checkpoint_ns": "",
            "checkpoint_id": None,
            "checkpoint_map": None,
        },
        "parent_checkpoint": None,
        "metadata": {},
        "created_at": None,
        "interrupts": [],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def thread_json(t: LgThread, values: Any = None, interrupts: Any = None) -> dict[str, Any]:
    return {
        "thread_id": t.thread_id,
        "created_at": _iso(t.created_at),
        "updated_at": _iso(t.updated_at or t.created_at),
        "metadata": {**t.metadata, **({"graph_id": t.graph_id} if t.graph_id else {})},
        "status": t.status,
        "values": values if values is not None else {},
        "interrupts": interrupts or {},
    }


def run_json(r: LgRun) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "thread_id": r.thread_id,
        "assistant_id": r.assistant_id,
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at or r.created_at),
        "status": r.status,
        "metadata": r.metadata,
        "multitask_strategy": r.multitask_strategy,
        "kwargs": {k: r.kwargs.get(k) for k in ("input", "command", "stream_mode")},
    }


def threads(runtime: Any) -> TenantRepository[LgThread]:
    return TenantRepository(runtime.db, LgThread)


def runs(runtime: Any) -> TenantRepository[LgRun]:
    return TenantRepository(runtime.db, LgRun)


async def get_thread(runtime: Any, org_id: ObjectId, thread_id: str) -> LgThread:
    """The tenant's thread; another tenant's (or no) thread is the same 404."""
    found = await threads(runtime).find_one(org_id, {"threadId": thread_id})
    if found is None:
        raise ApiError(404, f"no thread {thread_id!r}")
    return found


async def get_run(runtime: Any, org_id: ObjectId, thread_id: str, run_id: str) -> LgRun:
    found = await runs(runtime).find_one(org_id, {"threadId": thread_id, "runId": run_id})
    if found is None:
        raise ApiError(404, f"no run {run_id!r} on thread {thread_id!r}")
    return found


async def thread_values(
    runtime: Any, org_id: ObjectId, user_id: Any, t: LgThread, checkpoint_id: str | None = None
) -> dict[str, Any]:
    """The thread's state (latest, or at ``checkpoint_id``) in the SDK's ThreadState shape;
    empty before its first run."""
    if not t.graph_id:
        return empty_state(t.thread_id)
    config = config_for(runtime, org_id, user_id, t.graph_id, t.thread_id)
    if checkpoint_id:
        config["configurable"]["checkpoint_id"] = checkpoint_id
    snap = await graph(runtime, t.graph_id).aget_state(config)
    return snapshot_json(snap) if snap.config else empty_state(t.thread_id)
