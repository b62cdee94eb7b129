"""/api/webhooks/<network>: each network's handshake and signature checked first, bodies
stored once per organization that connected the account, redeliveries acknowledged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from api_support import api_client, assert_error_shape
from bson import ObjectId
from support import make_settings

from persistence.models import DomainEvent, NetworkActivity, SocialAccount
from persistence.models.content import AccountInfo
from persistence.repository import TenantRepository

SECRETS = {
    "meta_app_secret": "meta-app-secret",
    "meta_verify_token": "our-verify-token",
    "x_consumer_secret": "x-consumer-secret",
    "linkedin_client_secret": "li-secret",
    "tiktok_client_secret": "tt-secret",
    "youtube_websub_secret": "yt-hub-secret",
}


def _hex(secret: str, body: bytes, digest: str = "sha256") -> str:
    return hmac.new(secret.encode(), body, digest).hexdigest()


async def _connect(db: Any, org: ObjectId, platform: str, platform_id: str) -> SocialAccount:
    account = SocialAccount(
        organization_id=org,
        platform=platform,  # type: ignore[arg-type]
        account_info=AccountInfo(platform_id=platform_id, username=f"acme-{platform}"),
    )
    return await TenantRepository(db, SocialAccount).insert(account)


def _signed(network: str, body: bytes) -> dict[str, str]:
    if network in ("facebook", "instagram"):
        return {"X-Hub-Signature-256": "sha256=" + _hex("meta-app-secret", body)}
    if network == "twitter":
        mac = hmac.new(b"x-consumer-secret", body, hashlib.sha256).digest()
        return {"x-twitter-webhooks-signature": "sha256=" + base64.b64encode(mac).decode()}
    if network == "linkedin":
        return {"X-LI-Signature": "hmacsha256=" + _hex("li-secret", body)}
    if network == "tiktok":
        t = int(time.time())
        return {"TikTok-Signature": f"t={t},s=" + _hex("tt-secret", f"{t}.".encode() + body)}
    return {"X-Hub-Signature": "sha1=" + _hex("yt-hub-secret", body, "sha1")}


BODIES: dict[str, tuple[str, bytes]] = {
    "facebook": (
        "1001",
        json.dumps(
            {
                "object": "page",
                "entry": [
                    {
                        "id": "1001",
                        "time": 1764600000,
                        "changes": [
                            {
                                "field": "feed",
                                "value": {
                                    "item": "comment",
                                    "comment_id": "c-1",
                                    "message": "Love the cold brew",
                                    "from": {"name": "Sam"},
                                },
                            }
                        ],
                    }
                ],
            }
        ).encode(),
    ),
    "instagram": (
        "1788",
        json.dumps(
            {
                "object": "instagram",
                "entry": [
                    {
                        "id": "1788",
                        "time": 1764600000,
                        "changes": [
                            {"field": "mentions", "value": {"media_id": "m1", "comment_id": "ig-c"}}
                        ],
                    }
                ],
            }
        ).encode(),
    ),
    "twitter": (
        "42",
        json.dumps(
            {
                "for_user_id": "42",
                "tweet_create_events": [
                    {
                        "id_str": "t-9",
                        "text": "@acme where is my order",
                        "user": {"screen_name": "kim"},
                        "timestamp_ms": "1764600000000",
                    }
                ],
            }
        ).encode(),
    ),
    "linkedin": (
        "urn:li:organization:5",
        json.dumps(
            {
                "notificationId": 77,
                "organizationalEntity": "urn:li:organization:5",
                "action": "COMMENT",
                "actor": "urn:li:person:abc",
                "comment": {"text": "Congrats"},
                "lastModifiedAt": 1764600000000,
            }
        ).encode(),
    ),
    "tiktok": (
        "open-1",
        json.dumps(
            {
                "client_key": "ck",
                "event": "post.publish.complete",
                "create_time": 1764600000,
                "user_openid": "open-1",
                "content": json.dumps({"publish_id": "pub-3"}),
            }
        ).encode(),
    ),
    "youtube": (
        "UCacme",
        b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns="http://www.w3.org/2005/Atom">
 <entry>
  <id>yt:video:vid1</id>
  <yt:videoId>vid1</yt:videoId>
  <yt:channelId>UCacme</yt:channelId>
  <title>Cold brew how-to</title>
  <author><name>Acme</name></author>
  <published>2026-12-01T10:00:00+00:00</published>
  <updated>2026-12-01T10:05:00+00:00</updated>
 </entry>
</feed>""",
    ),
}


