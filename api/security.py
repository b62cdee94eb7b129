"""Tokens and keys: JWT access tokens, opaque refresh tokens and API keys.

Refresh tokens and API keys are random secrets shown to the client once; only their SHA-256
is stored. Both carry the organization id in clear (``persistence.tokens``), so the lookup is
tenant-first like every other query (the id is not a secret; the random part is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from bson import ObjectId
from bson.errors import InvalidId

from persistence.ids import utcnow
from persistence.tokens import MalformedToken, hash_token, new_token, token_org

ACCESS_TOKEN_TTL = timedelta(minutes=15)
REFRESH_TOKEN_TTL = timedelta(days=30)
ALGORITHM = "HS256"
ISSUER = "chorus"

REFRESH_PREFIX = "crt"
API_KEY_PREFIX = "chk"


class InvalidToken(ValueError):
    """A token that is malformed, forged, expired or of the wrong kind."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: ObjectId
    org_id: ObjectId
    session_id: str
    expires_at: datetime


def create_access_token(
    secret: str,
    *,
    user_id: ObjectId,
    org_id: ObjectId,
    session_id: str,
    ttl: timedelta = ACCESS_TOKEN_TTL,
    now: datetime | None = None,
) -> str:
    """A signed, short-lived access token. The role is not in it: it is read per request, so a
    demotion takes effect at once."""
    issued = now or utcnow()
    claims = {
        "iss": ISSUER,
        "typ": "access",
        "sub": str(user_id),
        "org": str(org_id),
        "sid": session_id,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(secret: str, token: str) -> AccessClaims:
    """The claims of a valid access token, or InvalidToken."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],  # pinned, so "alg": "none" or RS/HS confusion cannot pass
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the access token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("the access token is invalid") from exc
    if claims.get("typ") != "access":
        raise InvalidToken("not an access token")
    try:
        return AccessClaims(
            user_id=ObjectId(claims["sub"]),
            org_id=ObjectId(claims["org"]),
            session_id=str(claims["sid"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (KeyError, InvalidId, TypeError) as exc:
        raise InvalidToken("the access token is invalid") from exc


def hash_secret(value: str) -> str:
    """SHA-256 hex of a high-entropy secret (random tokens need no slow hash)."""
    return hash_token(value)


def _org_of(kind: str, value: str) -> ObjectId:
    what = "refresh token" if kind == REFRESH_PREFIX else "API key"
    try:
        return token_org(kind, value, what)
    except MalformedToken as exc:
        raise InvalidToken(str(exc)) from exc


def new_refresh_token(org_id: ObjectId) -> str:
    return new_token(REFRESH_PREFIX, org_id)


def refresh_token_org(token: str) -> ObjectId:
    """The organization a refresh token names (not yet proof that it is valid)."""
    return _org_of(REFRESH_PREFIX, token)


def new_api_key(org_id: ObjectId) -> tuple[str, str]:
    """A new API key and its display prefix (enough to recognise it, useless to use it)."""
    key = new_token(API_KEY_PREFIX, org_id)
    # A real prefix of the key (kind, organization id, then the first 8 of 43 random
    # characters), so a user can match what a list shows against the key they hold; the
    # organization id is no secret and 208 random bits stay unknown.
    kind, org, random_part = key.split("_", 2)
    return key, f"{kind}_{org}_{random_part[:8]}"


def api_key_org(key: str) -> ObjectId:
    """The organization an API key names (not yet proof that it is valid)."""
    return _org_of(API_KEY_PREFIX, key)
