"""Connected social accounts: connect (OAuth consent, or Bluesky's app password), the OAuth
callback, list, settings, refresh, disconnect, and what each network accepts.

Reading is open to every member; syncing and refreshing tokens need ``write``; connecting,
changing settings and disconnecting need ``manage_social_accounts`` (admins and managers).
The callback is where the network sends the user's browser back: it carries no credentials,
the one-time ``state`` ties it to the organization that started the consent.
"""

from __future__ import annotations

from typing import Annotated

from bson import ObjectId
from fastapi import APIRouter, Depends, Query, Response

from api.deps import IdPath, Reader, RuntimeDep, Writer, rate_limited, rate_limited_by_ip, require
from api.principal import Principal
from api.responses import errors
from api.routes.social_account_schemas import (
    AccountMetricsListOut,
    ConnectIn,
    ConnectOut,
    InsightsOut,
    PlatformOut,
    PlatformsOut,
    SettingsIn,
    SocialAccountOut,
    SocialAccountsOut,
    SyncOut,
)
from persistence.errors import InvalidInput
from persistence.models.content import Platform
from services.social_accounts import connect, insights, manage, sync
from services.social_accounts.access import StoredAccountAccess
from services.social_accounts.errors import network_call

AccountsAdmin = Annotated[Principal, Depends(require("manage_social_accounts"))]

CALLBACK_PATH = "/api/social-accounts/callback"

router = APIRouter(prefix="/api/social-accounts", tags=["social accounts"])
# Every route but the callback (the browser coming back from the network, without
# credentials) is for members, rate limited per member.
_MEMBERS = [Depends(rate_limited("social_accounts", 300, 60))]


