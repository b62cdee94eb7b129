"""``/lg``: a runs API the official LangGraph SDK client can use unchanged.

``get_client(url=BASE + "/lg", api_key=KEY)``: assistants (one per graph), threads stored per
tenant with their checkpoints, and runs streamed, awaited or run in the background. Each
route translates HTTP to a ``runs`` call and back; the run engine does the rest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from bson import ObjectId
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sse_starlette import ServerSentEvent

from api.deps import EngineDep, Reader, Writer, rate_limited
from api.responses import errors
from api.routes import runs_assistants, runs_store, runs_threads
from api.routes.lg_schemas import RunCreate, RunOut, ThreadState
from api.routes.runs_sse import SSE_EVENT, sse_event, sse_response
from persistence.models.runs import TERMINAL, LgRun, RunStatus
from runs import assistants
from runs.background import event_stream
from runs.engine import RunEngine
from runs.sdk import (
    STREAM_MODES,
    RunRequest,
    SdkRuns,
    StreamMode,
    get_run,
    get_thread,
    runs,
    stream_modes,
)
from runs.threads import Threads

RATE = rate_limited("runs", 600, 60)
runs_router = APIRouter(tags=["runs"], dependencies=[Depends(RATE)])
JOIN_BLOCK_MS = 5000


def sdk_runs(engine: EngineDep) -> SdkRuns:
    return SdkRuns(engine)


Sdk = Annotated[SdkRuns, Depends(sdk_runs)]


async def run_request(
    sdk: SdkRuns, org_id: ObjectId, body: RunCreate, default_modes: list[str] | None = None
) -> RunRequest:
    """The run a request asks for; an organization's assistant variant gives its graph and
    its model (a model named in the request wins)."""
    modes = body.stream_mode if body.stream_mode is not None else default_modes
    assistant = await assistants.resolve(sdk.db, org_id, body.assistant_id)
    requested_model = body.config.configurable.model if body.config else None
    return RunRequest(
        graph=assistant.graph,
        system_prompt=assistant.system_prompt,
        input=body.input,
        command=body.command.model_dump(exclude_none=True) if body.command else None,
        stream_mode=stream_modes(modes),
        metadata=body.metadata or {},
        model=requested_model or assistant.model,
        multitask_strategy=body.multitask_strategy or "reject",
        if_not_exists=body.if_not_exists or "reject",
    )


async def _events(sdk: SdkRuns, run: LgRun, stateless: bool) -> AsyncIterator[ServerSentEvent]:
    if run.multitask_strategy == "enqueue":
        await sdk.wait_turn(run)
    async for event, data in sdk.execute(run, stateless=stateless):
        yield sse_event(event, data)


def _location(run: LgRun) -> dict[str, str]:
    return {"Content-Location": f"/lg/threads/{run.thread_id}/runs/{run.run_id}"}


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {"schema": SSE_EVENT}},
        "description": "the run's events, as SSE",
    }
}


@runs_router.post(
    "/threads/{thread_id}/runs/stream", response_class=Response, responses=STREAM_RESPONSES
)
async def stream_run(thread_id: str, body: RunCreate, sdk: Sdk, principal: Writer) -> Response:
    """SDK ``runs.stream``: run now and stream its events as SSE."""
    run = await sdk.start(
        principal.org_id,
        principal.user_id,
        thread_id,
        await run_request(sdk, principal.org_id, body),
    )
    return sse_response(_events(sdk, run, False), _location(run))


@runs_router.post("/runs/stream", response_class=Response, responses=STREAM_RESPONSES)
async def stream_stateless(body: RunCreate, sdk: Sdk, principal: Writer) -> Response:
    """SDK ``runs.stream(None, ...)``: a run on a throwaway thread."""
    run = await sdk.start(
        principal.org_id, principal.user_id, None, await run_request(sdk, principal.org_id, body)
    )
    return sse_response(_events(sdk, run, True))


async def _wait(sdk: SdkRuns, run: LgRun, stateless: bool) -> Any:
    if run.multitask_strategy == "enqueue":
        await sdk.wait_turn(run)
    values: Any = None
    async for event, data in sdk.execute(run, stateless=stateless):
        if event == "error":
            return {"__error__": data}
        if event == "values":
            values = data
    if not stateless:
        # The checkpoint, not the last chunk: it is what a later get_state answers.
        state = await _thread_state(sdk.engine, run)
        values = state.values if state else values
    return values


async def _thread_state(engine: RunEngine, run: LgRun) -> ThreadState | None:
    thread = await get_thread(engine.services.db, run.organization_id, run.thread_id)
    snap = await Threads(engine).state(run.organization_id, run.user_id, thread)
    return ThreadState.of(snap) if snap else None


@runs_router.post("/threads/{thread_id}/runs/wait")
async def wait_run(
    thread_id: str, body: RunCreate, sdk: Sdk, principal: Writer, response: Response
) -> Any:
    """SDK ``runs.wait``: run to the end (or an interrupt) and return the final values."""
    request = await run_request(sdk, principal.org_id, body, ["values"])
    run = await sdk.start(principal.org_id, principal.user_id, thread_id, request)
    response.headers.update(_location(run))
    return await _wait(sdk, run, False)


@runs_router.post("/runs/wait", responses=errors(404))
async def wait_stateless(body: RunCreate, sdk: Sdk, principal: Writer) -> Any:
    run = await sdk.start(
        principal.org_id,
        principal.user_id,
        None,
        await run_request(sdk, principal.org_id, body, ["values"]),
    )
    return await _wait(sdk, run, True)


@runs_router.post("/threads/{thread_id}/runs", response_model=RunOut)
async def create_run(
    thread_id: str, body: RunCreate, sdk: Sdk, principal: Writer, response: Response
) -> RunOut:
    """SDK ``runs.create``: queue the run as a background job; answer the pending run."""
    request = await run_request(sdk, principal.org_id, body, ["values", "updates"])
    run = await sdk.start_in_background(principal.org_id, principal.user_id, thread_id, request)
    response.headers.update(_location(run))
    return RunOut.of(run)


@runs_router.get("/threads/{thread_id}/runs", response_model=list[RunOut])
async def list_runs(
    thread_id: str,
    engine: EngineDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    status: RunStatus | None = None,
) -> list[RunOut]:
    """SDK ``runs.list``: newest first."""
    db = engine.services.db
    await get_thread(db, principal.org_id, thread_id)
    query: dict[str, Any] = {"threadId": thread_id}
    if status:
        query["status"] = status
    found = await runs(db).find(
        principal.org_id, query, sort=[("createdAt", -1)], skip=offset, limit=limit
    )
    return [RunOut.of(r) for r in found]


@runs_router.get("/threads/{thread_id}/runs/{run_id}", response_model=RunOut)
async def get_run_route(
    thread_id: str, run_id: str, engine: EngineDep, principal: Reader
) -> RunOut:
    return RunOut.of(await get_run(engine.services.db, principal.org_id, thread_id, run_id))


@runs_router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join_run(thread_id: str, run_id: str, sdk: Sdk, principal: Reader) -> Any:
    """SDK ``runs.join``: wait for the run, then answer the thread's values."""
    run = await sdk.wait_done(principal.org_id, thread_id, run_id)
    if run.status == "error":
        return {"__error__": {"error": "RunError", "message": run.error or "the run failed"}}
    state = await _thread_state(sdk.engine, run)
    return state.values if state else {}


