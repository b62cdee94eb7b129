"""The publishing tick: the ``publish_due`` job, its bound on concurrency, the in-process
ticker of ``chorus serve`` and arq's cron on Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from publishing_support import Scene, scene_fixture  # noqa: F401 - a fixture
from redis_support import arq_worker, redis_answers, until
from sandbox_support import sandbox_fixture  # noqa: F401 - a fixture
from support import TEST_REDIS_URL, make_settings, opened_runtime

from chorus.jobs import CRONS
from persistence.models import Post
from services.publishing import PublishConfig, Ticker, run_due

QUICK = PublishConfig(lease_seconds=30.0)


async def test_the_job_publishes_due_posts_once_publishing_is_enabled(scene: Scene) -> None:
    runtime = scene.runtime
    post = await scene.post("Published by the job")
    await runtime.jobs.enqueue("publish_due", job_id="before")
    assert await runtime.jobs.result("before") == {"not_enabled": 1}  # type: ignore[attr-defined]
    runtime.enable_publishing(scene.access, config=QUICK)
    await runtime.jobs.enqueue("publish_due", job_id="after")
    outcome = await runtime.jobs.result("after")  # type: ignore[attr-defined]
    assert outcome == {"claimed": 1, "published": 1}
    assert (await scene.reload(post)).scheduling.status == "published"
    assert scene.made("twitter", "Published by the job") == 1


async def test_a_pass_publishes_at_most_its_bound_of_posts_at_once(scene: Scene) -> None:
    texts = [f"Bounded post {i}" for i in range(7)]
    for text in texts:
        await scene.post(text)
    scene.sandbox.fault("x", "slow", method="POST", path="^/2/tweets$", delay=0.2, count=7)
    publisher = scene.publisher()
    in_flight, most = 0, 0
    original: Callable[[Post], Awaitable[str]] = publisher.publish

    async def counting(post: Post) -> str:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await original(post)
        finally:
            in_flight -= 1

    publisher.publish = counting  # type: ignore[method-assign]
    outcome = await run_due(publisher, concurrency=3)
    assert outcome["published"] == len(texts)
    assert most == 3
    assert all(scene.made("twitter", text) == 1 for text in texts)


async def test_a_tick_during_a_running_pass_returns_at_once(scene: Scene) -> None:
    await scene.post("A slow one")
    scene.sandbox.fault("x", "slow", method="POST", path="^/2/tweets$", delay=0.5)
    ticker = Ticker(scene.publisher(), concurrency=4)
    first = asyncio.create_task(ticker.tick())
    await asyncio.sleep(0.2)
    assert await ticker.tick() == {"skipped": 1}
    assert (await first)["published"] == 1


def test_the_cron_ticks_every_second() -> None:
    assert CRONS["publish_due"]["second"] == set(range(60))


async def test_the_in_process_ticker_of_serve_publishes_within_seconds(scene: Scene) -> None:
    scene.runtime.enable_publishing(scene.access, config=QUICK)
    scene.runtime.start_crons()
    post = await scene.post("Ticked in process")

    async def published() -> bool:
        return (await scene.reload(post)).scheduling.status == "published"

    await until(published, 10)
    assert scene.made("twitter", "Ticked in process") == 1


@pytest.mark.redis
async def test_an_arq_worker_publishes_on_its_cron(scene: Scene, tmp_path: object) -> None:
    if not await redis_answers():
        pytest.skip(f"no Redis answers at {TEST_REDIS_URL}")
    settings = make_settings(tmp_path / "redis-data", redis_url=TEST_REDIS_URL)  # type: ignore[operator]
    async with opened_runtime(settings) as runtime:
        runtime.enable_publishing(scene.access, config=QUICK)
        scene.runtime = runtime  # the scene's posts go to this runtime's documents
        post = await scene.post("Ticked by arq")

        async def published() -> bool:
            return (await scene.reload(post)).scheduling.status == "published"

        async with arq_worker(runtime):
            await until(published, 20)
    assert scene.made("twitter", "Ticked by arq") == 1
