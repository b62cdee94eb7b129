"""Saved workflows: a graph and its input, run by hand (``execute``) or on a schedule, and kept
with a history.

A workflow names one of the graphs and the input to give it; its input is checked against
the graph's input schema when saved, so a saved workflow always starts. Each execution runs on
a fresh thread until the graph ends or pauses at an interrupt (answer it through the runs API
on that thread), and is recorded in ``workflow_runs``. An active ``schedule`` trigger
(``configuration: {"cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}``) keeps its next fire
time in ``execution.nextRun``; the schedule tick (``runs.schedules``) runs it then.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.deps import EngineDep, IdPath, Reader, Writer
from api.routes.ai_common import AI_RATE
from graphs.registry import GRAPH_NAMES
from persistence.models import Workflow, WorkflowRun
from runs.workflows import Workflows

router = APIRouter(prefix="/api/ai/workflows", tags=["workflows"], dependencies=[AI_RATE])


class Body(BaseModel):
    # Requests only: strict, as api.routes.schemas.StrictIn explains.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True
    )


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


def workflows_of(engine: EngineDep) -> Workflows:
    return Workflows(engine)


WorkflowsDep = Annotated[Workflows, Depends(workflows_of)]


@router.post("", status_code=201)
async def create_workflow(body: WorkflowIn, principal: Writer, workflows: WorkflowsDep) -> dict:
    """Save a graph and its input as a workflow."""
    workflow = await workflows.create(
        principal.org_id,
        principal.user_id,
        name=body.name,
        description=body.description,
        graph=body.graph,
        input=body.input,
        trigger=body.trigger.model_dump(),
    )
    return _out(workflow)


@router.get("")
async def list_workflows(
    principal: Reader,
    workflows: WorkflowsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    items = await workflows.repo.find(
        principal.org_id, sort=[("createdAt", -1), ("_id", -1)], skip=offset, limit=limit
    )
    total = await workflows.repo.count(principal.org_id)
    return {"items": [_out(w) for w in items], "total": total, "limit": limit, "offset": offset}


@router.get("/{workflow_id}")
async def get_workflow(workflow_id: IdPath, principal: Reader, workflows: WorkflowsDep) -> dict:
    return _out(await workflows.get(principal.org_id, workflow_id))


@router.patch("/{workflow_id}")
async def update_workflow(
    workflow_id: IdPath, body: WorkflowPatch, principal: Writer, workflows: WorkflowsDep
) -> dict:
    """Change the name, description, input or trigger; a new input is checked again.

    ``trigger`` changes only the keys sent (``{"isActive": false}`` pauses a schedule and keeps
    its cron); its next fire is computed again from now, or cleared when it no longer fires."""
    sent = body.model_dump(by_alias=True, exclude_unset=True, mode="python")
    updated = await workflows.update(
        principal.org_id,
        workflow_id,
        {k: v for k, v in sent.items() if k in ("name", "description")},
        input=body.input,
        trigger=body.trigger.model_dump(exclude_unset=True) if body.trigger else None,
    )
    return _out(updated)


@router.delete("/{workflow_id}", status_code=204)
async def delete_workflow(
    workflow_id: IdPath, principal: Writer, workflows: WorkflowsDep
) -> Response:
    await workflows.delete(principal.org_id, workflow_id)
    return Response(status_code=204)


@router.post("/{workflow_id}/execute")
async def execute_workflow(workflow_id: IdPath, principal: Writer, workflows: WorkflowsDep) -> dict:
    """Run the workflow on a new thread until it ends or waits for a person."""
    workflow = await workflows.get(principal.org_id, workflow_id)
    return _out(await workflows.execute(workflow, trigger="manual"))


@router.get("/{workflow_id}/history")
async def workflow_history(
    workflow_id: IdPath,
    principal: Reader,
    workflows: WorkflowsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The workflow's executions, newest first."""
    items = await workflows.history(principal.org_id, workflow_id, limit)
    return {"items": [_out(r) for r in items]}
