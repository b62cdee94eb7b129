"""``chorus worker``: a real arq worker on the real Redis runs the registered jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from arq.jobs import Job
from bson import ObjectId
from support import TEST_REDIS_URL, make_settings

from chorus.runtime import Runtime
from chorus.worker import build_worker
from persistence.models.organizations import UserSession
from persistence.queue import ArqJobQueue
from persistence.repository import TenantRepository

pytestmark = pytest.mark.redis


async def _redis_answers() -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


async def test_a_job_queued_through_redis_runs_on_an_arq_worker(tmp_path: Path) -> None:
    if not await _redis_answers():
        pytest.skip(f"no Redis answers at {TEST_REDIS_URL}")
    settings = make_settings(tmp_path / "data", redis_url=TEST_REDIS_URL)
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
    try:
        await worker.async_run()
        result = await Job(job_id, worker.pool).result(timeout=10)
    finally:
        await worker.close()
    assert result == 1
    assert worker.jobs_complete >= 1

    async with await Runtime.open(settings) as runtime:
        left = await TenantRepository(runtime.db, UserSession).find(org)
        assert [s.token_hash.split("-")[0] for s in left] == ["live"]
