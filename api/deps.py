"""Typed dependencies: the runtime, the principal, permission checks, rate limits.

Routes declare what they need (``principal: CurrentPrincipal``,
``dependencies=[Depends(require("write"))]``); the tenant always comes from the principal.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from bson import ObjectId
from bson.errors import InvalidId
from fastapi import Depends, Path, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from starlette.convertors import Convertor, register_url_convertor

from api.errors import ApiError
from api.ports import AppRuntime
from api.principal import Principal
from api.security import (
    API_KEY_PREFIX,
    InvalidToken,
    api_key_org,
    decode_access_token,
    hash_secret,
)
from api.sessions import Sessions
from persistence.admin import OrganizationAdmin
from persistence.ids import utcnow
from persistence.models.organizations import ApiKey, Role, User
from persistence.repository import TenantRepository
from runs.engine import RunEngine
from services import audit, members

LAST_USED_GRAIN = timedelta(minutes=1)


def get_runtime(request: Request) -> AppRuntime:
    return request.app.state.runtime


def get_engine(request: Request) -> RunEngine:
    return get_runtime(request).engine


RuntimeDep = Annotated[AppRuntime, Depends(get_runtime)]
EngineDep = Annotated[RunEngine, Depends(get_engine)]

# auto_error=False: a missing credential is answered by us, in the one error shape.
bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /api/auth/login")
api_key_scheme = APIKeyHeader(name="x-api-key", auto_error=False, description="API key")


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="chorus"'})


async def _member(runtime: AppRuntime, org_id: ObjectId, user_id: ObjectId) -> tuple[User, Role]:
    """The active user and their role in ``org_id``, read per request: a disabled account,
    a removal or a demotion applies to the very next request."""
    user = await OrganizationAdmin(runtime.db).get_user(user_id)
    if user is None or not user.authentication.is_active:
        raise unauthorized("the account no longer exists or is disabled")
    membership = await members.active_membership(runtime.db, org_id, user)
    if membership is None:
        raise unauthorized("you are no longer a member of this organization")
    return user, membership.role


async def from_token(runtime: AppRuntime, token: str) -> Principal:
    """The principal of an access token (signature, session still active, membership)."""
    try:
        claims = decode_access_token(runtime.signing_secret, token)
    except InvalidToken as exc:
        raise unauthorized(str(exc)) from exc
    # Checked per request so that logout and refresh-token reuse end access at once.
    sessions = Sessions(runtime.db, runtime.signing_secret)
    if not await sessions.is_active(claims.org_id, claims.user_id, claims.session_id):
        raise unauthorized("the session has ended; sign in again")
    user, role = await _member(runtime, claims.org_id, claims.user_id)
    return Principal(
        user_id=user.id,
        org_id=claims.org_id,
        role=role,
        email=user.email,
        via="token",
        session_id=claims.session_id,
        operator=user.platform_role == "operator",
    )


async def _from_api_key(runtime: AppRuntime, key: str) -> Principal:
    try:
        org_id = api_key_org(key)
    except InvalidToken as exc:
        raise unauthorized("the API key is invalid") from exc
    keys = TenantRepository(runtime.db, ApiKey)
    stored = await keys.find_one(org_id, {"keyHash": hash_secret(key), "revokedAt": None})
    if stored is None:
        raise unauthorized("the API key is invalid or revoked")
    user, role = await _member(runtime, org_id, stored.user_id)
    now = utcnow()
    # Recorded at most once a minute per key: a write on every request would cost more than
    # the request itself, and "last used" needs no finer grain.
    if stored.last_used_at is None or now - stored.last_used_at > LAST_USED_GRAIN:
        await keys.update(org_id, stored.id, {"lastUsedAt": now})
    return Principal(
        user_id=user.id,
        org_id=org_id,
        role=role,
        email=user.email,
        via="api_key",
        api_key_id=stored.id,
    )


def identify(principal: Principal) -> None:
    """Tell the request's audit scope who is calling (api.audit records it)."""
    scope = audit.current_request()
    if scope is None:
        return
    actor = audit.Actor(
        "api_key" if principal.via == "api_key" else "user",
        user_id=principal.user_id,
        api_key_id=principal.api_key_id,
        email=principal.email,
    )
    scope.identify(principal.org_id, actor, principal.session_id)


