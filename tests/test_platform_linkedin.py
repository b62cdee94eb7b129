"""The LinkedIn provider against the sandbox's versioned REST API: members and pages."""

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
from tools.platforms.linkedin import LinkedInProvider, escape, unescape

NET = "linkedin"
MEMBER = "urn:li:person:aB3xY9"
ORG = "urn:li:organization:98765"


@pytest.fixture
async def li() -> AsyncIterator[LinkedInProvider]:
    provider = make_provider("linkedin")
    yield provider  # type: ignore[misc]
    await provider.aclose()


@pytest.fixture
async def conn(li: LinkedInProvider, sandbox: SandboxControl) -> Connection:
    return await connect(li, sandbox)


@pytest.fixture
def member(conn: Connection) -> Account:
    return next(a for a in conn.accounts if a.profile.platform_id == MEMBER)


@pytest.fixture
def org(conn: Connection) -> Account:
    return next(a for a in conn.accounts if a.profile.platform_id == ORG)


def pub(text: str, **kw: object) -> Publication:
    return Publication(text=text, key="post-5:linkedin", **kw)  # type: ignore[arg-type]


def test_little_text_format_escapes_and_unescapes_markup_characters() -> None:
    text = "Q&A (live) #coffee @team [link] <b> a_b ~x* {y} |z \\"
    assert (
        escape(text)
        == "Q&A \\(live\\) \\#coffee \\@team \\[link\\] \\<b\\> a\\_b \\~x\\* \\{y\\} \\|z \\\\"
    )
    assert unescape(escape(text)) == text


def test_the_authorization_url_asks_for_member_and_organization_scopes(
    li: LinkedInProvider,
) -> None:
    auth = li.authorization_url("st-1", REDIRECT_URI)
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth.url).query).items()}
    assert query["state"] == "st-1"
    assert {"w_member_social", "w_organization_social"} <= set(query["scope"].split())
    assert not auth.uses_pkce


async def test_connecting_yields_the_member_and_the_pages_they_administer(conn: Connection) -> None:
    assert conn.user.display_name == "Lee Brand"
    assert [a.profile.platform_id for a in conn.accounts] == [MEMBER, ORG]
    page = conn.accounts[1].profile
    assert page.kind == "organization"
    assert page.follower_count == 2300
    assert page.username == "chorus-coffee"
    assert conn.tokens.refresh_token
    assert conn.tokens.refresh_expires_at is not None


async def test_denying_consent_comes_back_with_linkedins_error(
    li: LinkedInProvider, sandbox: SandboxControl
) -> None:
    result = sandbox.consent(li.authorization_url("s", REDIRECT_URI).url, allow=False)
    assert result.error == "user_cancelled_authorize"


async def test_refresh_keeps_the_same_refresh_token_and_a_revoked_one_needs_a_reconnect(
    li: LinkedInProvider, sandbox: SandboxControl, member: Account
) -> None:
    fresh = await li.refresh(member.tokens)
    assert fresh.access_token != member.tokens.access_token
    assert fresh.refresh_token == member.tokens.refresh_token  # LinkedIn does not rotate
    sandbox.revoke(NET, user=MEMBER)
    with pytest.raises(NeedsReconnect, match="refresh token is invalid, expired or revoked"):
        await li.refresh(fresh)


async def test_a_revoked_access_token_is_linkedins_revoked_access_token(
    li: LinkedInProvider, sandbox: SandboxControl, member: Account
) -> None:
    await li.revoke(member.tokens)
    with pytest.raises(NeedsReconnect) as caught:
        await li.publish(member.tokens, pub("Hi"))
    assert caught.value.code == "REVOKED_ACCESS_TOKEN"
    assert "revoked by the user" in caught.value.reason


async def test_an_expired_access_token_can_be_refreshed(
    li: LinkedInProvider, sandbox: SandboxControl, member: Account
) -> None:
    sandbox.expire(NET, token=member.tokens.access_token)
    with pytest.raises(AccessTokenExpired):
        await li.publish(member.tokens, pub("Hi"))
    fresh = await li.refresh(member.tokens)
    await li.publish(fresh, pub("Hi"))


