"""What code that acts for a connected account (publishing, syncing) asks of the accounts.

The publishing engine and the metric sync depend on this protocol, not on how accounts are
stored: ``services.social_accounts.access`` implements it over the ``social_accounts``
collection (decrypting tokens, refreshing them ahead of expiry); tests may implement it over
a sandbox's tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bson import ObjectId

from persistence.models import SocialAccount
from tools.platforms.base import SocialProvider, Tokens


@dataclass(frozen=True, slots=True)
class OpenAccount:
    """An account ready to act for: its document, its network's provider, fresh tokens."""

    account: SocialAccount
    provider: SocialProvider
    tokens: Tokens


class AccountAccess(Protocol):
    async def open(self, org_id: ObjectId, account_id: ObjectId) -> OpenAccount:
        """The account with usable tokens (refreshed if they expire soon).

        Raises ``persistence.errors.NotFound`` for an account that is not the
        organization's, and ``tools.platforms.base.NeedsReconnect`` for one that must be
        reconnected (the account is marked so, with the network's reason).
        """
        ...

    async def mark_needs_reconnect(
        self, org_id: ObjectId, account_id: ObjectId, reason: str
    ) -> None:
        """Record that the network refused the account's tokens for good (revoked, expired
        refresh token): nothing is tried against it until it is reconnected."""
        ...
