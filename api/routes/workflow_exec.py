"""Executing a saved workflow: by hand (``POST .../execute``) or when its schedule fires.

One function for both, so a scheduled run is recorded exactly like a manual one: a
``workflow_runs`` document on a fresh thread, and the workflow's execution counters.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from bson import ObjectId

from graphs.runner import run_config, stream_run
from persistence.ids import utcnow
from persistence.models import Workflow, WorkflowRun
from persistence.repository import TenantRepository, tenant_filter

RunTrigger = Literal["manual", "schedule"]


async def execute_workflow(
    runtime: Any, workflow: Workflow, *, trigger: RunTrigger = "manual"
) -> WorkflowRun:
    """Run ``workflow`` on a new thread until it ends or waits for a person; the stored run.

    A failing graph is recorded on the run (status ``failed``), not raised."""
    org = workflow.organization_id
    runs = TenantRepository(runtime.db, WorkflowRun)
    run = await runs.insert(
        WorkflowRun(
            organization_id=org,
            workflow_id=workflow.id,
            graph=workflow.graph,
            thread_id=uuid.uuid4().hex,
            trigger=trigger,
            started_at=utcnow(),
        )
    )
    config = run_config(org, runtime, graph=workflow.graph, thread_id=run.thread_id)
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
    stored = await runs.update(org, run.id, outcome)
    await _count(runtime, org, workflow.id, outcome["status"] != "failed")
    return stored or run


async def _count(runtime: Any, org_id: ObjectId, workflow_id: ObjectId, ok: bool) -> None:
    outcome = "execution.successCount" if ok else "execution.failureCount"
    await TenantRepository(runtime.db, Workflow).collection.update_one(
        tenant_filter(org_id, {"_id": workflow_id}),
        {"$inc": {"execution.runCount": 1, outcome: 1}, "$set": {"execution.lastRun": utcnow()}},
    )
