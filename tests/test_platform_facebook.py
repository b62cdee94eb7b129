"""The Facebook Pages provider against the sandbox's Graph API."""

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
    png,
    sandbox_fixture,
)

from sandbox.client import SandboxControl
from tools.platforms import (
    AccessTokenExpired,
    Account,
    Media,
    NeedsReconnect,
    PermanentError,
    Publication,
    RateLimited,
    TransientError,
    UnknownOutcome,
)
from tools.platforms.facebook import FacebookProvider

NET = "meta"
PAGE = "20001"


@pytest.fixture
async def fb() -> AsyncIterator[FacebookProvider]:
    provider = make_provider("facebook")
    yield provider  # type: ignore[misc]
    await provider.aclose()


@pytest.fixture
async def page(fb: FacebookProvider, sandbox: SandboxControl) -> Account:
    conn = await connect(fb, sandbox)
    return next(a for a in conn.accounts if a.profile.platform_id == PAGE)


def pub(text: str, **kw: object) -> Publication:
    return Publication(text=text, key="post-7:facebook", **kw)  # type: ignore[arg-type]


def test_the_authorization_url_asks_for_page_scopes_with_our_state(fb: FacebookProvider) -> None:
    auth = fb.authorization_url("st-9", REDIRECT_URI)
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth.url).query).items()}
    assert query["state"] == "st-9"
    assert "pages_manage_posts" in query["scope"].split(",")
    assert query["redirect_uri"] == REDIRECT_URI
    assert not auth.uses_pkce
    assert "code_challenge" not in query


async def test_connecting_yields_every_page_the_user_manages_with_its_page_token(
    fb: FacebookProvider, sandbox: SandboxControl
) -> None:
    conn = await connect(fb, sandbox)
    assert conn.user.display_name == "Dana Brand"
    assert {a.profile.platform_id for a in conn.accounts} == {"20001", "20002"}
    account = next(a for a in conn.accounts if a.profile.platform_id == PAGE)
    assert account.profile.kind == "page"
    assert account.profile.follower_count == 5400
    assert account.tokens.account_id == PAGE
    assert account.tokens.expires_at is None  # Page tokens from a long-lived user token
    assert account.tokens.refresh_token == conn.tokens.access_token
    assert conn.tokens.expires_at is not None
    assert conn.tokens.expires_at > datetime.now(UTC) + timedelta(days=50)


async def test_denying_consent_redirects_back_with_access_denied(
    fb: FacebookProvider, sandbox: SandboxControl
) -> None:
    result = sandbox.consent(fb.authorization_url("s", REDIRECT_URI).url, allow=False)
    assert result.error == "access_denied"
    assert result.state == "s"


async def test_refresh_renews_the_user_token_and_fetches_a_working_page_token(
    fb: FacebookProvider, page: Account
) -> None:
    fresh = await fb.refresh(page.tokens)
    assert fresh.access_token != page.tokens.access_token
    assert fresh.refresh_token != page.tokens.refresh_token
    assert fresh.account_id == PAGE
    assert (await fb.account_metrics(fresh)).followers == 5400


