"""The Bluesky provider against the sandbox's XRPC subset (the real PDS is exercised in
test_platform_bluesky_pds.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sandbox_support import (  # noqa: F401 - sandbox_fixture is a fixture
    jpeg,
    make_provider,
    png,
    sandbox_fixture,
)

import sandbox.bluesky as sandbox_bluesky
from sandbox.bluesky import APP_PASSWORD, DID, HANDLE
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
    Unsupported,
)
from tools.platforms.bluesky import BlueskyProvider, facets_for

NET = "bluesky"


@pytest.fixture
async def bsky() -> AsyncIterator[BlueskyProvider]:
    provider = make_provider("bluesky")
    yield provider  # type: ignore[misc]
    await provider.aclose()


@pytest.fixture
async def conn(bsky: BlueskyProvider, sandbox: SandboxControl) -> Connection:
    return await bsky.login(HANDLE, APP_PASSWORD)


def pub(text: str, **kw: object) -> Publication:
    return Publication(text=text, key="post-9:bluesky", **kw)  # type: ignore[arg-type]


def records(sandbox: SandboxControl) -> dict[str, dict[str, object]]:
    return {p["id"]: p for p in sandbox.posts(NET)}  # type: ignore[misc]


def test_facets_use_utf8_byte_offsets_for_links_mentions_and_tags() -> None:
    text = "Café ☕ news at https://example.com/x. Thanks @ana.bsky.social #Coffee!"
    facets = facets_for(text, {"ana.bsky.social": "did:plc:ana"})
    data = text.encode()
    spans = [data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in facets]
    assert spans == ["https://example.com/x", "@ana.bsky.social", "#Coffee"]
    assert facets[1]["features"][0] == {
        "$type": "app.bsky.richtext.facet#mention",
        "did": "did:plc:ana",
    }
    assert facets[2]["features"][0]["tag"] == "Coffee"


async def test_logging_in_with_an_app_password_yields_jwt_tokens_and_the_profile(
    bsky: BlueskyProvider, sandbox: SandboxControl
) -> None:
    assert bsky.auth_kind == "app_password"
    conn = await bsky.login(f"@{HANDLE}", APP_PASSWORD)
    assert conn.tokens.account_id == DID
    assert conn.user.username == HANDLE
    assert conn.user.follower_count == 640
    assert conn.tokens.expires_at is not None
    assert conn.tokens.expires_at < datetime.now(UTC) + timedelta(hours=3)
    assert conn.tokens.extra["pds"] == f"{sandbox.base_url}/bluesky"


async def test_a_wrong_app_password_is_refused_with_the_pds_message(
    bsky: BlueskyProvider, sandbox: SandboxControl
) -> None:
    with pytest.raises(PermanentError, match="Invalid identifier or password"):
        await bsky.login(HANDLE, "wrong-pass-word-here")


def test_there_is_no_consent_page_for_app_passwords(bsky: BlueskyProvider) -> None:
    with pytest.raises(Unsupported):
        bsky.authorization_url("s", "https://chorus.test/cb", None)


async def test_refresh_rotates_and_a_used_refresh_jwt_needs_a_reconnect(
    bsky: BlueskyProvider, conn: Connection
) -> None:
    fresh = await bsky.refresh(conn.tokens)
    assert fresh.refresh_token != conn.tokens.refresh_token
    assert fresh.extra["handle"] == HANDLE
    with pytest.raises(NeedsReconnect) as caught:
        await bsky.refresh(conn.tokens)
    assert caught.value.code == "ExpiredToken"
    assert caught.value.reason == "Token has been revoked"


async def test_an_expired_access_jwt_is_expired_and_a_refresh_recovers(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.expire(NET, token=conn.tokens.access_token)
    with pytest.raises(AccessTokenExpired, match="Token has expired"):
        await bsky.publish(conn.tokens, pub("hi"))
    await bsky.publish(await bsky.refresh(conn.tokens), pub("hi"))


async def test_revoking_deletes_the_session(bsky: BlueskyProvider, conn: Connection) -> None:
    await bsky.revoke(conn.tokens)
    with pytest.raises(NeedsReconnect):
        await bsky.refresh(conn.tokens)


async def test_a_post_carries_facets_and_a_link_card(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.mention(NET, account=DID, text="hello", author={"handle": "ana.bsky.social"})
    text = "New roast with @ana.bsky.social #coffee https://example.com/roast"
    done = await bsky.publish(conn.tokens, pub(text, link="https://example.com/roast"))
    assert done.platform_post_id.startswith(f"at://{DID}/app.bsky.feed.post/")
    assert done.url
    assert done.url.endswith(done.platform_post_id.rsplit("/", 1)[-1])
    record = records(sandbox)[done.platform_post_id]["record"]
    kinds = [f["features"][0]["$type"].rsplit("#", 1)[-1] for f in record["facets"]]  # type: ignore[index]
    assert kinds == ["mention", "tag", "link"]
    assert record["embed"]["external"]["uri"] == "https://example.com/roast"  # type: ignore[index]


async def test_images_are_uploaded_as_blobs_and_embedded_with_their_alt_text(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    images = (
        Media.from_bytes(jpeg(), "image/jpeg", alt_text="cup"),
        Media.from_bytes(png(), "image/png"),
    )
    done = await bsky.publish(conn.tokens, pub("Two cups", media=images))
    embed = records(sandbox)[done.platform_post_id]["record"]["embed"]  # type: ignore[index]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in embed["images"]] == ["cup", ""]


async def test_an_image_over_the_lexicons_million_bytes_is_refused_before_upload(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    with pytest.raises(PermanentError, match="1000000"):
        await bsky.publish(
            conn.tokens, pub("Huge", media=(Media.from_bytes(jpeg(1_000_001), "image/jpeg"),))
        )
    assert sandbox.posts(NET) == []


async def test_text_is_limited_by_graphemes_and_by_bytes(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    await bsky.publish(conn.tokens, pub("é" * 300))  # 300 graphemes, 600 bytes: fine
    with pytest.raises(PermanentError, match="301"):
        await bsky.publish(conn.tokens, pub("a" * 301))
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one grapheme, 25 bytes
    with pytest.raises(PermanentError, match="3000 bytes"):
        await bsky.publish(conn.tokens, pub(family * 200))
    assert len(sandbox.posts(NET)) == 1


async def test_a_thread_and_a_first_comment_reply_with_root_and_parent_refs(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    publication = pub(
        "1/ Roasting", thread=(ThreadPart("2/ Cooling"),), first_comment="Shop link soon"
    )
    done = await bsky.publish(conn.tokens, publication)
    posts = records(sandbox)
    part = posts[done.part_ids[0]]["record"]["reply"]  # type: ignore[index]
    assert part["root"]["uri"] == done.platform_post_id
    assert part["parent"]["uri"] == done.platform_post_id
    comment = posts[done.first_comment_id or ""]["record"]["reply"]  # type: ignore[index]
    assert comment["parent"]["uri"] == done.platform_post_id
    assert done.is_complete(publication)


async def test_after_a_dropped_create_the_post_is_found_and_the_thread_finished_once(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    publication = pub("Big news", thread=(ThreadPart("More below"),))
    sandbox.fault(NET, "drop", method="POST", path=r"createRecord$")
    with pytest.raises(UnknownOutcome):
        await bsky.publish(conn.tokens, publication)
    found = await bsky.find_published(conn.tokens, publication, since)
    assert found is not None
    assert found.part_ids == ()
    assert found.extra["cid"]
    done = await bsky.publish(conn.tokens, publication, resume=found)
    assert done.is_complete(publication)
    assert sandbox.created(NET)[DID] == 2


async def test_a_rate_limit_waits_until_ratelimit_reset(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.fault(NET, "rate_limit", path=r"createRecord$", retry_after=90)
    with pytest.raises(RateLimited) as caught:
        await bsky.publish(conn.tokens, pub("Slow down"))
    assert 85 <= caught.value.retry_after_seconds <= 91


async def test_a_server_error_is_transient(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    sandbox.fault(NET, "error", path=r"createRecord$", status=500)
    with pytest.raises(TransientError):
        await bsky.publish(conn.tokens, pub("Oops"))


async def test_delete_removes_the_record(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await bsky.publish(conn.tokens, pub("Temporary"))
    await bsky.delete(conn.tokens, done.platform_post_id)
    assert records(sandbox)[done.platform_post_id]["deleted"] is True


async def test_post_and_account_metrics_come_from_the_appview(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await bsky.publish(conn.tokens, pub("Like me"))
    sandbox.bump(NET, done.platform_post_id, likeCount=12, repostCount=3, quoteCount=1)
    sandbox.mention(NET, parent=done.platform_post_id, text="Liked it")
    m = (await bsky.post_metrics(conn.tokens, [done.platform_post_id]))[done.platform_post_id]
    assert (m.likes, m.shares, m.comments) == (12, 4, 1)
    account = await bsky.account_metrics(conn.tokens)
    assert (account.followers, account.following, account.posts) == (640, 120, 1)


async def test_mentions_in_one_millisecond_keep_the_servers_order(
    bsky: BlueskyProvider,
    sandbox: SandboxControl,
    conn: Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # indexedAt is to the millisecond; the server lists newest first by its own finer clock,
    # which is all that orders mentions made within one millisecond.
    start = datetime.now(UTC).replace(microsecond=100_000)
    ticks = (start + timedelta(microseconds=10 * n) for n in range(1000))
    monkeypatch.setattr(sandbox_bluesky, "now", lambda: next(ticks))
    for who in ("ann", "bo", "cy"):
        sandbox.mention(
            NET, account=DID, text=f"hi from {who}", author={"handle": f"{who}.bsky.social"}
        )
    page = await bsky.mentions(conn.tokens)
    assert [m.author.username for m in page.items] == [
        "ann.bsky.social",
        "bo.bsky.social",
        "cy.bsky.social",
    ]


async def test_mentions_are_replies_and_mentions_newer_than_the_cursor(
    bsky: BlueskyProvider, sandbox: SandboxControl, conn: Connection
) -> None:
    done = await bsky.publish(conn.tokens, pub("Questions welcome", first_comment="Ask away"))
    sandbox.mention(
        NET, parent=done.platform_post_id, text="Is it decaf?", author={"handle": "bo.bsky.social"}
    )
    sandbox.mention(NET, account=DID, text="loving this", author={"handle": "cy.bsky.social"})
    first = await bsky.mentions(conn.tokens)
    assert [(m.kind, m.author.username) for m in first.items] == [
        ("reply", "bo.bsky.social"),
        ("mention", "cy.bsky.social"),
    ]
    assert first.items[0].parent_post_id == done.platform_post_id
    assert (await bsky.mentions(conn.tokens, first.next_cursor)).items == ()
