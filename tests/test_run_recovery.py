"""Background runs outlive their worker: a killed worker's run, and a stopped worker's run,
finish on another worker from their checkpoint; the sweeper's decisions one by one.

The end-to-end tests run uvicorn and two real arq workers on one event loop against the real
Redis (see ``redis_support``); the sweeper's decisions run on the in-process locks with a
clock the test moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import ObjectId
from langchain_core.messages import BaseMessage
from langgraph_sdk import get_client
from redis.asyncio import Redis
from redis_support import (
    STOP_SECONDS,
    api_key,
    arq_worker,
    logged,
    redis_answers,
    serving,
    start_worker,
    until,
)
from support import TEST_REDIS_URL, add_organization, make_settings, opened_runtime

from chorus.app import create_app
from chorus.runtime import Runtime
from chorus.scripted_model import ScriptedChatModel
from persistence.admin import OrganizationAdmin
from persistence.models.runs import LgRun, LgThread
from persistence.queue import InProcessJobQueue
from persistence.run_locks import InProcessRunLocks, RedisRunLocks, RunLock
from runs.recovery import recovery_job_id, sweep, take
from runs.sdk import SdkRuns, runs, threads
from runs.signals import RunSignals

REPLY = "Picked up where the last worker left off."
QUESTION = "Hello there, who are you?"
# Short, so a dead worker is noticed in seconds; the sweep runs every two seconds.
TTL = 2.0
PICKUP_SECONDS = 20.0


class Model:
    """The scripted model's first call blocks (the run is mid-way, its input and the router's
    step checkpointed); every later call answers at once."""

    def __init__(self) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, messages: Sequence[BaseMessage]) -> str:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            # Released only at teardown, after the attempt waiting for it was cancelled.
            self.gate.wait(120)
        return REPLY


@contextlib.asynccontextmanager
async def _stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: Model
) -> AsyncIterator[tuple[str, Runtime, Redis]]:
    if not await redis_answers():
        pytest.skip(f"no Redis answers at {TEST_REDIS_URL}")
    app = create_app(make_settings(tmp_path / "data", redis_url=TEST_REDIS_URL))
    redis = Redis.from_url(TEST_REDIS_URL)
    try:
        async with serving(app) as (base, runtime):
            monkeypatch.setattr(
                runtime.chat_models, "get", lambda *a, **k: ScriptedChatModel(responder=model)
            )
            yield base, runtime, redis
    finally:
        model.gate.set()  # never leave the model's thread blocked: the loop waits for it
        await redis.aclose()


async def _start_run(base: str, http: httpx.AsyncClient, email: str) -> tuple[Any, str, str]:
    client = get_client(url=f"{base}/lg", api_key=await api_key(http, email))
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(
        tid,
        "console",
        input={"messages": [{"role": "user", "content": QUESTION}]},
        stream_mode=["values", "updates"],
    )
    return client, tid, run["run_id"]


async def _stored(runtime: Runtime, run_id: str) -> LgRun:
    found = await runtime.db[LgRun.collection].find_one({"runId": run_id})
    assert found is not None
    return LgRun.from_mongo(found)


async def _diagnosis(runtime: Runtime, redis: Redis, run_id: str, *workers: Any) -> str:
    """What the run, its lock, the workers and arq's queue look like: why nobody took it."""
    run = await _stored(runtime, run_id)
    lock = await redis.hget("chorus:run-locks", run_id)
    beats = {
        w.ctx["worker_id"]: await redis.exists(f"chorus:worker:{w.ctx['worker_id']}")
        for w in workers
    }
    queued = await redis.zrange("arq:queue", 0, -1, withscores=True)
    return (
        f"run {run.model_dump(include={'status', 'lease', 'worker_id', 'attempts'})}; "
        f"lock {lock!r}; heartbeats {beats}; queued {queued}; "
        f"workers {[(repr(w), w.main_task.done()) for w in workers]}"
    )


