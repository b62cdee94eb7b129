"""The signature of outgoing webhooks, as receivers check it.

``X-Chorus-Timestamp`` is the Unix time of the attempt; ``X-Chorus-Signature`` is
``v1=`` + hex HMAC-SHA256 with the integration's secret over ``"{timestamp}.{body}"``. A
receiver recomputes it over the raw body, compares in constant time, and refuses old
timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, received: str, now: float) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, ts, body), received)
