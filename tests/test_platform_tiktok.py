"""The TikTok provider against the sandbox's Login Kit and Content Posting API."""

from __future__ import annotations

import asyncio
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
    TransientError,
    UnknownOutcome,
    Unsupported,
)
from tools.platforms.tiktok import TikTokProvider

NET = "tiktok"
OPEN_ID = "-000OpenIdChorusBrand"
MB = 1024 * 1024


@pytest.fixture
async def tt() -> AsyncIterator[TikTokProvider]:
    provider = make_provider("tiktok", chunk_size=5 * MB)
    yield provider  # type: ignore[misc]
    await provider.aclose()


@pytest.fixture
async def conn(tt: TikTokProvider, sandbox: SandboxControl) -> Connection:
    return await connect(tt, sandbox)


def video(size: int = 3000) -> Media:
    return Media.from_bytes(mp4(size), "video/mp4", duration_seconds=20)


def pub(text: str, *media: Media, **kw: object) -> Publication:
    return Publication(text=text, key="post-2:tiktok", media=media or (video(),), **kw)  # type: ignore[arg-type]


def test_the_authorization_url_uses_client_key_and_comma_separated_scopes(
    tt: TikTokProvider,
) -> None:
    auth = tt.authorization_url("st-4", REDIRECT_URI)
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth.url).query).items()}
    assert query["client_key"] == "chorus-sandbox"
    assert "video.publish" in query["scope"].split(",")
    assert query["state"] == "st-4"
    assert not auth.uses_pkce


async def test_connecting_yields_tokens_and_the_creators_profile(conn: Connection) -> None:
    assert conn.tokens.account_id == OPEN_ID
    assert conn.user.username == "chorus.coffee"
    assert conn.user.follower_count == 15200
    assert conn.tokens.expires_at is not None
    assert conn.tokens.expires_at < datetime.now(UTC) + timedelta(hours=25)
    assert "video.publish" in conn.tokens.scopes


async def test_refresh_rotates_the_refresh_token_and_the_old_one_is_refused(
    tt: TikTokProvider, conn: Connection
) -> None:
    fresh = await tt.refresh(conn.tokens)
    assert fresh.refresh_token != conn.tokens.refresh_token
    assert fresh.account_id == OPEN_ID
    with pytest.raises(NeedsReconnect, match="Refresh token is invalid or expired"):
        await tt.refresh(conn.tokens)


async def test_an_invalid_access_token_is_tiktoks_access_token_invalid(
    tt: TikTokProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.expire(NET, token=conn.tokens.access_token)
    with pytest.raises(AccessTokenExpired) as caught:
        await tt.account_metrics(conn.tokens)
    assert caught.value.code == "access_token_invalid"


async def test_a_small_video_is_uploaded_in_one_chunk_and_waited_for(
    tt: TikTokProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await tt.publish(conn.tokens, pub("Pour-over in 20 s #coffee"))
    assert done.extra["publish_id"].startswith("v_pub_file~")
    assert done.url
    assert done.platform_post_id in done.url
    [post] = sandbox.posts(NET)
    assert post["id"] == done.platform_post_id
    assert post["text"] == "Pour-over in 20 s #coffee"


async def test_a_large_video_is_uploaded_in_chunks_the_last_taking_the_remainder(
    tt: TikTokProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    big = video(12 * MB + 123)  # 5 MB, then 7 MB + 123 bytes
    await tt.publish(conn.tokens, pub("Long cut", big))
    [post] = sandbox.posts(NET)
    assert post["media"] == [{"type": "video/mp4"}]


async def test_photos_are_pulled_from_public_urls(
    tt: TikTokProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    urls = [sandbox.put_file(f"p{i}.jpg", jpeg(), "image/jpeg") for i in range(2)]
    photos = tuple(Media.from_bytes(jpeg(), "image/jpeg", public_url=u) for u in urls)
    await tt.publish(conn.tokens, pub("Two photos", *photos, title="Our shop"))
    [post] = sandbox.posts(NET)
    assert post["title"] == "Our shop"
    assert len(post["media"]) == 2


async def test_a_privacy_level_the_creator_does_not_offer_is_refused_before_upload(
    tt: TikTokProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    with pytest.raises(PermanentError, match="not offered"):
        await tt.publish(conn.tokens, pub("Hidden", options={"privacy_level": "FOLLOWERS_ONLY"}))
    assert sandbox.posts(NET) == []


async def test_a_private_post_has_no_public_id_and_is_known_by_its_publish_id(
    tt: TikTokProvider, conn: Connection
) -> None:
    done = await tt.publish(conn.tokens, pub("Just me", options={"privacy_level": "SELF_ONLY"}))
    assert done.platform_post_id == done.extra["publish_id"]
    assert done.url is None


async def test_a_video_tiktok_cannot_read_fails_with_its_reason(
    tt: TikTokProvider, conn: Connection
) -> None:
    broken = Media.from_bytes(b"\x00" * 900, "video/mp4", duration_seconds=5)
    with pytest.raises(PermanentError, match="file_format_check_failed"):
        await tt.publish(conn.tokens, pub("Broken", broken))


async def test_a_dropped_last_chunk_is_an_unknown_outcome_and_the_post_is_then_found(
    tt: TikTokProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    publication = pub("Night roast")
    sandbox.fault(NET, "drop", method="PUT", path=r"^/upload/video/$")
    with pytest.raises(UnknownOutcome):
        await tt.publish(conn.tokens, publication)
    found = None
    for _ in range(40):  # TikTok finishes processing on its own, a moment later
        found = await tt.find_published(conn.tokens, publication, since)
        if found is not None:
            break
        await asyncio.sleep(0.05)
    assert found is not None
    assert sandbox.created(NET)[OPEN_ID] == 1


async def test_an_interrupted_middle_chunk_is_only_transient(
    tt: TikTokProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.fault(NET, "error", method="PUT", path=r"^/upload/video/$", status=503)
    with pytest.raises(TransientError):
        await tt.publish(conn.tokens, pub("Retry me", video(11 * MB)))
    assert sandbox.posts(NET) == []


async def test_rate_limit_exceeded_is_rate_limited(
    tt: TikTokProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.fault(NET, "rate_limit", path=r"video/init/$")
    with pytest.raises(RateLimited) as caught:
        await tt.publish(conn.tokens, pub("Busy"))
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.retry_after_seconds == 60


async def test_delete_and_mentions_are_unsupported_on_tiktok(
    tt: TikTokProvider, conn: Connection
) -> None:
    with pytest.raises(Unsupported):
        await tt.delete(conn.tokens, "123")
    with pytest.raises(Unsupported):
        await tt.mentions(conn.tokens)
    assert "delete" not in tt.capabilities


async def test_video_and_account_metrics(
    tt: TikTokProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await tt.publish(conn.tokens, pub("Count"))
    sandbox.bump(
        NET, done.platform_post_id, view_count=5000, like_count=300, comment_count=12, share_count=8
    )
    m = (await tt.post_metrics(conn.tokens, [done.platform_post_id]))[done.platform_post_id]
    assert (m.video_views, m.likes, m.comments, m.shares) == (5000, 300, 12, 8)
    account = await tt.account_metrics(conn.tokens)
    assert (account.followers, account.following, account.posts) == (15200, 31, 1)