async def _join(client: Any, tid: str, run_id: str) -> list[dict[str, Any]]:
    return [{"event": p.event, "data": p.data} async for p in client.runs.join_stream(tid, run_id)]


async def _assert_finished_once(client: Any, runtime: Runtime, tid: str, run_id: str) -> None:
    run = await _stored(runtime, run_id)
    assert run.status == "success"
    assert run.attempts == 2
    state = await client.threads.get_state(tid)
    messages = state["values"]["messages"]
    # The second attempt continued from the checkpoint: the input was not sent again.
    assert [m["type"] for m in messages] == ["human", "ai"]
    assert messages[0]["content"] == QUESTION
    assert messages[1]["content"] == REPLY
    assert (await client.threads.get(tid))["status"] == "idle"


def _assert_whole_stream(parts: list[dict[str, Any]], log: list[dict[str, Any]]) -> None:
    assert parts == log
    assert [p["event"] for p in parts].count("metadata") == 1
    assert parts[0]["event"] == "metadata"
    assert [p["event"] for p in parts].count("end") == 1
    assert parts[-1] == {
        "event": "end",
        "data": {"run_id": parts[0]["data"]["run_id"], "status": "success"},
    }
    finals = [p["data"] for p in parts if p["event"] == "values"]
    assert finals[-1]["messages"][-1]["content"] == REPLY


@pytest.mark.redis
@pytest.mark.timeout(90)
async def test_a_killed_workers_run_finishes_on_another_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = Model()
    async with (
        _stack(tmp_path, monkeypatch, model) as (base, runtime, redis),
        httpx.AsyncClient(base_url=base, timeout=60) as http,
    ):
        first, first_task = await start_worker(runtime, heartbeat_ttl=TTL)
        joined: asyncio.Task[Any] | None = None
        try:
            client, tid, run_id = await _start_run(base, http, "killed@x.io")
            assert await asyncio.to_thread(model.entered.wait, 30), "worker 1 never ran it"
            held = await _stored(runtime, run_id)
            assert (held.status, held.worker_id) == ("running", first.ctx["worker_id"])
            joined = asyncio.create_task(_join(client, tid, run_id))

            # The kill. A killed process runs no more code: no heartbeat, no polling, no
            # cleanup (no release of the run's lock, no status written, arq's in-progress key
            # left behind). Here: the heartbeat and the polling loop are cancelled, and the
            # job is left where it is, blocked in the model, until after the run has finished
            # elsewhere; only then is it cancelled (its writes are fenced by its lease).
            first.ctx["heartbeat"].cancel()
            first.main_task.cancel()
            # Nor does it hear the sweeper's "your lease is gone" (a live but presumed-dead
            # worker would, and stop: see test_an_attempt_whose_lease_was_taken_stops...).
            real_send = RunSignals.send

            async def deaf(self: RunSignals, run: str, signal: str) -> None:
                if signal != "lease_lost":
                    await real_send(self, run, signal)  # type: ignore[arg-type]

            monkeypatch.setattr(RunSignals, "send", deaf)
            in_progress = f"arq:in-progress:graph_run:{run_id}"
            assert await redis.exists(in_progress)

            async with arq_worker(runtime, heartbeat_ttl=TTL) as second:

                async def taken_over() -> bool:
                    return (await _stored(runtime, run_id)).worker_id == second.ctx["worker_id"]

                try:
                    await until(taken_over, PICKUP_SECONDS)
                except TimeoutError:
                    pytest.fail(await _diagnosis(runtime, redis, run_id, first, second))
                parts = await asyncio.wait_for(joined, 30)
                # arq's own recovery would have waited for its in-progress key to expire.
                assert await redis.exists(in_progress)
                await _assert_finished_once(client, runtime, tid, run_id)
                _assert_whole_stream(parts, await logged(redis, run_id))
                assert model.calls == 2
                await _bury(first, first_task)
                # The dead attempt, cancelled at last, changed nothing.
                await _assert_finished_once(client, runtime, tid, run_id)
        finally:
            await _bury(first, first_task, *([joined] if joined else []))


