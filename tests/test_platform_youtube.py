"""The YouTube provider against the sandbox's Google OAuth and YouTube Data API v3."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sandbox_support import (  # noqa: F401 - sandbox_fixture is a fixture
    REDIRECT_URI,
    connect,
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
    UnknownOutcome,
    new_pkce,
)
from tools.platforms.youtube import YouTubeProvider

NET = "google"
CHANNEL = "UCchorusBrand000000000001"
KIB = 1024


@pytest.fixture
async def yt() -> AsyncIterator[YouTubeProvider]:
    provider = make_provider("youtube", chunk_size=256 * KIB)
    yield provider  # type: ignore[misc]
    await provider.aclose()


@pytest.fixture
async def conn(yt: YouTubeProvider, sandbox: SandboxControl) -> Connection:
    return await connect(yt, sandbox)


def clip(size: int = 600 * KIB) -> Media:
    return Media.from_bytes(mp4(size), "video/mp4", duration_seconds=42)


def pub(text: str, **kw: object) -> Publication:
    kw.setdefault("media", (clip(),))
    return Publication(text=text, key="post-4:youtube", **kw)  # type: ignore[arg-type]


def videos(sandbox: SandboxControl) -> list[dict[str, object]]:
    return [p for p in sandbox.posts(NET) if p["kind"] == "post"]


def test_the_authorization_url_asks_for_offline_access_with_pkce(yt: YouTubeProvider) -> None:
    pkce = new_pkce()
    auth = yt.authorization_url("st-5", REDIRECT_URI, pkce.challenge)
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth.url).query).items()}
    assert query["access_type"] == "offline"
    assert query["code_challenge"] == pkce.challenge
    assert query["code_challenge_method"] == "S256"
    assert "https://www.googleapis.com/auth/youtube.upload" in query["scope"].split()
    assert auth.uses_pkce


async def test_connecting_yields_the_channel(conn: Connection) -> None:
    assert conn.tokens.account_id == CHANNEL
    assert conn.user.kind == "channel"
    assert conn.user.username == "@chorusbrand"
    assert conn.user.follower_count == 8800
    assert conn.tokens.refresh_token


async def test_a_code_redeemed_without_its_verifier_is_refused(
    yt: YouTubeProvider, sandbox: SandboxControl
) -> None:
    result = sandbox.consent(yt.authorization_url("s", REDIRECT_URI, new_pkce().challenge).url)
    with pytest.raises(PermanentError, match="code_verifier"):
        await yt.exchange_code(result.code or "", REDIRECT_URI, None)


async def test_refresh_keeps_the_refresh_token_and_invalid_grant_needs_a_reconnect(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    fresh = await yt.refresh(conn.tokens)
    assert fresh.refresh_token == conn.tokens.refresh_token
    assert fresh.account_id == CHANNEL
    await yt.revoke(conn.tokens)
    with pytest.raises(NeedsReconnect) as caught:
        await yt.refresh(fresh)
    assert caught.value.code == "invalid_grant"
    assert caught.value.reason == "Token has been expired or revoked."


async def test_an_expired_access_token_is_googles_auth_error(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.expire(NET, token=conn.tokens.access_token)
    with pytest.raises(AccessTokenExpired) as caught:
        await yt.account_metrics(conn.tokens)
    assert caught.value.code == "authError"


async def test_a_video_is_uploaded_through_a_resumable_session_in_256_kib_chunks(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await yt.publish(conn.tokens, pub("How we roast, in 42 seconds", title="Roasting 101"))
    assert done.url
    assert done.url.endswith(f"watch?v={done.platform_post_id}")
    [video] = videos(sandbox)
    assert video["title"] == "Roasting 101"
    assert video["text"] == "How we roast, in 42 seconds"


async def test_without_a_title_the_first_line_of_the_text_becomes_one(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    await yt.publish(conn.tokens, pub("Latte art basics, step by step\nA longer description"))
    [video] = videos(sandbox)
    assert video["title"] == "Latte art basics, step by step"


async def test_angle_brackets_youtube_refuses_are_caught_before_any_call(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    with pytest.raises(PermanentError, match="<"):
        await yt.publish(conn.tokens, pub("Latte <art>"))
    assert videos(sandbox) == []


async def test_a_post_without_a_video_is_refused_before_any_call(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    with pytest.raises(PermanentError):
        await yt.publish(conn.tokens, pub("Words only", media=()))
    assert videos(sandbox) == []


async def test_a_lost_answer_to_the_last_chunk_is_recovered_from_the_session_without_a_second_video(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.fault(NET, "drop", method="PUT", path=r"/upload/youtube/v3/videos$", count=1)
    one_chunk = clip(100 * KIB)  # so the dropped PUT is the last one, the one that makes the video
    done = await yt.publish(conn.tokens, pub("Recovered", media=(one_chunk,)))
    assert [v["id"] for v in videos(sandbox)] == [done.platform_post_id]


async def test_a_lost_middle_chunk_is_sent_again(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.fault(NET, "error", method="PUT", path=r"/upload/youtube/v3/videos$", status=503)
    await yt.publish(conn.tokens, pub("Bumpy upload"))
    [video] = videos(sandbox)
    assert video["text"] == "Bumpy upload"


async def test_when_even_the_session_cannot_answer_find_published_finds_the_video(
    sandbox: SandboxControl, conn: Connection
) -> None:
    quick = make_provider("youtube", chunk_size=256 * KIB, timeout=0.4, upload_timeout=0.4)
    try:
        since = datetime.now(UTC) - timedelta(seconds=2)
        publication = pub("Uncertain upload", media=(clip(100 * KIB),), first_comment="Links below")
        sandbox.fault(
            NET, "timeout", method="PUT", path=r"/upload/youtube/v3/videos$", count=2, delay=1.0
        )
        with pytest.raises(UnknownOutcome):
            await quick.publish(conn.tokens, publication)
        found = await quick.find_published(conn.tokens, publication, since)
        assert found is not None
        assert found.first_comment_id is None
        done = await quick.publish(conn.tokens, publication, resume=found)
        assert done.first_comment_id
        assert len(videos(sandbox)) == 1
        assert sandbox.created(NET)[CHANNEL] == 2  # the video and its comment, each once
    finally:
        await quick.aclose()


async def test_the_first_comment_is_a_comment_thread_by_the_channel(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    publication = pub("Comment me", first_comment="Full recipe in the description")
    done = await yt.publish(conn.tokens, publication)
    comment = next(p for p in sandbox.posts(NET) if p["id"] == done.first_comment_id)
    assert comment["account"] == CHANNEL
    assert (
        await yt.find_published(conn.tokens, publication, datetime.now(UTC) - timedelta(minutes=1))
        == done
    )


async def test_an_exhausted_quota_waits_until_midnight_pacific(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.fault(
        NET, "rate_limit", method="POST", path=r"/upload/youtube/v3/videos$", retry_after=30
    )
    with pytest.raises(RateLimited) as caught:
        await yt.publish(conn.tokens, pub("Too many"))
    assert caught.value.code == "rateLimitExceeded"
    assert caught.value.retry_after_seconds == 30


async def test_an_invalid_video_is_a_permanent_error(yt: YouTubeProvider, conn: Connection) -> None:
    broken = Media.from_bytes(b"\x00" * 1000, "video/mp4", duration_seconds=3)
    with pytest.raises(PermanentError, match="could not be processed"):
        await yt.publish(conn.tokens, pub("Broken", media=(broken,)))


async def test_delete_removes_the_video(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await yt.publish(conn.tokens, pub("Short-lived"))
    await yt.delete(conn.tokens, done.platform_post_id)
    assert videos(sandbox)[0]["deleted"] is True


async def test_video_statistics_and_channel_metrics(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await yt.publish(conn.tokens, pub("Watch me"))
    sandbox.bump(NET, done.platform_post_id, viewCount=1200, likeCount=90, commentCount=4)
    m = (await yt.post_metrics(conn.tokens, [done.platform_post_id]))[done.platform_post_id]
    assert (m.video_views, m.likes, m.comments) == (1200, 90, 4)
    account = await yt.account_metrics(conn.tokens)
    assert (account.followers, account.posts) == (8800, 1)


async def test_mentions_are_comment_threads_by_others_after_the_cursor(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await yt.publish(conn.tokens, pub("Questions?", first_comment="Ask below"))
    sandbox.mention(
        NET, parent=done.platform_post_id, text="What grinder is that?", author={"name": "Sam"}
    )
    first = await yt.mentions(conn.tokens)
    assert [(m.author.display_name, m.text) for m in first.items] == [
        ("Sam", "What grinder is that?")
    ]
    assert first.items[0].parent_post_id == done.platform_post_id
    sandbox.mention(NET, parent=done.platform_post_id, text="And the beans?")
    later = await yt.mentions(conn.tokens, first.next_cursor)
    assert [m.text for m in later.items] == ["And the beans?"]


async def test_a_competitor_channel_is_looked_up_by_its_handle(
    yt: YouTubeProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.add_user(
        NET,
        username="@RivalRoasters",
        name="Rival Roasters",
        followers=51000,
        extra={"channel": "UCrival0000000000000000001"},
    )
    found = await yt.public_account(conn.tokens, "rivalroasters")
    assert found.profile.platform_id == "UCrival0000000000000000001"
    assert found.profile.display_name == "Rival Roasters"
    assert (found.metrics.followers, found.metrics.posts) == (51000, 0)
    with pytest.raises(PermanentError, match="no YouTube channel @nobody"):
        await yt.public_account(conn.tokens, "@nobody")


async def test_viewer_demographics_come_from_the_analytics_api(
    yt: YouTubeProvider, conn: Connection
) -> None:
    demographics = await yt.audience_demographics(conn.tokens)
    # viewerPercentage 20 + 15 (18-24), 25 + 30 (25-34), 10 (35-44, user_specified);
    # views 6,000 US, 3,000 DE, 1,000 JP.
    assert demographics == {
        "age": {"18-24": 0.35, "25-34": 0.55, "35-44": 0.1},
        "gender": {"female": 0.45, "male": 0.45, "user_specified": 0.1},
        "countries": {"DE": 0.3, "JP": 0.1, "US": 0.6},
    }