async def test_each_network_signed_body_is_stored_once_per_organization(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", **SECRETS)
    async with api_client(settings) as (app, client):
        db = app.state.runtime.db
        acme, globex, stranger = ObjectId(), ObjectId(), ObjectId()
        for network, (account_id, body) in BODIES.items():
            await _connect(db, acme, network, account_id)
            await _connect(db, globex, network, account_id)  # the same account, two agencies
            await _connect(db, stranger, network, "someone-else")
            path = f"/api/webhooks/{network}"
            content_type = "application/atom+xml" if network == "youtube" else "application/json"
            headers = {"content-type": content_type, **_signed(network, body)}
            first = await client.post(path, content=body, headers=headers)
            assert first.status_code == 200, (network, first.text)
            assert first.json() == {"received": 1, "stored": 2, "duplicates": 0, "unmatched": 0}
            again = await client.post(path, content=body, headers=headers)
            assert again.json() == {"received": 1, "stored": 0, "duplicates": 2, "unmatched": 0}
            forged = {**headers, **_signed(network, body + b" ")}
            assert_error_shape(await client.post(path, content=body, headers=forged), 401)
            unsigned = {"content-type": content_type}
            assert_error_shape(await client.post(path, content=body, headers=unsigned), 401)

        activity = TenantRepository(db, NetworkActivity)
        for org in (acme, globex):
            stored = {(a.platform, a.kind, a.external_id) for a in await activity.find(org)}
            assert stored == {
                ("facebook", "comment", "c-1"),
                ("instagram", "mentions", "ig-c"),
                ("twitter", "mention", "t-9"),
                ("linkedin", "comment", "77"),
                ("tiktok", "post.publish.complete", "pub-3"),
                ("youtube", "video", "vid1@2026-12-01T10:05:00+00:00"),
            }
        comment = await activity.find_one(acme, {"externalId": "c-1"})
        assert comment is not None
        assert (comment.text, comment.author) == ("Love the cold brew", "Sam")
        assert await activity.count(stranger) == 0
        announced = await TenantRepository(db, DomainEvent).count(
            acme, {"type": "analytics.activity"}
        )
        assert announced == 6


async def test_handshakes_answer_only_with_our_secrets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", **SECRETS)
    async with api_client(settings) as (_, client):
        ok = await client.get(
            "/api/webhooks/facebook",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": "our-verify-token",
                "hub.challenge": "1158201444",
            },
        )
        assert (ok.status_code, ok.text) == (200, "1158201444")
        wrong = await client.get(
            "/api/webhooks/instagram",
            params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        )
        assert_error_shape(wrong, 403)

        crc = await client.get("/api/webhooks/twitter", params={"crc_token": "abc"})
        expected = base64.b64encode(
            hmac.new(b"x-consumer-secret", b"abc", hashlib.sha256).digest()
        ).decode()
        assert crc.json() == {"responseToken": f"sha256={expected}"}

        li = await client.get("/api/webhooks/linkedin", params={"challengeCode": "code-1"})
        assert li.json() == {
            "challengeCode": "code-1",
            "challengeResponse": _hex("li-secret", b"code-1"),
        }

        topic = "https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCacme"
        yt = await client.get(
            "/api/webhooks/youtube",
            params={"hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": "xyz"},
        )
        assert (yt.status_code, yt.text) == (200, "xyz")
        other = await client.get(
            "/api/webhooks/youtube",
            params={"hub.mode": "subscribe", "hub.topic": "https://evil/", "hub.challenge": "x"},
        )
        assert_error_shape(other, 404)


async def test_unconfigured_networks_and_unreadable_bodies_are_refused(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data", tiktok_client_secret="tt-secret")) as (
        _,
        client,
    ):
        refused = await client.post(
            "/api/webhooks/facebook", content=b"{}", headers={"content-type": "application/json"}
        )
        assert assert_error_shape(refused, 409)["code"] == "webhook_not_configured"
        assert_error_shape(await client.get("/api/webhooks/twitter?crc_token=a"), 409)
        body = b'{"not": "tiktok"}'
        bad = await client.post(
            "/api/webhooks/tiktok",
            content=body,
            headers={"content-type": "application/json", **_signed("tiktok", body)},
        )
        assert_error_shape(bad, 400)
        old = int(time.time()) - 3600
        stale = {"TikTok-Signature": f"t={old},s=" + _hex("tt-secret", f"{old}.".encode() + body)}
        assert_error_shape(
            await client.post("/api/webhooks/tiktok", content=body, headers=stale), 401
        )
