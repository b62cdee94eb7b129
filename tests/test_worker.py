"""``chorus worker``: a real arq worker on the real Redis runs the registered jobs."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from arq.jobs import Job
from bson import ObjectId
from redis.asyncio import Redis
from redis_support import STOP_SECONDS, redis_answers, start_worker
from support import TEST_REDIS_URL, make_settings

from chorus.runtime import Runtime
from chorus.worker import build_worker
from persistence.models.organizations import UserSession
from persistence.queue import ArqJobQueue, InProcessJobQueue
from persistence.repository import TenantRepository

pytestmark = pytest.mark.redis


async def test_a_job_queued_through_redis_runs_on_an_arq_worker(tmp_path: Path) -> None:
    if not await redis_answers():
        pytest.skip(f"no Redis answers at {TEST_REDIS_URL}")
    settings = make_settings(tmp_path / "data", redis_url=TEST_REDIS_URL)
    # A job another test's worker left in progress (stopped mid-job, its in-progress key
    # lasts an hour) would keep this burst worker from ever finding the queue empty.
    redis = Redis.from_url(TEST_REDIS_URL)
    try:
        await redis.delete("arq:queue")
    finally:
        await redis.aclose()
    org = ObjectId()
    async with await Runtime.open(settings) as runtime:
        sessions = TenantRepository(runtime.db, UserSession)
        for hours, token in ((-2, "expired"), (24, "live")):
            await sessions.insert(
                UserSession(
                    organization_id=org,
                    user_id=ObjectId(),
                    token_hash=f"{token}-{uuid.uuid4().hex}",
                    family_id="f",
                    expires_at=datetime.now(UTC) + timedelta(hours=hours),
                )
            )
        queue = runtime.jobs
        assert isinstance(queue, ArqJobQueue)
        job_id = await queue.enqueue("purge_expired_sessions", job_id=f"test-{uuid.uuid4().hex}")

    # The worker opens its own runtime on the same settings, as `chorus worker` does.
    worker = build_worker(settings, burst=True)
    # It would never find the queue empty if it queued its own crons (the sweeper's every 2 s).
    assert worker.cron_jobs == []
    try:
        await asyncio.wait_for(worker.async_run(), 60)
        result = await Job(job_id, worker.pool).result(timeout=10)
    finally:
        await worker.close()
    assert result == 1
    assert worker.jobs_complete >= 1

    async with await Runtime.open(settings) as runtime:
        left = await TenantRepository(runtime.db, UserSession).find(org)
        assert [s.token_hash.split("-")[0] for s in left] == ["live"]


async def test_a_worker_beats_while_it_runs_and_stops_beating_when_closed(tmp_path: Path) -> None:
    if not await redis_answers():
        pytest.skip(f"no Redis answers at {TEST_REDIS_URL}")
    settings = make_settings(tmp_path / "data", redis_url=TEST_REDIS_URL)
    redis = Redis.from_url(TEST_REDIS_URL)
    try:
        async with await Runtime.open(settings) as runtime:
            worker, task = await start_worker(runtime, heartbeat_ttl=5.0)
            try:
                heartbeat = f"chorus:worker:{worker.ctx['worker_id']}"
                assert 0 < await redis.pttl(heartbeat) <= 5000
                # Background runs survive deploys and run long; dead workers are swept for.
                assert worker.functions["graph_run"].max_tries == 100
                assert worker.functions["graph_run"].timeout_s == 3600
                assert "cron:recover_runs" in {c.name for c in worker.cron_jobs}
            finally:
                await asyncio.wait_for(worker.close(), STOP_SECONDS)
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, STOP_SECONDS)
            # A clean stop: the heartbeat is gone at once, not after its TTL.
            assert not await redis.exists(heartbeat)
    finally:
        await redis.aclose()


async def test_the_in_process_runner_forgets_a_finished_job_after_keep_seconds() -> None:
    """Crons queue a job every few seconds; their ids must not pile up for ever."""
    runs: list[int] = []

    async def job(ctx: dict[str, Any], n: int) -> int:
        # The runner is a worker like arq's: it has an id and holds run locks.
        assert ctx["worker_id"]
        assert ctx["run_locks"]
        runs.append(n)
        return n

    queue = InProcessJobQueue({"job": job}, {}, keep_seconds=0.2)
    try:
        await queue.enqueue("job", job_id="a", n=1)
        assert await queue.result("a") == 1
        await queue.enqueue("job", job_id="a", n=2)  # still remembered: not run again
        assert await queue.result("a") == 1
        await asyncio.sleep(0.3)
        await queue.enqueue("job", job_id="a", n=3)
        assert await queue.result("a") == 3
        assert runs == [1, 3]
    finally:
        await queue.close()
