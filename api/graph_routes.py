"""Every graph over HTTP with LangServe: ``/graphs/{name}/invoke|batch|stream|...``.

Each route sits behind the same authentication as the rest of the API. The tenant, the
services and a per-run memo are put into the run config here, from the principal; whatever a
client sends under those keys is overwritten, so no request can run a graph as another tenant.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Depends, FastAPI, Request
from langgraph.checkpoint.base import BaseCheckpointSaver
from langserve import add_routes

from api.deps import get_principal, require
from api.principal import Principal
from graphs.registry import GRAPH_NAMES, build_graph
from tools.context import MEMO_KEY, ORG_KEY, SERVICES_KEY

# What a client may set in ``configurable``; everything else is dropped.
CLIENT_KEYS = ("thread_id", "model")


def _config_modifier(graph: str):
    async def modify(config: dict[str, Any], request: Request) -> dict[str, Any]:
        principal: Principal = request.state.principal
        sent = config.get("configurable") or {}
        configurable = {k: sent[k] for k in CLIENT_KEYS if sent.get(k)}
        configurable.setdefault("thread_id", uuid.uuid4().hex)
        configurable |= {
            ORG_KEY: str(principal.org_id),
            SERVICES_KEY: request.app.state.runtime,
            MEMO_KEY: {},
            "workflow": graph,
            "user_id": str(principal.user_id),
        }
        return {**config, "configurable": configurable}

    return modify


def mount_graphs(app: FastAPI, checkpointer: BaseCheckpointSaver) -> None:
    """Add LangServe routes for every graph; running one needs the ``write`` permission."""
    for name in GRAPH_NAMES:
        add_routes(
            app,
            build_graph(name, checkpointer),
            path=f"/graphs/{name}",
            per_req_config_modifier=_config_modifier(name),
            dependencies=[Depends(get_principal), Depends(require("write"))],
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
