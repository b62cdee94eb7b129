"""Stored accounts' tokens: decrypted for use, refreshed ahead of expiry (once, even when two
workers ask together), and a refused refresh turns the account ``needs_reconnect``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from bson import ObjectId
from sandbox_support import connect, sandbox_fixture, sandbox_url  # noqa: F401 - fixture
from support import emitted, make_settings, opened_runtime

from chorus.platforms import PlatformRegistry
from chorus.runtime import Runtime
from persistence.errors import NotFound
from persistence.ids import utcnow
from persistence.models import SocialAccount
from persistence.models.content import AccountInfo
from persistence.repository import TenantRepository
from sandbox.client import SandboxControl
from services.social_accounts.access import StoredAccountAccess
from services.social_accounts.tokens import sealed
from tools.platforms import NeedsReconnect, Tokens


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = make_settings(tmp_path / "data", platforms_sandbox_url=sandbox_url())
    async with opened_runtime(settings) as runtime:
        yield runtime


async def stored(rt: Runtime, sandbox: SandboxControl, network: str, org: ObjectId) -> Tokens:
    """Connect ``network``'s first sandbox account and store it as the provider gave it."""
    connection = await connect(rt.platforms.provider(network), sandbox)
    account = connection.accounts[0]
    doc = SocialAccount(
        organization_id=org,
        platform=network,  # type: ignore[arg-type]
        account_info=AccountInfo(
            platform_id=account.profile.platform_id, username=account.profile.username
        ),
    )
    await TenantRepository(rt.db, SocialAccount).insert(doc)
    await TenantRepository(rt.db, SocialAccount).update(
        org, doc.id, sealed(rt.cipher, account.tokens)
    )
    return replace(account.tokens, account_id=str(doc.id))  # carries the document id back


async def expire_soon(rt: Runtime, org: ObjectId, account_id: ObjectId) -> None:
    await TenantRepository(rt.db, SocialAccount).update(
        org, account_id, {"authentication.tokenExpiresAt": utcnow() + timedelta(seconds=30)}
    )


async def test_open_gives_the_plain_tokens_while_the_document_holds_only_ciphertext(
    rt: Runtime, sandbox: SandboxControl
) -> None:
    org = ObjectId()
    tokens = await stored(rt, sandbox, "twitter", org)
    account_id = ObjectId(tokens.account_id)
    raw = await rt.db.social_accounts.find_one({"_id": account_id})
    assert tokens.access_token not in str(raw)
    assert tokens.refresh_token not in str(raw)

    opened = await StoredAccountAccess(rt).open(org, account_id)

    assert opened.tokens.access_token == tokens.access_token
    assert opened.tokens.account_id == opened.account.account_info.platform_id
    assert opened.provider.network == "twitter"
    metrics = await opened.provider.account_metrics(opened.tokens)
    assert metrics.followers is not None


async def test_tokens_about_to_expire_are_refreshed_and_stored_encrypted(
    rt: Runtime, sandbox: SandboxControl
) -> None:
    org = ObjectId()
    tokens = await stored(rt, sandbox, "twitter", org)
    account_id = ObjectId(tokens.account_id)
    await expire_soon(rt, org, account_id)

    opened = await StoredAccountAccess(rt).open(org, account_id)

    assert opened.tokens.access_token != tokens.access_token
    assert opened.tokens.expires_at is not None
    assert opened.tokens.expires_at > utcnow() + timedelta(minutes=5)
    raw = await rt.db.social_accounts.find_one({"_id": account_id})
    assert opened.tokens.access_token not in str(raw)
    assert rt.cipher.decrypt(raw["authentication"]["accessToken"]) == opened.tokens.access_token
    assert raw["authentication"].get("refreshingUntil") is None
    # The new tokens work against the network; the old ones were replaced.
    assert (await opened.provider.account_metrics(opened.tokens)).followers is not None
    again = await StoredAccountAccess(rt).open(org, account_id)
    assert again.tokens.access_token == opened.tokens.access_token


async def test_two_workers_refreshing_together_refresh_once_and_both_get_working_tokens(
    rt: Runtime, sandbox: SandboxControl
) -> None:
    # X rotates refresh tokens: a second refresh with the old one would be refused.
    org = ObjectId()
    tokens = await stored(rt, sandbox, "twitter", org)
    account_id = ObjectId(tokens.account_id)
    await expire_soon(rt, org, account_id)

    first, second = await asyncio.gather(
        StoredAccountAccess(rt).open(org, account_id),
        StoredAccountAccess(rt).open(org, account_id),
    )

    assert first.tokens.access_token == second.tokens.access_token
    account = await TenantRepository(rt.db, SocialAccount).get(org, account_id)
    assert account is not None
    assert account.status.connection == "connected"
    assert (await first.provider.account_metrics(second.tokens)).followers is not None


