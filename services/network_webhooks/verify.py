"""Each network's proof that a webhook request is theirs, checked before anything is read.

- Meta (Facebook, Instagram): a GET with ``hub.verify_token`` (ours) answered with
  ``hub.challenge``; POSTs signed ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret,
  body)>``.
- X (Account Activity): a GET CRC, ``crc_token`` answered with ``sha256=<base64
  HMAC-SHA256(consumer secret, crc_token)>``; POSTs signed ``x-twitter-webhooks-signature``
  the same way over the body.
- LinkedIn: a GET with ``challengeCode`` answered with its hex HMAC-SHA256 under the client
  secret; POSTs signed ``X-LI-Signature: hmacsha256=<hex over the body>``.
- TikTok: ``TikTok-Signature: t=<unix>,s=<hex HMAC-SHA256(client secret, "t.body")>``, with
  a freshness window.
- YouTube (WebSub on Google's hub): a GET that echoes ``hub.challenge`` for a feed topic;
  POSTs signed ``X-Hub-Signature: sha1=<hex HMAC-SHA1(hub secret, body)>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

TIKTOK_TOLERANCE_SECONDS = 300
YOUTUBE_TOPIC = "https://www.youtube.com/xml/feeds/videos.xml?channel_id="


def _hex(secret: str, data: bytes, digest: str = "sha256") -> str:
    return hmac.new(secret.encode(), data, digest).hexdigest()


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def meta_signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and _equal(f"sha256={_hex(app_secret, body)}", header or "")


def meta_challenge(verify_token: str, mode: str | None, token: str | None) -> bool:
    return mode == "subscribe" and token is not None and _equal(verify_token, token)


def x_crc_response(consumer_secret: str, crc_token: str) -> str:
    mac = hmac.new(consumer_secret.encode(), crc_token.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(mac).decode()


def x_signature_ok(consumer_secret: str, body: bytes, header: str | None) -> bool:
    mac = hmac.new(consumer_secret.encode(), body, hashlib.sha256).digest()
    return bool(header) and _equal("sha256=" + base64.b64encode(mac).decode(), header or "")


def linkedin_challenge(client_secret: str, code: str) -> str:
    return _hex(client_secret, code.encode())


def linkedin_signature_ok(client_secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and _equal(f"hmacsha256={_hex(client_secret, body)}", header or "")


def tiktok_signature_ok(client_secret: str, body: bytes, header: str | None, now: float) -> bool:
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > TIKTOK_TOLERANCE_SECONDS:
        return False
    expected = _hex(client_secret, f"{timestamp}.".encode() + body)
    return _equal(expected, parts.get("s", ""))


def youtube_signature_ok(hub_secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and _equal(f"sha1={_hex(hub_secret, body, 'sha1')}", header or "")


def youtube_topic_ok(topic: str | None) -> bool:
    return bool(topic) and (topic or "").startswith(YOUTUBE_TOPIC)


@dataclass(frozen=True)
class Secrets:
    """The secrets the networks sign their webhooks with (None: that network's webhook is
    not configured here, and its requests are refused)."""

    meta_app_secret: str | None = None
    meta_verify_token: str | None = None
    x_consumer_secret: str | None = None
    linkedin_client_secret: str | None = None
    tiktok_client_secret: str | None = None
    youtube_hub_secret: str | None = None