@router.get(
    "/callback",
    response_model=ConnectOut,
    responses=errors(402, 409, 422, 429, 503),
    dependencies=[Depends(rate_limited_by_ip("social_accounts_callback", 60, 60))],
)
async def oauth_callback(
    runtime: RuntimeDep,
    state: Annotated[str, Query(min_length=1, max_length=200)],
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> ConnectOut:
    """Where the network redirects after consent: trades the code for tokens and stores the
    accounts (a reconnected account is updated and works again). 422 for a state that is
    unknown, expired or used, or a code the network refuses; 409 when the user declined
    (``consent_denied``) or the consent covers no account to post as (``no_accounts``)."""
    accounts = await connect.complete(runtime, state, code, error, error_description)
    return ConnectOut.connected(accounts[0].platform, accounts)  # store() never gives none


@router.get(
    "", response_model=SocialAccountsOut, dependencies=_MEMBERS, responses=errors(401, 422, 429)
)
async def list_accounts(
    principal: Reader,
    runtime: RuntimeDep,
    platform: Annotated[Platform | None, Query(description="Only this network's.")] = None,
) -> SocialAccountsOut:
    """The organization's connected accounts (including those that need reconnecting)."""
    found = await manage.list_accounts(runtime, principal.org_id, platform)
    return SocialAccountsOut(items=[SocialAccountOut.of(a) for a in found])


@router.get(
    "/platforms", response_model=PlatformsOut, dependencies=_MEMBERS, responses=errors(401, 429)
)
async def list_platforms(principal: Reader, runtime: RuntimeDep) -> PlatformsOut:
    """Every network: how it connects, what it can do, and its limits (text, media, rate
    budgets)."""
    platforms = runtime.platforms
    return PlatformsOut(
        platforms=[
            PlatformOut.of(platforms.provider(n), platforms.form(n)) for n in platforms.networks
        ]
    )


@router.post(
    "/connect",
    response_model=ConnectOut,
    dependencies=_MEMBERS,
    responses=errors(401, 402, 403, 409, 422, 429, 503),
)
async def connect_account(
    body: ConnectIn, principal: AccountsAdmin, runtime: RuntimeDep
) -> ConnectOut:
    """OAuth networks: the consent page to send the user to (``authorizationUrl``); the
    network then redirects to ``/api/social-accounts/callback``. Bluesky: send
    ``identifier`` and ``appPassword``; the account is connected at once. 402 when the plan
    allows no more accounts; 409 when the network refuses; 503 when it does not answer."""
    bind_to = ObjectId(body.account_id) if body.account_id else None
    if body.platform == "bluesky" or body.identifier or body.app_password:
        if not (body.identifier and body.app_password):
            missing = "body.identifier" if not body.identifier else "body.appPassword"
            raise InvalidInput.field(missing, f"required to connect {body.platform}")
        accounts = await connect.login(
            runtime,
            principal.org_id,
            principal.user_id,
            body.platform,
            body.identifier,
            body.app_password,
            account_id=bind_to,
        )
        return ConnectOut.connected(body.platform, accounts)
    redirect_uri = runtime.public_base_url + CALLBACK_PATH
    started = await connect.start(
        runtime,
        principal.org_id,
        principal.user_id,
        body.platform,
        redirect_uri,
        account_id=bind_to,
    )
    return ConnectOut.started(started)


@router.get(
    "/{account_id:objectid}",
    response_model=SocialAccountOut,
    dependencies=_MEMBERS,
    responses=errors(401, 404, 422, 429),
)
async def get_account(
    account_id: IdPath, principal: Reader, runtime: RuntimeDep
) -> SocialAccountOut:
    return SocialAccountOut.of(await manage.get(runtime, principal.org_id, account_id))


@router.put(
    "/{account_id:objectid}",
    response_model=SocialAccountOut,
    dependencies=_MEMBERS,
    responses=errors(401, 403, 404, 422, 429),
)
async def update_account(
    account_id: IdPath, body: SettingsIn, principal: AccountsAdmin, runtime: RuntimeDep
) -> SocialAccountOut:
    """Settings: default hashtags, posting windows, timezone, auto-post. Only the fields sent
    change."""
    change = manage.SettingsChange(
        default_hashtags=body.default_hashtags,
        posting_windows=[w.window() for w in body.posting_windows]
        if body.posting_windows is not None
        else None,
        timezone=body.timezone,
        auto_post=body.auto_post,
    )
    updated = await manage.update_settings(runtime, principal.org_id, account_id, change)
    return SocialAccountOut.of(updated)


@router.delete(
    "/{account_id:objectid}",
    status_code=204,
    dependencies=_MEMBERS,
    responses=errors(401, 403, 404, 422, 429, 503),
)
async def disconnect_account(
    account_id: IdPath, principal: AccountsAdmin, runtime: RuntimeDep
) -> Response:
    """Revoke the account's tokens at the network, then remove it. 503 (nothing removed)
    when the network does not answer."""
    await manage.disconnect(runtime, principal.org_id, account_id)
    return Response(status_code=204)


@router.post(
    "/{account_id:objectid}/refresh",
    response_model=SocialAccountOut,
    dependencies=_MEMBERS,
    responses=errors(401, 403, 404, 409, 422, 429, 503),
)
async def refresh_account(
    account_id: IdPath, principal: Writer, runtime: RuntimeDep
) -> SocialAccountOut:
    """New tokens now. 409 ``needs_reconnect`` (with the network's reason) when the network
    refuses: connect the account again."""
    with network_call():
        opened = await StoredAccountAccess(runtime).refresh(principal.org_id, account_id)
    return SocialAccountOut.of(opened.account)


@router.post(
    "/{account_id:objectid}/sync",
    response_model=SyncOut,
    dependencies=_MEMBERS,
    responses=errors(401, 403, 404, 409, 422, 429, 503),
)
async def sync_account(account_id: IdPath, principal: Writer, runtime: RuntimeDep) -> SyncOut:
    """Read the account's numbers and its published posts' metrics from the network now
    (the schedule does it hourly). 429 while the network's rate limit lasts (Retry-After);
    409 ``needs_reconnect``."""
    result = await sync.sync_account(runtime, principal.org_id, account_id)
    account = await manage.get(runtime, principal.org_id, account_id)
    return SyncOut.of(result, account)


Days = Annotated[int, Query(ge=1, le=365, description="How many days back.")]


@router.get(
    "/{account_id:objectid}/insights",
    response_model=InsightsOut,
    dependencies=_MEMBERS,
    responses=errors(401, 404, 422, 429),
)
async def account_insights(
    account_id: IdPath, principal: Reader, runtime: RuntimeDep, days: Days = 30
) -> InsightsOut:
    """The account's followers, following, posts, impressions and reach, one entry per sync,
    with the latest values and the change over the period."""
    found = await insights.account_insights(runtime, principal.org_id, account_id, days)
    return InsightsOut.of(found)


@router.get(
    "/{account_id:objectid}/metrics",
    response_model=AccountMetricsListOut,
    dependencies=_MEMBERS,
    responses=errors(401, 404, 422, 429),
)
async def account_metrics(
    account_id: IdPath,
    principal: Reader,
    runtime: RuntimeDep,
    days: Days = 30,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AccountMetricsListOut:
    """Each post published from the account in the period (newest first) with its metrics,
    and their totals: synced from the network or imported."""
    found = await insights.post_metrics(runtime, principal.org_id, account_id, days, limit)
    return AccountMetricsListOut.of(found)
