"""Runs as the LangGraph SDK sees them: stored run documents, stream events, queues, cancels.

A run request is checked before anything is stored (the graph exists, the thread exists or
may be created, the thread is free unless the request queues behind, the input fits or the
resume has an interrupt to answer); then a ``pending`` run document is stored and executed
inline (streamed or awaited) or by a background worker. Execution translates the engine's
stream into the SDK's events (``metadata``, the chunks per stream mode, ``error``, ``end``).
A cancel and the end of a run are signals (``runs.signals``), not polled state.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from bson import ObjectId
from langgraph.types import Command

from persistence.errors import ChorusError, InvalidInput, NotFound
from persistence.models.runs import TERMINAL, LgRun, LgThread
from persistence.repository import TenantRepository
from runs.engine import RunEngine, check_graph
from runs.errors import InvalidRunInput, ThreadBusy
from runs.output import to_json
from runs.signals import RunSignals, Stopped, run_channel, thread_channel, until_signalled
from services.billing import limits

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
StreamMode = Literal["values", "updates", "messages-tuple", "messages", "custom", "debug"]
Strategy = Literal["reject", "enqueue"]
ACTIVE = ("pending", "running")
Event = tuple[str, Any]


@dataclass(frozen=True)
class RunRequest:
    """A checked run request, whatever route or cron it came from."""

    graph: str
    input: Any = None
    command: dict[str, Any] | None = None
    stream_mode: list[str] = field(default_factory=lambda: ["values"])
    metadata: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    system_prompt: str | None = None  # an assistant variant's instructions
    multitask_strategy: Strategy = "reject"
    if_not_exists: Literal["create", "reject"] = "reject"


def stream_modes(requested: str | list[str] | None) -> list[str]:
    """The SDK modes asked for, checked; ``values`` when none."""
    if requested is None:
        return ["values"]
    modes = [requested] if isinstance(requested, str) else list(requested)
    unknown = [m for m in modes if m not in STREAM_MODES]
    if unknown:
        raise InvalidInput.field(
            "body.stream_mode", f"unsupported {unknown}; use: {', '.join(STREAM_MODES)}"
        )
    return list(dict.fromkeys(modes)) or ["values"]


def threads(db: Any) -> TenantRepository[LgThread]:
    return TenantRepository(db, LgThread)


def runs(db: Any) -> TenantRepository[LgRun]:
    return TenantRepository(db, LgRun)


async def get_thread(db: Any, org_id: ObjectId, thread_id: str) -> LgThread:
    """The tenant's thread; another tenant's (or no) thread is the same NotFound."""
    found = await threads(db).find_one(org_id, {"threadId": thread_id})
    if found is None:
        raise NotFound(f"no thread {thread_id!r}")
    return found


async def get_run(db: Any, org_id: ObjectId, thread_id: str, run_id: str) -> LgRun:
    found = await runs(db).find_one(org_id, {"threadId": thread_id, "runId": run_id})
    if found is None:
        raise NotFound(f"no run {run_id!r} on thread {thread_id!r}")
    return found


class SdkRuns:
    """The SDK's run operations on one engine."""

    def __init__(self, engine: RunEngine) -> None:
        self.engine = engine
        self.services = engine.services
        self.db = engine.services.db
        self.signals = RunSignals(engine.services.pubsub)

    # --- starting -------------------------------------------------------------------------

    async def check(
        self, org_id: ObjectId, user_id: str, thread_id: str, request: RunRequest
    ) -> None:
        """Refuse a run that cannot start: a resume with nothing to resume, an input that
        does not fit, a command other than resume."""
        command = request.command or {}
        ctx = self.engine.context(org_id, graph=request.graph, thread_id=thread_id)
        if command and "resume" in command:
            await self.engine.check_resume(ctx)
        elif command:
            raise InvalidRunInput("only command.resume is supported", field="body.command")
        elif request.input is None:
            raise InvalidRunInput("a run needs an input (or command.resume to answer one)")
        else:
            self.engine.check_input(request.graph, request.input)
            # Every graph's agents spend AI credits: refuse at once, rather than from the
            # worker, a run the plan or a lapsed subscription would stop at its first call.
            await limits.check(self.db, org_id, "ai_credits", adding=1)

    async def start(
        self, org_id: ObjectId, user_id: ObjectId | str, thread_id: str | None, request: RunRequest
    ) -> LgRun:
        """Check a run request and store its run document (pending)."""
        check_graph(request.graph)
        busy = 0
        if thread_id is None:  # stateless: a throwaway thread nobody else can reach
            thread_id = str(uuid.uuid4())
        else:
            existing = await threads(self.db).find_one(org_id, {"threadId": thread_id})
            if existing is None:
                if request.if_not_exists != "create":
                    raise NotFound(f"no thread {thread_id!r}")
                await threads(self.db).insert(LgThread(organization_id=org_id, thread_id=thread_id))
            busy = await runs(self.db).count(
                org_id, {"threadId": thread_id, "status": {"$in": list(ACTIVE)}}
            )
            if busy and request.multitask_strategy == "reject":
                raise ThreadBusy(
                    f"thread {thread_id!r} already has a run in progress; "
                    "use multitask_strategy 'enqueue' to queue this one"
                )
        if not busy:
            # A queued run is checked when its turn comes (the state may change until then).
            await self.check(org_id, str(user_id), thread_id, request)
        run = LgRun(
            organization_id=org_id,
            run_id=str(uuid.uuid4()),
            thread_id=thread_id,
            assistant_id=request.graph,
            metadata=dict(request.metadata),
            multitask_strategy=request.multitask_strategy,
            user_id=str(user_id),
            kwargs={
                "input": request.input,
                "command": request.command,
                "stream_mode": stream_modes(request.stream_mode),
                "config": {
                    "configurable": {
                        "model": request.model,
                        "system_prompt": request.system_prompt,
                    }
                },
            },
        )
        await runs(self.db).insert(run)
        return run

    async def start_in_background(
        self, org_id: ObjectId, user_id: ObjectId | str, thread_id: str, request: RunRequest
    ) -> LgRun:
        """Store the run and queue it for a worker (the ``graph_run`` job)."""
        run = await self.start(org_id, user_id, thread_id, request)
        await self.services.jobs.enqueue(
            "graph_run",
            job_id=f"graph_run:{run.run_id}",
            org_id=str(org_id),
            user_id=str(user_id),
            run_id=run.run_id,
            thread_id=thread_id,
        )
        return run

    # --- waiting --------------------------------------------------------------------------

    async def wait_turn(self, run: LgRun) -> None:
        """For ``enqueue``: wait until the runs queued before this one on the thread are done
        (they may run in other processes: each end is signalled on the thread's channel)."""
        ahead = {
            "threadId": run.thread_id,
            "status": {"$in": list(ACTIVE)},
            # Created before this one; runs created in the same millisecond go by run id.
            "$or": [
                {"createdAt": {"$lt": run.created_at}},
                {"createdAt": run.created_at, "runId": {"$lt": run.run_id}},
            ],
        }

        async def my_turn() -> bool:
            return not await runs(self.db).count(run.organization_id, ahead)

        await self.signals.wait_until(thread_channel(run.organization_id, run.thread_id), my_turn)

    async def wait_done(self, org_id: ObjectId, thread_id: str, run_id: str) -> LgRun:
        """The run once it has ended (whichever process runs it)."""
        latest: list[LgRun] = []

        async def ended() -> bool:
            latest[:] = [await get_run(self.db, org_id, thread_id, run_id)]
            return latest[0].status in TERMINAL

        await self.signals.wait_until(run_channel(run_id), ended)
        return latest[0]

    # --- steering -------------------------------------------------------------------------

    async def cancel(self, org_id: ObjectId, thread_id: str, run_id: str) -> LgRun:
        """Ask the run to stop: a pending run stops at once, a running one where it is."""
        from runs.errors import RunFinished

        run = await get_run(self.db, org_id, thread_id, run_id)
        if run.status in TERMINAL:
            raise RunFinished(f"run {run_id!r} already finished ({run.status})")
        repo = runs(self.db)
        await repo.update_many(org_id, {"runId": run_id}, {"cancelRequested": True})
        if await repo.update_many(
            org_id, {"runId": run_id, "status": "pending"}, {"status": "interrupted"}
        ):
            await self.signals.ended(org_id, thread_id, run_id)
        await self.signals.send(run_id, "cancel")
        return run

    # --- executing ------------------------------------------------------------------------

    async def execute(
        self,
        run: LgRun,
        *,
        stateless: bool = False,
        background: bool = False,
        attempt: int = 1,
        lease: str | None = None,
    ) -> AsyncIterator[Event]:
        """Run ``run`` and yield ``(event, data)`` pairs: metadata, the chunks, then end.

        ``attempt`` > 1 is a background run picked up again after its worker stopped
        mid-run: if the stopped attempt checkpointed the input, it continues from the last
        checkpoint instead of sending the input twice; its event log already holds the
        metadata. ``lease`` is a background attempt's token: the run document is written
        only while it still names this lease."""
        org = run.organization_id
        repo = runs(self.db)
        modes = run.kwargs.get("stream_mode") or ["values"]
        lg_modes = list(dict.fromkeys(STREAM_MODES[m][0] for m in modes))
        command = run.kwargs.get("command") or {}
        configurable = (run.kwargs.get("config") or {}).get("configurable") or {}
        ctx = self.engine.context(
            org,
            graph=run.assistant_id,
            thread_id=run.thread_id,
            user_id=run.user_id,
            model=configurable.get("model"),
            system_prompt=configurable.get("system_prompt"),
        )
        sent = run.kwargs.get("input")
        payload: Any = (
            Command(resume=command["resume"])
            if "resume" in command
            else (self.engine.check_input(run.assistant_id, sent) if sent is not None else None)
        )
        if attempt > 1:
            written_by = ((await self.engine.state(ctx)).metadata or {}).get("chorus_run_id")
            if written_by == run.run_id:
                payload = None  # the input is checkpointed: carry on from the last checkpoint
        else:
            yield "metadata", {"run_id": run.run_id, "thread_id": run.thread_id}
        mine = {"runId": run.run_id, **({"lease": lease} if lease else {})}
        async with self.signals.listen(run_channel(run.run_id)) as listener:
            # Read once after subscribing: a cancel sent before now is in the document.
            current = await repo.find_one(org, {"runId": run.run_id})
            if current is None or current.cancel_requested:
                # Cancelled while it waited for its turn: it never starts.
                yield "end", {"run_id": run.run_id, "status": "interrupted"}
                return
            if run.multitask_strategy == "enqueue":
                # Checked now, not when queued: the runs ahead may have changed the state.
                try:
                    await self.check(org, run.user_id or "", run.thread_id, _request_of(run))
                except ChorusError as exc:
                    await repo.update_many(org, mine, {"status": "error", "error": exc.message})
                    await self.signals.ended(org, run.thread_id, run.run_id)
                    yield "error", {"error": exc.code, "message": exc.message}
                    yield "end", {"run_id": run.run_id, "status": "error"}
                    return
            # "interrupted" until it ends well: a client that disconnects stops the run there.
            status, thread_status, error = "interrupted", "idle", None
            ended = lost = False
            await repo.update_many(org, mine, {"status": "running"})
            if not stateless:
                await threads(self.db).update_many(
                    org,
                    {"threadId": run.thread_id},
                    {"status": "busy", "graphId": run.assistant_id},
                )
            try:
                stream = self.engine.stream(ctx, payload, modes=lg_modes, run_id=run.run_id)
                async for mode, chunk in until_signalled(stream, listener, "cancel", "lease_lost"):
                    for sdk_mode in modes:
                        lg_mode, event = STREAM_MODES[sdk_mode]
                        if lg_mode == mode:
                            yield event, to_json(list(chunk) if mode == "messages" else chunk)
                state = await self.engine.state(ctx)
                status = "success"
                if state.interrupts:
                    status, thread_status = "interrupted", "interrupted"
                ended = True
            except Stopped as stop:
                if stop.reason == "lease_lost":
                    log.warning("run %s: lease %s lost to another attempt", run.run_id, lease)
                    lost = True
                else:
                    status, error, ended = "interrupted", "cancelled", True
            except Exception as exc:  # the client learns of it as an `error` event
                log.warning("run %s of %s failed: %r", run.run_id, run.assistant_id, exc)
                status, thread_status = "error", "error"
                error, ended = f"{type(exc).__name__}: {exc}", True
                code = exc.code if isinstance(exc, ChorusError) else type(exc).__name__
                yield "error", {"error": code, "message": str(exc)}
            finally:
                if background and not ended:
                    # The worker stopped mid-run (shutdown): the job is queued again, so the
                    # run is not over; joiners keep waiting instead of reading "interrupted".
                    status, thread_status = "pending", "busy"
                if not lost:  # the run and its thread are the newer attempt's now
                    lost = not await self._finish(
                        run, mine, stateless, status, thread_status, error, ctx
                    )
        if lost:
            return
        yield "end", {"run_id": run.run_id, "status": status}

    async def _finish(
        self,
        run: LgRun,
        mine: dict[str, Any],
        stateless: bool,
        status: str,
        thread_status: str,
        error: str | None,
        ctx: Any,
    ) -> bool:
        """Record how the run ended; False when it turned out to be another attempt's."""
        org = run.organization_id
        owned = await runs(self.db).update_many(org, mine, {"status": status, "error": error})
        if "lease" in mine and not owned:
            return False  # a sweeper gave the run to another attempt: its thread is theirs
        if stateless:
            await self.engine.delete_thread(ctx)
        else:
            await threads(self.db).update_many(
                org, {"threadId": run.thread_id}, {"status": thread_status}
            )
        if status in TERMINAL:
            await self.signals.ended(org, run.thread_id, run.run_id)
        return True


def _request_of(run: LgRun) -> RunRequest:
    return RunRequest(
        graph=run.assistant_id,
        input=run.kwargs.get("input"),
        command=run.kwargs.get("command"),
        stream_mode=run.kwargs.get("stream_mode") or ["values"],
    )
