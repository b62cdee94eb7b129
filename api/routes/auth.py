"""Sign-up, sign-in (with the second factor when it is on), token refresh, sign-out,
switching organization and accepting an invitation.

A token pair acts in one organization (the person's active one); a person in several
organizations switches with ``/switch-organization`` and gets a pair for the other one.
Every credential route is rate limited per client IP and per account.
"""

from __future__ import annotations

from bson import ObjectId
from fastapi import APIRouter, Depends, Request, Response

from api import playground_cookie
from api.deps import (
    CurrentPrincipal,
    MaybePrincipal,
    RuntimeDep,
    SignedIn,
    client_ip,
    limit_account,
    rate_limited_by_ip,
    unauthorized,
)
from api.errors import ApiError
from api.ports import AppRuntime
from api.responses import errors
from api.routes.schemas import (
    AcceptInvitationIn,
    AuthOut,
    JoinedOut,
    LoginIn,
    LogoutIn,
    OrganizationOut,
    PlaygroundSessionOut,
    RefreshIn,
    RegisterIn,
    RegisterOut,
    SwitchOrganizationIn,
    TokenOut,
    UserOut,
)
from api.security import ACCESS_TOKEN_TTL, InvalidToken
from api.sessions import Sessions, TokenPair
from persistence.admin import OrganizationAdmin
from persistence.errors import InvalidInput
from persistence.models import User
from services import accounts, invitations, members, users

# Per client IP, before anyone is known: slows password guessing across many accounts.
_auth_limit = Depends(rate_limited_by_ip("auth", 30, 60))
# Per account (its email or token), whatever the address: slows guessing one account's
# password from many addresses.
LOGIN_PER_ACCOUNT = (10, 300)
INVITATION_PER_ACCOUNT = (10, 3600)

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _tokens(pair: TokenPair) -> dict[str, object]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": int(ACCESS_TOKEN_TTL.total_seconds()),
    }


def _sessions(runtime: AppRuntime) -> Sessions:
    return Sessions(runtime.db, runtime.signing_secret)


async def _start(
    runtime: AppRuntime, request: Request, user: User, org_id: ObjectId, **kw: object
) -> TokenPair:
    return await _sessions(runtime).start(
        user, org_id, user_agent=request.headers.get("user-agent"), ip=client_ip(request), **kw
    )


@router.post(
    "/register",
    status_code=201,
    response_model=RegisterOut,
    dependencies=[_auth_limit],
    responses=errors(409, 422, 429),
)
async def register(body: RegisterIn, request: Request, runtime: RuntimeDep) -> RegisterOut:
    """A new organization and its first user, who is its admin. A link to confirm the email
    address is mailed."""
    made = await accounts.register(
        runtime.db,
        runtime.mailer,
        runtime.public_base_url,
        email=body.email,
        password=body.password,
        organization_name=body.organization_name,
        first_name=body.first_name,
        last_name=body.last_name,
    )
    pair = await _start(runtime, request, made.user, made.organization.id)
    return RegisterOut(
        **_tokens(pair),
        user=UserOut.of(made.user, made.organization.id, made.membership.role),
        organization=OrganizationOut.of(made.organization),
    )


@router.post(
    "/login",
    response_model=AuthOut,
    dependencies=[_auth_limit],
    responses=errors(401, 403, 404, 422, 423, 429),
)
async def login(
    body: LoginIn, request: Request, response: Response, runtime: RuntimeDep
) -> AuthOut:
    """Tokens for a correct email and password, and ``twoFactorCode`` when two-factor
    sign-in is on (without it: 401 ``two_factor_required``). Five failures lock the account
    for 15 minutes. The tokens act in ``organizationId`` if given, else in the organization
    used last."""
    await limit_account(request, response, "login_account", body.email, *LOGIN_PER_ACCOUNT)
    user = await accounts.authenticate(
        runtime.db, runtime.cipher, body.email, body.password, body.two_factor_code
    )
    requested = ObjectId(body.organization_id) if body.organization_id else None
    choice = await members.choose_organization(runtime.db, user, requested)
    pair = await _start(runtime, request, user, choice.organization.id)
    await accounts.record_sign_in(runtime.db, user, choice.membership)
    return AuthOut(
        **_tokens(pair), user=UserOut.of(user, choice.organization.id, choice.membership.role)
    )


