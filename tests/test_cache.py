"""Cache: the in-process LRU and Redis behave the same for values, TTLs and counters."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from persistence.cache import Cache, InProcessCache, RedisCache

if TYPE_CHECKING:
    from fixtures_services import RedisTarget
    from redis.asyncio import Redis

pytest_plugins = ("fixtures_services",)


@pytest.fixture
def cache(backend: RedisTarget | None) -> Cache:
    if backend is None:
        return InProcessCache()
    return RedisCache(backend.client, prefix=backend.prefix)


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


async def test_set_get_delete(cache: Cache) -> None:
    assert await cache.get("k") is None
    await cache.set("k", b"value")
    assert await cache.get("k") == b"value"
    await cache.set("k", b"other")
    assert await cache.get("k") == b"other"
    await cache.delete("k")
    assert await cache.get("k") is None
    await cache.delete("k")  # deleting what is gone is fine


async def test_binary_values_round_trip(cache: Cache) -> None:
    data = bytes(range(256)) * 4
    await cache.set("bin", data)
    assert await cache.get("bin") == data


async def test_ttl_expiry(cache: Cache) -> None:
    await cache.set("short", b"1", ttl_seconds=0.2)
    await cache.set("long", b"2", ttl_seconds=30)
    assert await cache.get("short") == b"1"
    await asyncio.sleep(0.35)
    assert await cache.get("short") is None
    assert await cache.get("long") == b"2"


async def test_set_without_ttl_clears_an_earlier_ttl(cache: Cache) -> None:
    await cache.set("k", b"1", ttl_seconds=0.2)
    await cache.set("k", b"2")
    await asyncio.sleep(0.35)
    assert await cache.get("k") == b"2"


async def test_incr_counts_and_reads_back_as_bytes(cache: Cache) -> None:
    assert [await cache.incr("n") for _ in range(3)] == [1, 2, 3]
    assert await cache.get("n") == b"3"


async def test_incr_ttl_starts_at_the_first_increment(cache: Cache) -> None:
    assert await cache.incr("w", ttl_seconds=0.5) == 1
    await asyncio.sleep(0.3)
    # A later increment must not push the expiry out (fixed window).
    assert await cache.incr("w", ttl_seconds=0.5) == 2
    await asyncio.sleep(0.35)
    assert await cache.get("w") is None
    assert await cache.incr("w", ttl_seconds=0.5) == 1


async def test_concurrent_incr_loses_nothing(cache: Cache) -> None:
    values = await asyncio.gather(*(cache.incr("c", ttl_seconds=10) for _ in range(50)))
    assert sorted(values) == list(range(1, 51))


async def test_incr_of_a_non_integer_is_a_value_error(cache: Cache) -> None:
    await cache.set("text", b"hello")
    with pytest.raises(ValueError, match="not an integer"):
        await cache.incr("text")
    assert await cache.get("text") == b"hello"


@pytest.mark.parametrize("ttl", [0, -1.0])
async def test_nonpositive_ttl_is_refused(cache: Cache, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        await cache.set("k", b"v", ttl_seconds=ttl)
    with pytest.raises(ValueError, match="ttl_seconds"):
        await cache.incr("k", ttl_seconds=ttl)
    assert await cache.get("k") is None


@pytest.mark.redis
async def test_redis_applies_prefix_and_ttl(redis_client: Redis, redis_prefix: str) -> None:
    cache = RedisCache(redis_client, prefix=redis_prefix)
    await cache.set("k", b"v", ttl_seconds=5)
    assert await redis_client.get(redis_prefix + "k") == b"v"
    assert 0 < await redis_client.pttl(redis_prefix + "k") <= 5000
    await cache.incr("n", ttl_seconds=5)
    assert 0 < await redis_client.pttl(redis_prefix + "n") <= 5000
    await cache.incr("forever")
    assert await redis_client.pttl(redis_prefix + "forever") == -1


async def test_in_process_ttl_is_exact() -> None:
    clock = FakeClock()
    cache = InProcessCache(clock=clock)
    await cache.set("k", b"v", ttl_seconds=10)
    clock.now += 9.999
    assert await cache.get("k") == b"v"
    clock.now += 0.001
    assert await cache.get("k") is None
    assert len(cache) == 0  # the expired entry was dropped, not just hidden


async def test_in_process_evicts_least_recently_used() -> None:
    cache = InProcessCache(max_entries=3)
    for key in ("a", "b", "c"):
        await cache.set(key, key.encode())
    assert await cache.get("a") == b"a"  # now "b" is the least recently used
    await cache.set("d", b"d")
    assert len(cache) == 3
    assert await cache.get("b") is None
    assert [await cache.get(k) for k in ("a", "c", "d")] == [b"a", b"c", b"d"]


async def test_in_process_is_bounded_by_bytes() -> None:
    cache = InProcessCache(max_bytes=100)
    await cache.set("a", b"x" * 60)
    await cache.set("b", b"y" * 60)  # together over 100: "a" goes
    assert await cache.get("a") is None
    assert await cache.get("b") == b"y" * 60
    await cache.set("huge", b"z" * 101)  # alone over the bound: not kept at all
    assert await cache.get("huge") is None
    assert await cache.get("b") == b"y" * 60
