"""Rate limiter: the in-process and Redis forms obey the same sliding-window rule."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from persistence.ratelimit import (
    InProcessRateLimiter,
    RateDecision,
    RateLimiter,
    RedisRateLimiter,
)

if TYPE_CHECKING:
    from fixtures_services import RedisTarget
    from redis.asyncio import Redis

pytest_plugins = ("fixtures_services",)


@pytest.fixture
def limiter(backend: RedisTarget | None) -> RateLimiter:
    if backend is None:
        return InProcessRateLimiter()
    return RedisRateLimiter(backend.client, prefix=backend.prefix)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_allows_up_to_the_limit_then_denies(limiter: RateLimiter) -> None:
    decisions = [await limiter.hit("user:1", 3, 10) for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[0].retry_after == 0
    assert decisions[1].retry_after == 0
    # The window is full: the next slot frees when the first hit is 10 s old.
    assert 9 < decisions[2].retry_after <= 10
    assert 9 < decisions[3].retry_after <= 10


async def test_keys_are_independent(limiter: RateLimiter) -> None:
    assert (await limiter.hit("a", 1, 10)).allowed
    assert not (await limiter.hit("a", 1, 10)).allowed
    assert (await limiter.hit("b", 1, 10)).allowed


async def test_slot_frees_after_retry_after(limiter: RateLimiter) -> None:
    await limiter.hit("k", 2, 0.4)
    await limiter.hit("k", 2, 0.4)
    denied = await limiter.hit("k", 2, 0.4)
    assert not denied.allowed
    assert 0 < denied.retry_after <= 0.4

    await asyncio.sleep(denied.retry_after + 0.05)
    again = await limiter.hit("k", 2, 0.4)
    assert again.allowed


async def test_window_slides_rather_than_resets(limiter: RateLimiter) -> None:
    await limiter.hit("k", 2, 0.8)
    await asyncio.sleep(0.4)
    await limiter.hit("k", 2, 0.8)
    denied = await limiter.hit("k", 2, 0.8)
    assert not denied.allowed
    # Only the first hit has to age out, not the whole window.
    assert 0.2 < denied.retry_after < 0.45

    await asyncio.sleep(denied.retry_after + 0.05)
    assert (await limiter.hit("k", 2, 0.8)).allowed
    # The second hit is still in the window, so that was the last free slot.
    assert not (await limiter.hit("k", 2, 0.8)).allowed


async def test_denied_hits_do_not_extend_the_lockout(limiter: RateLimiter) -> None:
    assert (await limiter.hit("k", 1, 0.3)).allowed
    for _ in range(5):
        assert not (await limiter.hit("k", 1, 0.3)).allowed
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    assert (await limiter.hit("k", 1, 0.3)).allowed


async def test_concurrent_hits_never_exceed_the_limit(limiter: RateLimiter) -> None:
    decisions = await asyncio.gather(*(limiter.hit("burst", 5, 10) for _ in range(30)))
    assert sum(d.allowed for d in decisions) == 5
    assert sorted(d.remaining for d in decisions if d.allowed) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("limit", "window"), [(0, 1.0), (-1, 1.0), (1, 0.0), (1, -5.0)])
async def test_rejects_nonsense_arguments(limiter: RateLimiter, limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        await limiter.hit("k", limit, window)


@pytest.mark.redis
async def test_redis_key_expires_with_its_window(redis_client: Redis, redis_prefix: str) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix)
    await limiter.hit("k", 3, 2.0)
    ttl_ms = await redis_client.pttl(redis_prefix + "k")
    assert 0 < ttl_ms <= 2001


async def test_in_process_retry_after_is_exact() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock)
    await limiter.hit("k", 2, 60)
    clock.now += 15
    await limiter.hit("k", 2, 60)
    clock.now += 5
    assert await limiter.hit("k", 2, 60) == RateDecision(False, 0, 40.0)
    clock.now += 40
    assert await limiter.hit("k", 2, 60) == RateDecision(True, 0, 15.0)


async def test_in_process_forgets_idle_keys() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock, sweep_interval=10)
    for i in range(1000):
        await limiter.hit(f"ip:{i}", 5, 1)
    assert len(limiter) == 1000
    clock.now += 11  # past every window and the sweep interval
    await limiter.hit("fresh", 5, 1)
    assert len(limiter) == 1


async def test_in_process_caps_the_number_of_keys() -> None:
    limiter = InProcessRateLimiter(max_keys=10)
    for i in range(50):
        await limiter.hit(f"ip:{i}", 5, 3600)
    assert len(limiter) == 10
