"""Saved workflows: a graph and its input, run by hand (``execute``) and kept with a history.

A workflow names one of the graphs and the input to give it; its input is checked against
the graph's input schema when saved, so a saved workflow always starts. Each execution runs on
a fresh thread until the graph ends or pauses at an interrupt (answer it through the runs API
on that thread), and is recorded in ``workflow_runs``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from bson import ObjectId
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.deps import RuntimeDep, parse_id, require
from api.errors import ApiError
from api.principal import Principal
from api.routes.ai_common import AI_RATE
from graphs.registry import GRAPH_NAMES, build_graph
from graphs.runner import BadGraphInput, run_config, stream_run, validate_input
from persistence.ids import utcnow
from persistence.models import Workflow, WorkflowRun
from persistence.models.ai import WorkflowTrigger
from persistence.repository import TenantRepository, tenant_filter

Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]

router = APIRouter(prefix="/api/ai/workflows", tags=["workflows"], dependencies=[AI_RATE])


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class TriggerIn(Body):
    type: Literal["manual", "schedule", "event"] = "manual"
    configuration: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True


class WorkflowIn(Body):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    graph: str = Field(description=f"One of: {', '.join(GRAPH_NAMES)}")
    input: dict[str, Any]
    trigger: TriggerIn = Field(default_factory=TriggerIn)


class WorkflowPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    input: dict[str, Any] | None = None
    trigger: TriggerIn | None = None


def _out(doc: Workflow | WorkflowRun) -> dict[str, Any]:
    out = doc.model_dump(by_alias=True, mode="json")
    out["id"] = out.pop("_id")
    return out


def _checked_input(graph: str, payload: dict[str, Any]) -> dict[str, Any]:
    if graph not in GRAPH_NAMES:
        raise ApiError(
            422,
            "invalid input: body.graph",
            fields=[{"field": "body.graph", "message": f"choose one of: {', '.join(GRAPH_NAMES)}"}],
        )
    try:
        return validate_input(build_graph(graph, None), payload)
    except BadGraphInput as exc:
        raise ApiError(
            422, "invalid input: body.input", fields=[{"field": "body.input", "message": str(exc)}]
        ) from exc


async def _workflow(runtime: Any, principal: Principal, workflow_id: str) -> Workflow:
    # Another tenant's id is looked up within the caller's tenant: simply not found.
    found = await TenantRepository(runtime.db, Workflow).get(
        principal.org_id, parse_id(workflow_id, "path.workflow_id")
    )
    if found is None:
        raise ApiError(404, "no such workflow")
    return found


@router.post("", status_code=201)
async def create_workflow(body: WorkflowIn, principal: Writer, runtime: RuntimeDep) -> dict:
    """Save a graph and its input as a workflow."""
    workflow = Workflow(
        organization_id=principal.org_id,
        user_id=principal.user_id,
        name=body.name,
        description=body.description,
        graph=body.graph,
        input=_checked_input(body.graph, body.input),
        trigger=WorkflowTrigger.model_validate(body.trigger.model_dump()),
    )
    await TenantRepository(runtime.db, Workflow).insert(workflow)
    return _out(workflow)


@router.get("")
async def list_workflows(
    principal: Reader,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    repo = TenantRepository(runtime.db, Workflow)
    items = await repo.find(
        principal.org_id, sort=[("createdAt", -1), ("_id", -1)], skip=offset, limit=limit
    )
    total = await repo.count(principal.org_id)
    return {"items": [_out(w) for w in items], "total": total, "limit": limit, "offset": offset}


@router.get("/{workflow_id}")
async def get_workflow(workflow_id: str, principal: Reader, runtime: RuntimeDep) -> dict:
    return _out(await _workflow(runtime, principal, workflow_id))


@router.patch("/{workflow_id}")
async def update_workflow(
    workflow_id: str, body: WorkflowPatch, principal: Writer, runtime: RuntimeDep
) -> dict:
    """Change the name, description, input or trigger; a new input is checked again."""
    current = await _workflow(runtime, principal, workflow_id)
    changes: dict[str, Any] = body.model_dump(by_alias=True, exclude_unset=True, mode="python")
    if body.input is not None:
        changes["input"] = _checked_input(current.graph, body.input)
    if not changes:
        return _out(current)
    updated = await TenantRepository(runtime.db, Workflow).update(
        principal.org_id, current.id, changes
    )
    if updated is None:
        raise ApiError(404, "no such workflow")
    return _out(updated)


@router.delete("/{workflow_id}", status_code=204)
async def delete_workflow(workflow_id: str, principal: Writer, runtime: RuntimeDep) -> Response:
    current = await _workflow(runtime, principal, workflow_id)
    await TenantRepository(runtime.db, Workflow).delete(principal.org_id, current.id)
    return Response(status_code=204)


@router.post("/{workflow_id}/execute")
async def execute_workflow(workflow_id: str, principal: Writer, runtime: RuntimeDep) -> dict:
    """Run the workflow on a new thread until it ends or waits for a person."""
    workflow = await _workflow(runtime, principal, workflow_id)
    runs = TenantRepository(runtime.db, WorkflowRun)
    run = await runs.insert(
        WorkflowRun(
            organization_id=principal.org_id,
            workflow_id=workflow.id,
            graph=workflow.graph,
            thread_id=uuid.uuid4().hex,
            started_at=utcnow(),
        )
    )
    config = run_config(principal.org_id, runtime, graph=workflow.graph, thread_id=run.thread_id)
    final: dict[str, Any] = {}
    try:
        async for event in stream_run(
            workflow.graph, config, runtime.checkpointer, input=workflow.input
        ):
            final = event.get("final", final)
        outcome: dict[str, Any] = {
            "status": "interrupted" if final.get("interrupts") else "completed",
            "result": final.get("values"),
            "interrupts": final.get("interrupts", []),
        }
    except Exception as exc:  # recorded on the run; the caller sees it there
        outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:500]}
    outcome["finishedAt"] = utcnow()
    stored = await runs.update(principal.org_id, run.id, outcome)
    await _count(runtime, principal.org_id, workflow.id, outcome["status"] != "failed")
    return _out(stored or run)


async def _count(runtime: Any, org_id: ObjectId, workflow_id: ObjectId, ok: bool) -> None:
    outcome = "execution.successCount" if ok else "execution.failureCount"
    await TenantRepository(runtime.db, Workflow).collection.update_one(
        tenant_filter(org_id, {"_id": workflow_id}),
        {"$inc": {"execution.runCount": 1, outcome: 1}, "$set": {"execution.lastRun": utcnow()}},
    )


@router.get("/{workflow_id}/history")
async def workflow_history(
    workflow_id: str,
    principal: Reader,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The workflow's executions, newest first."""
    workflow = await _workflow(runtime, principal, workflow_id)
    items = await TenantRepository(runtime.db, WorkflowRun).find(
        principal.org_id,
        {"workflowId": workflow.id},
        sort=[("startedAt", -1), ("_id", -1)],
        limit=limit,
    )
    return {"items": [_out(r) for r in items]}
