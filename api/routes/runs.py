"""``/lg``: a runs API the official LangGraph SDK client can use unchanged.

``get_client(url=BASE + "/lg", api_key=KEY)``: assistants (one per graph), threads stored per
tenant with their checkpoints, and runs streamed, awaited or run in the background.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response

from api.deps import RuntimeDep, rate_limited, require
from api.errors import ApiError
from api.principal import Principal
from api.routes import runs_assistants, runs_threads
from api.routes.runs_common import (
    get_run,
    get_thread,
    graph_name,
    run_json,
    runs,
    thread_values,
    threads,
)
from api.routes.runs_exec import (
    ACTIVE,
    STREAM_MODES,
    check_payload,
    execute,
    stream_modes,
    wait_turn,
)
from api.routes.runs_sse import frame, sse_response
from persistence.models.runs import TERMINAL, LgRun, LgThread

RATE = rate_limited("runs", 600, 60)
Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]
Payload = Annotated[dict[str, Any], Body()]
STRATEGIES = ("reject", "enqueue")

runs_router = APIRouter(tags=["runs"], dependencies=[Depends(RATE)])


async def start_run(
    runtime: Any, principal: Principal, thread_id: str | None, body: dict[str, Any]
) -> LgRun:
    """Check a run request and store its Run document (pending)."""
    if not body.get("assistant_id"):
        raise ApiError(
            422,
            "assistant_id is required",
            fields=[{"field": "body.assistant_id", "message": "required"}],
        )
    name = graph_name(str(body["assistant_id"]))
    strategy = body.get("multitask_strategy") or "reject"
    if strategy not in STRATEGIES:
        raise ApiError(
            422,
            f"multitask_strategy must be one of {STRATEGIES}",
            fields=[{"field": "body.multitask_strategy", "message": "unsupported"}],
        )
    modes = stream_modes(body.get("stream_mode"))
    for field in ("config", "metadata", "command"):
        if body.get(field) is not None and not isinstance(body[field], dict):
            raise ApiError(
                422,
                f"invalid input: body.{field}",
                fields=[{"field": f"body.{field}", "message": "must be an object"}],
            )
    configurable = (body.get("config") or {}).get("configurable") or {}
    model = configurable.get("model") if isinstance(configurable, dict) else None
    org = principal.org_id
    busy = 0
    if thread_id is None:  # stateless: a throwaway thread nobody else can reach
        thread_id = str(uuid.uuid4())
    else:
        existing = await threads(runtime).find_one(org, {"threadId": thread_id})
        if existing is None:
            if body.get("if_not_exists") != "create":
                raise ApiError(404, f"no thread {thread_id!r}")
            await threads(runtime).insert(LgThread(organization_id=org, thread_id=thread_id))
        busy = await runs(runtime).count(org, {"threadId": thread_id, "status": {"$in": ACTIVE}})
        if busy and strategy == "reject":
            raise ApiError(
                409,
                f"thread {thread_id!r} already has a run in progress; "
                "use multitask_strategy 'enqueue' to queue this one",
                code="thread_busy",
            )
    if not busy:
        # A queued run is checked when its turn comes (the state may change until then).
        await check_payload(runtime, org, principal.user_id, name, thread_id, body)
    run = LgRun(
        organization_id=org,
        run_id=str(uuid.uuid4()),
        thread_id=thread_id,
        assistant_id=name,
        metadata=dict(body.get("metadata") or {}),
        multitask_strategy=strategy,
        kwargs={
            "input": body.get("input"),
            "command": body.get("command"),
            "stream_mode": modes,
            # Of the client's config only the model is honoured; see runs_common.config_for.
            "config": {"configurable": {"model": model if isinstance(model, str) else None}},
        },
    )
    await runs(runtime).insert(run)
    return run


async def _frames(runtime: Any, run: LgRun, user_id: Any, stateless: bool) -> AsyncIterator[bytes]:
    if run.multitask_strategy == "enqueue":
        await wait_turn(runtime, run)
    async for event, data in execute(runtime, run, user_id, stateless=stateless):
        yield frame(event, data)


def _location(run: LgRun) -> dict[str, str]:
    return {"Content-Location": f"/lg/threads/{run.thread_id}/runs/{run.run_id}"}


@runs_router.post("/threads/{thread_id}/runs/stream")
async def stream_run(
    thread_id: str, body: Payload, runtime: RuntimeDep, principal: Writer
) -> Response:
    """SDK ``runs.stream``: run now and stream its events as SSE."""
    run = await start_run(runtime, principal, thread_id, body)
    return sse_response(_frames(runtime, run, principal.user_id, False), _location(run))


@runs_router.post("/runs/stream")
async def stream_stateless(body: Payload, runtime: RuntimeDep, principal: Writer) -> Response:
    """SDK ``runs.stream(None, ...)``: a run on a throwaway thread."""
    run = await start_run(runtime, principal, None, body)
    return sse_response(_frames(runtime, run, principal.user_id, True))


async def _wait(runtime: Any, run: LgRun, user_id: Any, stateless: bool) -> Any:
    if run.multitask_strategy == "enqueue":
        await wait_turn(runtime, run)
    values: Any = None
    async for event, data in execute(runtime, run, user_id, stateless=stateless):
        if event == "error":
            return {"__error__": data}
        if event == "values":
            values = data
    if not stateless:
        # The checkpoint, not the last chunk: it is what a later get_state answers.
        t = await threads(runtime).find_one(run.organization_id, {"threadId": run.thread_id})
        if t is not None:
            values = (await thread_values(runtime, run.organization_id, user_id, t))["values"]
    return values


@runs_router.post("/threads/{thread_id}/runs/wait")
async def wait_run(
    thread_id: str, body: Payload, runtime: RuntimeDep, principal: Writer, response: Response
) -> Any:
    """SDK ``runs.wait``: run to the end (or an interrupt) and return the final values."""
    body.setdefault("stream_mode", ["values"])
    run = await start_run(runtime, principal, thread_id, body)
    response.headers.update(_location(run))
    return await _wait(runtime, run, principal.user_id, False)


@runs_router.post("/runs/wait")
async def wait_stateless(body: Payload, runtime: RuntimeDep, principal: Writer) -> Any:
    body.setdefault("stream_mode", ["values"])
    run = await start_run(runtime, principal, None, body)
    return await _wait(runtime, run, principal.user_id, True)


@runs_router.post("/threads/{thread_id}/runs")
async def create_run(
    thread_id: str, body: Payload, runtime: RuntimeDep, principal: Writer, response: Response
) -> dict[str, Any]:
    """SDK ``runs.create``: queue the run as a background job; answer the pending run."""
    if body.get("stream_mode") is None:
        body["stream_mode"] = ["values", "updates"]
    run = await start_run(runtime, principal, thread_id, body)
    await runtime.jobs.enqueue(
        "graph_run",
        job_id=f"graph_run:{run.run_id}",
        org_id=str(principal.org_id),
        user_id=str(principal.user_id),
        run_id=run.run_id,
        thread_id=thread_id,
    )
    response.headers.update(_location(run))
    return run_json(run)


@runs_router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: str,
    runtime: RuntimeDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """SDK ``runs.list``: newest first."""
    await get_thread(runtime, principal.org_id, thread_id)
    query: dict[str, Any] = {"threadId": thread_id}
    if status:
        query["status"] = status
    found = await runs(runtime).find(
        principal.org_id, query, sort=[("createdAt", -1)], skip=offset, limit=limit
    )
    return [run_json(r) for r in found]


@runs_router.get("/threads/{thread_id}/runs/{run_id}")
async def get_run_route(
    thread_id: str, run_id: str, runtime: RuntimeDep, principal: Reader
) -> dict[str, Any]:
    return run_json(await get_run(runtime, principal.org_id, thread_id, run_id))


async def _until_done(runtime: Any, principal: Principal, thread_id: str, run_id: str) -> LgRun:
    while True:
        run = await get_run(runtime, principal.org_id, thread_id, run_id)
        if run.status in TERMINAL:
            return run
        await asyncio.sleep(0.1)


@runs_router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join_run(thread_id: str, run_id: str, runtime: RuntimeDep, principal: Reader) -> Any:
    """SDK ``runs.join``: wait for the run, then answer the thread's values."""
    run = await _until_done(runtime, principal, thread_id, run_id)
    if run.status == "error":
        return {"__error__": {"error": "RunError", "message": run.error or "the run failed"}}
    t = await get_thread(runtime, principal.org_id, thread_id)
    return (await thread_values(runtime, principal.org_id, principal.user_id, t))["values"]