async def test_a_member_post_is_escaped_and_its_urn_comes_from_the_restli_header(
    li: LinkedInProvider, sandbox: SandboxControl, member: Account
) -> None:
    text = "We're hiring (baristas) #jobs @ our café"
    done = await li.publish(member.tokens, pub(text))
    assert done.platform_post_id.startswith("urn:li:share:")
    assert done.url
    assert done.platform_post_id in done.url
    [post] = sandbox.posts(NET)
    assert post["text"] == escape(text)
    assert post["account"] == MEMBER


async def test_a_page_post_with_a_link_becomes_an_article(
    li: LinkedInProvider, sandbox: SandboxControl, org: Account
) -> None:
    await li.publish(
        org.tokens, pub("Read our story", link="https://example.com/story", title="Our story")
    )
    [post] = sandbox.posts(NET)
    assert post["account"] == ORG
    assert post["link"] == "https://example.com/story"


async def test_images_are_registered_uploaded_and_attached(
    li: LinkedInProvider, sandbox: SandboxControl, org: Account
) -> None:
    one = await li.publish(org.tokens, pub("One", media=(Media.from_bytes(png(), "image/png"),)))
    many = await li.publish(
        org.tokens,
        pub(
            "Many",
            media=tuple(Media.from_bytes(jpeg(), "image/jpeg", alt_text=f"#{i}") for i in range(3)),
        ),
    )
    posts = {p["id"]: p for p in sandbox.posts(NET)}
    assert len(posts[one.platform_post_id]["media"]) == 1
    assert [m["kind"] for m in posts[many.platform_post_id]["media"]] == ["image"] * 3


async def test_a_video_is_uploaded_in_parts_finalized_with_their_etags_and_waited_for(
    li: LinkedInProvider, sandbox: SandboxControl, org: Account
) -> None:
    video = Media.from_bytes(mp4(4000), "video/mp4", duration_seconds=30)
    done = await li.publish(org.tokens, pub("Behind the bar", media=(video,), title="Bar"))
    post = next(p for p in sandbox.posts(NET) if p["id"] == done.platform_post_id)
    assert post["media"][0]["kind"] == "video"
    assert post["title"] == "Bar"


async def test_a_video_linkedin_cannot_process_is_a_permanent_error(
    li: LinkedInProvider, org: Account
) -> None:
    with pytest.raises(PermanentError, match="not supported"):
        await li.publish(
            org.tokens,
            pub("Bad", media=(Media.from_bytes(b"\x01" * 3200, "video/mp4", duration_seconds=5),)),
        )


async def test_the_first_comment_is_made_as_the_author(
    li: LinkedInProvider, sandbox: SandboxControl, org: Account
) -> None:
    done = await li.publish(org.tokens, pub("Event tonight", first_comment="Tickets: example.com"))
    assert done.first_comment_id
    assert done.first_comment_id.startswith("urn:li:comment:(")
    comment = next(p for p in sandbox.posts(NET) if p["kind"] == "comment")
    assert comment["account"] == ORG
    assert comment["parent"] == done.platform_post_id


async def test_after_a_timeout_the_post_is_found_and_the_retry_adds_only_the_comment(
    sandbox: SandboxControl, org: Account
) -> None:
    quick = make_provider("linkedin", timeout=0.4)
    try:
        since = datetime.now(UTC) - timedelta(seconds=2)
        publication = pub("Autumn menu (new!)", first_comment="Pumpkin #latte")
        sandbox.fault(NET, "timeout", method="POST", path=r"/rest/posts$", delay=1.5)
        with pytest.raises(UnknownOutcome):
            await quick.publish(org.tokens, publication)
        found = await quick.find_published(org.tokens, publication, since)
        assert found is not None
        done = await quick.publish(org.tokens, publication, resume=found)
        assert done.is_complete(publication)
        assert sandbox.created(NET)[ORG] == 2
    finally:
        await quick.aclose()


async def test_a_duplicate_post_is_refused_as_permanent(
    li: LinkedInProvider, member: Account
) -> None:
    await li.publish(member.tokens, pub("Same"))
    with pytest.raises(PermanentError, match="duplicate of urn:li:share:"):
        await li.publish(member.tokens, pub("Same"))


