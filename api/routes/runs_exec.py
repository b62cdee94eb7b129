"""Executing a run: the graph's ``astream`` translated into the SDK's stream events.

Used inline by the streaming and waiting routes and by the ``graph_run`` background job,
which writes the same events to the event log under ``run:{run_id}`` for ``join``/``stream``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from langgraph.types import Command

from api.errors import ApiError
from api.routes.runs_common import config_for, graph, graph_name, runs, threads, to_json
from api.routes.runs_recovery import take
from graphs.runner import BadGraphInput, validate_input
from persistence.models.runs import LgRun
from persistence.repository import TenantRepository
from persistence.run_locks import RunLock, RunLocks

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


class LeaseLost(Exception):
    """A sweeper gave this background run to another attempt: this one must stop, silently."""


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
    lease: str | None = None,
) -> AsyncIterator[tuple[str, Any]]:
    """Run ``run`` and yield ``(event, data)`` pairs: metadata, the chunks, then end.

    ``attempt`` > 1 is a background run picked up again after its worker stopped mid-run:
    if the stopped attempt checkpointed the input, it continues from the thread's last
    checkpoint instead of sending the input twice; its event log already holds the metadata.
    ``lease`` is a background attempt's token (``runs_recovery.take``): the run document is
    written only while it still names this lease, and a changed lease stops the attempt."""
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
    # Checkpoints record which run wrote them (LangGraph copies config metadata into theirs).
    config.setdefault("metadata", {})["chorus_run_id"] = run.run_id
    compiled = graph(runtime, name)
    if attempt > 1:
        written_by = ((await compiled.aget_state(config)).metadata or {}).get("chorus_run_id")
        if written_by == run.run_id:
            payload = None  # the input is checkpointed: carry on from the last checkpoint
    else:
        yield "metadata", {"run_id": run.run_id, "thread_id": run.thread_id}
    # The run document as this attempt may write it: not once another attempt has the lease.
    mine = {"runId": run.run_id, **({"lease": lease} if lease else {})}
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
    ended = lost = False
    await run_repo.update_many(org, mine, {"status": "running"})
    if not stateless:
        await thread_repo.update_many(
            org, {"threadId": run.thread_id}, {"status": "busy", "graphId": name}
        )
    try:
        async for mode, chunk in compiled.astream(payload, config, stream_mode=lg_modes):
            # A cancel may come from any process, so it is read from the run document.
            current = await run_repo.find_one(org, {"runId": run.run_id})
            if current is not None and lease and current.lease != lease:
                raise LeaseLost
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
    except LeaseLost:
        log.warning("run %s: lease %s lost to another attempt; stopping", run.run_id, lease)
        lost = True
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
        if not lost:  # the run and its thread are the newer attempt's now
            await _finish(runtime, run, mine, stateless, status, thread_status, error)
    if lost:
        return
    yield "end", {"run_id": run.run_id, "status": status}


async def _finish(
    runtime: Any,
    run: LgRun,
    mine: dict[str, Any],
    stateless: bool,
    status: str,
    thread_status: str,
    error: str | None,
) -> None:
    org = run.organization_id
    owned = await runs(runtime).update_many(org, mine, {"status": status, "error": error})
    if "lease" in mine and not owned:
        return  # a sweeper gave the run to another attempt: the thread is that one's now
    if stateless:
        await runtime.checkpointer.adelete_thread(run.thread_id, organization_id=str(org))
    else:
        await threads(runtime).update_many(
            org, {"threadId": run.thread_id}, {"status": thread_status}
        )


async def run_in_background(
    runtime: Any,
    org_id: str,
    user_id: str,
    run_id: str,
    thread_id: str,
    *,
    locks: RunLocks,
    worker: str,
) -> str:
    """The ``graph_run`` job: take a stored run, execute it, log its events for joiners.

    Returns the run's status, or why this job did not run it (``held`` by a live worker,
    ``lost`` to a sweeper, ``missing``)."""
    lock = RunLock(
        run_id=run_id,
        worker=worker,
        token=uuid.uuid4().hex,
        org_id=org_id,
        user_id=user_id,
        thread_id=thread_id,
    )
    run = await take(runtime, locks, lock)
    if isinstance(run, str):
        return run
    stream = f"run:{run_id}"
    try:
        if run.multitask_strategy == "enqueue":
            await wait_turn(runtime, run)
        events = execute(
            runtime, run, user_id, background=True, attempt=run.attempts, lease=lock.token
        )
        # Closed here even when this task is cancelled between two events (a shutdown), so
        # the run is handed back (pending) before the lock is released below.
        async with contextlib.aclosing(events):
            async for event, data in events:
                await runtime.event_log.append(stream, {"event": event, "data": data})
    finally:
        await locks.release(run_id, lock.token)
    await runtime.event_log.expire(stream, EVENT_TTL_SECONDS)
    done = await runs(runtime).find_one(ObjectId(org_id), {"runId": run_id})
    return done.status if done else "missing"
