"""Threads and first comments through the publishing engine, against the sandbox: each part is a
reply to the one before, the target records every part's network id, and no retry (after a
refusal, an unknown outcome or a killed worker) makes a part twice.

Counts are taken on the sandbox's servers, so "made twice" is observed, not assumed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import pytest
from bson import ObjectId
from publishing_support import Scene, make_due, scene_fixture  # noqa: F401 - a fixture
from sandbox_support import connect, jpeg, make_provider, sandbox_fixture  # noqa: F401

from persistence.ids import utcnow
from persistence.models import Post, SocialAccount
from persistence.models.content import (
    AccountInfo,
    MediaFile,
    PlatformTarget,
    PostContent,
    Scheduling,
    ThreadPart,
)
from persistence.repository import TenantRepository
from services.publishing import run_due
from tools.platforms import Publication
from tools.platforms import ThreadPart as PartOut

PAGE = "20001"  # the sandbox's seeded Facebook Page
ROOT = "1/ How we roast"
PARTS = ["2/ Green beans in at 200C", "3/ First crack at nine minutes"]


@pytest.fixture
async def facebook(scene: Scene) -> SocialAccount:
    """A Facebook Page of the scene's organization, connected on the sandbox."""
    provider = make_provider("facebook")
    scene.access.providers["facebook"] = provider
    conn = await connect(provider, scene.sandbox)
    page = next(a for a in conn.accounts if a.profile.platform_id == PAGE)
    account = SocialAccount(
        organization_id=scene.org,
        platform="facebook",
        account_info=AccountInfo(platform_id=PAGE, username="page"),
    )
    await TenantRepository(scene.runtime.db, SocialAccount).insert(account)
    scene.access.add(account, page.tokens)
    scene.accounts["facebook"] = account
    yield account  # type: ignore[misc]
    await provider.aclose()


async def thread_post(
    scene: Scene,
    networks: tuple[str, ...] = ("twitter",),
    *,
    parts: list[str] = PARTS,
    first_comment: str | None = None,
    targets: list[PlatformTarget] | None = None,
    media: list[MediaFile] | None = None,
) -> Post:
    post = Post(
        organization_id=scene.org,
        content=PostContent(
            text=ROOT,
            thread=[
                ThreadPart(text=p, media_files=(media or []) if i == 1 else [])
                for i, p in enumerate(parts)
            ],
            first_comment=first_comment,
        ),
        scheduling=Scheduling(status="scheduled", scheduled_at=utcnow() - timedelta(seconds=1)),
        platforms=targets
        or [PlatformTarget(social_account_id=scene.accounts[n].id, platform=n) for n in networks],
    )
    return await TenantRepository(scene.runtime.db, Post).insert(post)


def x_made(scene: Scene) -> Counter[str]:
    return Counter(p["text"] for p in scene.sandbox.posts("x"))


def x_by_id(scene: Scene) -> dict[str, dict]:
    return {p["id"]: p for p in scene.sandbox.posts("x")}


def assert_chain(scene: Scene, root_id: str, part_ids: list[str], texts: list[str]) -> None:
    """Each part is on X with its text, a reply to the part before it."""
    posts = x_by_id(scene)
    parent = root_id
    for part_id, text in zip(part_ids, texts, strict=True):
        assert posts[part_id]["text"] == text
        assert posts[part_id]["parent"] == parent
        parent = part_id


async def died_mid_thread(scene: Scene, post: Post, root_id: str, part_ids: Sequence[str]) -> None:
    """Leave ``post`` as a worker killed while making thread part 2 leaves it: claimed under
    an expired lease, its X target in flight with the root and ``part_ids`` recorded."""
    await TenantRepository(scene.runtime.db, Post).update(
        scene.org,
        post.id,
        {
            "scheduling.status": "publishing",
            "publishing": {"token": "dead", "leaseUntil": utcnow() - timedelta(seconds=1)},
            "platforms.0.status": "publishing",
            "platforms.0.attempts": 1,
            "platforms.0.firstAttemptAt": utcnow() - timedelta(seconds=3),
            "platforms.0.platformPostId": root_id,
            "platforms.0.platformData": {"partIds": list(part_ids), "inFlight": "thread part 2"},
        },
    )


