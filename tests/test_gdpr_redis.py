"""GDPR erasure in the production form of Redis: every key naming the tenant goes (and no
other), and jobs queued on arq for the tenant are dropped before a worker takes them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from bson import ObjectId
from redis.asyncio import Redis
from redis_support import redis_answers
from support import TEST_REDIS_URL

from persistence.keyspace import RedisKeyspace
from persistence.queue import ArqJobQueue

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    if not await redis_answers():
        pytest.skip(f"no Redis at {TEST_REDIS_URL}")
    client = Redis.from_url(TEST_REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


async def test_every_key_naming_the_tenant_is_erased_and_no_other(redis: Redis) -> None:
    org, other = str(ObjectId()), str(ObjectId())
    mine = [f"chorus:rl:read:{org}:u1:token", f"chorus:cache:analytics:{org}:overview"]
    theirs = [f"chorus:rl:read:{other}:u2:token", f"chorus:cache:analytics:{other}:overview"]
    for key in mine + theirs:
        await redis.set(key, b"1", ex=60)
    await redis.xadd(f"chorus:ev:run:{org}", {"e": "{}"})
    keyspace = RedisKeyspace(redis)
    try:
        assert await keyspace.keys_with(org) == sorted([*mine, f"chorus:ev:run:{org}"])
        assert await keyspace.erase_with(org) == 3
        assert await keyspace.keys_with(org) == []
        assert await redis.exists(*theirs) == 2
    finally:
        await redis.delete(*mine, *theirs, f"chorus:ev:run:{org}")


async def test_a_pattern_cannot_widen_what_is_erased(redis: Redis) -> None:
    keyspace = RedisKeyspace(redis)
    for fragment in ("*", "abc*def12", "a?bcdefgh", "[a-z]bcdefgh", "short"):
        with pytest.raises(ValueError, match="fragment"):
            await keyspace.erase_with(fragment)


async def test_jobs_queued_on_arq_for_the_erased_tenant_are_dropped(redis: Redis) -> None:
    org, other = str(ObjectId()), str(ObjectId())
    queue = ArqJobQueue(TEST_REDIS_URL)
    # A name no worker knows: should a test worker pop one, it runs nothing.
    ids = {o: f"gdpr-test:{uuid.uuid4().hex}" for o in (org, other)}
    try:
        for owner, job_id in ids.items():
            await queue.enqueue("gdpr_probe", job_id=job_id, org_id=owner)
        assert await queue.cancel_tenant(org) == 1
        assert not await redis.exists(f"arq:job:{ids[org]}")
        assert await redis.zscore("arq:queue", ids[org]) is None
        assert await redis.exists(f"arq:job:{ids[other]}")
    finally:
        await queue.cancel_tenant(other)
        await queue.close()
