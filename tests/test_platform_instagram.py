"""The Instagram provider against the sandbox's Graph API: containers, resumable video
uploads, status polling and media_publish."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sandbox_support import (  # noqa: F401 - sandbox_fixture is a fixture
    connect,
    jpeg,
    make_provider,
    mp4,
    sandbox_fixture,
)

from sandbox.client import SandboxControl
from tools.platforms import (
    Account,
    Media,
    NeedsReconnect,
    PermanentError,
    Publication,
    RateLimited,
    UnknownOutcome,
)
from tools.platforms.instagram import InstagramProvider

NET = "meta"
IG = "17841400000000001"


@pytest.fixture
async def ig() -> AsyncIterator[InstagramProvider]:
    provider = make_provider("instagram")
    yield provider  # type: ignore[misc]
    await provider.aclose()


@pytest.fixture
async def account(ig: InstagramProvider, sandbox: SandboxControl) -> Account:
    conn = await connect(ig, sandbox)
    [only] = conn.accounts
    return only


def image(sandbox: SandboxControl, name: str = "cup.jpg") -> Media:
    data = jpeg(3000)
    url = sandbox.put_file(name, data, "image/jpeg")
    return Media.from_bytes(data, "image/jpeg", public_url=url, alt_text="a cup")


def pub(text: str, *media: Media, **kw: object) -> Publication:
    return Publication(text=text, key="post-3:instagram", media=media, **kw)  # type: ignore[arg-type]


def own_posts(sandbox: SandboxControl) -> list[dict[str, object]]:
    return [p for p in sandbox.posts(NET) if p["account"] == IG and p["kind"] == "post"]


async def test_connecting_yields_the_instagram_accounts_linked_to_the_users_pages(
    ig: InstagramProvider, sandbox: SandboxControl
) -> None:
    auth = ig.authorization_url("state-1", "https://chorus.test/cb")
    assert "instagram_content_publish" in auth.scopes
    conn = await connect(ig, sandbox)
    [account] = conn.accounts  # only one of the two Pages has an Instagram account
    assert account.profile.platform_id == IG
    assert account.profile.username == "chorus.coffee"
    assert account.profile.follower_count == 3100
    assert account.tokens.account_id == IG
    assert account.tokens.extra["page_id"] == "20001"


async def test_an_image_without_a_public_url_is_refused_before_any_call(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    with pytest.raises(PermanentError, match="public URL"):
        await ig.publish(account.tokens, pub("Cup", Media.from_bytes(jpeg(), "image/jpeg")))
    assert own_posts(sandbox) == []


async def test_an_image_is_fetched_by_instagram_then_published_from_its_container(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    done = await ig.publish(account.tokens, pub("Morning cup", image(sandbox)))
    assert done.url
    assert done.url.endswith(f"/p/{done.platform_post_id}/")
    assert done.extra["container_id"]
    [post] = own_posts(sandbox)
    assert post["text"] == "Morning cup"


async def test_an_image_url_instagram_cannot_fetch_is_a_permanent_error_saying_so(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    missing = Media.from_bytes(
        jpeg(), "image/jpeg", public_url=f"{sandbox.base_url}/_sandbox/files/nope.jpg"
    )
    with pytest.raises(PermanentError, match="could not be fetched"):
        await ig.publish(account.tokens, pub("Missing", missing))


async def test_a_reel_is_uploaded_resumably_and_published_once_processed(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    video = Media.from_bytes(mp4(5000), "video/mp4", duration_seconds=15)
    done = await ig.publish(account.tokens, pub("Roasting, sped up", video))
    [post] = own_posts(sandbox)
    assert post["id"] == done.platform_post_id
    assert post["media"] == [{"type": "REELS"}]


async def test_a_video_instagram_cannot_process_fails_with_its_status(
    ig: InstagramProvider, account: Account
) -> None:
    broken = Media.from_bytes(b"\x00" * 500, "video/mp4", duration_seconds=10)
    with pytest.raises(PermanentError, match="2207026"):
        await ig.publish(account.tokens, pub("Broken", broken))


async def test_a_carousel_publishes_its_children_as_one_post(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    video = Media.from_bytes(mp4(2000), "video/mp4", duration_seconds=8)
    await ig.publish(
        account.tokens, pub("Three ways", image(sandbox, "a.jpg"), video, image(sandbox, "b.jpg"))
    )
    [post] = own_posts(sandbox)
    assert [m["type"] for m in post["media"]] == ["IMAGE", "VIDEO", "IMAGE"]  # type: ignore[index]


async def test_the_first_comment_is_made_by_the_account(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    done = await ig.publish(
        account.tokens, pub("New mug", image(sandbox), first_comment="#coffee #mug")
    )
    comment = next(p for p in sandbox.posts(NET) if p["id"] == done.first_comment_id)
    assert comment["parent"] == done.platform_post_id
    assert comment["account"] == IG


async def test_after_a_dropped_media_publish_the_post_is_found_and_not_published_again(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    publication = pub("Limited roast", image(sandbox), first_comment="Only 100 bags")
    sandbox.fault(NET, "drop", method="POST", path=r"/media_publish$")
    with pytest.raises(UnknownOutcome):
        await ig.publish(account.tokens, publication)
    found = await ig.find_published(account.tokens, publication, since)
    assert found is not None
    done = await ig.publish(account.tokens, publication, resume=found)
    assert done.platform_post_id == found.platform_post_id
    assert sandbox.created(NET)[IG] == 2  # the media and its comment, each once


async def test_delete_removes_the_media(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    done = await ig.publish(account.tokens, pub("Gone soon", image(sandbox)))
    await ig.delete(account.tokens, done.platform_post_id)
    assert own_posts(sandbox)[0]["deleted"] is True


async def test_media_and_account_insights(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    done = await ig.publish(account.tokens, pub("Insightful", image(sandbox)))
    sandbox.bump(NET, done.platform_post_id, views=1000, reach=700, likes=80, shares=6, saved=9)
    sandbox.mention(NET, parent=done.platform_post_id, text="Where is this?")
    m = (await ig.post_metrics(account.tokens, [done.platform_post_id]))[done.platform_post_id]
    assert (m.impressions, m.reach, m.likes, m.comments, m.shares, m.saves) == (
        1000,
        700,
        80,
        1,
        6,
        9,
    )
    totals = await ig.account_metrics(account.tokens)
    assert (totals.followers, totals.following, totals.posts) == (3100, 150, 1)
    assert (totals.reach, totals.impressions) == (2500, 7000)


async def test_mentions_are_comments_by_others_and_tags_after_the_cursor(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    done = await ig.publish(account.tokens, pub("Say hi", image(sandbox), first_comment="Hi!"))
    sandbox.mention(NET, parent=done.platform_post_id, text="hello!", author={"username": "mia"})
    sandbox.mention(NET, account=IG, text="at @chorus.coffee today", author={"username": "leo"})
    page = await ig.mentions(account.tokens)
    assert [(m.kind, m.author.username, m.text) for m in page.items] == [
        ("comment", "mia", "hello!"),
        ("mention", "leo", "at @chorus.coffee today"),
    ]
    assert (await ig.mentions(account.tokens, page.next_cursor)).items == ()


async def test_the_publishing_rate_limit_is_rate_limited(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    sandbox.fault(NET, "rate_limit", path=r"/media$", method="POST", retry_after=60)
    with pytest.raises(RateLimited) as caught:
        await ig.publish(account.tokens, pub("Too many", image(sandbox)))
    assert caught.value.retry_after_seconds == 60


async def test_refresh_keeps_the_account_and_a_revoked_user_needs_a_reconnect(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    fresh = await ig.refresh(account.tokens)
    assert fresh.account_id == IG
    assert (await ig.account_metrics(fresh)).followers == 3100
    sandbox.revoke(NET, user="10001")
    with pytest.raises(NeedsReconnect):
        await ig.refresh(fresh)


async def test_a_competitor_is_looked_up_through_business_discovery(
    ig: InstagramProvider, sandbox: SandboxControl, account: Account
) -> None:
    sandbox.add_user(
        NET, username="rival.roasters", name="Rival Roasters", followers=42000, following=12,
        kind="business",
    )  # fmt: skip
    found = await ig.public_account(account.tokens, "@rival.roasters")
    assert (found.profile.username, found.profile.display_name) == (
        "rival.roasters",
        "Rival Roasters",
    )
    assert (found.metrics.followers, found.metrics.following, found.metrics.posts) == (42000, 12, 0)
    with pytest.raises(PermanentError, match="no Instagram Business or Creator account @nobody"):
        await ig.public_account(account.tokens, "nobody")


async def test_follower_demographics_are_read_one_breakdown_at_a_time(
    ig: InstagramProvider, account: Account
) -> None:
    demographics = await ig.audience_demographics(account.tokens)
    # The sandbox account's 3,100 followers: age 930/1,550/620, gender 1,860/1,240,
    # country 2,170/930 (the sandbox refuses a request with several breakdowns).
    assert demographics == {
        "age": {"18-24": 0.3, "25-34": 0.5, "35-44": 0.2},
        "gender": {"F": 0.6, "M": 0.4},
        "countries": {"FR": 0.3, "US": 0.7},
    }
