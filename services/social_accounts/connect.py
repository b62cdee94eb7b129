"""Connecting an account: the consent round trip (OAuth 2.0 with state and PKCE), or a
handle and an app password (Bluesky), then the accounts stored with their tokens encrypted.

The ``state`` sent to the network names the organization and carries 32 random bytes; only
its hash is stored, with the PKCE verifier (encrypted), who asked and an expiry. The callback
arrives without credentials (it is the user's browser coming back from the network), so the
state is what ties it to the organization; it is used once. One consent may yield several
accounts (a person's Facebook Pages, a LinkedIn member and the organizations they
administer): each is stored. An account already stored (same network identity) is updated
and reconnected; only new ones count against the plan's limit, checked before any is stored.

Reconnecting one given account (``account_id``) stores only that identity into it. An
account that was never connected (seeded or imported, without tokens) takes the identity
the user consents with; a connected one must get the same identity back, never another
account's in its place.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument

from persistence.errors import Conflict, InvalidInput
from persistence.ids import utcnow
from persistence.models import OAuthState, SocialAccount
from persistence.models.content import AccountInfo
from persistence.repository import TenantRepository, tenant_filter
from services.billing import limits
from services.social_accounts.errors import network_call
from services.social_accounts.ports import AccountsRuntime
from services.social_accounts.tokens import sealed
from tools.platforms.base import Account, Connection, PermanentError, new_pkce

#: How long a consent page may stay open before its state is refused.
STATE_TTL = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ConnectStart:
    platform: str
    authorization_url: str
    scopes: tuple[str, ...]
    uses_pkce: bool
    expires_at: datetime


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


async def start(
    rt: AccountsRuntime,
    org_id: ObjectId,
    user_id: ObjectId,
    platform: str,
    redirect_uri: str,
    *,
    account_id: ObjectId | None = None,
) -> ConnectStart:
    """The network's consent page for ``platform``, with a state kept here until the
    callback comes back. ``account_id``: reconnect that stored account."""
    if account_id is not None:
        await _bindable(rt, org_id, account_id, platform)
    provider = rt.platforms.provider(platform)
    if provider.auth_kind != "oauth2":
        raise InvalidInput.field(
            "body.platform",
            f"{platform} connects with a handle and an app password: send identifier and "
            "appPassword instead",
        )
    states = TenantRepository(rt.db, OAuthState)
    # Consents never finished are of no use once expired; they go as new ones start.
    await states.collection.delete_many(tenant_filter(org_id, {"expiresAt": {"$lt": utcnow()}}))
    state = f"{org_id}.{secrets.token_urlsafe(32)}"
    pkce = new_pkce()
    auth = provider.authorization_url(state, redirect_uri, pkce.challenge)
    expires = utcnow() + STATE_TTL
    await states.insert(
        OAuthState(
            organization_id=org_id,
            user_id=user_id,
            platform=provider.network,  # type: ignore[arg-type]
            state_hash=_hash(state),
            redirect_uri=redirect_uri,
            verifier_secret=rt.cipher.encrypt(pkce.verifier) if auth.uses_pkce else None,
            account_id=account_id,
            expires_at=expires,
        )
    )
    return ConnectStart(provider.network, auth.url, auth.scopes, auth.uses_pkce, expires)


async def complete(
    rt: AccountsRuntime,
    state: str,
    code: str | None,
    error: str | None = None,
    error_description: str | None = None,
) -> list[SocialAccount]:
    """The callback: check and use up the state, trade the code, store the accounts."""
    pending = await _use_state(rt, state)
    if error:
        detail = f": {error_description}" if error_description else ""
        raise Conflict(
            f"{pending.platform} did not grant access ({error}{detail}); nothing was connected",
            code="consent_denied",
        )
    if not code:
        raise InvalidInput.field("query.code", "the network's redirect carried no code")
    provider = rt.platforms.provider(pending.platform)
    verifier = rt.cipher.decrypt(pending.verifier_secret) if pending.verifier_secret else None
    try:
        with network_call():
            connection = await provider.exchange_code(code, pending.redirect_uri, verifier)
    except Conflict as refused:
        if isinstance(refused.__cause__, PermanentError):  # a bad or expired code
            raise InvalidInput(
                refused.message,
                code="invalid_code",
                fields=[{"field": "query.code", "message": refused.message}],
            ) from refused
        raise
    return await store(
        rt,
        pending.organization_id,
        pending.user_id,
        pending.platform,
        connection,
        bind_to=pending.account_id,
    )


async def login(
    rt: AccountsRuntime,
    org_id: ObjectId,
    user_id: ObjectId,
    platform: str,
    identifier: str,
    password: str,
    *,
    account_id: ObjectId | None = None,
) -> list[SocialAccount]:
    """Connect with a handle and an app password (``auth_kind == "app_password"``);
    ``account_id``: reconnect that stored account."""
    if account_id is not None:
        await _bindable(rt, org_id, account_id, platform)
    provider = rt.platforms.provider(platform)
    if provider.auth_kind != "app_password":
        raise InvalidInput.field(
            "body.appPassword",
            f"{platform} connects through its consent page: send only the platform",
        )
    try:
        with network_call():
            connection = await provider.login(identifier, password)
    except Conflict as refused:
        if isinstance(refused.__cause__, PermanentError):  # wrong handle or password
            raise InvalidInput(
                refused.message,
                code="invalid_credentials",
                fields=[{"field": "body.appPassword", "message": refused.message}],
            ) from refused
        raise
    return await store(rt, org_id, user_id, provider.network, connection, bind_to=account_id)


async def store(
    rt: AccountsRuntime,
    org_id: ObjectId,
    user_id: ObjectId,
    platform: str,
    connection: Connection,
    *,
    bind_to: ObjectId | None = None,
) -> list[SocialAccount]:
    """Store or update every account of ``connection`` (tokens encrypted); new accounts are
    checked against the plan first, all together, so a refusal stores none. ``bind_to``:
    only the identity for that stored account, stored into it."""
    repo = TenantRepository(rt.db, SocialAccount)
    accounts = connection.accounts or ()
    if bind_to is not None:
        return [await _bind(rt, org_id, bind_to, platform, accounts)]
    existing: dict[str, SocialAccount] = {}
    for account in accounts:
        found = await repo.find_one(
            org_id,
            {"platform": platform, "accountInfo.platformId": account.profile.platform_id},
        )
        if found is not None:
            existing[account.profile.platform_id] = found
    if not accounts:
        raise Conflict(
            f"the consent gave access to no {platform} account Chorus can post as (on "
            "Facebook and Instagram: a Page, or a professional account linked to one); "
            "nothing was connected",
            code="no_accounts",
        )
    new = [a for a in accounts if a.profile.platform_id not in existing]
    if new:
        await limits.check(rt.db, org_id, "social_accounts", adding=len(new))
    stored = []
    for account in accounts:
        changes = {
            **_profile_changes(account),
            **sealed(rt.cipher, account.tokens),
            "status.isActive": True,
            "status.connection": "connected",
            "status.reconnectReason": None,
            # Synced and listened to at the schedules' next rounds (a reconnected account
            # catches up too).
            "status.nextSyncAt": utcnow(),
            "listening.nextRun": utcnow(),
        }
        doc = SocialAccount(
            organization_id=org_id,
            user_id=user_id,
            platform=platform,  # type: ignore[arg-type]
            account_info=_info(account),
        )
        raw = await repo.collection.find_one_and_update(
            tenant_filter(
                org_id,
                {"platform": platform, "accountInfo.platformId": account.profile.platform_id},
            ),
            {
                "$set": {**changes, "updatedAt": utcnow()},
                "$setOnInsert": _on_insert(doc),
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        stored.append(SocialAccount.from_mongo(raw))
    return stored


async def _bindable(
    rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId, platform: str
) -> SocialAccount:
    account = await TenantRepository(rt.db, SocialAccount).get(org_id, account_id)
    if account is None or account.status.connection == "disconnected":
        raise InvalidInput.field("body.accountId", "no such social account")
    if account.platform != rt.platforms.provider(platform).network:
        raise InvalidInput.field(
            "body.accountId", f"that account is on {account.platform}, not {platform}"
        )
    return account


async def _bind(
    rt: AccountsRuntime,
    org_id: ObjectId,
    account_id: ObjectId,
    platform: str,
    offered: Sequence[Account],
) -> SocialAccount:
    """Store the consented identity into the stored account ``account_id``."""
    account = await TenantRepository(rt.db, SocialAccount).get(org_id, account_id)
    if account is None:
        raise Conflict("the account was removed while connecting", code="account_removed")
    same = [a for a in offered if a.profile.platform_id == account.account_info.platform_id]
    never_connected = not account.authentication.access_token
    # A never-connected account takes a brand identity (a Page, an organization) before the
    # person who consented, where the consent offers one (LinkedIn: the member comes first).
    brands = sorted(offered, key=lambda a: a.profile.kind == "user")
    chosen = same[0] if same else (brands[0] if brands and never_connected else None)
    if chosen is None:
        names = ", ".join(a.profile.username for a in offered) or "no account"
        raise Conflict(
            f"this consent was for {names} on {platform}, not "
            f"{account.account_info.username}: sign in as that account, or connect the "
            "other one as a new account",
            code="different_account",
        )
    changes = {
        **_profile_changes(chosen),
        "accountInfo.platformId": chosen.profile.platform_id,
        **sealed(rt.cipher, chosen.tokens),
        "status.isActive": True,
        "status.connection": "connected",
        "status.reconnectReason": None,
        "status.nextSyncAt": utcnow(),
        "listening.nextRun": utcnow(),
    }
    updated = await TenantRepository(rt.db, SocialAccount).update(org_id, account_id, changes)
    if updated is None:
        raise Conflict("the account was removed while connecting", code="account_removed")
    return updated


async def _use_state(rt: AccountsRuntime, state: str) -> OAuthState:
    """The pending consent ``state`` names, marked used; 422 if unknown, used or expired."""
    bad = InvalidInput.field(
        "query.state",
        "unknown, expired or already used; start connecting the account again",
        code="invalid_state",
    )
    org_part, _, _ = state.partition(".")
    try:
        org_id = ObjectId(org_part)
    except (InvalidId, TypeError):
        raise bad from None
    now = utcnow()
    raw = await TenantRepository(rt.db, OAuthState).collection.find_one_and_update(
        tenant_filter(
            org_id, {"stateHash": _hash(state), "usedAt": None, "expiresAt": {"$gt": now}}
        ),
        {"$set": {"usedAt": now}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        raise bad
    return OAuthState.from_mongo(raw)


def _info(account: Account) -> AccountInfo:
    profile = account.profile
    return AccountInfo(
        platform_id=profile.platform_id,
        username=profile.username,
        display_name=profile.display_name,
        profile_picture=profile.avatar_url,
        follower_count=profile.follower_count or 0,
    )


def _profile_changes(account: Account) -> dict[str, object]:
    info = _info(account)
    return {
        "accountInfo.username": info.username,
        "accountInfo.displayName": info.display_name,
        "accountInfo.profilePicture": info.profile_picture,
        "accountInfo.followerCount": info.follower_count,
    }


def _on_insert(doc: SocialAccount) -> dict[str, object]:
    """The new document's fields that ``$set`` does not already write (MongoDB refuses an
    update naming one path in both)."""
    raw = doc.to_mongo()
    raw.pop("updatedAt", None)
    raw.pop("authentication", None)
    status = raw.pop("status", {})
    info = raw.pop("accountInfo", {})
    raw["accountInfo.platformId"] = info["platformId"]
    raw["accountInfo.isVerified"] = info.get("isVerified", False)
    for key, value in status.items():
        if key not in ("isActive", "connection", "reconnectReason", "nextSyncAt"):
            raw[f"status.{key}"] = value
    raw.pop("platform", None)  # set by the filter on insert
    raw.pop("listening", None)  # $set writes listening.nextRun
    return raw
