"""Opaque secrets that name their organization: refresh tokens, API keys, mailed links.

``<kind>_<organization id>_<random>``: the organization id is in clear so the lookup of the
secret's hash is tenant-first like every other query (the id is not a secret; the 256 random
bits are). Only the SHA-256 of a secret is ever stored.
"""

from __future__ import annotations

import hashlib
import secrets

from bson import ObjectId
from bson.errors import InvalidId

_SECRET_BYTES = 32


class MalformedToken(ValueError):
    """Not a secret of the expected kind (a typo, a truncated link, another kind of token)."""


def new_token(kind: str, org_id: ObjectId) -> str:
    return f"{kind}_{org_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"


def token_org(kind: str, value: str, what: str = "token") -> ObjectId:
    """The organization a secret of ``kind`` names (not yet proof that it is valid);
    ``what`` names the kind in the error ("refresh token")."""
    # token_urlsafe may itself contain "_", so split at most twice.
    parts = value.split("_", 2)
    if len(parts) != 3 or parts[0] != kind or not parts[2]:
        raise MalformedToken(f"not a {what}")
    try:
        return ObjectId(parts[1])
    except (InvalidId, TypeError) as exc:
        raise MalformedToken("malformed organization id") from exc


def hash_token(value: str) -> str:
    """SHA-256 hex of a high-entropy secret (random tokens need no slow hash)."""
    return hashlib.sha256(value.encode()).hexdigest()