@pytest.mark.redis
@pytest.mark.timeout(90)
async def test_a_stopped_worker_hands_its_run_back_and_another_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = Model()
    async with (
        _stack(tmp_path, monkeypatch, model) as (base, runtime, redis),
        httpx.AsyncClient(base_url=base, timeout=60) as http,
    ):
        first, first_task = await start_worker(runtime, heartbeat_ttl=TTL)
        joined: asyncio.Task[Any] | None = None
        try:
            client, tid, run_id = await _start_run(base, http, "stopped@x.io")
            assert await asyncio.to_thread(model.entered.wait, 30), "worker 1 never ran it"
            joined = asyncio.create_task(_join(client, tid, run_id))

            # What SIGTERM does to `chorus worker`: arq cancels the running jobs and queues
            # them again; the run is handed back on the way out.
            await asyncio.wait_for(first.close(), STOP_SECONDS)
            handed_back = await _stored(runtime, run_id)
            assert handed_back.status == "pending"
            assert (await client.threads.get(tid))["status"] == "busy"
            assert run_id not in {lock.run_id for lock in await RedisRunLocks(redis).held()}
            assert not await redis.exists(f"chorus:worker:{first.ctx['worker_id']}")

            async with arq_worker(runtime, heartbeat_ttl=TTL):
                parts = await asyncio.wait_for(joined, PICKUP_SECONDS + 30)
                await _assert_finished_once(client, runtime, tid, run_id)
                _assert_whole_stream(parts, await logged(redis, run_id))
                assert model.calls == 2
        finally:
            await _bury(first, first_task, *([joined] if joined else []))


async def _bury(worker: Any, task: asyncio.Task[None], *waiting: asyncio.Task[Any]) -> None:
    """Cancel whatever is left of worker 1 (and the test's own waiters), close it, await it.
    Safe to call twice: ``close`` does nothing more once the worker's pool is closed."""
    for leftover in [*worker.tasks.values(), *waiting]:
        leftover.cancel()
    leftovers = [*worker.tasks.values(), *waiting]
    if leftovers:
        await asyncio.wait(leftovers, timeout=STOP_SECONDS)
    await asyncio.wait_for(worker.close(), STOP_SECONDS)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, STOP_SECONDS)


# --- the sweeper's decisions -------------------------------------------------------------


