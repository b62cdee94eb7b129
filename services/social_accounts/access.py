"""``AccountAccess`` over the ``social_accounts`` collection: usable tokens, or a clear
"reconnect your account".

Tokens are decrypted only here, in memory. They are refreshed ahead of expiry, one refresh at
a time per account across every worker (a lease on the document): networks that rotate
refresh tokens (X, TikTok, Bluesky) refuse the old one once it has been used, so a second,
concurrent refresh would look exactly like a revocation. When the network does refuse a
refresh, the account turns ``needs_reconnect`` with the network's own reason, and every later
``open`` fails fast with that reason without calling the network until it is reconnected.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from bson import ObjectId
from pymongo import ReturnDocument

from persistence.errors import NotFound
from persistence.ids import utcnow
from persistence.models import SocialAccount
from persistence.repository import TenantRepository, tenant_filter
from services.events import ACCOUNT_NEEDS_RECONNECT
from services.social_accounts.access_port import OpenAccount
from services.social_accounts.ports import AccountsRuntime
from services.social_accounts.tokens import sealed, unsealed
from tools.platforms.base import NeedsReconnect, PlatformError, Tokens

log = logging.getLogger(__name__)

#: Tokens expiring sooner than this are refreshed before use (a publish may take minutes).
REFRESH_AHEAD = timedelta(minutes=5)
#: How long one refresh may hold the account before another worker may try.
REFRESH_LEASE = timedelta(seconds=60)
#: How long ``open`` waits for another worker's refresh before giving up.
REFRESH_WAIT_SECONDS = 30.0


class StoredAccountAccess:
    """Implements ``services.social_accounts.access_port.AccountAccess``."""

    def __init__(
        self,
        runtime: AccountsRuntime,
        *,
        refresh_ahead: timedelta = REFRESH_AHEAD,
        wait_seconds: float = REFRESH_WAIT_SECONDS,
    ) -> None:
        self._runtime = runtime
        self._accounts = TenantRepository(runtime.db, SocialAccount)
        self._refresh_ahead = refresh_ahead
        self._wait_seconds = wait_seconds

    async def open(self, org_id: ObjectId, account_id: ObjectId) -> OpenAccount:
        account = await self._get(org_id, account_id)
        provider = self._runtime.platforms.provider(account.platform)
        tokens = unsealed(self._runtime.cipher, account)
        if self._expiring(tokens):
            account, tokens = await self._refreshed(org_id, account)
        return OpenAccount(account=account, provider=provider, tokens=tokens)

    async def refresh(self, org_id: ObjectId, account_id: ObjectId) -> OpenAccount:
        """New tokens now, whatever their expiry (``POST .../refresh``, or after a call
        answered that the access token expired early)."""
        account = await self._get(org_id, account_id)
        provider = self._runtime.platforms.provider(account.platform)
        account, tokens = await self._refreshed(org_id, account, force=True)
        return OpenAccount(account=account, provider=provider, tokens=tokens)

    async def mark_needs_reconnect(
        self, org_id: ObjectId, account_id: ObjectId, reason: str
    ) -> None:
        before = await self._accounts.get(org_id, account_id)
        updated = await self._accounts.update(
            org_id,
            account_id,
            {
                "status.connection": "needs_reconnect",
                "status.reconnectReason": reason,
                "authentication.refreshingUntil": None,
            },
        )
        if updated is None or before is None:
            raise NotFound("no such social account", code="social_account_not_found")
        log.info("social account %s needs reconnecting: %s", account_id, reason)
        if before.status.connection != "needs_reconnect":
            # Told once, when it happens: the admins get "reconnect your account".
            await self._runtime.events.emit(
                org_id,
                ACCOUNT_NEEDS_RECONNECT,
                {
                    "accountId": str(account_id),
                    "platform": before.platform,
                    "accountName": before.account_info.username,
                    "reason": reason,
                },
                resource=("social_account", str(account_id)),
                actor=("system", None),
            )

    # --- internals ------------------------------------------------------------------------------

    async def _get(self, org_id: ObjectId, account_id: ObjectId) -> SocialAccount:
        account = await self._accounts.get(org_id, account_id)
        if account is None or account.status.connection == "disconnected":
            raise NotFound("no such social account", code="social_account_not_found")
        self._usable(account)
        return account

    @staticmethod
    def _usable(account: SocialAccount) -> None:
        """Fail fast, without calling the network, for an account that must be reconnected."""
        if account.status.connection == "needs_reconnect":
            reason = account.status.reconnect_reason or "the network refused the account's tokens"
            raise NeedsReconnect(
                f"reconnect your {account.platform} account: {reason}", network=account.platform
            )

    def _expiring(self, tokens: Tokens, now: datetime | None = None) -> bool:
        if tokens.expires_at is None:  # tokens that do not expire (Facebook Page tokens)
            return False
        return tokens.expires_at - (now or utcnow()) <= self._refresh_ahead

    async def _refreshed(
        self, org_id: ObjectId, account: SocialAccount, *, force: bool = False
    ) -> tuple[SocialAccount, Tokens]:
        """Fresh tokens for ``account``: refreshed here under the lease, or by whoever holds
        it (then read back once they are stored)."""
        deadline = asyncio.get_running_loop().time() + self._wait_seconds
        seen = account.authentication.access_token
        while True:
            leased = await self._lease(org_id, account.id)
            if leased is not None:
                break
            await asyncio.sleep(0.1)
            current = await self._get(org_id, account.id)
            if current.authentication.access_token != seen:  # another worker refreshed
                return current, unsealed(self._runtime.cipher, current)
            if asyncio.get_running_loop().time() > deadline:
                raise PlatformError(
                    "another refresh of this account's tokens is taking too long; try again",
                    network=account.platform,
                )
        if leased.authentication.access_token != seen and not force:
            # Refreshed by someone else between our read and our lease.
            await self._release(org_id, leased.id)
            return leased, unsealed(self._runtime.cipher, leased)
        self._usable(leased)
        provider = self._runtime.platforms.provider(leased.platform)
        old = unsealed(self._runtime.cipher, leased)
        try:
            new = await provider.refresh(old)
        except NeedsReconnect as refused:
            await self.mark_needs_reconnect(org_id, leased.id, refused.reason)
            raise NeedsReconnect(
                f"reconnect your {leased.platform} account: {refused.reason}",
                network=refused.network,
                status=refused.status,
                code=refused.code,
            ) from refused
        except BaseException:
            await self._release(org_id, leased.id)
            raise
        if new.account_id is None:
            new = new.for_account(old.account_id or leased.account_info.platform_id)
        if not new.refresh_token and old.refresh_token:
            # Networks that keep the refresh token answer without one; keep ours.
            new = Tokens(
                access_token=new.access_token,
                refresh_token=old.refresh_token,
                expires_at=new.expires_at,
                scopes=new.scopes or old.scopes,
                account_id=new.account_id,
                refresh_expires_at=new.refresh_expires_at or old.refresh_expires_at,
                extra={**old.extra, **new.extra},
            )
        stored = await self._accounts.update(org_id, leased.id, sealed(self._runtime.cipher, new))
        if stored is None:  # removed while we refreshed
            raise NotFound("no such social account", code="social_account_not_found")
        return stored, new

    async def _lease(self, org_id: ObjectId, account_id: ObjectId) -> SocialAccount | None:
        now = utcnow()
        raw = await self._accounts.collection.find_one_and_update(
            tenant_filter(
                org_id,
                {
                    "_id": account_id,
                    "$or": [
                        {"authentication.refreshingUntil": None},
                        {"authentication.refreshingUntil": {"$lt": now}},
                    ],
                },
            ),
            {"$set": {"authentication.refreshingUntil": now + REFRESH_LEASE}},
            return_document=ReturnDocument.AFTER,
        )
        return SocialAccount.from_mongo(raw) if raw else None

    async def _release(self, org_id: ObjectId, account_id: ObjectId) -> None:
        await self._accounts.collection.update_one(
            tenant_filter(org_id, {"_id": account_id}),
            {"$set": {"authentication.refreshingUntil": None}},
        )