async def test_a_three_part_x_thread_and_a_facebook_first_comment_are_published_and_recorded(
    scene: Scene, facebook: SocialAccount
) -> None:
    stored = await scene.runtime.media.put(str(scene.org), "roaster.jpg", jpeg(3000), "image/jpeg")
    photo = [MediaFile(url=stored.url, type="image", alt_text="the roaster")]
    targets = [
        PlatformTarget(social_account_id=scene.accounts["twitter"].id, platform="twitter"),
        PlatformTarget(
            social_account_id=facebook.id,
            platform="facebook",
            thread=[],  # Facebook has no threads: the post and its comment
            first_comment="Book a roastery tour: example.com/tours",
        ),
    ]
    post = await thread_post(scene, targets=targets, media=photo)
    outcome = await run_due(scene.publisher())
    assert outcome["published"] == 1
    done = await scene.reload(post)
    assert done.scheduling.status == "published"
    on_x, on_fb = done.platforms

    assert on_x.status == "published"
    part_ids = on_x.platform_data["partIds"]
    assert len(part_ids) == 2
    assert_chain(scene, on_x.platform_post_id or "", part_ids, PARTS)
    assert x_by_id(scene)[part_ids[1]]["media"][0]["alt_text"] == "the roaster"
    assert on_x.platform_data["firstCommentId"] is None  # none asked for X
    assert x_made(scene) == Counter([ROOT, *PARTS])
    assert on_x.platform_data.get("inFlight") is None

    assert on_fb.status == "published"
    fb_posts = {p["id"]: p for p in scene.sandbox.posts("meta")}
    comment = fb_posts[on_fb.platform_data["firstCommentId"]]
    assert comment["text"] == "Book a roastery tour: example.com/tours"
    assert comment["parent"] == on_fb.platform_post_id
    assert comment["account"] == PAGE
    assert fb_posts[on_fb.platform_post_id or ""]["text"] == ROOT
    assert on_fb.platform_data["partIds"] == []


async def test_a_first_comment_on_x_and_bluesky_is_a_self_reply_to_the_post(scene: Scene) -> None:
    post = await thread_post(scene, ("twitter", "bluesky"), parts=[], first_comment="Shop below")
    await run_due(scene.publisher())
    on_x, on_bsky = (await scene.reload(post)).platforms
    reply = x_by_id(scene)[on_x.platform_data["firstCommentId"]]
    assert (reply["text"], reply["parent"]) == ("Shop below", on_x.platform_post_id)
    assert on_bsky.status == "published"
    assert on_bsky.platform_data["firstCommentId"]
    assert scene.made("bluesky", "Shop below") == 1


async def test_a_refusal_mid_thread_keeps_what_was_made_and_the_retry_posts_only_the_rest(
    scene: Scene,
) -> None:
    # The root and the first reply go through; the second reply gets a 503.
    scene.sandbox.fault("x", "error", method="POST", path="^/2/tweets$", status=503, skip=2)
    post = await thread_post(scene, first_comment="Questions welcome")
    assert (await run_due(scene.publisher()))["waiting"] == 1
    [waiting] = (await scene.reload(post)).platforms
    assert waiting.status == "pending"
    assert waiting.platform_post_id  # the root's id is kept
    assert len(waiting.platform_data["partIds"]) == 1
    await make_due(scene, post)
    assert (await run_due(scene.publisher()))["published"] == 1
    [target] = (await scene.reload(post)).platforms
    assert target.attempts == 2
    assert_chain(scene, target.platform_post_id or "", target.platform_data["partIds"], PARTS)
    assert x_made(scene) == Counter([ROOT, *PARTS, "Questions welcome"])  # each once


async def test_an_unknown_outcome_mid_thread_is_looked_up_and_nothing_is_posted_twice(
    scene: Scene,
) -> None:
    scene.access.providers["twitter"] = make_provider("twitter", timeout=0.3)
    # The first reply is made, but its answer never comes.
    scene.sandbox.fault("x", "timeout", method="POST", path="^/2/tweets$", delay=1.0, skip=1)
    post = await thread_post(scene, first_comment="Questions welcome")
    await run_due(scene.publisher())
    [waiting] = (await scene.reload(post)).platforms
    assert waiting.status == "publishing"  # the outcome of the first reply is unknown
    assert waiting.platform_data["partIds"] == []
    assert waiting.platform_data["inFlight"] == "thread part 1"
    await make_due(scene, post)
    assert (await run_due(scene.publisher()))["published"] == 1
    [target] = (await scene.reload(post)).platforms
    assert_chain(scene, target.platform_post_id or "", target.platform_data["partIds"], PARTS)
    assert x_made(scene) == Counter([ROOT, *PARTS, "Questions welcome"])
    await scene.access.providers["twitter"].aclose()


