"""Observability: Prometheus metrics and the status of the database and the agents.

Answered to a client on this host, to a platform operator, or to a scraper presenting the
metrics token (``CHORUS_METRICS_TOKEN``) as a bearer token (``api.observers``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from api.deps import RuntimeDep
from api.observers import observer
from api.responses import errors
from api.routes.schemas import ApiModel
from graphs.registry import GRAPH_NAMES
from persistence import metrics
from services import observability

router = APIRouter(
    prefix="/api/system",
    tags=["system"],
    dependencies=[Depends(observer)],
    responses=errors(401, 403),
)


class ComponentFormOut(ApiModel):
    name: str
    form: str
    backend: str
    ok: bool
    detail: str


class DatabaseStatusOut(ApiModel):
    ok: bool
    form: str
    backend: str
    ping_ms: float
    collections: dict[str, int] = Field(description="Documents by collection (estimated).")
    error: str | None = None


class CountOut(ApiModel):
    graph: str | None = None
    agent: str | None = None
    status: str | None = None
    count: int


class AgentsStatusOut(ApiModel):
    models: list[ComponentFormOut] = Field(description="The chat model and embeddings.")
    graphs: list[str]
    runs_last_24_hours: list[CountOut]
    agent_calls_last_24_hours: list[CountOut]
    queue_depth: int


_TEXT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The metrics in the Prometheus text format.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


@router.get("/metrics", response_class=Response, responses=_TEXT)
async def prometheus_metrics(runtime: RuntimeDep) -> Response:
    """Request latency by route, run durations by graph, the job queue's depth, publishing
    outcomes, model tokens and cost."""
    metrics.QUEUE_DEPTH.set(await runtime.jobs.depth())
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)


@router.get("/database-status", response_model=DatabaseStatusOut)
async def database_status(runtime: RuntimeDep) -> DatabaseStatusOut:
    """Whether the document store answers, how fast, and what it holds."""
    status = await observability.database_status(runtime.db)
    component = next(c for c in await runtime.check(deep=False) if c.name == "documents")
    return DatabaseStatusOut(
        ok=status.ok,
        form=component.form,
        backend=component.backend,
        ping_ms=status.ping_ms,
        collections=status.collections,
        error=status.error,
    )


@router.get("/ai-agents-status", response_model=AgentsStatusOut)
async def ai_agents_status(runtime: RuntimeDep) -> AgentsStatusOut:
    """The models as configured (not loaded), the graphs served, runs and agent calls of the
    last 24 hours by outcome, and the job queue's depth."""
    models = [
        ComponentFormOut(name=c.name, form=c.form, backend=c.backend, ok=c.ok, detail=c.detail)
        for c in await runtime.check(deep=False)
        if c.name in ("chat_model", "embeddings")
    ]
    recent = await observability.agents_status(runtime.db)
    return AgentsStatusOut(
        models=models,
        graphs=list(GRAPH_NAMES),
        runs_last_24_hours=[CountOut(**r) for r in recent.runs],
        agent_calls_last_24_hours=[CountOut(**c) for c in recent.agent_calls],
        queue_depth=await runtime.jobs.depth(),
    )
