"""Executing a run: the graph's ``astream`` translated into the SDK's stream events.

Used inline by the streaming and waiting routes and by the ``graph_run`` background job,
which writes the same events to the event log under ``run:{run_id}`` for ``join``/``stream``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from langgraph.types import Command

from api.errors import ApiError
from api.routes.runs_common import config_for, graph, graph_name, runs, threads, to_json
from graphs.runner import BadGraphInput, validate_input
from persistence.models.runs import LgRun
from persistence.repository import TenantRepository

log = logging.getLogger(__name__)

# SDK stream mode -> (LangGraph stream mode, SSE event name).
STREAM_MODES: dict[str, tuple[str, str]] = {
    "values": ("values", "values"),
    "updates": ("updates", "updates"),
    "messages-tuple": ("messages", "messages"),
    # The SDK's older "messages" mode is served as message tuples too.
    "messages": ("messages", "messages"),
    "custom": ("custom", "custom"),
    "debug": ("debug", "debug"),
}
ACTIVE = ["pending", "running"]
EVENT_TTL_SECONDS = 3600.0


class RunCancelled(Exception):
    """The run's document asks it to stop (``POST .../cancel``, from any process)."""


def stream_modes(requested: Any) -> list[str]:
    """The SDK modes asked for, checked; ``values`` when none."""
    if requested is None:
        return ["values"]
    modes = [requested] if isinstance(requested, str) else list(requested)
    unknown = [m for m in modes if m not in STREAM_MODES]
    if unknown:
        raise ApiError(
            422,
            f"unsupported stream_mode {unknown}; use: {', '.join(STREAM_MODES)}",
            fields=[{"field": "body.stream_mode", "message": "unsupported"}],
        )
    return list(dict.fromkeys(modes)) or ["values"]


async def check_payload(
    runtime: Any, org_id: ObjectId, user_id: Any, name: str, thread_id: str, body: dict[str, Any]
) -> None:
    """Refuse a run that cannot start: a resume with nothing to resume, input that won't fit."""
    command = body.get("command") or {}
    if command and "resume" in command:
        state = await graph(runtime, name).aget_state(
            config_for(runtime, org_id, user_id, name, thread_id)
        )
        if not state.interrupts:
            raise ApiError(
                409,
                f"thread {thread_id!r} has no pending interrupt to resume",
                code="no_pending_interrupt",
            )
    elif command:
        raise ApiError(
            422,
            "only command.resume is supported",
            fields=[{"field": "body.command", "message": "use {'resume': ...}"}],
        )
    elif body.get("input") is not None:
        try:
            validate_input(graph(runtime, name), body["input"])
        except BadGraphInput as exc:
            raise ApiError(
                422, str(exc), fields=[{"field": "body.input", "message": str(exc)}]
            ) from exc
        except TypeError:
            # Schema validation of messages given as {"role", "content"} fails with a
            # TypeError although the graph's reducers accept them: let the run decide.
            pass


async def wait_turn(runtime: Any, run: LgRun) -> None:
    """For ``enqueue``: wait until the runs queued before this one on the thread are done."""
    repo = runs(runtime)
    ahead = {
        "threadId": run.thread_id,
        "status": {"$in": ACTIVE},
        # Created before this one; runs created in the same millisecond go by run id.
        "$or": [
            {"createdAt": {"$lt": run.created_at}},
            {"createdAt": run.created_at, "runId": {"$lt": run.run_id}},
        ],
    }
    # Polled, not awaited on an event: the runs ahead may be in other worker processes.
    while True:
        if not await repo.count(run.organization_id, ahead):
            return
        await asyncio.sleep(0.1)


