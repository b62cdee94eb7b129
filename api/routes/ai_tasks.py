"""The organization's ai_tasks: one row per agent call, with feedback from people."""

from __future__ import annotations

from typing import Annotated, Any

from bson import ObjectId
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.deps import IdPath, RuntimeDep, require
from api.errors import ApiError
from api.principal import Principal
from api.routes.ai_common import AI_RATE
from persistence.models.ai import AgentType, AiTask, TaskStatus
from persistence.repository import TenantRepository

Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]

router = APIRouter(prefix="/api/ai/tasks", tags=["ai"], dependencies=[AI_RATE])


def task_out(task: AiTask) -> dict[str, Any]:
    """The task as JSON: camelCase, ``id`` instead of ``_id``."""
    out = task.model_dump(by_alias=True, mode="json")
    out["id"] = out.pop("_id")
    return out


async def _task(runtime: Any, principal: Principal, task_id: ObjectId) -> AiTask:
    # Another tenant's id is looked up under the caller's tenant, so it is simply not found.
    task = await TenantRepository(runtime.db, AiTask).get(principal.org_id, task_id)
    if task is None:
        raise ApiError(404, "no such AI task")
    return task


@router.get("")
async def list_tasks(
    principal: Reader,
    runtime: RuntimeDep,
    agent: AgentType | None = None,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The organization's AI tasks, newest first; ``total`` counts all that match."""
    query: dict[str, Any] = {}
    if agent:
        query["agentType"] = agent
    if status:
        query["execution.status"] = status
    repo = TenantRepository(runtime.db, AiTask)
    tasks = await repo.find(
        principal.org_id, query, sort=[("createdAt", -1), ("_id", -1)], skip=offset, limit=limit
    )
    total = await repo.count(principal.org_id, query)
    return {"items": [task_out(t) for t in tasks], "total": total, "limit": limit, "offset": offset}


@router.get("/{task_id}")
async def get_task(task_id: IdPath, principal: Reader, runtime: RuntimeDep) -> dict[str, Any]:
    """One task with its input summary, output, execution and resources."""
    return task_out(await _task(runtime, principal, task_id))


class FeedbackIn(BaseModel):
    # Strict, as api.routes.schemas.StrictIn explains.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True
    )

    rating: int = Field(ge=1, le=5)
    comments: str | None = Field(default=None, max_length=4000)
    was_used: bool | None = None


@router.post("/{task_id}/feedback")
async def give_feedback(
    task_id: IdPath, body: FeedbackIn, principal: Writer, runtime: RuntimeDep
) -> dict[str, Any]:
    """Rate a task's result (1-5); the latest feedback replaces an earlier one."""
    task = await _task(runtime, principal, task_id)
    updated = await TenantRepository(runtime.db, AiTask).update(
        principal.org_id,
        task.id,
        {
            "feedback.userRating": body.rating,
            "feedback.userComments": body.comments,
            "feedback.wasUsed": body.was_used,
        },
    )
    if updated is None:  # deleted in between
        raise ApiError(404, "no such AI task")
    return task_out(updated)


@router.delete("/{task_id}", status_code=204, response_class=Response)
async def delete_task(task_id: IdPath, principal: Writer, runtime: RuntimeDep) -> Response:
    """Delete a task record. Another organization's id answers 404, like an unknown one."""
    if not await TenantRepository(runtime.db, AiTask).delete(principal.org_id, task_id):
        raise ApiError(404, "no such AI task")
    return Response(status_code=204)