async def test_a_refused_refresh_marks_the_account_with_the_networks_reason(
    rt: Runtime, sandbox: SandboxControl
) -> None:
    org = ObjectId()
    tokens = await stored(rt, sandbox, "twitter", org)
    account_id = ObjectId(tokens.account_id)
    sandbox.revoke("x")
    await expire_soon(rt, org, account_id)

    with pytest.raises(NeedsReconnect) as refused:
        await StoredAccountAccess(rt).open(org, account_id)

    assert "reconnect your twitter account" in refused.value.reason
    account = await TenantRepository(rt.db, SocialAccount).get(org, account_id)
    assert account is not None
    assert account.status.connection == "needs_reconnect"
    assert account.status.reconnect_reason
    assert account.status.reconnect_reason in refused.value.reason
    assert "unknown" not in account.status.reconnect_reason.lower()
    # The admins are told once, in the network's words, whatever else then fails.
    [told] = await emitted(rt.db, org, "account.needs_reconnect")
    assert told.data["platform"] == "twitter"
    assert told.data["reason"] == account.status.reconnect_reason
    await StoredAccountAccess(rt).mark_needs_reconnect(org, account_id, "again")
    assert len(await emitted(rt.db, org, "account.needs_reconnect")) == 1


async def test_an_account_that_needs_reconnecting_is_not_tried_against_the_network(
    rt: Runtime, sandbox: SandboxControl
) -> None:
    org = ObjectId()
    tokens = await stored(rt, sandbox, "twitter", org)
    account_id = ObjectId(tokens.account_id)
    access = StoredAccountAccess(rt)
    await access.mark_needs_reconnect(org, account_id, "token revoked by the user")
    await expire_soon(rt, org, account_id)
    # Any call to X would take this fault (a 429) instead of failing with NeedsReconnect.
    sandbox.fault("x", "rate_limit", path=".*", count=1, retry_after=5)

    with pytest.raises(NeedsReconnect, match="token revoked by the user"):
        await access.open(org, account_id)
    with pytest.raises(NeedsReconnect, match="token revoked by the user"):
        await access.refresh(org, account_id)

    assert len(sandbox.faults()) == 1, "the network was called"


async def test_another_organizations_account_is_not_found(
    rt: Runtime, sandbox: SandboxControl
) -> None:
    org = ObjectId()
    tokens = await stored(rt, sandbox, "twitter", org)
    access = StoredAccountAccess(rt)

    with pytest.raises(NotFound):
        await access.open(ObjectId(), ObjectId(tokens.account_id))
    with pytest.raises(NotFound):
        await access.mark_needs_reconnect(ObjectId(), ObjectId(tokens.account_id), "x")
    with pytest.raises(NotFound):
        await access.open(org, ObjectId())


async def test_bluesky_sessions_refresh_too(rt: Runtime, sandbox: SandboxControl) -> None:
    from sandbox.bluesky import APP_PASSWORD

    org = ObjectId()
    provider = rt.platforms.provider("bluesky")
    connection = await provider.login("chorusbrand.bsky.social", APP_PASSWORD)
    account = connection.accounts[0]
    doc = SocialAccount(
        organization_id=org,
        platform="bluesky",
        account_info=AccountInfo(
            platform_id=account.profile.platform_id, username=account.profile.username
        ),
    )
    repo = TenantRepository(rt.db, SocialAccount)
    await repo.insert(doc)
    await repo.update(org, doc.id, sealed(rt.cipher, account.tokens))
    await expire_soon(rt, org, doc.id)

    opened = await StoredAccountAccess(rt).open(org, doc.id)

    assert opened.tokens.access_token != account.tokens.access_token
    assert opened.tokens.extra.get("pds")
    assert (await provider.account_metrics(opened.tokens)).followers is not None


def test_unconfigured_networks_use_the_sandbox_and_configured_ones_production(
    tmp_path: Path,
) -> None:
    started: list[str] = []

    def start() -> tuple[str, object]:
        started.append("sandbox")
        return "http://127.0.0.1:9", lambda: None

    settings = make_settings(
        tmp_path, x_client_id="real-app", x_client_secret="real-secret", platforms_sandbox_url=None
    )
    registry = PlatformRegistry(settings, start_sandbox=start)  # type: ignore[arg-type]

    assert registry.form("twitter") == "production"
    assert registry.form("x") == "production"
    assert registry.form("linkedin") == "sandbox"
    assert registry.form("bluesky") == "sandbox"
    x = registry.provider("twitter")
    assert x.authorization_url("s", "https://c/cb", "ch").url.startswith("https://x.com/")
    assert started == [], "a configured network must not start the sandbox"
    linkedin = registry.provider("linkedin")
    assert linkedin.authorization_url("s", "https://c/cb", "ch").url.startswith(
        "http://127.0.0.1:9/linkedin"
    )
    registry.provider("tiktok")
    assert started == ["sandbox"], "the sandbox starts once, on first use"
    assert registry.provider("linkedin") is linkedin
    with pytest.raises(ValueError, match="no provider"):
        registry.provider("myspace")
    explicit = make_settings(tmp_path, bluesky_service_url="https://pds.example")
    assert PlatformRegistry(explicit).form("bluesky") == "production"