@router.post(
    "/refresh", response_model=TokenOut, dependencies=[_auth_limit], responses=errors(401, 429)
)
async def refresh(body: RefreshIn, request: Request, runtime: RuntimeDep) -> TokenOut:
    """A new token pair for a refresh token, which stops working. Reusing it ends the session."""
    sessions = _sessions(runtime)
    try:
        old = await sessions.consume(body.refresh_token)
    except InvalidToken as exc:
        raise unauthorized(str(exc)) from exc
    user = await OrganizationAdmin(runtime.db).get_user(old.user_id)
    if user is None or not user.authentication.is_active:
        raise unauthorized("the account no longer exists or is disabled")
    if await members.active_membership(runtime.db, old.organization_id, user) is None:
        raise unauthorized("you are no longer a member of this organization; sign in again")
    pair = await _start(
        runtime,
        request,
        user,
        old.organization_id,
        family_id=old.family_id,
        signed_in_at=old.signed_in_at or old.created_at,
    )
    return TokenOut(**_tokens(pair))


@router.post(
    "/playground-session",
    response_model=PlaygroundSessionOut,
    responses=errors(401, 403),
)
async def playground_session(
    principal: CurrentPrincipal, request: Request, response: Response
) -> PlaygroundSessionOut:
    """For the signed-in console: an HttpOnly, SameSite=Strict cookie holding the caller's
    access token, sent only to ``/graphs``, so the LangServe playground
    (``/graphs/{name}/playground/``) opens in this browser. Ask again after each refresh."""
    header = request.headers.get("authorization", "")
    if principal.via != "token" or not header.lower().startswith("bearer "):
        raise ApiError(403, "sign in with a password (an API key opens no playground)")
    seconds = playground_cookie.issue(request, response, header.split(" ", 1)[1].strip())
    return PlaygroundSessionOut(expires_in=seconds, path=playground_cookie.PATH)


@router.post("/logout", status_code=204, response_class=Response, responses=errors(401))
async def logout(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    request: Request,
    body: LogoutIn | None = None,
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
    await accounts.record_sign_out(runtime.db, principal.org_id, principal.user_id, principal.email)
    response = Response(status_code=204)
    playground_cookie.clear(request, response)
    return response


@router.post(
    "/switch-organization",
    response_model=AuthOut,
    dependencies=[_auth_limit],
    responses=errors(401, 403, 404, 422, 429),
)
async def switch_organization(
    body: SwitchOrganizationIn, principal: SignedIn, request: Request, runtime: RuntimeDep
) -> AuthOut:
    """Tokens acting in another organization the caller belongs to (an agency moving
    between clients). The current sign-in ends; the new one keeps the device."""
    user = await users.load(runtime.db, principal.user_id)
    choice = await members.choose_organization(runtime.db, user, ObjectId(body.organization_id))
    if principal.session_id:
        await _sessions(runtime).revoke_family(principal.org_id, principal.session_id)
    pair = await _start(runtime, request, user, choice.organization.id)
    await accounts.record_sign_in(runtime.db, user, choice.membership, switched=True)
    return AuthOut(
        **_tokens(pair), user=UserOut.of(user, choice.organization.id, choice.membership.role)
    )


@router.post(
    "/accept-invitation",
    response_model=JoinedOut,
    dependencies=[_auth_limit],
    responses=errors(401, 403, 409, 422, 423, 429),
)
async def accept_invitation(
    body: AcceptInvitationIn,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    principal: MaybePrincipal,
) -> JoinedOut:
    """Join the organization of an invitation. With an account: send your bearer token, or
    your ``password`` (and ``twoFactorCode``); the invitation must be for your address.
    Without one: send the ``password`` (and name) of the account to make. Answers tokens
    acting in the organization joined."""
    await limit_account(
        request, response, "invitation_account", body.token, *INVITATION_PER_ACCOUNT
    )
    if principal is None:
        if not body.password:
            raise InvalidInput.field(
                "body.password",
                "your account's password (or, new to Chorus, the one to choose), or sign in "
                "and send your bearer token",
            )
        joined = await invitations.accept_with_password(
            runtime.db,
            runtime.cipher,
            body.token,
            password=body.password,
            two_factor_code=body.two_factor_code,
            first_name=body.first_name,
            last_name=body.last_name,
        )
    else:
        if principal.via != "token":
            raise ApiError(403, "sign in with your password to accept an invitation")
        user = await users.load(runtime.db, principal.user_id)
        joined = await invitations.accept_as(runtime.db, body.token, user)
        if principal.session_id:
            await _sessions(runtime).revoke_family(principal.org_id, principal.session_id)
    pair = await _start(runtime, request, joined.user, joined.organization.id)
    await members.mark_used(runtime.db, joined.membership)
    return JoinedOut(
        **_tokens(pair),
        user=UserOut.of(joined.user, joined.organization.id, joined.membership.role),
        organization=OrganizationOut.of(joined.organization),
    )
