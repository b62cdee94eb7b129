"""Runs started by the operator (``chorus run``), on the same path as the /lg API's runs.

A run from the command line is an SDK run like any other: its thread and run documents are
stored for the organization, so the API and the console see the thread (``/lg/threads/{id}``)
and a thread busy with an API run refuses a CLI run the same way. The CLI runs this in its own
process, or asks a running server to (``/api/operator/runs``) when the server holds the data
dir; either way the lines are the same.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from bson import ObjectId

from runs.engine import RunEngine
from runs.sdk import RunRequest, SdkRuns

# Who started the run, in its run document and trace metadata (no user signs in to a CLI).
OPERATOR = "operator"

LineKind = Literal["update", "error", "outcome"]


async def operator_run(
    engine: RunEngine,
    org_id: ObjectId,
    *,
    graph: str,
    thread_id: str | None = None,
    input: Any = None,
    resume: Any = None,
    model: str | None = None,
) -> AsyncIterator[tuple[LineKind, dict[str, Any]]]:
    """Run ``graph`` for ``org_id`` and yield ``("update", {node: values})`` per step, then
    ``("outcome", ...)`` (the state, and the interrupt it waits at) or ``("error", ...)``.

    A request that cannot start (unknown thread to resume, input that does not fit, a plan
    out of credits) raises its domain error before anything runs."""
    resuming = resume is not None
    request = RunRequest(
        graph=graph,
        input=None if resuming else input,
        command={"resume": resume} if resuming else None,
        stream_mode=["updates"],
        model=model,
        # A new thread is created for an input; a resume needs the thread it answers.
        if_not_exists="reject" if resuming else "create",
    )
    sdk = SdkRuns(engine)
    run = await sdk.start(org_id, OPERATOR, thread_id or str(uuid.uuid4()), request)
    async for event, data in sdk.execute(run):
        if event == "updates":
            yield "update", data
        elif event == "error":
            yield "error", data
            return
    ctx = engine.context(org_id, graph=graph, thread_id=run.thread_id)
    yield "outcome", (await engine.outcome(ctx)).json()