async def test_a_daily_throttle_waits_until_midnight_utc(
    li: LinkedInProvider, sandbox: SandboxControl, member: Account
) -> None:
    sandbox.fault(NET, "rate_limit", path=r"/rest/posts$")
    with pytest.raises(RateLimited) as caught:
        await li.publish(member.tokens, pub("Quota"))
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert abs(caught.value.retry_after_seconds - (midnight - now).total_seconds()) < 5


async def test_a_server_error_is_transient(
    li: LinkedInProvider, sandbox: SandboxControl, member: Account
) -> None:
    sandbox.fault(NET, "error", path=r"/rest/posts$", status=500)
    with pytest.raises(TransientError):
        await li.publish(member.tokens, pub("Later"))


async def test_delete_removes_the_post(
    li: LinkedInProvider, sandbox: SandboxControl, member: Account
) -> None:
    done = await li.publish(member.tokens, pub("Bye"))
    await li.delete(member.tokens, done.platform_post_id)
    assert sandbox.posts(NET)[0]["deleted"] is True


async def test_page_post_statistics_and_follower_counts(
    li: LinkedInProvider, sandbox: SandboxControl, org: Account, member: Account
) -> None:
    done = await li.publish(org.tokens, pub("Stats"))
    sandbox.bump(
        NET,
        done.platform_post_id,
        impressionCount=900,
        uniqueImpressionsCount=600,
        likeCount=25,
        clickCount=14,
        shareCount=3,
    )
    sandbox.mention(NET, parent=done.platform_post_id, text="Great")
    m = (await li.post_metrics(org.tokens, [done.platform_post_id]))[done.platform_post_id]
    assert (m.impressions, m.reach, m.likes, m.clicks, m.shares, m.comments) == (
        900,
        600,
        25,
        14,
        3,
        1,
    )
    account = await li.account_metrics(org.tokens)
    assert (account.followers, account.impressions) == (2300, 900)
    assert (await li.account_metrics(member.tokens)).followers == 420


async def test_member_post_metrics_are_likes_and_comments(
    li: LinkedInProvider, sandbox: SandboxControl, member: Account
) -> None:
    done = await li.publish(member.tokens, pub("Mine"))
    sandbox.bump(NET, done.platform_post_id, likes=7)
    m = (await li.post_metrics(member.tokens, [done.platform_post_id]))[done.platform_post_id]
    assert (m.likes, m.comments, m.impressions) == (7, 0, None)


async def test_mentions_are_comments_by_others_after_the_cursor(
    li: LinkedInProvider, sandbox: SandboxControl, org: Account
) -> None:
    done = await li.publish(org.tokens, pub("Ask", first_comment="Our answer"))
    sandbox.mention(
        NET,
        parent=done.platform_post_id,
        text="When do you open?",
        author={"id": "urn:li:person:zz1"},
    )
    first = await li.mentions(org.tokens)
    assert [(m.author.platform_id, m.text) for m in first.items] == [
        ("urn:li:person:zz1", "When do you open?")
    ]
    assert (await li.mentions(org.tokens, first.next_cursor)).items == ()


async def test_rest_calls_carry_the_version_headers_linkedin_requires(
    sandbox: SandboxControl, member: Account
) -> None:
    response = sandbox.http.get(
        "/linkedin/api/rest/memberFollowersCount",
        params={"q": "me"},
        headers={"Authorization": f"Bearer {member.tokens.access_token}"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "VERSION_MISSING"


async def test_page_follower_statistics_are_shares_and_a_member_has_none(
    li: LinkedInProvider, org: Account, member: Account
) -> None:
    demographics = await li.audience_demographics(org.tokens)
    # 2,300 followers: 1,400 organic + 100 paid in the US, 800 in the UK; no functions.
    assert demographics == {
        "countries": {"urn:li:geo:101165590": 0.34783, "urn:li:geo:103644278": 0.65217},
        "industries": {"urn:li:industry:34": 0.5, "urn:li:industry:4": 0.5},
        "seniorities": {"urn:li:seniority:3": 0.75, "urn:li:seniority:6": 0.25},
    }
    with pytest.raises(Unsupported):
        await li.audience_demographics(member.tokens)
