"""Run a graph in process for one tenant: stream its updates, then its final state or interrupt.

``chorus run`` uses this; so do tests and benchmarks. The run config carries the tenant, the
services and the thread, exactly as the serving layer builds it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from langchain_core.load import dumpd
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel, ValidationError

from graphs.registry import build_graph
from tools.context import MEMO_KEY, ORG_KEY, SERVICES_KEY, Services


class BadGraphInput(ValueError):
    """The input does not fit the graph; the message names the fields to fix."""


def run_config(
    org_id: ObjectId | str,
    services: Services,
    *,
    graph: str,
    thread_id: str | None = None,
    model: str | None = None,
) -> RunnableConfig:
    configurable: dict[str, Any] = {
        ORG_KEY: str(org_id),
        SERVICES_KEY: services,
        MEMO_KEY: {},
        "thread_id": thread_id or uuid.uuid4().hex,
        "workflow": graph,
    }
    if model:
        configurable["model"] = model
    return {"configurable": configurable, "recursion_limit": 50}


def jsonable(value: Any) -> Any:
    """State values as JSON: messages, pydantic models and ids included."""
    if isinstance(value, BaseMessage):
        return dumpd(value)["kwargs"] | {"type": value.type}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def validate_input(graph: CompiledStateGraph, payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise BadGraphInput("the input must be a JSON object")
    try:
        graph.get_input_schema().model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}"
            for err in exc.errors()
        )
        raise BadGraphInput(f"input does not fit graph {graph.name!r}: {problems}") from exc
    return payload


async def stream_run(
    graph_name: str,
    config: RunnableConfig,
    checkpointer: Any,
    *,
    input: dict[str, Any] | None = None,
    resume: Any = None,
) -> AsyncIterator[dict[str, Any]]:
    """Yield ``{"update": {...}}`` per node, then ``{"final": {...}}`` once."""
    graph = build_graph(graph_name, checkpointer)
    if resume is not None:
        pending = await graph.aget_state(config)
        if not pending.interrupts:
            thread = config["configurable"]["thread_id"]
            raise BadGraphInput(f"thread {thread!r} of {graph_name!r} has no pending interrupt")
        payload: Any = Command(resume=resume)
    else:
        payload = validate_input(graph, input)
    async for update in graph.astream(payload, config, stream_mode="updates"):
        yield {"update": jsonable(update)}
    state = await graph.aget_state(config)
    yield {
        "final": {
            "graph": graph_name,
            "thread_id": config["configurable"]["thread_id"],
            "values": jsonable(state.values),
            "next": list(state.next),
            "interrupts": [jsonable(i.value) for i in state.interrupts],
        }
    }