class RecordingQueue:
    """Stands in for the job queue: the sweeper's only effect outside the run and the lock."""

    def __init__(self) -> None:
        self.queued: dict[str, dict[str, Any]] = {}

    async def enqueue(self, name: str, /, *, job_id: str | None = None, **kwargs: Any) -> str:
        assert name == "graph_run"
        assert job_id is not None
        self.queued.setdefault(job_id, kwargs)  # like arq: an id already queued is not again
        return job_id

    async def close(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with opened_runtime(make_settings(tmp_path / "data")) as opened:
        opened.jobs = RecordingQueue()  # type: ignore[assignment]
        yield opened


async def _run(runtime: Runtime, status: str = "pending") -> LgRun:
    run = LgRun(
        organization_id=ObjectId(),
        run_id=str(uuid.uuid4()),
        thread_id=str(uuid.uuid4()),
        assistant_id="console",
        status=status,  # type: ignore[arg-type]
    )
    await runs(runtime.db).insert(run)
    return run


def _lock(run: LgRun, worker: str) -> RunLock:
    return RunLock(
        run_id=run.run_id,
        worker=worker,
        token=uuid.uuid4().hex,
        org_id=str(run.organization_id),
        user_id=str(ObjectId()),
        thread_id=run.thread_id,
    )


async def _taken(runtime: Runtime, locks: InProcessRunLocks, run: LgRun, worker: str) -> RunLock:
    """``run`` taken by ``worker`` and running, as ``run_in_background`` leaves it."""
    await locks.beat(worker, TTL)
    lock = _lock(run, worker)
    taken = await take(runtime, locks, lock)
    assert isinstance(taken, LgRun)
    assert taken.lease == lock.token
    await runs(runtime.db).update_many(
        run.organization_id, {"runId": run.run_id}, {"status": "running"}
    )
    return lock


async def test_a_run_whose_worker_stopped_beating_is_handed_back_and_queued_once(
    runtime: Runtime,
) -> None:
    clock = Clock()
    locks = InProcessRunLocks(clock=clock)
    run = await _run(runtime)
    lock = await _taken(runtime, locks, run, "w1")

    clock.now += TTL + 0.1  # w1 beat last TTL ago: dead
    assert await sweep(runtime, locks) == [run.run_id]

    stored = await _stored(runtime, run.run_id)
    assert (stored.status, stored.lease, stored.worker_id) == ("pending", None, None)
    queue = runtime.jobs
    assert isinstance(queue, RecordingQueue)
    assert queue.queued == {
        recovery_job_id(lock): {
            "org_id": lock.org_id,
            "user_id": lock.user_id,
            "run_id": run.run_id,
            "thread_id": run.thread_id,
        }
    }
    assert await locks.held() == []
    # A second sweeper (or the next tick) finds nothing more to do.
    assert await sweep(runtime, locks) == []
    assert len(queue.queued) == 1


async def test_a_run_whose_worker_still_beats_is_left_alone(runtime: Runtime) -> None:
    clock = Clock()
    locks = InProcessRunLocks(clock=clock)
    run = await _run(runtime)
    lock = await _taken(runtime, locks, run, "w1")

    clock.now += TTL - 0.1
    assert await sweep(runtime, locks) == []
    await locks.beat("w1", TTL)  # beating on: alive however long the run takes
    clock.now += TTL - 0.1
    assert await sweep(runtime, locks) == []

    stored = await _stored(runtime, run.run_id)
    assert (stored.status, stored.lease) == ("running", lock.token)
    assert runtime.jobs.queued == {}  # type: ignore[attr-defined]
    assert await locks.held() == [lock]


@pytest.mark.parametrize("status", ["success", "error", "interrupted"])
async def test_a_finished_run_is_not_queued_again_and_its_lock_is_forgotten(
    runtime: Runtime, status: str
) -> None:
    clock = Clock()
    locks = InProcessRunLocks(clock=clock)
    run = await _run(runtime)
    await _taken(runtime, locks, run, "w1")
    # Finished, then its worker died before releasing the lock.
    await runs(runtime.db).update_many(
        run.organization_id, {"runId": run.run_id}, {"status": status}
    )

    clock.now += TTL + 0.1
    assert await sweep(runtime, locks) == []
    assert (await _stored(runtime, run.run_id)).status == status
    assert runtime.jobs.queued == {}  # type: ignore[attr-defined]
    assert await locks.held() == []


async def test_a_deleted_runs_lock_is_forgotten(runtime: Runtime) -> None:
    clock = Clock()
    locks = InProcessRunLocks(clock=clock)
    run = await _run(runtime)
    await _taken(runtime, locks, run, "w1")
    await runs(runtime.db).delete(run.organization_id, run.id)

    clock.now += TTL + 0.1
    assert await sweep(runtime, locks) == []
    assert await locks.held() == []


async def test_taking_a_run_waits_for_a_live_holder_and_takes_over_from_a_dead_one(
    runtime: Runtime,
) -> None:
    clock = Clock()
    locks = InProcessRunLocks(clock=clock)
    run = await _run(runtime)
    first = await _taken(runtime, locks, run, "w1")

    await locks.beat("w2", 100 * TTL)
    assert await take(runtime, locks, _lock(run, "w2")) == "held"

    clock.now += TTL + 0.1  # w1 died: the run is w2's for the taking, and counts a 2nd try
    second = _lock(run, "w2")
    taken = await take(runtime, locks, second)
    assert isinstance(taken, LgRun)
    assert (taken.attempts, taken.lease, taken.worker_id) == (2, second.token, "w2")
    stored = await _stored(runtime, run.run_id)
    assert (stored.attempts, stored.lease, stored.user_id) == (2, second.token, second.user_id)
    # The dead attempt's lock is gone; releasing it later does not drop the new one.
    assert not await locks.release(run.run_id, first.token)
    assert await locks.held() == [second]


async def test_a_duplicate_job_for_a_finished_run_does_not_run_it(runtime: Runtime) -> None:
    locks = InProcessRunLocks()
    run = await _run(runtime, status="success")
    await locks.beat("w1", TTL)
    assert await take(runtime, locks, _lock(run, "w1")) == "success"
    assert await locks.held() == []


async def test_a_sweeper_that_hands_the_run_back_first_wins_over_a_late_taker(
    runtime: Runtime,
) -> None:
    """The lease read before the lock is taken no longer matches: the taker backs off."""
    clock = Clock()
    locks = InProcessRunLocks(clock=clock)
    run = await _run(runtime)
    await _taken(runtime, locks, run, "w1")
    clock.now += TTL + 0.1
    late = _lock(run, "w2")
    await locks.beat("w2", 100 * TTL)

    original_find = runs(runtime.db).find_one
    calls = 0

    async def find_then_sweep(org: ObjectId, query: Any = None) -> LgRun | None:
        # The taker's second read (under the lock) sees the lease the sweeper then clears.
        nonlocal calls
        calls += 1
        found = await original_find(org, query)
        if calls == 2:
            await runs(runtime.db).update_many(
                org, {"runId": run.run_id}, {"lease": None, "status": "pending"}
            )
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            type(runs(runtime.db)), "find_one", lambda self, o, q=None: find_then_sweep(o, q)
        )
        assert await take(runtime, locks, late) == "lost"
    assert await locks.held() == []


