"""The demo organization's accounts, connected through the sandbox networks, with numbers.

``make run`` (``chorus serve --seed-demo``) must show connected accounts with metrics on a
machine with no network access. The seeded accounts are placeholders without tokens; here
each one whose network runs in its sandbox form is connected the way a person would do it:
the accounts service starts the consent, this module opens the sandbox's consent page and
presses Authorize (``sandbox.client.SandboxControl.consent``, the same code the tests use),
and the callback's state and code go back through the accounts service, which stores the
identity into the placeholder (``connect.start(..., account_id=...)``). Then each account is
synced once, so its followers and insights are there at first sight.

The in-process sandbox keeps its state in memory, so the tokens of a previous run stop
working when the server restarts: every start checks each demo account's tokens with one
read and connects again the ones the sandbox no longer knows. Networks configured for
production are left alone (a person connects those for real).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bson import ObjectId

from persistence.admin import OrganizationAdmin
from persistence.errors import ChorusError
from persistence.models import SocialAccount
from persistence.repository import TenantRepository
from services.demo.planted import DEMO_SLUG
from services.social_accounts import connect, sync
from services.social_accounts.access import StoredAccountAccess
from tools.platforms.base import PlatformError

log = logging.getLogger(__name__)

CALLBACK_PATH = "/api/social-accounts/callback"


async def connect_demo_accounts(runtime: Any) -> dict[str, str]:
    """Connect (or reconnect) the demo organization's sandbox accounts and sync them; what
    happened per account id. Nothing if there is no demo organization."""
    org = await OrganizationAdmin(runtime.db).get_by_slug(DEMO_SLUG)
    if org is None:
        return {}
    accounts = await TenantRepository(runtime.db, SocialAccount).find(
        org.id, {"status.connection": {"$ne": "disconnected"}}
    )
    outcome: dict[str, str] = {}
    for account in accounts:
        if runtime.platforms.form(account.platform) != "sandbox":
            continue
        try:
            if not await _works(runtime, org.id, account):
                await _connect(runtime, org.id, account)
                outcome[str(account.id)] = "connected"
            else:
                outcome[str(account.id)] = "already connected"
            await sync.sync_account(runtime, org.id, account.id)
        except (ChorusError, PlatformError) as exc:
            log.warning("demo account %s (%s): %s", account.id, account.platform, exc)
            outcome[str(account.id)] = f"failed: {exc}"
    return outcome


async def _works(runtime: Any, org_id: ObjectId, account: SocialAccount) -> bool:
    """Whether the stored tokens still work at the sandbox (one cheap read)."""
    if not account.authentication.access_token or account.status.connection != "connected":
        return False
    try:
        opened = await StoredAccountAccess(runtime).open(org_id, account.id)
        await opened.provider.account_metrics(opened.tokens)
        return True
    except PlatformError:
        return False


async def _connect(runtime: Any, org_id: ObjectId, account: SocialAccount) -> None:
    from sandbox.client import SandboxControl

    provider = runtime.platforms.provider(account.platform)
    user_id = account.user_id or ObjectId()
    if provider.auth_kind == "app_password":
        from sandbox.bluesky import APP_PASSWORD

        handle = "chorusbrand.bsky.social"  # the sandbox's Bluesky account
        await connect.login(
            runtime, org_id, user_id, account.platform, handle, APP_PASSWORD, account_id=account.id
        )
        return
    started = await connect.start(
        runtime,
        org_id,
        user_id,
        account.platform,
        runtime.public_base_url + CALLBACK_PATH,
        account_id=account.id,
    )
    control = SandboxControl(runtime.platforms.sandbox_url)
    try:
        # The control client is synchronous (a browser's clicks); keep it off the loop.
        consent = await asyncio.to_thread(control.consent, started.authorization_url)
    finally:
        control.close()
    await connect.complete(runtime, consent.state or "", consent.code, consent.error)
