"""Sign-up, sign-in, token refresh and sign-out."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from functools import cache

from fastapi import APIRouter, Depends, Request, Response
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from api.deps import CurrentPrincipal, RuntimeDep, client_ip, rate_limited_by_ip, unauthorized
from api.errors import ApiError
from api.routes.schemas import (
    AuthOut,
    LoginIn,
    LogoutIn,
    OrganizationOut,
    RefreshIn,
    RegisterIn,
    RegisterOut,
    TokenOut,
    UserOut,
)
from api.security import ACCESS_TOKEN_TTL, InvalidToken
from api.sessions import Sessions, TokenPair
from persistence.admin import OrganizationAdmin
from persistence.ids import utcnow
from persistence.models.organizations import Organization, Profile, User
from persistence.passwords import hash_password, needs_rehash, verify_password
from persistence.repository import TenantRepository, tenant_filter

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)

# Per client IP, before anyone is known: slows password guessing across many accounts.
_auth_limit = Depends(rate_limited_by_ip("auth", 30, 60))

router = APIRouter(prefix="/api/auth", tags=["auth"])


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


def _tokens(pair: TokenPair) -> dict[str, object]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": int(ACCESS_TOKEN_TTL.total_seconds()),
    }


def _sessions(runtime: RuntimeDep) -> Sessions:
    return Sessions(runtime.db, runtime.signing_secret)


@router.post("/register", status_code=201, response_model=RegisterOut, dependencies=[_auth_limit])
async def register(body: RegisterIn, request: Request, runtime: RuntimeDep) -> RegisterOut:
    """A new organization and its first user, who is its admin."""
    admin = OrganizationAdmin(runtime.db)
    if await admin.find_user_by_email(body.email) is not None:
        raise ApiError(
            409,
            "an account with this email already exists",
            fields=[{"field": "body.email", "message": "already registered"}],
        )
    password_hash = await asyncio.to_thread(hash_password, body.password)
    org = await admin.create(body.organization_name)
    user = User(
        organization_id=org.id,
        email=body.email,
        password_hash=password_hash,
        profile=Profile(first_name=body.first_name, last_name=body.last_name),
        role="admin",
    )
    try:
        await TenantRepository(runtime.db, User).insert(user)
    except DuplicateKeyError:
        # Lost a race for the email: take the organization back so nothing half-made stays.
        await TenantRepository(runtime.db, Organization).delete(org.id, org.id)
        raise
    pair = await _sessions(runtime).start(
        user, user_agent=request.headers.get("user-agent"), ip=client_ip(request)
    )
    return RegisterOut(**_tokens(pair), user=UserOut.of(user), organization=OrganizationOut.of(org))


@router.post("/login", response_model=AuthOut, dependencies=[_auth_limit])
async def login(body: LoginIn, request: Request, runtime: RuntimeDep) -> AuthOut:
    """Tokens for a correct email and password. Five failures lock the account 15 minutes."""
    user = await OrganizationAdmin(runtime.db).find_user_by_email(body.email)
    if user is None:
        # Spend the same time as a real check, so timing does not reveal who has an account.
        await asyncio.to_thread(lambda: verify_password(_dummy_hash(), body.password))
        raise unauthorized("invalid email or password")

    now = utcnow()
    locked_until = user.authentication.locked_until
    if locked_until is not None and locked_until > now:
        _raise_locked(locked_until - now)

    users = TenantRepository(runtime.db, User)
    org_id = user.organization_id
    if not await asyncio.to_thread(verify_password, user.password_hash, body.password):
        # $inc, not read-modify-write, so concurrent guesses are all counted.
        raw = await users.collection.find_one_and_update(
            tenant_filter(org_id, {"_id": user.id}),
            {"$inc": {"authentication.loginAttempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        attempts = (raw or {}).get("authentication", {}).get("loginAttempts", 0)
        if attempts >= MAX_FAILED_LOGINS:
            await users.update(
                org_id,
                user.id,
                {"authentication.lockedUntil": now + LOCKOUT, "authentication.loginAttempts": 0},
            )
            _raise_locked(LOCKOUT)
        raise unauthorized("invalid email or password")

    if not user.authentication.is_active:
        raise ApiError(403, "this account is disabled", code="account_disabled")
    changes: dict[str, object] = {
        "authentication.loginAttempts": 0,
        "authentication.lockedUntil": None,
        "authentication.lastLogin": now,
    }
    if needs_rehash(user.password_hash):
        changes["passwordHash"] = await asyncio.to_thread(hash_password, body.password)
    user = await users.update(org_id, user.id, changes) or user
    pair = await _sessions(runtime).start(
        user, user_agent=request.headers.get("user-agent"), ip=client_ip(request)
    )
    return AuthOut(**_tokens(pair), user=UserOut.of(user))


def _raise_locked(remaining: timedelta) -> None:
    minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    raise ApiError(
        423,
        f"account locked after {MAX_FAILED_LOGINS} failed sign-ins; try again in {minutes} min",
        code="account_locked",
        headers={"Retry-After": str(max(1, math.ceil(remaining.total_seconds())))},
    )


@router.post("/refresh", response_model=TokenOut, dependencies=[_auth_limit])
async def refresh(body: RefreshIn, request: Request, runtime: RuntimeDep) -> TokenOut:
    """A new token pair for a refresh token, which stops working. Reusing it ends the session."""
    sessions = _sessions(runtime)
    try:
        old = await sessions.consume(body.refresh_token)
    except InvalidToken as exc:
        raise unauthorized(str(exc)) from exc
    user = await TenantRepository(runtime.db, User).get(old.organization_id, old.user_id)
    if user is None or not user.authentication.is_active:
        raise unauthorized("the account no longer exists or is disabled")
    pair = await sessions.start(
        user,
        user_agent=request.headers.get("user-agent"),
        ip=client_ip(request),
        family_id=old.family_id,
    )
    return TokenOut(**_tokens(pair))


@router.post("/logout", status_code=204, response_class=Response)
async def logout(
    principal: CurrentPrincipal, runtime: RuntimeDep, body: LogoutIn | None = None
) -> Response:
    """End the caller's session (and the one of ``refreshToken``, if it is the caller's)."""
    sessions = _sessions(runtime)
    if principal.session_id:
        await sessions.revoke_family(principal.org_id, principal.session_id)
    if body is not None and body.refresh_token:
        try:
            session = await sessions.find(body.refresh_token)
        except InvalidToken:
            session = None  # nothing to end; logout is idempotent
        if session is not None and session.user_id == principal.user_id:
            await sessions.revoke_family(session.organization_id, session.family_id)
    return Response(status_code=204)