async def execute(
    runtime: Any,
    run: LgRun,
    user_id: Any,
    *,
    stateless: bool = False,
    background: bool = False,
    attempt: int = 1,
) -> AsyncIterator[tuple[str, Any]]:
    """Run ``run`` and yield ``(event, data)`` pairs: metadata, the chunks, then end.

    ``attempt`` > 1 is a background run picked up again after its worker stopped mid-run:
    it continues from the thread's last checkpoint instead of sending the input twice, and
    its event log already holds the metadata."""
    org = run.organization_id
    run_repo = runs(runtime)
    thread_repo: TenantRepository = threads(runtime)
    name = graph_name(run.assistant_id)
    modes = run.kwargs.get("stream_mode") or ["values"]
    lg_modes = list(dict.fromkeys(STREAM_MODES[m][0] for m in modes))
    command = run.kwargs.get("command") or {}
    payload: Any = (
        Command(resume=command["resume"]) if "resume" in command else (run.kwargs.get("input"))
    )
    config = config_for(runtime, org, user_id, name, run.thread_id, run.kwargs.get("config"))
    compiled = graph(runtime, name)
    if attempt > 1 and (await compiled.aget_state(config)).next:
        payload = None  # the stopped attempt's steps are checkpointed; carry on from there
    else:
        yield "metadata", {"run_id": run.run_id, "thread_id": run.thread_id}
    current = await run_repo.find_one(org, {"runId": run.run_id})
    if current is None or current.cancel_requested:
        # Cancelled while it waited for its turn: it never starts.
        yield "end", {"run_id": run.run_id, "status": "interrupted"}
        return
    if run.multitask_strategy == "enqueue":
        # Checked now, not when queued: the runs ahead may have changed the thread's state.
        try:
            await check_payload(runtime, org, user_id, name, run.thread_id, run.kwargs)
        except ApiError as exc:
            await run_repo.update_many(
                org, {"runId": run.run_id}, {"status": "error", "error": str(exc.detail)}
            )
            yield "error", {"error": exc.code, "message": str(exc.detail)}
            yield "end", {"run_id": run.run_id, "status": "error"}
            return
    # "interrupted" until it ends well: a client that disconnects stops the run there.
    status, thread_status, error = "interrupted", "idle", None
    ended = False
    await run_repo.update_many(org, {"runId": run.run_id}, {"status": "running"})
    if not stateless:
        await thread_repo.update_many(
            org, {"threadId": run.thread_id}, {"status": "busy", "graphId": name}
        )
    try:
        async for mode, chunk in compiled.astream(payload, config, stream_mode=lg_modes):
            # A cancel may come from any process, so it is read from the run document.
            current = await run_repo.find_one(org, {"runId": run.run_id})
            if current is not None and current.cancel_requested:
                raise RunCancelled
            for sdk_mode in modes:
                lg_mode, event = STREAM_MODES[sdk_mode]
                if lg_mode == mode:
                    yield event, to_json(list(chunk) if mode == "messages" else chunk)
        state = await compiled.aget_state(config)
        if state.interrupts:
            status, thread_status = "interrupted", "interrupted"
        else:
            status = "success"
        ended = True
    except RunCancelled:
        status, error, ended = "interrupted", "cancelled", True
    except Exception as exc:  # the client learns of it as an `error` event
        log.warning("run %s of %s failed: %r", run.run_id, name, exc)
        status, thread_status, error = "error", "error", f"{type(exc).__name__}: {exc}"
        ended = True
        yield "error", {"error": type(exc).__name__, "message": str(exc)}
    finally:
        if background and not ended:
            # The worker stopped mid-run (shutdown): arq queues the job again, so the run is
            # not over. Joiners keep waiting instead of reading a false "interrupted".
            status, thread_status = "pending", "busy"
        await run_repo.update_many(org, {"runId": run.run_id}, {"status": status, "error": error})
        if stateless:
            await runtime.checkpointer.adelete_thread(run.thread_id, organization_id=str(org))
        else:
            await thread_repo.update_many(
                org, {"threadId": run.thread_id}, {"status": thread_status}
            )
    yield "end", {"run_id": run.run_id, "status": status}


async def run_in_background(
    runtime: Any, org_id: str, user_id: str, run_id: str, thread_id: str, attempt: int = 1
) -> str:
    """The ``graph_run`` job: execute a stored run, logging its events for joiners."""
    run = await runs(runtime).find_one(ObjectId(org_id), {"runId": run_id})
    if run is None:
        return "missing"
    stream = f"run:{run_id}"
    if run.multitask_strategy == "enqueue":
        await wait_turn(runtime, run)
    async for event, data in execute(runtime, run, user_id, background=True, attempt=attempt):
        await runtime.event_log.append(stream, {"event": event, "data": data})
    await runtime.event_log.expire(stream, EVENT_TTL_SECONDS)
    done = await runs(runtime).find_one(ObjectId(org_id), {"runId": run_id})
    return done.status if done else "missing"
