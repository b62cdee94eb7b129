"""The Bluesky provider end to end against Bluesky's reference PDS (``@atproto/pds``).

The PDS, a PLC directory, and the small AppView in ``sandbox.bluesky_pds.appview`` run on
loopback for this module. The first run installs Node 22 and the PDS into
``~/.cache/chorus/bluesky-pds`` (a few minutes); later runs reuse it. Where Node 22 cannot
be installed, the module is skipped with the reason. Deselect with ``-m 'not bluesky_pds'``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sandbox_support import jpeg

from sandbox import serve_app_in_thread
from sandbox.bluesky_pds import PdsUnavailable, RunningPds, install, start
from sandbox.bluesky_pds.appview import build_appview
from tools.platforms import (
    Connection,
    Media,
    NeedsReconnect,
    PermanentError,
    Publication,
    ThreadPart,
    build_provider,
)
from tools.platforms.bluesky import BlueskyProvider

pytestmark = [pytest.mark.bluesky_pds, pytest.mark.timeout(1800)]
APPVIEW_DID = "did:web:appview.localhost"


@pytest.fixture(scope="module")
def pds() -> Iterator[RunningPds]:
    try:
        directory = install()
    except PdsUnavailable as exc:
        pytest.skip(f"Bluesky's reference PDS is unavailable here: {exc}")
    appview = build_appview(APPVIEW_DID)
    appview_url, stop_appview = serve_app_in_thread(appview)
    running = start(directory, appview_url=appview_url, appview_did=APPVIEW_DID)
    appview.state.pds_url = running.url
    try:
        yield running
    finally:
        running.stop()
        stop_appview()


@pytest.fixture(scope="module")
def accounts(pds: RunningPds) -> dict[str, dict[str, str]]:
    suffix = secrets.token_hex(3)
    return {
        "brand": pds.create_account(f"brand{suffix}.test", "brand-password-1"),
        "fan": pds.create_account(f"fan{suffix}.test", "fan-password-1"),
    }


@pytest.fixture
async def bsky(pds: RunningPds) -> AsyncIterator[BlueskyProvider]:
    provider = build_provider("bluesky", service_url=pds.url, timeout=20.0)
    yield provider  # type: ignore[misc]
    await provider.aclose()


@pytest.fixture
async def brand(bsky: BlueskyProvider, accounts: dict[str, dict[str, str]]) -> Connection:
    return await bsky.login(accounts["brand"]["handle"], accounts["brand"]["app_password"])


@pytest.fixture
async def fan(bsky: BlueskyProvider, accounts: dict[str, dict[str, str]]) -> Connection:
    return await bsky.login(accounts["fan"]["handle"], accounts["fan"]["app_password"])


def pub(text: str, **kw: object) -> Publication:
    return Publication(text=text, key=f"pds-{secrets.token_hex(4)}", **kw)  # type: ignore[arg-type]


async def xrpc(
    pds: RunningPds,
    conn: Connection | None,
    method: str,
    body: dict[str, object] | None = None,
    **params: object,
) -> dict[str, Any]:
    """A raw XRPC call as another client would make it (likes, follows, reads)."""
    headers = {"Authorization": f"Bearer {conn.tokens.access_token}"} if conn else {}
    async with httpx.AsyncClient(base_url=pds.url, timeout=20) as client:
        if body is None:
            response = await client.get(f"/xrpc/{method}", params=params, headers=headers)
        else:
            response = await client.post(f"/xrpc/{method}", json=body, headers=headers)
    response.raise_for_status()
    return response.json()


async def own_texts(pds: RunningPds, conn: Connection) -> list[str]:
    listed = await xrpc(
        pds,
        None,
        "com.atproto.repo.listRecords",
        repo=conn.tokens.account_id,
        collection="app.bsky.feed.post",
        limit=100,
    )
    return [r["value"]["text"] for r in listed["records"]]


async def test_connecting_with_an_app_password_on_the_reference_pds(
    pds: RunningPds, brand: Connection, accounts: dict[str, dict[str, str]]
) -> None:
    assert brand.tokens.account_id == accounts["brand"]["did"]
    assert brand.tokens.account_id.startswith("did:plc:")
    assert brand.user.username == accounts["brand"]["handle"]
    assert brand.tokens.extra["pds"] == pds.url
    assert brand.tokens.expires_at is not None
    assert brand.tokens.expires_at > datetime.now(UTC)


async def test_a_wrong_password_is_the_pds_own_refusal(
    bsky: BlueskyProvider, accounts: dict[str, dict[str, str]]
) -> None:
    with pytest.raises(PermanentError, match="Invalid identifier or password"):
        await bsky.login(accounts["brand"]["handle"], "not-the-password")


async def test_publishing_text_and_an_image_then_finding_it(
    pds: RunningPds, bsky: BlueskyProvider, brand: Connection
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    image = Media.from_bytes(jpeg(4000), "image/jpeg", alt_text="a cup of coffee")
    publication = pub("Fresh from the roaster #coffee https://example.com", media=(image,))
    done = await bsky.publish(brand.tokens, publication)
    record: dict[str, Any] = await xrpc(
        pds,
        None,
        "com.atproto.repo.getRecord",
        repo=brand.tokens.account_id,
        collection="app.bsky.feed.post",
        rkey=done.platform_post_id.rsplit("/", 1)[-1],
    )
    assert record["value"]["embed"]["images"][0]["alt"] == "a cup of coffee"
    assert {f["features"][0]["$type"] for f in record["value"]["facets"]} == {
        "app.bsky.richtext.facet#tag",
        "app.bsky.richtext.facet#link",
    }
    found = await bsky.find_published(brand.tokens, publication, since)
    assert found is not None
    assert found.platform_post_id == done.platform_post_id
    assert found.extra["cid"] == record["cid"]


async def test_a_retry_after_a_partial_thread_finishes_it_without_posting_anything_twice(
    pds: RunningPds, bsky: BlueskyProvider, brand: Connection
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    text = f"Thread {secrets.token_hex(3)} 1/2"
    await bsky.publish(brand.tokens, pub(text))  # an earlier attempt made only the root
    whole = pub(text, thread=(ThreadPart("2/2 the end"),), first_comment="Questions welcome")
    found = await bsky.find_published(brand.tokens, whole, since)
    assert found is not None
    assert not found.is_complete(whole)
    done = await bsky.publish(brand.tokens, whole, resume=found)
    assert done.is_complete(whole)
    texts = await own_texts(pds, brand)
    assert texts.count(text) == 1
    assert texts.count("2/2 the end") == 1
    assert await bsky.find_published(brand.tokens, whole, since) == done


async def test_delete_removes_the_record_from_the_repository(
    bsky: BlueskyProvider, brand: Connection
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    publication = pub(f"Short-lived {secrets.token_hex(3)}")
    done = await bsky.publish(brand.tokens, publication)
    await bsky.delete(brand.tokens, done.platform_post_id)
    assert await bsky.find_published(brand.tokens, publication, since) is None


async def test_likes_replies_follows_and_mentions_reach_metrics_and_notifications(
    pds: RunningPds, bsky: BlueskyProvider, brand: Connection, fan: Connection
) -> None:
    done = await bsky.publish(brand.tokens, pub(f"Tell us your order {secrets.token_hex(3)}"))
    subject = {"uri": done.platform_post_id, "cid": done.extra["cid"]}
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    repo = fan.tokens.account_id
    before = await bsky.mentions(brand.tokens)
    records = {
        "app.bsky.feed.like": {"subject": subject},
        "app.bsky.graph.follow": {"subject": brand.tokens.account_id},
        "app.bsky.feed.post": {
            "text": "A flat white please",
            "reply": {"root": subject, "parent": subject},
        },
    }
    for collection, fields in records.items():  # what the fan's own client would write
        record = {"$type": collection, "createdAt": now, **fields}
        await xrpc(
            pds,
            fan,
            "com.atproto.repo.createRecord",
            {"repo": repo, "collection": collection, "record": record},
        )
    await bsky.publish(fan.tokens, pub(f"Great beans at @{brand.user.username} today"))

    metrics = (await bsky.post_metrics(brand.tokens, [done.platform_post_id]))[
        done.platform_post_id
    ]
    assert (metrics.likes, metrics.comments, metrics.shares) == (1, 1, 0)
    account = await bsky.account_metrics(brand.tokens)
    assert account.followers == 1
    assert account.posts is not None
    assert account.posts >= 1

    page = await bsky.mentions(brand.tokens, before.next_cursor)
    kinds = sorted((m.kind, m.author.username) for m in page.items)
    assert kinds == [("mention", fan.user.username), ("reply", fan.user.username)]
    assert (await bsky.mentions(brand.tokens, page.next_cursor)).items == ()


async def test_refresh_rotates_and_a_deleted_session_needs_a_reconnect(
    bsky: BlueskyProvider, accounts: dict[str, dict[str, str]]
) -> None:
    conn = await bsky.login(accounts["brand"]["handle"], accounts["brand"]["app_password"])
    fresh = await bsky.refresh(conn.tokens)
    assert fresh.refresh_token != conn.tokens.refresh_token
    await bsky.revoke(fresh)
    with pytest.raises(NeedsReconnect, match="revoked"):
        await bsky.refresh(fresh)