@runs_router.get("/threads/{thread_id}/runs/{run_id}/stream")
async def join_stream(
    thread_id: str,
    run_id: str,
    runtime: RuntimeDep,
    principal: Reader,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    stream_mode: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """SDK ``runs.join_stream``: replay the run's logged events, then follow until ``end``.

    ``stream_mode`` narrows the events to those modes (of the ones the run was created with).
    """
    await get_run(runtime, principal.org_id, thread_id, run_id)
    # The SDK sends an unset mode as an empty value.
    modes = [m for m in stream_mode or [] if m]
    wanted = {STREAM_MODES[m][1] for m in stream_modes(modes)} if modes else None
    always = {"metadata", "error", "end"}

    async def frames() -> AsyncIterator[bytes]:
        after = last_event_id
        while True:
            batch = await runtime.event_log.read(f"run:{run_id}", after=after, block_ms=1000)
            for event_id, item in batch:
                after = event_id
                if wanted is None or item["event"] in wanted | always:
                    yield frame(item["event"], item.get("data"), event_id)
                if item["event"] == "end":
                    return
            if not batch:
                run = await get_run(runtime, principal.org_id, thread_id, run_id)
                # Finished without a logged end (expired log, or a crashed worker).
                if run.status in TERMINAL and not await runtime.event_log.read(
                    f"run:{run_id}", after=after
                ):
                    yield frame("end", {"run_id": run_id, "status": run.status})
                    return

    return sse_response(frames())


@runs_router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(
    thread_id: str,
    run_id: str,
    runtime: RuntimeDep,
    principal: Writer,
    wait: bool = False,
) -> Response:
    """SDK ``runs.cancel``: the run stops at its next step (pending runs at once)."""
    run = await get_run(runtime, principal.org_id, thread_id, run_id)
    if run.status in TERMINAL:
        raise ApiError(409, f"run {run_id!r} already finished ({run.status})")
    repo = runs(runtime)
    await repo.update_many(principal.org_id, {"runId": run_id}, {"cancelRequested": True})
    if run.status == "pending":
        await repo.update_many(
            principal.org_id, {"runId": run_id, "status": "pending"}, {"status": "interrupted"}
        )
    if wait:
        await _until_done(runtime, principal, thread_id, run_id)
    return Response(status_code=202)


@runs_router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(
    thread_id: str, run_id: str, runtime: RuntimeDep, principal: Writer
) -> Response:
    run = await get_run(runtime, principal.org_id, thread_id, run_id)
    await runs(runtime).delete(principal.org_id, run.id)
    return Response(status_code=204)


router = APIRouter(prefix="/lg")
router.include_router(runs_assistants.router)
router.include_router(runs_threads.router)
router.include_router(runs_router)

__all__ = ["router"]
