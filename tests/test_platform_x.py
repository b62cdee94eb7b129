"""The X provider against the sandbox's X API v2: connect, refresh, publish, find, read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sandbox_support import (  # noqa: F401 - sandbox_fixture is a fixture
    REDIRECT_URI,
    connect,
    jpeg,
    make_provider,
    mp4,
    sandbox_fixture,
)

from sandbox.client import SandboxControl
from tools.platforms import (
    AccessTokenExpired,
    Connection,
    Media,
    NeedsReconnect,
    PermanentError,
    Publication,
    RateLimited,
    ThreadPart,
    TransientError,
    UnknownOutcome,
    new_pkce,
)
from tools.platforms.x import XProvider

NET = "x"


@pytest.fixture
async def x() -> AsyncIterator[XProvider]:
    provider = make_provider("twitter", chunk_size=1000)
    yield provider  # type: ignore[misc]
    await provider.aclose()


@pytest.fixture
async def conn(x: XProvider, sandbox: SandboxControl) -> Connection:
    return await connect(x, sandbox)


def pub(text: str, **kw: object) -> Publication:
    return Publication(text=text, key=f"post-1:{text[:10]}", **kw)  # type: ignore[arg-type]


def created(sandbox: SandboxControl, conn: Connection) -> int:
    return sandbox.created(NET).get(conn.tokens.account_id or "", 0)


def test_the_authorization_url_carries_state_scopes_and_an_s256_challenge(x: XProvider) -> None:
    pkce = new_pkce()
    auth = x.authorization_url("st-123", REDIRECT_URI, pkce.challenge)
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth.url).query).items()}
    assert query["state"] == "st-123"
    assert query["code_challenge"] == pkce.challenge
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == REDIRECT_URI
    assert "offline.access" in query["scope"].split()
    assert "tweet.write" in auth.scopes
    assert auth.uses_pkce


def test_x_refuses_an_authorization_url_without_a_pkce_challenge(x: XProvider) -> None:
    with pytest.raises(ValueError, match="PKCE"):
        x.authorization_url("st", REDIRECT_URI, None)


async def test_consent_then_code_exchange_yields_tokens_and_the_profile(
    x: XProvider, sandbox: SandboxControl
) -> None:
    auth = x.authorization_url("s1", REDIRECT_URI, new_pkce().challenge)
    assert "Chorus" in sandbox.http.get(auth.url).text  # the consent page names the app
    conn = await connect(x, sandbox)
    assert conn.tokens.access_token
    assert conn.tokens.refresh_token
    assert conn.tokens.expires_at
    assert conn.tokens.expires_at > datetime.now(UTC)
    assert "tweet.write" in conn.tokens.scopes
    assert conn.user.username == "chorusbrand"
    assert conn.user.follower_count == 1200
    assert [a.profile.platform_id for a in conn.accounts] == [conn.user.platform_id]
    assert conn.tokens.account_id == conn.user.platform_id


async def test_denying_consent_redirects_back_with_access_denied(
    x: XProvider, sandbox: SandboxControl
) -> None:
    auth = x.authorization_url("s2", REDIRECT_URI, new_pkce().challenge)
    result = sandbox.consent(auth.url, allow=False)
    assert result.error == "access_denied"
    assert result.state == "s2"
    assert result.code is None


async def test_a_code_exchanged_with_the_wrong_verifier_is_refused(
    x: XProvider, sandbox: SandboxControl
) -> None:
    auth = x.authorization_url("s3", REDIRECT_URI, new_pkce().challenge)
    result = sandbox.consent(auth.url)
    with pytest.raises(PermanentError, match="authorization code was invalid"):
        await x.exchange_code(result.code or "", REDIRECT_URI, new_pkce().verifier)


async def test_refresh_rotates_and_the_used_refresh_token_then_needs_a_reconnect(
    x: XProvider, conn: Connection
) -> None:
    fresh = await x.refresh(conn.tokens)
    assert fresh.access_token != conn.tokens.access_token
    assert fresh.refresh_token
    assert fresh.refresh_token != conn.tokens.refresh_token
    assert fresh.account_id == conn.tokens.account_id
    with pytest.raises(NeedsReconnect) as caught:
        await x.refresh(conn.tokens)
    assert caught.value.reason == "Value passed for the token was invalid."


async def test_an_expired_access_token_is_reported_as_expired_and_a_refresh_recovers(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.expire(NET, token=conn.tokens.access_token)
    with pytest.raises(AccessTokenExpired):
        await x.account_metrics(conn.tokens)
    fresh = await x.refresh(conn.tokens)
    assert (await x.account_metrics(fresh)).followers == 1200


async def test_revoked_tokens_need_a_reconnect(x: XProvider, conn: Connection) -> None:
    await x.revoke(conn.tokens)
    with pytest.raises(NeedsReconnect):
        await x.refresh(conn.tokens)
    with pytest.raises(NeedsReconnect):
        await x.account_metrics(conn.tokens)


async def test_publishing_text_returns_the_post_id_and_url(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await x.publish(conn.tokens, pub("Fresh beans today & every day <3"))
    assert done.url
    assert done.url.endswith(f"/status/{done.platform_post_id}")
    [post] = sandbox.posts(NET)
    assert post["id"] == done.platform_post_id
    assert post["text"] == "Fresh beans today & every day <3"


async def test_images_are_uploaded_in_chunks_with_their_alt_text(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    images = (
        Media.from_bytes(jpeg(2500), "image/jpeg", alt_text="a cup of coffee"),
        Media.from_bytes(jpeg(900), "image/jpeg"),
    )
    await x.publish(conn.tokens, pub("Two pictures", media=images))
    [post] = sandbox.posts(NET)
    assert len(post["media"]) == 2
    assert post["media"][0]["alt_text"] == "a cup of coffee"


async def test_a_video_is_published_once_x_has_processed_it(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    video = Media.from_bytes(mp4(3500), "video/mp4", duration_seconds=12)
    await x.publish(conn.tokens, pub("Our roastery in 12 seconds", media=(video,)))
    [post] = sandbox.posts(NET)
    assert post["media"][0]["type"] == "video/mp4"


async def test_a_video_x_cannot_process_is_a_permanent_error(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    broken = Media.from_bytes(b"not a video at all" * 10, "video/mp4")
    with pytest.raises(PermanentError, match="UnsupportedMedia"):
        await x.publish(conn.tokens, pub("Broken video", media=(broken,)))
    assert sandbox.posts(NET) == []


async def test_a_thread_and_a_first_comment_are_replies_in_order(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    publication = pub(
        "1/ How we roast",
        thread=(ThreadPart("2/ Green beans"), ThreadPart("3/ Cooling")),
        first_comment="Shop: example.com/shop",
    )
    done = await x.publish(conn.tokens, publication)
    posts = {p["id"]: p for p in sandbox.posts(NET)}
    first, second = done.part_ids
    assert posts[first]["parent"] == done.platform_post_id
    assert posts[second]["parent"] == first
    assert posts[second]["text"] == "3/ Cooling"
    assert posts[done.first_comment_id or ""]["parent"] == done.platform_post_id
    assert done.is_complete(publication)


async def test_a_link_goes_into_the_text_and_is_found_again_through_its_tco_wrapping(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    publication = pub("New blend is out", link="https://example.com/blend?a=1&b=2")
    done = await x.publish(conn.tokens, publication)
    [post] = sandbox.posts(NET)
    assert post["text"] == "New blend is out\n\nhttps://example.com/blend?a=1&b=2"
    found = await x.find_published(conn.tokens, publication, since)
    assert found is not None
    assert found.platform_post_id == done.platform_post_id


async def test_after_a_dropped_connection_the_post_is_found_and_a_retry_posts_nothing_twice(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    publication = pub("Launch day", thread=(ThreadPart("More soon"),), first_comment="Thanks!")
    sandbox.fault(NET, "drop", method="POST", path="^/2/tweets$", count=1)
    with pytest.raises(UnknownOutcome):
        await x.publish(conn.tokens, publication)
    assert created(sandbox, conn) == 1  # the root was applied before the connection dropped
    found = await x.find_published(conn.tokens, publication, since)
    assert found is not None
    assert not found.is_complete(publication)
    done = await x.publish(conn.tokens, publication, resume=found)
    assert done.platform_post_id == found.platform_post_id
    assert done.is_complete(publication)
    assert created(sandbox, conn) == 3  # root, one part, one comment: each exactly once
    again = await x.find_published(conn.tokens, publication, since)
    assert again == done


async def test_a_timeout_after_the_post_was_sent_is_an_unknown_outcome(
    sandbox: SandboxControl, conn: Connection
) -> None:
    quick = make_provider("twitter", timeout=0.3)
    try:
        sandbox.fault(NET, "timeout", method="POST", path="^/2/tweets$", delay=1.0)
        with pytest.raises(UnknownOutcome):
            await quick.publish(conn.tokens, pub("Slow network day"))
        found = await quick.find_published(
            conn.tokens, pub("Slow network day"), datetime.now(UTC) - timedelta(minutes=1)
        )
        assert found is not None
        assert created(sandbox, conn) == 1
    finally:
        await quick.aclose()


async def test_find_published_is_none_when_the_post_was_never_made(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.fault(NET, "error", method="POST", path="^/2/tweets$", status=503)
    with pytest.raises(TransientError) as caught:
        await x.publish(conn.tokens, pub("Not today"))
    assert caught.value.status == 503
    assert "Service Unavailable" in caught.value.message
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert await x.find_published(conn.tokens, pub("Not today"), since) is None


async def test_a_429_is_rate_limited_for_the_seconds_until_the_reset(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.fault(NET, "rate_limit", path="^/2/tweets$", retry_after=120)
    with pytest.raises(RateLimited) as caught:
        await x.publish(conn.tokens, pub("Too eager"))
    assert 100 <= caught.value.retry_after_seconds <= 121


async def test_duplicate_content_is_a_permanent_error_with_xs_message(
    x: XProvider, conn: Connection
) -> None:
    await x.publish(conn.tokens, pub("Same words"))
    with pytest.raises(PermanentError, match="duplicate content"):
        await x.publish(conn.tokens, pub("Same words"))


async def test_text_over_280_weighted_characters_is_refused_before_any_call(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    with pytest.raises(PermanentError, match="280"):
        await x.publish(conn.tokens, pub("é" * 200 + "🙂" * 50))
    assert sandbox.posts(NET) == []


async def test_delete_removes_the_post(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await x.publish(conn.tokens, pub("Short-lived"))
    await x.delete(conn.tokens, done.platform_post_id)
    [post] = sandbox.posts(NET)
    assert post["deleted"] is True


async def test_post_and_account_metrics_come_from_x(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await x.publish(conn.tokens, pub("Measure me"))
    sandbox.bump(
        NET,
        done.platform_post_id,
        impression_count=900,
        like_count=40,
        retweet_count=3,
        quote_count=2,
        bookmark_count=5,
        url_link_clicks=11,
    )
    sandbox.mention(
        NET, account=conn.tokens.account_id, text="@chorusbrand nice", parent=done.platform_post_id
    )
    metrics = (await x.post_metrics(conn.tokens, [done.platform_post_id]))[done.platform_post_id]
    assert (metrics.impressions, metrics.likes, metrics.shares, metrics.saves, metrics.clicks) == (
        900,
        40,
        5,
        5,
        11,
    )
    assert metrics.comments == 1
    account = await x.account_metrics(conn.tokens)
    assert (account.followers, account.following, account.posts) == (1200, 80, 1)


async def test_mentions_since_a_cursor_return_only_newer_ones_oldest_first(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    me = conn.tokens.account_id
    sandbox.mention(NET, account=me, text="@chorusbrand first", author={"username": "ana"})
    sandbox.mention(NET, account=me, text="@chorusbrand second & more", author={"username": "ben"})
    page = await x.mentions(conn.tokens)
    assert [m.text for m in page.items] == ["@chorusbrand first", "@chorusbrand second & more"]
    assert page.items[1].author.username == "ben"
    assert page.items[0].url
    sandbox.mention(NET, account=me, text="@chorusbrand third")
    later = await x.mentions(conn.tokens, page.next_cursor)
    assert [m.text for m in later.items] == ["@chorusbrand third"]
    assert (await x.mentions(conn.tokens, later.next_cursor)).items == ()


async def test_a_thread_part_that_fails_reports_what_exists_and_resuming_finishes_it(
    x: XProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    publication = pub("1/ Origins", thread=(ThreadPart("2/ Ethiopia"), ThreadPart("3/ Brazil")))
    sandbox.fault(NET, "error", method="POST", path="^/2/tweets$", status=503, skip=1)
    with pytest.raises(TransientError) as caught:
        await x.publish(conn.tokens, publication)
    partial = caught.value.partial
    assert partial is not None
    assert partial.part_ids == ()
    done = await x.publish(conn.tokens, publication, resume=partial)
    assert done.platform_post_id == partial.platform_post_id
    assert len(done.part_ids) == 2
    assert created(sandbox, conn) == 3