@pytest.mark.redis
async def test_redis_locks_follow_their_holders_heartbeat() -> None:
    if not await redis_answers():
        pytest.skip(f"no Redis answers at {TEST_REDIS_URL}")
    redis = Redis.from_url(TEST_REDIS_URL)
    try:
        locks = RedisRunLocks(redis)
        w1, w2 = f"w1-{uuid.uuid4().hex}", f"w2-{uuid.uuid4().hex}"
        run = LgRun(
            organization_id=ObjectId(), run_id=str(uuid.uuid4()), thread_id="t", assistant_id="x"
        )
        first, second = _lock(run, w1), _lock(run, w2)
        await locks.beat(w1, 0.5)
        await locks.beat(w2, 30)
        assert await locks.acquire(first)
        assert not await locks.acquire(second)  # w1 is alive
        assert first in await locks.held()
        await asyncio.sleep(0.7)
        assert not await locks.alive(w1)
        assert await locks.acquire(second)  # w1's heartbeat expired: taken over
        assert not await locks.release(run.run_id, first.token)
        assert second in await locks.held()
        await locks.stop(w2)
        assert not await locks.alive(w2)
        assert await locks.release(run.run_id, second.token)
        assert run.run_id not in {lock.run_id for lock in await locks.held()}
    finally:
        await redis.aclose()


