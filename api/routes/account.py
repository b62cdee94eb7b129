"""Getting back in and signing in safely: password reset, email verification, two-factor.

``/forgot-password`` answers the same whether or not the email has an account, and does its
work after the answer is sent, so neither the words nor the time tell. Each route is rate
limited per client IP and per account (the email, the token, or the signed-in user).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response

from api.deps import RuntimeDep, SignedIn, limit_account, rate_limited_by_ip
from api.ports import AppRuntime
from api.responses import errors
from api.routes.account_schemas import (
    CodeIn,
    ForgotPasswordIn,
    MessageOut,
    PasswordIn,
    RecoveryCodesOut,
    ResetPasswordIn,
    TokenIn,
    TwoFactorDisableIn,
    TwoFactorSetupOut,
)
from services import accounts, two_factor, users

log = logging.getLogger(__name__)

_ip_limit = Depends(rate_limited_by_ip("auth", 30, 60))
# Mail-sending and token routes: a handful an hour per account is plenty for a person and
# too few to bomb a mailbox or grind through tokens.
RECOVERY_PER_ACCOUNT = (5, 3600)
TWO_FACTOR_PER_ACCOUNT = (10, 300)

router = APIRouter(prefix="/api/auth", tags=["auth"], dependencies=[_ip_limit])

FORGOT_ANSWER = (
    "if an account uses this address, a link to choose a new password is on its way; "
    "it works once, for an hour"
)


async def _mail_reset(runtime: AppRuntime, email: str) -> None:
    try:
        await accounts.request_password_reset(
            runtime.db, runtime.mailer, runtime.public_base_url, email
        )
    except Exception:  # after the answer: log it, there is nobody to tell
        log.exception("could not send a password reset email")


@router.post(
    "/forgot-password", status_code=202, response_model=MessageOut, responses=errors(422, 429)
)
async def forgot_password(
    body: ForgotPasswordIn,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    runtime: RuntimeDep,
) -> MessageOut:
    """Mail a password reset link to the address, if it has an account."""
    await limit_account(request, response, "recovery_account", body.email, *RECOVERY_PER_ACCOUNT)
    background.add_task(_mail_reset, runtime, body.email)
    return MessageOut(message=FORGOT_ANSWER)


@router.post("/reset-password", response_model=MessageOut, responses=errors(422, 429))
async def reset_password(
    body: ResetPasswordIn, request: Request, response: Response, runtime: RuntimeDep
) -> MessageOut:
    """Choose a new password with the emailed link. Every session of the account ends."""
    await limit_account(request, response, "recovery_account", body.token, *RECOVERY_PER_ACCOUNT)
    await accounts.reset_password(runtime.db, body.token, body.password)
    return MessageOut(message="password changed; sign in with it on each of your devices")


@router.post("/verify-email", response_model=MessageOut, responses=errors(422, 429))
async def verify_email(
    body: TokenIn, request: Request, response: Response, runtime: RuntimeDep
) -> MessageOut:
    """Confirm the account's address with the emailed link."""
    await limit_account(request, response, "recovery_account", body.token, *RECOVERY_PER_ACCOUNT)
    await accounts.verify_email(runtime.db, body.token)
    return MessageOut(message="email address confirmed")


@router.post(
    "/resend-verification",
    status_code=202,
    response_model=MessageOut,
    responses=errors(401, 403, 429),
)
async def resend_verification(
    principal: SignedIn, request: Request, response: Response, runtime: RuntimeDep
) -> MessageOut:
    """Mail a new confirmation link to the signed-in account (the old link stops working)."""
    await limit_account(
        request, response, "recovery_account", str(principal.user_id), *RECOVERY_PER_ACCOUNT
    )
    user = await users.load(runtime.db, principal.user_id)
    sent = await accounts.send_verification(
        runtime.db, runtime.mailer, runtime.public_base_url, user
    )
    if not sent:
        return MessageOut(message="this address is already confirmed")
    return MessageOut(message=f"a new confirmation link was sent to {user.email}")


async def _two_factor_limit(request: Request, response: Response, principal: SignedIn) -> None:
    await limit_account(
        request, response, "two_factor_account", str(principal.user_id), *TWO_FACTOR_PER_ACCOUNT
    )


two_factor_router = APIRouter(
    prefix="/api/auth/2fa",
    tags=["auth"],
    dependencies=[_ip_limit, Depends(_two_factor_limit)],
)


@two_factor_router.post(
    "/enable", response_model=TwoFactorSetupOut, responses=errors(401, 403, 409, 422, 429)
)
async def enable_two_factor(
    body: PasswordIn, principal: SignedIn, runtime: RuntimeDep
) -> TwoFactorSetupOut:
    """Start two-factor sign-in: a TOTP secret to add to an authenticator app. It is on once
    ``/2fa/verify`` receives a code from the app."""
    user = await users.load(runtime.db, principal.user_id)
    secret, uri = await two_factor.begin(runtime.db, runtime.cipher, user, body.password)
    return TwoFactorSetupOut(secret=secret, otpauth_uri=uri)


@two_factor_router.post(
    "/verify", response_model=RecoveryCodesOut, responses=errors(401, 403, 409, 422, 429)
)
async def verify_two_factor(
    body: CodeIn, principal: SignedIn, runtime: RuntimeDep
) -> RecoveryCodesOut:
    """Turn two-factor sign-in on with the app's current code; answers the one-time
    recovery codes, shown this once."""
    user = await users.load(runtime.db, principal.user_id)
    codes = await two_factor.confirm(runtime.db, runtime.cipher, user, body.code)
    return RecoveryCodesOut(recovery_codes=codes)


@two_factor_router.post(
    "/disable", response_model=MessageOut, responses=errors(401, 403, 409, 422, 429)
)
async def disable_two_factor(
    body: TwoFactorDisableIn, principal: SignedIn, runtime: RuntimeDep
) -> MessageOut:
    """Turn two-factor sign-in off: needs the password and a current (or recovery) code."""
    user = await users.load(runtime.db, principal.user_id)
    await two_factor.disable(runtime.db, runtime.cipher, user, body.password, body.code)
    return MessageOut(message="two-factor sign-in is off")