@runs_router.get(
    "/threads/{thread_id}/runs/{run_id}/stream",
    response_class=Response,
    responses=STREAM_RESPONSES,
)
async def join_stream(
    thread_id: str,
    run_id: str,
    request: Request,
    engine: EngineDep,
    principal: Reader,
    # An id this stream sent ("<ms>-<seq>"); anything else is a 422 before the stream starts
    # (it once broke the stream off mid-response).
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=64, pattern=r"^\d+-\d+$")
    ] = None,
    # The SDK sends an unset mode as an empty value.
    stream_mode: Annotated[list[StreamMode | Literal[""]] | None, Query()] = None,
) -> Response:
    """SDK ``runs.join_stream``: replay the run's logged events, then follow until ``end``.

    ``stream_mode`` narrows the events to those modes (of the ones the run was created with).
    """
    db = engine.services.db
    await get_run(db, principal.org_id, thread_id, run_id)
    modes = [m for m in stream_mode or [] if m]
    wanted = {STREAM_MODES[m][1] for m in stream_modes(modes)} if modes else None
    always = {"metadata", "error", "end"}
    log = engine.services.event_log
    stream = event_stream(run_id)

    async def events() -> AsyncIterator[ServerSentEvent]:
        after = last_event_id
        while True:
            batch = await log.read(stream, after=after, block_ms=JOIN_BLOCK_MS)
            for event_id, item in batch:
                after = event_id
                if wanted is None or item["event"] in wanted | always:
                    yield sse_event(item["event"], item.get("data"), event_id)
                if item["event"] == "end":
                    return
            if not batch:
                run = await get_run(db, principal.org_id, thread_id, run_id)
                # Finished without a logged end (an expired log, or a crashed worker).
                if run.status in TERMINAL and not await log.read(stream, after=after):
                    yield sse_event("end", {"run_id": run_id, "status": run.status})
                    return

    return sse_response(events())


@runs_router.post("/threads/{thread_id}/runs/{run_id}/cancel", status_code=202)
async def cancel_run(
    thread_id: str, run_id: str, sdk: Sdk, principal: Writer, wait: bool = False
) -> Response:
    """SDK ``runs.cancel``: the run stops where it is (pending runs at once)."""
    await sdk.cancel(principal.org_id, thread_id, run_id)
    if wait:
        await sdk.wait_done(principal.org_id, thread_id, run_id)
    return Response(status_code=202)


@runs_router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(thread_id: str, run_id: str, engine: EngineDep, principal: Writer) -> Response:
    db = engine.services.db
    run = await get_run(db, principal.org_id, thread_id, run_id)
    await runs(db).delete(principal.org_id, run.id)
    return Response(status_code=204)


router = APIRouter(prefix="/lg")
router.include_router(runs_assistants.router)
router.include_router(runs_threads.router)
router.include_router(runs_store.router)
router.include_router(runs_router)

__all__ = ["router"]
