"""Every graph over HTTP with LangServe: ``/graphs/{name}/invoke|batch|stream|...``.

Each route sits behind the same authentication as the rest of the API. The run engine builds
each call's context (tenant, user, thread, model) from the principal and the few keys a
client may set; whatever else a client sends in ``configurable`` is dropped, so no request
can run a graph as another tenant.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from langgraph.checkpoint.base import BaseCheckpointSaver
from langserve import add_routes

from api.deps import RuntimeDep, rate_limited, require
from api.graph_bodies import PublishedBodies
from api.playground_cookie import graph_principal
from api.principal import Principal
from graphs.registry import GRAPH_NAMES, build_graph
from runs.binding import bind, with_context
from services.billing import limits

# What a client may set in ``configurable``; everything else is dropped.
CLIENT_KEYS = ("thread_id", "model")

# Header credentials, or a signed-in console's playground cookie.
_writer = require("write", graph_principal)


async def _admit_model_work(
    request: Request, principal: Annotated[Principal, Depends(_writer)], runtime: RuntimeDep
) -> None:
    """A 402 before anything is streamed when the organization has no AI credit left: the
    run checks again, but once a stream has started its status can no longer say so.
    Schemas and the playground page (GET) stay readable."""
    if request.method == "POST":
        await limits.check(runtime.db, principal.org_id, "ai_credits", adding=1)


def _config_modifier(graph: str):
    async def modify(config: dict[str, Any], request: Request) -> dict[str, Any]:
        principal: Principal = request.state.principal
        sent = config.get("configurable") or {}
        chosen = {k: sent[k] for k in CLIENT_KEYS if isinstance(sent.get(k), str) and sent[k]}
        engine = request.app.state.runtime.engine
        ctx = engine.context(
            principal.org_id,
            graph=graph,
            thread_id=chosen.get("thread_id"),
            user_id=principal.user_id,
            model=chosen.get("model"),
        )
        built = with_context(engine, ctx)
        return {**config, **built, "configurable": built["configurable"]}

    return modify


def mount_graphs(app: FastAPI, checkpointer: BaseCheckpointSaver) -> None:
    """Add LangServe routes for every graph; running one needs the ``write`` permission.
    ``checkpointer`` is bound to the runtime's saver once the app starts."""
    for name in GRAPH_NAMES:
        # Filled from the documentation routes once add_routes has made them (below).
        bodies = PublishedBodies(f"/graphs/{name}")
        add_routes(
            app,
            bind(build_graph(name, checkpointer)),
            path=f"/graphs/{name}",
            per_req_config_modifier=_config_modifier(name),
            # The same rate-limit class as /api/ai: each call may spend model tokens.
            dependencies=[
                Depends(_writer),
                Depends(rate_limited("ai", 60, 60, graph_principal)),
                # Before the credit check: a malformed request is told what to fix (422),
                # whatever the organization's allowance.
                Depends(bodies.dependency()),
                Depends(_admit_model_work),
            ],
            enabled_endpoints=[
                "invoke",
                "batch",
                "stream",
                "stream_log",
                "stream_events",
                "input_schema",
                "output_schema",
                "config_schema",
                "playground",
            ],
        )
        bodies.collect(app)
