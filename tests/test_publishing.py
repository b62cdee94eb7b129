"""The publishing engine against the sandbox: claimed once, each target published exactly once.

Every test publishes through the real providers to the sandbox's wire-format servers and
counts on the sandbox what was made, so "posted twice" and "lost" are observed, not assumed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bson import ObjectId
from publishing_support import QUICK, Scene, events_of, make_due, scene_fixture  # noqa: F401
from sandbox_support import jpeg, make_provider, sandbox_fixture  # noqa: F401 - fixtures

from persistence.ids import utcnow
from persistence.models import Post
from persistence.models.content import MediaFile, PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from services.publishing import run_due

# --- the happy path ----------------------------------------------------------------------------


async def test_a_due_post_is_published_to_each_target_once_and_says_where(scene: Scene) -> None:
    post = await scene.post("Fresh beans at the roastery today", ("twitter", "bluesky"))
    outcome = await run_due(scene.publisher())
    assert outcome["claimed"] == 1
    assert outcome["published"] == 1
    stored = await scene.reload(post)
    assert stored.scheduling.status == "published"
    assert stored.scheduling.published_at is not None
    assert stored.publishing is None
    for target in stored.platforms:
        assert target.status == "published"
        assert target.platform_post_id
        assert target.url
        assert target.attempts == 1
        assert scene.made(target.platform, "Fresh beans at the roastery today") == 1
    [event] = await events_of(scene, "post.published")
    assert event.data["postId"] == str(post.id)
    assert {t["url"] for t in event.data["targets"]} == {t.url for t in stored.platforms}


async def test_the_hashtags_are_composed_into_the_text_unless_the_target_has_its_own(
    scene: Scene,
) -> None:
    post = Post(
        organization_id=scene.org,
        content=PostContent(text="New single origin", hashtags=["coffee"]),
        scheduling=Scheduling(status="scheduled", scheduled_at=utcnow()),
        platforms=[
            PlatformTarget(social_account_id=scene.accounts["twitter"].id, platform="twitter"),
            PlatformTarget(
                social_account_id=scene.accounts["bluesky"].id,
                platform="bluesky",
                text="Bluesky gets its own words",
            ),
        ],
    )
    await TenantRepository(scene.runtime.db, Post).insert(post)
    await run_due(scene.publisher())
    assert scene.made("twitter", "New single origin\n\n#coffee") == 1
    assert scene.made("bluesky", "Bluesky gets its own words") == 1


async def test_media_from_the_media_store_reach_the_network(scene: Scene) -> None:
    stored = await scene.runtime.media.put(str(scene.org), "cup.jpg", jpeg(3000), "image/jpeg")
    media = [MediaFile(url=stored.url, type="image", alt_text="a cup of coffee")]
    post = await scene.post("A cup for the morning", media=media)
    await run_due(scene.publisher())
    assert (await scene.reload(post)).scheduling.status == "published"
    [made] = [p for p in scene.sandbox.posts("x") if p["text"] == "A cup for the morning"]
    assert [m["alt_text"] for m in made["media"]] == ["a cup of coffee"]


async def test_media_missing_from_the_store_fails_the_target_saying_which(scene: Scene) -> None:
    url = f"/media/{scene.org}/{'0' * 32}/gone.jpg"
    post = await scene.post("Where did it go", media=[MediaFile(url=url, type="image")])
    await run_due(scene.publisher())
    stored = await scene.reload(post)
    assert stored.scheduling.status == "failed"
    assert "gone.jpg" in (stored.platforms[0].error_message or "")
    assert stored.platforms[0].retryable is False
    assert scene.made("twitter", "Where did it go") == 0


# --- claiming ---------------------------------------------------------------------------------


async def test_two_workers_racing_publish_every_post_exactly_once(scene: Scene) -> None:
    texts = [f"Race post number {i}" for i in range(12)]
    for text in texts:
        await scene.post(text)
    first, second = scene.publisher(worker="a"), scene.publisher(worker="b")
    a, b = await asyncio.gather(run_due(first, concurrency=3), run_due(second, concurrency=3))
    assert a["claimed"] + b["claimed"] == len(texts)
    for text in texts:
        assert scene.made("twitter", text) == 1


async def test_posts_not_due_paused_or_drafts_are_never_claimed(scene: Scene) -> None:
    later = await scene.post("Tomorrow's post", at=timedelta(hours=1))
    paused = await scene.post("Held for a crisis", status="paused")
    draft = await scene.post("Still a draft", status="draft")
    outcome = await run_due(scene.publisher())
    assert outcome["claimed"] == 0
    for post, status in ((later, "scheduled"), (paused, "paused"), (draft, "draft")):
        assert (await scene.reload(post)).scheduling.status == status
    assert scene.sandbox.posts("x") == []


async def test_an_edit_between_reading_and_claiming_makes_the_claim_lose(scene: Scene) -> None:
    post = await scene.post("Before the edit")
    publisher = scene.publisher()
    [raw] = await publisher.due(10)
    await TenantRepository(scene.runtime.db, Post).update(
        scene.org, post.id, {"content.text": "After the edit", "version": 1}
    )
    assert await publisher.claim(raw) is None
    await run_due(publisher)
    assert scene.made("twitter", "After the edit") == 1
    assert scene.made("twitter", "Before the edit") == 0


async def test_a_dead_workers_claim_is_taken_over_once_its_lease_ends(scene: Scene) -> None:
    post = await scene.post("Orphaned by a crash")
    dead = scene.publisher(lease_seconds=0.5, worker="dead")
    [raw] = await dead.due(10)
    assert await dead.claim(raw) is not None  # claimed, then the worker "dies"
    heir = scene.publisher(lease_seconds=0.5, worker="heir")
    assert (await run_due(heir))["claimed"] == 0  # the lease still holds
    await asyncio.sleep(0.6)
    assert (await run_due(heir))["published"] == 1
    assert scene.made("twitter", "Orphaned by a crash") == 1
    assert (await scene.reload(post)).scheduling.status == "published"


async def test_a_pass_whose_lease_was_taken_over_writes_nothing_more(scene: Scene) -> None:
    post = await scene.post("Two holders")
    slow = scene.publisher(worker="slow")
    [raw] = await slow.due(10)
    held = await slow.claim(raw)
    assert held is not None
    await make_due(scene, post)  # the lease ends as if the worker had stalled
    assert (await run_due(scene.publisher(worker="heir")))["published"] == 1
    assert await slow.publish(held) == "lost"
    assert scene.made("twitter", "Two holders") == 1


# --- unknown outcomes: look before publishing again -----------------------------------------------


async def test_a_timeout_after_the_post_was_made_is_found_and_not_posted_again(
    scene: Scene,
) -> None:
    scene.access.providers["twitter"] = make_provider("twitter", timeout=0.3)
    scene.sandbox.fault("x", "timeout", method="POST", path="^/2/tweets$", delay=1.0)
    post = await scene.post("The network went quiet")
    assert (await run_due(scene.publisher()))["waiting"] == 1
    waiting = await scene.reload(post)
    [target] = waiting.platforms
    assert waiting.scheduling.status == "publishing"
    assert target.status == "publishing"  # outcome unknown
    assert target.next_attempt_at is not None
    await make_due(scene, post)
    assert (await run_due(scene.publisher()))["published"] == 1
    [target] = (await scene.reload(post)).platforms
    assert target.status == "published"
    assert target.attempts == 1  # found, not published again
    assert scene.made("twitter", "The network went quiet") == 1
    await scene.access.providers["twitter"].aclose()


async def test_a_dropped_connection_after_the_post_was_made_is_found_too(scene: Scene) -> None:
    scene.sandbox.fault("bluesky", "drop", method="POST", path="createRecord")
    post = await scene.post("Dropped mid answer", ("bluesky",))
    await run_due(scene.publisher())
    await make_due(scene, post)
    await run_due(scene.publisher())
    assert (await scene.reload(post)).scheduling.status == "published"
    assert scene.made("bluesky", "Dropped mid answer") == 1


async def test_a_worker_killed_before_its_call_left_nothing_so_the_heir_publishes(
    scene: Scene,
) -> None:
    post = await scene.post("Killed before the call")
    # What a worker killed between marking the target and calling the network leaves.
    await TenantRepository(scene.runtime.db, Post).update(
        scene.org,
        post.id,
        {
            "scheduling.status": "publishing",
            "publishing": {"token": "dead", "leaseUntil": utcnow() - timedelta(seconds=1)},
            "platforms.0.status": "publishing",
            "platforms.0.attempts": 1,
            "platforms.0.firstAttemptAt": utcnow() - timedelta(seconds=2),
        },
    )
    assert (await run_due(scene.publisher()))["published"] == 1
    [target] = (await scene.reload(post)).platforms
    assert target.attempts == 2
    assert scene.made("twitter", "Killed before the call") == 1


# --- errors -------------------------------------------------------------------------------------


async def test_a_429_waits_for_retry_after_then_publishes(scene: Scene) -> None:
    scene.sandbox.fault("x", "rate_limit", method="POST", path="^/2/tweets$", retry_after=30)
    post = await scene.post("Slow down please")
    before = utcnow()
    await run_due(scene.publisher())
    waiting = await scene.reload(post)
    [target] = waiting.platforms
    assert target.status == "pending"
    assert target.attempts == 1
    assert target.retryable is True
    assert target.next_attempt_at is not None
    assert timedelta(seconds=29) <= target.next_attempt_at - before <= timedelta(seconds=33)
    assert waiting.publishing is not None
    assert waiting.publishing.token is None
    assert waiting.publishing.lease_until == target.next_attempt_at
    assert (await run_due(scene.publisher()))["claimed"] == 0  # not before Retry-After
    await make_due(scene, post)
    await run_due(scene.publisher())
    assert (await scene.reload(post)).scheduling.status == "published"
    assert scene.made("twitter", "Slow down please") == 1


async def test_server_errors_back_off_then_fail_retryable_once_the_attempts_are_spent(
    scene: Scene,
) -> None:
    scene.sandbox.fault("x", "error", method="POST", path="^/2/tweets$", status=503, count=10)
    post = await scene.post("Always a 503")
    seen = []
    for _ in range(QUICK.max_attempts):
        await run_due(scene.publisher())
        stored = await scene.reload(post)
        seen.append((stored.platforms[0].status, stored.platforms[0].attempts))
        await make_due(scene, post)
    assert seen == [("pending", 1), ("pending", 2), ("failed", 3)]
    stored = await scene.reload(post)
    assert stored.scheduling.status == "failed"
    assert stored.platforms[0].retryable is True
    assert "kept failing" in (stored.platforms[0].error_message or "")
    [event] = await events_of(scene, "post.failed")
    assert event.data["status"] == "failed"


async def test_a_permanent_refusal_fails_fast_with_the_networks_words_and_spares_the_rest(
    scene: Scene,
) -> None:
    provider = scene.access.providers["twitter"]
    await provider.publish(scene.tokens["twitter"], _publication("Said it already"))
    post = await scene.post("Said it already", ("twitter", "bluesky"))
    await run_due(scene.publisher())
    stored = await scene.reload(post)
    assert stored.scheduling.status == "partially_published"
    x_target, bsky_target = stored.platforms
    assert x_target.status == "failed"
    assert x_target.attempts == 1
    assert x_target.retryable is False
    assert "duplicate content" in (x_target.error_message or "")
    assert bsky_target.status == "published"
    [event] = await events_of(scene, "post.failed")
    assert event.data["status"] == "partially_published"


async def test_revoked_tokens_fail_with_reconnect_and_mark_the_account(scene: Scene) -> None:
    scene.sandbox.revoke("x", token=scene.tokens["twitter"].access_token)
    post = await scene.post("After the revoke")
    await run_due(scene.publisher())
    # X answers 401 alike for expired and revoked tokens: one more try (the account access
    # refreshes tokens when it opens the account), then the user is asked to reconnect.
    [target] = (await scene.reload(post)).platforms
    assert target.status == "pending"
    await make_due(scene, post)
    await run_due(scene.publisher())
    [target] = (await scene.reload(post)).platforms
    assert target.status == "failed"
    assert target.attempts == 2
    assert (target.error_message or "").startswith("reconnect your account")
    assert scene.accounts["twitter"].id in scene.access.needs_reconnect
    # Nothing more is tried against it: the next post fails at once, without a call.
    again = await scene.post("Still revoked")
    await run_due(scene.publisher())
    assert (await scene.reload(again)).platforms[0].error_message.startswith("reconnect")  # type: ignore[union-attr]


async def test_a_spent_rate_budget_defers_the_target_without_calling(scene: Scene) -> None:
    publisher = scene.publisher()
    account = str(scene.accounts["twitter"].id)
    for _ in range(100):  # X: 100 posts per 15 minutes per user
        await publisher.limiter.hit(f"publish-budget:twitter:900:{account}", 100, 900)
    post = await scene.post("Over budget")
    await run_due(publisher)
    [target] = (await scene.reload(post)).platforms
    assert target.status == "pending"
    assert target.attempts == 0
    assert "rate budget" in (target.error_message or "")
    assert target.next_attempt_at is not None
    assert target.next_attempt_at > utcnow() + timedelta(minutes=10)
    assert scene.made("twitter", "Over budget") == 0


async def test_another_organizations_account_is_not_published_to(scene: Scene) -> None:
    intruder = await scene.post("Not my account", org=ObjectId())
    await run_due(scene.publisher())
    [target] = (await scene.reload(intruder)).platforms
    assert target.status == "failed"
    assert "no longer connected" in (target.error_message or "")
    assert scene.made("twitter", "Not my account") == 0


def _publication(text: str):  # type: ignore[no-untyped-def]
    from tools.platforms import Publication

    return Publication(text=text, key="outside")


async def test_a_crisis_pause_holds_a_post_waiting_between_attempts(scene: Scene) -> None:
    from services.posts import pause_scheduled

    scene.sandbox.fault("x", "rate_limit", method="POST", path="^/2/tweets$", retry_after=30)
    post = await scene.post("Waiting out a 429", ("twitter", "bluesky"))
    await run_due(scene.publisher())
    assert await pause_scheduled(scene.runtime.db, scene.org) == 1
    await make_due(scene, post)
    assert (await run_due(scene.publisher()))["claimed"] == 0
    paused = await scene.reload(post)
    assert paused.scheduling.status == "paused"
    assert [t.status for t in paused.platforms] == ["pending", "published"]
    # Scheduled again after the crisis: only what was left is published.
    await TenantRepository(scene.runtime.db, Post).update(
        scene.org, post.id, {"scheduling.status": "scheduled"}
    )
    await run_due(scene.publisher())
    assert (await scene.reload(post)).scheduling.status == "published"
    assert scene.made("twitter", "Waiting out a 429") == 1
    assert scene.made("bluesky", "Waiting out a 429") == 1