async def test_a_refresh_after_the_user_invalidated_the_session_needs_a_reconnect(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    sandbox.revoke(NET, user="10001")
    with pytest.raises(NeedsReconnect) as caught:
        await fb.refresh(page.tokens)
    assert "changed their password" in caught.value.reason
    assert caught.value.code == "190/460"


async def test_an_expired_token_is_code_190_subcode_463(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    sandbox.expire(NET, token=page.tokens.access_token)
    with pytest.raises(AccessTokenExpired, match="Session has expired"):
        await fb.publish(page.tokens, pub("Hello"))


async def test_a_text_post_with_a_link_goes_to_the_page_feed(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    done = await fb.publish(page.tokens, pub("Open late tonight", link="https://example.com"))
    assert done.platform_post_id.startswith(f"{PAGE}_")
    assert done.url
    [post] = sandbox.posts(NET)
    assert post["link"] == "https://example.com"
    assert post["text"] == "Open late tonight"


async def test_one_photo_is_published_with_its_caption(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    done = await fb.publish(
        page.tokens, pub("Latte art", media=(Media.from_bytes(png(), "image/png"),))
    )
    assert "photo_id" in done.extra
    post = next(p for p in sandbox.posts(NET) if p["id"] == done.platform_post_id)
    assert post["media"][0]["type"] == "image/png"


async def test_several_photos_are_uploaded_unpublished_then_attached_to_one_post(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    photos = tuple(Media.from_bytes(jpeg(), "image/jpeg") for _ in range(3))
    done = await fb.publish(page.tokens, pub("Three views of the shop", media=photos))
    post = next(p for p in sandbox.posts(NET) if p["id"] == done.platform_post_id)
    assert len(post["media"]) == 3
    assert sandbox.created(NET)[PAGE] == 1


async def test_a_video_goes_through_the_resumable_upload_in_several_transfers(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    video = Media.from_bytes(mp4(3000), "video/mp4", duration_seconds=20)
    done = await fb.publish(
        page.tokens, pub("A day at the roastery", media=(video,), title="Roastery")
    )
    assert done.extra["video_id"]
    post = next(p for p in sandbox.posts(NET) if p["id"] == done.platform_post_id)
    assert post["title"] == "Roastery"
    assert post["media"][0]["video_id"] == done.extra["video_id"]


async def test_a_video_facebook_cannot_process_is_a_permanent_error(
    fb: FacebookProvider, page: Account
) -> None:
    broken = Media.from_bytes(b"\x00" * 2000, "video/mp4")
    with pytest.raises(PermanentError, match="format that we don't support"):
        await fb.publish(page.tokens, pub("Broken", media=(broken,)))


async def test_the_first_comment_is_made_by_the_page_under_the_post(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    done = await fb.publish(page.tokens, pub("Menu is out", first_comment="Full menu: example.com"))
    comment = next(p for p in sandbox.posts(NET) if p["id"] == done.first_comment_id)
    assert comment["parent"] == done.platform_post_id
    assert comment["account"] == PAGE


async def test_after_a_dropped_connection_find_published_finds_the_post_and_the_retry_only_comments(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    publication = pub("Grand opening", first_comment="See you there")
    sandbox.fault(NET, "drop", method="POST", path=r"/feed$")
    with pytest.raises(UnknownOutcome):
        await fb.publish(page.tokens, publication)
    found = await fb.find_published(page.tokens, publication, since)
    assert found is not None
    assert found.first_comment_id is None
    done = await fb.publish(page.tokens, publication, resume=found)
    assert done.first_comment_id
    assert sandbox.created(NET)[PAGE] == 2  # the post and its comment, each once
    assert await fb.find_published(page.tokens, publication, since) == done


async def test_find_published_is_none_for_a_post_never_made(
    fb: FacebookProvider, page: Account
) -> None:
    assert await fb.find_published(page.tokens, pub("Never"), datetime.now(UTC)) is None


async def test_a_duplicate_status_is_a_permanent_error(fb: FacebookProvider, page: Account) -> None:
    await fb.publish(page.tokens, pub("Same again"))
    with pytest.raises(PermanentError, match="Duplicate status message"):
        await fb.publish(page.tokens, pub("Same again"))


async def test_a_page_rate_limit_waits_the_time_meta_says_to_regain_access(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    sandbox.fault(NET, "rate_limit", path=r"/feed$", retry_after=180)
    with pytest.raises(RateLimited) as caught:
        await fb.publish(page.tokens, pub("Busy"))
    assert caught.value.retry_after_seconds == 180
    assert caught.value.code == "32"


async def test_a_transient_graph_error_is_transient(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    sandbox.fault(NET, "error", path=r"/feed$", status=503)
    with pytest.raises(TransientError, match="retry your request later"):
        await fb.publish(page.tokens, pub("Later"))


async def test_delete_removes_the_post(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    done = await fb.publish(page.tokens, pub("Oops"))
    await fb.delete(page.tokens, done.platform_post_id)
    assert next(p for p in sandbox.posts(NET) if p["id"] == done.platform_post_id)["deleted"]


async def test_post_and_page_metrics_come_from_insights(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    done = await fb.publish(page.tokens, pub("Count me"))
    sandbox.bump(
        NET,
        done.platform_post_id,
        post_impressions=500,
        post_impressions_unique=320,
        post_clicks=12,
        reactions=30,
        shares=4,
    )
    sandbox.mention(NET, account=PAGE, parent=done.platform_post_id, text="Love it")
    m = (await fb.post_metrics(page.tokens, [done.platform_post_id]))[done.platform_post_id]
    assert (m.impressions, m.reach, m.clicks, m.likes, m.shares, m.comments) == (
        500,
        320,
        12,
        30,
        4,
        1,
    )
    account = await fb.account_metrics(page.tokens)
    assert (account.followers, account.impressions, account.reach) == (5400, 12000, 8000)


async def test_mentions_are_comments_by_others_and_tags_newer_than_the_cursor(
    fb: FacebookProvider, sandbox: SandboxControl, page: Account
) -> None:
    done = await fb.publish(page.tokens, pub("Ask us anything", first_comment="We reply fast"))
    sandbox.mention(NET, account=PAGE, parent=done.platform_post_id, text="Opening hours?")
    sandbox.mention(NET, account=PAGE, text="Great coffee at Chorus Coffee", author={"name": "Eve"})
    first = await fb.mentions(page.tokens)
    assert [(m.kind, m.text) for m in first.items] == [
        ("comment", "Opening hours?"),
        ("mention", "Great coffee at Chorus Coffee"),
    ]
    assert first.items[0].parent_post_id == done.platform_post_id
    assert first.items[1].author.display_name == "Eve"
    sandbox.mention(NET, account=PAGE, parent=done.platform_post_id, text="And on Sunday?")
    later = await fb.mentions(page.tokens, first.next_cursor)
    assert [m.text for m in later.items] == ["And on Sunday?"]


async def test_revoking_removes_the_apps_permissions(fb: FacebookProvider, page: Account) -> None:
    await fb.revoke(page.tokens)
    with pytest.raises(NeedsReconnect):
        await fb.account_metrics(page.tokens)


async def test_page_audience_demographics_are_shares_of_fans_by_age_gender_and_country(
    fb: FacebookProvider, page: Account
) -> None:
    demographics = await fb.audience_demographics(page.tokens)
    # The sandbox Page: 1,300 F.18-24, 1,300 F.25-34, 2,080 M.25-34, 520 U.35-44; 3,900 US,
    # 1,300 CA (5,200 fans).
    assert demographics == {
        "age": {"18-24": 0.25, "25-34": 0.65, "35-44": 0.1},
        "gender": {"female": 0.5, "male": 0.4, "unknown": 0.1},
        "countries": {"CA": 0.25, "US": 0.75},
    }