async def get_principal(
    request: Request,
    runtime: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    """The caller, from ``Authorization: Bearer`` (an access token, or an API key as Stripe
    and OpenAI take theirs) or ``x-api-key``; 401 otherwise.

    A credential that is sent is checked, never skipped: an ``Authorization`` header that is
    not a valid bearer token is a 401 even if an API key came along."""
    if "authorization" in request.headers:
        if bearer is None or not bearer.credentials:
            raise unauthorized("the Authorization header must be 'Bearer <access token>'")
        if bearer.credentials.startswith(f"{API_KEY_PREFIX}_"):
            principal = await _from_api_key(runtime, bearer.credentials)
        else:
            principal = await from_token(runtime, bearer.credentials)
    elif api_key:
        principal = await _from_api_key(runtime, api_key)
    else:
        raise unauthorized("authentication required: a bearer token or an x-api-key header")
    request.state.principal = principal
    identify(principal)
    return principal


async def optional_principal(
    request: Request,
    runtime: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal | None:
    """The caller if credentials were sent (and are valid: bad ones are still a 401)."""
    if "authorization" not in request.headers and not api_key:
        return None
    return await get_principal(request, runtime, bearer, api_key)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def authenticate(
    runtime: AppRuntime, *, token: str | None = None, api_key: str | None = None
) -> Principal:
    """The principal of an access token or an API key, for callers that are not plain HTTP
    routes (WebSockets authenticate at connect); ApiError 401 otherwise."""
    if token:
        return await from_token(runtime, token)
    if api_key:
        return await _from_api_key(runtime, api_key)
    raise unauthorized("authentication required: a bearer token or an API key")


async def still_valid(runtime: AppRuntime, principal: Principal) -> bool:
    """Whether a principal authenticated earlier may still act: its session not ended (or its
    API key not revoked), its account active and still a member. For long-lived connections."""
    try:
        if principal.via == "token":
            sessions = Sessions(runtime.db, runtime.signing_secret)
            if not await sessions.is_active(
                principal.org_id, principal.user_id, principal.session_id or ""
            ):
                return False
        else:
            keys = TenantRepository(runtime.db, ApiKey)
            found = await keys.find_one(
                principal.org_id, {"_id": principal.api_key_id, "revokedAt": None}
            )
            if found is None:
                return False
        await _member(runtime, principal.org_id, principal.user_id)
    except ApiError:
        return False
    return True


def require(
    permission: str, principal_of: Callable[..., Awaitable[Principal]] | None = None
) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only principals whose role grants ``permission``;
    ``principal_of`` is how the caller is known (``get_principal`` unless given)."""

    # A default, not an annotation: annotations are resolved in the module's globals, where
    # ``principal_of`` does not exist.
    async def check(principal: Principal = Depends(principal_of or get_principal)) -> Principal:
        if not principal.can(permission):
            raise ApiError(403, f"the {principal.role} role may not do this (needs {permission!r})")
        return principal

    return check


Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def signed_in(principal: CurrentPrincipal) -> Principal:
    """A person signed in with their password (a bearer token), not an API key: changing how
    an account signs in (2FA, devices, switching organization) must not be open to a key that
    leaked into a script."""
    if principal.via != "token":
        raise ApiError(
            403, "sign in with your password for this; an API key cannot", code="token_required"
        )
    return principal


SignedIn = Annotated[Principal, Depends(signed_in)]


async def operator(principal: SignedIn) -> Principal:
    """A platform operator: a role above every organization, distinct from (and not given
    by) any organization's admin role."""
    if not principal.operator:
        raise ApiError(403, "only a platform operator may do this", code="operator_required")
    return principal


Operator = Annotated[Principal, Depends(operator)]


# --- rate limits -------------------------------------------------------------------------

# Tests and deployments may override a route class with app.state.rate_limits[route_class]
# = (limit, window_seconds); the values given at the route are the defaults.
RateOverrides = dict[str, tuple[int, float]]


def _limits(request: Request, route_class: str, limit: int, window: float) -> tuple[int, float]:
    overrides: RateOverrides = getattr(request.app.state, "rate_limits", {}) or {}
    return overrides.get(route_class, (limit, window))


async def _enforce(
    request: Request, response: Response, key: str, limit: int, window: float
) -> None:
    decision = await get_runtime(request).rate_limiter.hit(key, limit, window)
    if not decision.allowed:
        retry = max(1, math.ceil(decision.retry_after))
        raise ApiError(
            429,
            f"too many requests; retry in {retry} s",
            headers={"Retry-After": str(retry), "X-RateLimit-Limit": str(limit)},
        )
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = str(decision.remaining)


def client_ip(request: Request) -> str:
    # The socket peer; behind a proxy the deployment must set uvicorn --forwarded-allow-ips
    # so this becomes the real client (trusting X-Forwarded-For blindly would let anyone
    # pick their own rate-limit bucket).
    return request.client.host if request.client else "unknown"


def rate_limited(
    route_class: str,
    limit: int,
    window: float,
    principal_of: Callable[..., Awaitable[Principal]] | None = None,
) -> Callable[..., Awaitable[None]]:
    """A dependency that allows ``limit`` hits per ``window`` seconds per principal
    (known by ``principal_of``, ``get_principal`` unless given)."""

    async def check(
        request: Request,
        response: Response,
        principal: Principal = Depends(principal_of or get_principal),  # see require()
    ) -> None:
        lim, win = _limits(request, route_class, limit, window)
        key = f"{route_class}:{principal.org_id}:{principal.user_id}:{principal.via}"
        await _enforce(request, response, key, lim, win)

    return check


def _account_key(account: str) -> str:
    # Hashed: rate-limit keys outlive the request and must not spell out an email address.
    return hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]


async def limit_account(
    request: Request, response: Response, route_class: str, account: str, limit: int, window: float
) -> None:
    """Allow ``limit`` hits per ``window`` seconds per account (an email, a user, a token),
    on top of the per-IP limit: guessing one account's secrets from many addresses is slowed
    as much as guessing many accounts' from one."""
    lim, win = _limits(request, route_class, limit, window)
    await _enforce(request, response, f"{route_class}:account:{_account_key(account)}", lim, win)


def rate_limited_by_ip(
    route_class: str, limit: int, window: float
) -> Callable[..., Awaitable[None]]:
    """The same per client IP, for routes that run before anyone is authenticated."""

    async def check(request: Request, response: Response) -> None:
        lim, win = _limits(request, route_class, limit, window)
        await _enforce(request, response, f"{route_class}:ip:{client_ip(request)}", lim, win)

    return check


class _ObjectIdConvertor(Convertor[str]):
    regex = "[0-9a-fA-F]{24}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


# ``/{account_id:objectid}``: the route matches only a 24-hex segment, so a sibling literal
# path (``/platforms``, ``/callback``) asked with another method is a 405 naming the methods
# it has, not a 422 from the id route that happened to match it.
register_url_convertor("objectid", _ObjectIdConvertor())

# A document id in a path: documented with its pattern, and refused (422) unless 24 hex.
IdPath = Annotated[
    str,
    Path(pattern="^[0-9a-fA-F]{24}$", description="A 24-character hex id"),
    AfterValidator(ObjectId),
]


def parse_id(value: str, field: str) -> ObjectId:
    """An id from the path; a malformed one is a 422 naming the field."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError) as exc:
        raise ApiError(
            422,
            f"invalid input: {field}",
            fields=[{"field": field, "message": "must be a 24-character hex id"}],
        ) from exc