async def test_a_thread_whose_post_went_unanswered_is_found_and_only_its_replies_follow(
    scene: Scene,
) -> None:
    scene.access.providers["twitter"] = make_provider("twitter", timeout=0.3)
    scene.sandbox.fault("x", "timeout", method="POST", path="^/2/tweets$", delay=1.0)
    post = await thread_post(scene)
    await run_due(scene.publisher())
    [waiting] = (await scene.reload(post)).platforms
    assert waiting.status == "publishing"
    assert waiting.platform_post_id is None
    assert waiting.platform_data["inFlight"] == "post"  # recorded before the call
    await make_due(scene, post)
    assert (await run_due(scene.publisher()))["published"] == 1
    [target] = (await scene.reload(post)).platforms
    assert_chain(scene, target.platform_post_id or "", target.platform_data["partIds"], PARTS)
    assert x_made(scene) == Counter([ROOT, *PARTS])
    await scene.access.providers["twitter"].aclose()


async def test_a_worker_killed_mid_thread_leaves_its_progress_and_the_heir_makes_no_part_twice(
    scene: Scene,
) -> None:
    """What the progress records leave when the worker dies during the second reply's call
    (which X applied): the root and the first reply recorded, the second in flight. The heir
    looks, finds the second reply, and only adds the first comment."""
    post = await thread_post(scene, first_comment="Questions welcome")
    provider = scene.access.providers["twitter"]
    tokens = scene.tokens["twitter"]
    publication = Publication(
        text=ROOT, key="killed", thread=tuple(PartOut(p) for p in PARTS)
    )  # the dead worker's calls, as X received them
    made = await provider.publish(tokens, publication)
    await died_mid_thread(scene, post, made.platform_post_id, made.part_ids[:1])
    assert (await run_due(scene.publisher()))["published"] == 1
    [target] = (await scene.reload(post)).platforms
    assert target.platform_post_id == made.platform_post_id
    assert target.platform_data["partIds"] == list(made.part_ids)
    assert target.attempts == 2
    assert x_made(scene) == Counter([ROOT, *PARTS, "Questions welcome"])


async def test_parts_recorded_as_made_are_never_made_again_even_when_the_network_hides_them(
    scene: Scene,
) -> None:
    """X's timeline can lag behind a reply: a lookup that shows the root but not part 2 must
    not undo the engine's own record of part 2."""
    post = await thread_post(scene)
    provider = scene.access.providers["twitter"]
    made = await provider.publish(
        scene.tokens["twitter"],
        Publication(text=ROOT, key="lag", thread=(PartOut(PARTS[0]),)),
    )
    original = provider.find_published

    # The timeline answers as if it held only the root (the reply not listed yet).
    async def lagging(tokens, publication, since):  # type: ignore[no-untyped-def]
        found = await original(tokens, publication, since)
        return found and type(found)(found.platform_post_id, found.url)

    provider.find_published = lagging  # type: ignore[method-assign]
    await died_mid_thread(scene, post, made.platform_post_id, made.part_ids)
    assert (await run_due(scene.publisher()))["published"] == 1
    [target] = (await scene.reload(post)).platforms
    assert target.platform_data["partIds"][0] == made.part_ids[0]
    assert_chain(scene, made.platform_post_id, target.platform_data["partIds"], PARTS)
    assert x_made(scene) == Counter([ROOT, *PARTS])


async def test_a_holder_whose_claim_was_taken_over_mid_thread_makes_no_further_part(
    scene: Scene,
) -> None:
    """Every part is preceded by a write guarded by the holder's token: once another worker
    holds the post, the old holder stops before its next call instead of racing the heir."""
    scene.sandbox.fault("x", "slow", method="POST", path="^/2/tweets$", delay=0.5)
    post = await thread_post(scene)
    old = scene.publisher(worker="old")
    [raw] = await old.due(10)
    held = await old.claim(raw)
    assert held is not None
    publishing = asyncio.create_task(old.publish(held))
    await asyncio.sleep(0.2)  # the root's call is in flight
    await TenantRepository(scene.runtime.db, Post).update(
        scene.org, post.id, {"publishing.token": "the-heir"}
    )
    assert await publishing == "lost"
    assert x_made(scene) == Counter([ROOT])  # the root it was making; no reply after it


async def test_another_organizations_thread_is_not_published_to_our_account(scene: Scene) -> None:
    intruder = Post(
        organization_id=ObjectId(),
        content=PostContent(text="Not mine", thread=[ThreadPart(text="Still not mine")]),
        scheduling=Scheduling(status="scheduled", scheduled_at=utcnow() - timedelta(seconds=1)),
        platforms=[
            PlatformTarget(social_account_id=scene.accounts["twitter"].id, platform="twitter")
        ],
    )
    await TenantRepository(scene.runtime.db, Post).insert(intruder)
    await run_due(scene.publisher())
    [target] = (await scene.reload(intruder)).platforms
    assert target.status == "failed"
    assert scene.sandbox.posts("x") == []