async def test_an_attempt_whose_lease_was_taken_stops_and_writes_nothing_more(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that was only presumed dead (stalled, cut off from Redis) and comes back:
    at its next step it sees the run is another attempt's and stops, without an ``end``."""
    loop = asyncio.get_running_loop()
    run = LgRun(
        organization_id=await add_organization(runtime.db),
        run_id=str(uuid.uuid4()),
        thread_id=str(uuid.uuid4()),
        assistant_id="console",
        kwargs={
            "input": {"messages": [{"role": "user", "content": QUESTION}]},
            "stream_mode": ["values"],
        },
        lease="mine",
    )
    await runs(runtime.db).insert(run)
    repo = runs(runtime.db)

    def responder(messages: Sequence[BaseMessage]) -> str:
        # Meanwhile, a sweeper gave the run to another attempt (in LangChain's thread: wait).
        taken = repo.update_many(run.organization_id, {"runId": run.run_id}, {"lease": "theirs"})
        asyncio.run_coroutine_threadsafe(taken, loop).result(30)
        told = RunSignals(runtime.pubsub).send(run.run_id, "lease_lost")  # as the sweeper tells
        asyncio.run_coroutine_threadsafe(told, loop).result(30)
        return REPLY

    monkeypatch.setattr(
        runtime.chat_models, "get", lambda *a, **k: ScriptedChatModel(responder=responder)
    )
    events = [
        event
        async for event, _ in SdkRuns(runtime.engine).execute(run, background=True, lease="mine")
    ]
    assert events[0] == "metadata"
    assert "end" not in events
    assert "error" not in events
    stored = await _stored(runtime, run.run_id)
    # "running" as the first attempt set it: the other attempt's to change, not this one's.
    assert (stored.status, stored.lease) == ("running", "theirs")


async def test_without_redis_a_run_left_by_a_stopped_server_finishes_after_the_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``chorus serve`` on the embedded profile: its in-process runner is the only worker.
    Stopped mid-run, it hands the run back; the next start's first sweep queues it again."""
    settings = make_settings(tmp_path / "data")
    model = Model()
    user_id = ObjectId()
    async with opened_runtime(settings) as setup:
        org_id = (await OrganizationAdmin(setup.db).create("Embedded Org")).id
    run = LgRun(
        organization_id=org_id,
        run_id=str(uuid.uuid4()),
        thread_id=str(uuid.uuid4()),
        assistant_id="console",
        kwargs={
            "input": {"messages": [{"role": "user", "content": QUESTION}]},
            "stream_mode": ["values"],
        },
    )
    job = {
        "org_id": str(org_id),
        "user_id": str(user_id),
        "run_id": run.run_id,
        "thread_id": run.thread_id,
    }
    try:
        async with opened_runtime(settings) as first:
            monkeypatch.setattr(
                first.chat_models, "get", lambda *a, **k: ScriptedChatModel(responder=model)
            )
            await threads(first.db).insert(
                LgThread(organization_id=org_id, thread_id=run.thread_id)
            )
            await runs(first.db).insert(run)
            await first.jobs.enqueue("graph_run", job_id=f"graph_run:{run.run_id}", **job)
            assert await asyncio.to_thread(model.entered.wait, 30), "the runner never ran it"
        # Closed mid-run, as the server's shutdown closes it: the run went back to pending.
    finally:
        model.gate.set()

    async with opened_runtime(settings) as second:
        monkeypatch.setattr(
            second.chat_models, "get", lambda *a, **k: ScriptedChatModel(responder=model)
        )
        left = await _stored(second, run.run_id)
        assert (left.status, left.attempts) == ("pending", 1)
        queue = second.jobs
        assert isinstance(queue, InProcessJobQueue)
        await queue.enqueue("recover_runs", job_id="sweep-1")
        assert await asyncio.wait_for(queue.result("sweep-1"), 30) == 1
        requeued = f"graph_run:{run.run_id}:after:{left.lease}"
        assert await asyncio.wait_for(queue.result(requeued), 60) == "success"
        # Later sweeps of this process leave it alone.
        await queue.enqueue("recover_runs", job_id="sweep-2")
        assert await asyncio.wait_for(queue.result("sweep-2"), 30) == 0

        done = await _stored(second, run.run_id)
        assert (done.status, done.attempts) == ("success", 2)
        ctx = second.engine.context(org_id, graph="console", thread_id=run.thread_id)
        state = await second.engine.state(ctx)
        messages = state.values["messages"]
        assert [m.type for m in messages] == ["human", "ai"]
        assert messages[-1].content == REPLY
        assert model.calls == 2
