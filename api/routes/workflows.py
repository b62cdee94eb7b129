"""Saved workflows: a graph and its input, run by hand (``execute``) or on a schedule, and kept
with a history.

A workflow names one of the graphs and the input to give it; its input is checked against
the graph's input schema when saved, so a saved workflow always starts. Each execution runs on
a fresh thread until the graph ends or pauses at an interrupt (answer it through the runs API
on that thread), and is recorded in ``workflow_runs``. An active ``schedule`` trigger
(``configuration: {"cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}``) keeps its next fire
time in ``execution.nextRun``; the schedule tick (``api.scheduled``) runs it then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.deps import RuntimeDep, parse_id, require
from api.errors import ApiError
from api.principal import Principal
from api.routes.ai_common import AI_RATE
from api.routes.workflow_exec import execute_workflow as run_workflow
from graphs.registry import GRAPH_NAMES, build_graph
from graphs.runner import BadGraphInput, validate_input
from persistence.cron import ScheduleError, check_cron, next_fire, zone
from persistence.ids import utcnow
from persistence.models import Workflow, WorkflowRun
from persistence.models.ai import WorkflowExecution, WorkflowTrigger
from persistence.repository import TenantRepository

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


def _checked_trigger(trigger: dict[str, Any]) -> tuple[WorkflowTrigger, datetime | None]:
    """The trigger to store and its next fire time: None unless it is an active schedule.

    A schedule's cron and time zone are checked here, each bad one named as its own field."""
    stored = WorkflowTrigger.model_validate(trigger)
    if stored.type != "schedule":
        return stored, None
    config = dict(stored.configuration)
    errors: list[dict[str, str]] = []
    for part, check in (("cron", check_cron), ("timezone", lambda name: zone(name).key)):
        try:
            config[part] = check(config.get(part))
        except ScheduleError as exc:
            errors.append({"field": f"body.trigger.configuration.{part}", "message": str(exc)})
    next_run = None
    if not errors:
        try:
            next_run = next_fire(config["cron"], config["timezone"], utcnow())
        except ScheduleError as exc:  # valid fields that match no date, e.g. 30 February
            errors.append({"field": "body.trigger.configuration.cron", "message": str(exc)})
    if errors:
        raise ApiError(422, f"invalid input: {errors[0]['field']}", fields=errors)
    stored = stored.model_copy(update={"configuration": config})
    return stored, next_run if stored.is_active else None


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
    trigger, next_run = _checked_trigger(body.trigger.model_dump())
    workflow = Workflow(
        organization_id=principal.org_id,
        user_id=principal.user_id,
        name=body.name,
        description=body.description,
        graph=body.graph,
        input=_checked_input(body.graph, body.input),
        trigger=trigger,
        execution=WorkflowExecution(next_run=next_run),
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
    """Change the name, description, input or trigger; a new input is checked again.

    ``trigger`` changes only the keys sent (``{"isActive": false}`` pauses a schedule and keeps
    its cron); its next fire is computed again from now, or cleared when it no longer fires."""
    current = await _workflow(runtime, principal, workflow_id)
    changes: dict[str, Any] = body.model_dump(by_alias=True, exclude_unset=True, mode="python")
    if body.input is not None:
        changes["input"] = _checked_input(current.graph, body.input)
    if body.trigger is not None:
        sent = body.trigger.model_dump(exclude_unset=True)
        trigger, next_run = _checked_trigger({**current.trigger.model_dump(), **sent})
        changes["trigger"] = trigger.model_dump(by_alias=True, mode="python")
        changes["execution.nextRun"] = next_run
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
    return _out(await run_workflow(runtime, workflow, trigger="manual"))


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
