"""The publishing tick: the ``publish_due`` job, its bound on concurrency, the in-process
ticker of ``chorus serve`` and arq's cron on Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from bson import ObjectId
from publishing_support import Scene, scene_fixture  # noqa: F401 - a fixture
from redis_support import arq_worker, redis_answers, until
from sandbox_support import sandbox_fixture, sandbox_url  # noqa: F401 - a fixture
from support import TEST_REDIS_URL, make_settings, opened_runtime

from chorus.jobs import CRONS
from persistence.ids import utcnow
from persistence.models import Post, SocialAccount
from persistence.models.content import AccountInfo, PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from sandbox.accounts import connect_user
from sandbox.client import SandboxControl
from services.publishing import PublishConfig, Ticker, run_due
from services.social_accounts.tokens import sealed

QUICK = PublishConfig(lease_seconds=30.0)


async def test_the_job_publishes_due_posts_for_the_stored_accounts(
    sandbox: SandboxControl, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", platforms_sandbox_url=sandbox_url())
    async with opened_runtime(settings) as runtime:
        org = ObjectId()
        tokens = await connect_user(
            runtime.platforms.provider("twitter"), sandbox, username="stored"
        )
        account = SocialAccount(
            organization_id=org,
            platform="twitter",
            account_info=AccountInfo(platform_id=tokens.account_id or "", username="stored"),
        )
        accounts = TenantRepository(runtime.db, SocialAccount)
        await accounts.insert(account)
        await accounts.update(org, account.id, sealed(runtime.cipher, tokens))
        post = Post(
            organization_id=org,
            content=PostContent(text="Published by the job"),
            scheduling=Scheduling(status="scheduled", scheduled_at=utcnow()),
            platforms=[PlatformTarget(social_account_id=account.id, platform="twitter")],
        )
        await TenantRepository(runtime.db, Post).insert(post)
        await runtime.jobs.enqueue("publish_due", job_id="tick")
        outcome = await runtime.jobs.result("tick")  # type: ignore[attr-defined]
        assert outcome == {"claimed": 1, "published": 1}
        stored = await TenantRepository(runtime.db, Post).get(org, post.id)
        assert stored is not None
        assert stored.scheduling.status == "published"
    assert [p["text"] for p in sandbox.posts("x")] == ["Published by the job"]


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
