"""Accounts on the sandbox for code that acts for them: connect many, and an AccountAccess.

The publishing engine and the sync jobs take an ``AccountAccess``
(``services.social_accounts.access_port``); in production it reads the encrypted tokens of
the ``social_accounts`` collection. Tests, the crash test's worker processes and
``bench/publish.py`` connect their accounts on the sandbox the way a user would (the
consent page, or Bluesky's app password) and hold the tokens here, in memory or in a JSON
file a worker process reads.

    control = SandboxControl(base_url)
    tokens = await connect_user(provider, control, "x", username="brand42")
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bson import ObjectId

from persistence.errors import NotFound
from persistence.models import SocialAccount
from sandbox.client import SandboxControl
from services.social_accounts.access_port import OpenAccount
from tools.platforms import NeedsReconnect, SocialProvider, Tokens, new_pkce

__all__ = ["REDIRECT_URI", "SandboxAccountAccess", "connect_user"]

REDIRECT_URI = "https://chorus.test/oauth/callback"
#: The sandbox's path prefix for each provider's network name.
PREFIX = {"twitter": "x", "bluesky": "bluesky", "linkedin": "linkedin", "tiktok": "tiktok",
          "youtube": "google", "facebook": "meta", "instagram": "meta"}  # fmt: skip


async def connect_user(
    provider: SocialProvider, control: SandboxControl, *, username: str
) -> Tokens:
    """Add a person called ``username`` to the provider's sandbox network and connect them:
    through the consent page (OAuth networks) or with an app password (Bluesky)."""
    network = provider.network
    if provider.auth_kind == "app_password":
        handle = f"{username}.bsky.social"
        password = secrets.token_hex(8)
        control.add_user(
            PREFIX[network],
            id=f"did:plc:{secrets.token_hex(12)}",
            username=handle,
            password=password,
        )
        return (await provider.login(handle, password)).tokens
    user = control.add_user(PREFIX[network], username=username)
    pkce = new_pkce()
    state = secrets.token_urlsafe(12)
    auth = provider.authorization_url(state, REDIRECT_URI, pkce.challenge)
    result = control.consent(auth.url, user=user["id"])
    if result.code is None or result.state != state:
        raise RuntimeError(f"the sandbox consent failed: {result.location}")
    connection = await provider.exchange_code(result.code, REDIRECT_URI, pkce.verifier)
    return connection.accounts[0].tokens if connection.accounts else connection.tokens


class SandboxAccountAccess:
    """An ``AccountAccess`` over accounts whose tokens are held in memory.

    ``open`` answers only for the account's own organization (NotFound otherwise, as the
    stored access does) and raises NeedsReconnect once ``mark_needs_reconnect`` was
    called for it, recording the reason in ``needs_reconnect``.
    """

    def __init__(self, providers: dict[str, SocialProvider]) -> None:
        self.providers = providers
        self.accounts: dict[ObjectId, tuple[SocialAccount, Tokens]] = {}
        self.needs_reconnect: dict[ObjectId, str] = {}

    def add(self, account: SocialAccount, tokens: Tokens) -> None:
        self.accounts[account.id] = (account, tokens)

    async def open(self, org_id: ObjectId, account_id: ObjectId) -> OpenAccount:
        entry = self.accounts.get(account_id)
        if entry is None or entry[0].organization_id != org_id:
            raise NotFound("social account not found")
        account, tokens = entry
        if account_id in self.needs_reconnect:
            raise NeedsReconnect(self.needs_reconnect[account_id], network=account.platform)
        return OpenAccount(account, self.providers[account.platform], tokens)

    async def mark_needs_reconnect(
        self, org_id: ObjectId, account_id: ObjectId, reason: str
    ) -> None:
        entry = self.accounts.get(account_id)
        if entry is None or entry[0].organization_id != org_id:
            raise NotFound("social account not found")
        self.needs_reconnect[account_id] = reason

    # --- handing the accounts to a worker process -------------------------------------------

    def dump(self, path: Path) -> None:
        """Write the accounts and their tokens to ``path`` (sandbox tokens only: a test's
        temporary directory)."""
        rows = [
            {"account": account.model_dump(mode="json", by_alias=True), "tokens": _tokens(tokens)}
            for account, tokens in self.accounts.values()
        ]
        path.write_text(json.dumps(rows))

    @classmethod
    def load(cls, path: Path, providers: dict[str, SocialProvider]) -> SandboxAccountAccess:
        access = cls(providers)
        for row in json.loads(path.read_text()):
            fields = dict(row["tokens"])
            fields["scopes"] = tuple(fields.get("scopes") or ())
            access.add(SocialAccount.model_validate(row["account"]), Tokens(**fields))
        return access


def _tokens(tokens: Tokens) -> dict[str, Any]:
    out = asdict(tokens)
    for key in ("expires_at", "refresh_expires_at"):
        if out[key] is not None:
            out[key] = None  # a worker's run is short: the tokens' lifetime does not matter
    out["extra"] = dict(tokens.extra)
    return out
