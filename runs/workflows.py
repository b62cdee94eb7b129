"""Saved workflows: a graph and its input, run by hand or when their schedule fires.

A workflow's input is checked against its graph when saved, so a saved workflow always
starts; an active ``schedule`` trigger (``{"cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}``)
keeps its next fire in ``execution.nextRun`` for the schedule tick. One function executes a
workflow for both triggers, so a scheduled run is recorded exactly like a manual one: a
``workflow_runs`` document on a fresh thread, and the workflow's counters.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId

from graphs.registry import GRAPH_NAMES
from persistence.cron import ScheduleError, check_cron, next_fire, zone
from persistence.errors import InvalidInput, NotFound
from persistence.ids import utcnow
from persistence.models import Workflow, WorkflowRun
from persistence.models.ai import WorkflowExecution, WorkflowTrigger
from persistence.repository import TenantRepository, tenant_filter
from runs.engine import RunEngine
from runs.errors import InvalidRunInput
from runs.output import to_json

RunTrigger = Literal["manual", "schedule"]


def checked_trigger(
    trigger: dict[str, Any], now: datetime
) -> tuple[WorkflowTrigger, datetime | None]:
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
            next_run = next_fire(config["cron"], config["timezone"], now)
        except ScheduleError as exc:  # valid fields that match no date, e.g. 30 February
            errors.append({"field": "body.trigger.configuration.cron", "message": str(exc)})
    if errors:
        raise InvalidInput(f"invalid input: {errors[0]['field']}", fields=errors)
    stored = stored.model_copy(update={"configuration": config})
    return stored, next_run if stored.is_active else None


class Workflows:
    def __init__(self, engine: RunEngine) -> None:
        self.engine = engine
        self.repo = TenantRepository(engine.services.db, Workflow)
        self.runs = TenantRepository(engine.services.db, WorkflowRun)

    def checked_input(self, graph: str, payload: dict[str, Any]) -> dict[str, Any]:
        if graph not in GRAPH_NAMES:
            raise InvalidInput.field("body.graph", f"choose one of: {', '.join(GRAPH_NAMES)}")
        try:
            return self.engine.check_input(graph, payload)
        except InvalidRunInput as exc:
            raise InvalidInput.field("body.input", exc.message) from exc

    async def get(self, org_id: ObjectId, workflow_id: ObjectId) -> Workflow:
        # Another tenant's id is looked up within the caller's tenant: simply not found.
        found = await self.repo.get(org_id, workflow_id)
        if found is None:
            raise NotFound("no such workflow")
        return found

    async def create(
        self,
        org_id: ObjectId,
        user_id: ObjectId,
        *,
        name: str,
        description: str | None,
        graph: str,
        input: dict[str, Any],
        trigger: dict[str, Any],
    ) -> Workflow:
        stored_trigger, next_run = checked_trigger(trigger, utcnow())
        workflow = Workflow(
            organization_id=org_id,
            user_id=user_id,
            name=name,
            description=description,
            graph=graph,
            input=self.checked_input(graph, input),
            trigger=stored_trigger,
            execution=WorkflowExecution(next_run=next_run),
        )
        return await self.repo.insert(workflow)

    async def update(
        self,
        org_id: ObjectId,
        workflow_id: ObjectId,
        changes: dict[str, Any],
        *,
        input: dict[str, Any] | None = None,
        trigger: dict[str, Any] | None = None,
    ) -> Workflow:
        """Apply ``changes`` (name, description); a new input is checked again; ``trigger``
        changes only the keys given and computes its next fire again from now."""
        current = await self.get(org_id, workflow_id)
        changes = dict(changes)
        if input is not None:
            changes["input"] = self.checked_input(current.graph, input)
        if trigger is not None:
            merged, next_run = checked_trigger(
                {**current.trigger.model_dump(), **trigger}, utcnow()
            )
            changes["trigger"] = merged.model_dump(by_alias=True, mode="python")
            changes["execution.nextRun"] = next_run
        if not changes:
            return current
        updated = await self.repo.update(org_id, current.id, changes)
        if updated is None:
            raise NotFound("no such workflow")
        return updated

    async def delete(self, org_id: ObjectId, workflow_id: ObjectId) -> None:
        current = await self.get(org_id, workflow_id)
        await self.repo.delete(org_id, current.id)

    async def execute(self, workflow: Workflow, *, trigger: RunTrigger = "manual") -> WorkflowRun:
        """Run ``workflow`` on a new thread until it ends or waits for a person; the stored
        run. A failing graph is recorded on the run (status ``failed``), not raised."""
        org = workflow.organization_id
        run = await self.runs.insert(
            WorkflowRun(
                organization_id=org,
                workflow_id=workflow.id,
                graph=workflow.graph,
                thread_id=uuid.uuid4().hex,
                trigger=trigger,
                started_at=utcnow(),
            )
        )
        ctx = self.engine.context(
            org, graph=workflow.graph, thread_id=run.thread_id, user_id=workflow.user_id
        )
        try:
            outcome = await self.engine.run(ctx, input=workflow.input)
            result: dict[str, Any] = {
                "status": "interrupted" if outcome.interrupted else "completed",
                "result": to_json(outcome.values),
                "interrupts": to_json(outcome.interrupts),
            }
        except Exception as exc:  # recorded on the run; the caller sees it there
            result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:500]}
        result["finishedAt"] = utcnow()
        stored = await self.runs.update(org, run.id, result)
        await self._count(org, workflow.id, result["status"] != "failed")
        return stored or run

    async def _count(self, org_id: ObjectId, workflow_id: ObjectId, ok: bool) -> None:
        outcome = "execution.successCount" if ok else "execution.failureCount"
        await self.repo.collection.update_one(
            tenant_filter(org_id, {"_id": workflow_id}),
            {
                "$inc": {"execution.runCount": 1, outcome: 1},
                "$set": {"execution.lastRun": utcnow()},
            },
        )

    async def history(
        self, org_id: ObjectId, workflow_id: ObjectId, limit: int
    ) -> list[WorkflowRun]:
        workflow = await self.get(org_id, workflow_id)
        return await self.runs.find(
            org_id, {"workflowId": workflow.id}, sort=[("startedAt", -1), ("_id", -1)], limit=limit
        )
