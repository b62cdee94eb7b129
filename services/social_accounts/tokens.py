"""Tokens in and out of a stored account: encrypted at rest, plain only in memory.

The provider layer works with plain :class:`Tokens`; the ``social_accounts`` collection holds
only ciphertext (``persistence.crypto``). These two functions are the only crossing.
"""

from __future__ import annotations

from typing import Any

from persistence.crypto import CredentialCipher
from persistence.models import SocialAccount
from tools.platforms.base import Tokens


def sealed(cipher: CredentialCipher, tokens: Tokens) -> dict[str, Any]:
    """``$set`` changes storing ``tokens`` encrypted on an account (and ending any refresh)."""
    return {
        "authentication.accessToken": cipher.encrypt(tokens.access_token),
        "authentication.refreshToken": (
            cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None
        ),
        "authentication.tokenExpiresAt": tokens.expires_at,
        "authentication.refreshExpiresAt": tokens.refresh_expires_at,
        "authentication.scopes": list(tokens.scopes),
        "authentication.extra": dict(tokens.extra),
        "authentication.refreshingUntil": None,
    }


def unsealed(cipher: CredentialCipher, account: SocialAccount) -> Tokens:
    """The account's tokens in plain text (``DecryptionError`` if the key cannot read them)."""
    auth = account.authentication
    if not auth.access_token:
        raise ValueError("the account holds no access token")
    return Tokens(
        access_token=cipher.decrypt(auth.access_token),
        refresh_token=cipher.decrypt(auth.refresh_token) if auth.refresh_token else None,
        expires_at=auth.token_expires_at,
        scopes=tuple(auth.scopes),
        account_id=account.account_info.platform_id,
        refresh_expires_at=auth.refresh_expires_at,
        extra=dict(auth.extra),
    )
