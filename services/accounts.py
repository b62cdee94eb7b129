"""Accounts: signing up, signing in, and getting back in (password reset, email checks).

Signing in checks the password (Argon2id, timed the same whether or not the email exists),
locks the account for a while after repeated failures, and asks for the second factor when
two-factor sign-in is on. The answers of the self-service flows never tell whether an email
has an account. A password reset ends every session of the account, in every organization.

Issuing tokens is the API's business; this module says who may have them.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from persistence.admin import OrganizationAdmin
from persistence.crypto import CredentialCipher
from persistence.errors import Conflict, Forbidden, Locked, Unauthenticated
from persistence.ids import utcnow
from persistence.mailer import Mailer
from persistence.models import Membership, Organization, User, UserSession
from persistence.models.organizations import Profile
from persistence.passwords import hash_password, needs_rehash, verify_password
from persistence.repository import TenantRepository, tenant_filter
from services import account_links, audit, emails, members, two_factor
from services.gdpr import consent

log = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


@dataclass(frozen=True)
class Registration:
    user: User
    organization: Organization
    membership: Membership


async def register(
    db: Any,
    mailer: Mailer,
    base_url: str,
    *,
    email: str,
    password: str,
    organization_name: str,
    first_name: str | None = None,
    last_name: str | None = None,
) -> Registration:
    """A new organization and its first user, its admin; a verification email is sent."""
    admin = OrganizationAdmin(db)
    email = email.strip().lower()
    if await admin.find_user_by_email(email) is not None:
        raise Conflict(
            "an account with this email already exists",
            fields=[{"field": "body.email", "message": "already registered"}],
        )
    password_hash = await asyncio.to_thread(hash_password, password)
    # Registering accepts the terms the sign-up page shows: recorded with date and version.
    now = utcnow()
    org = await admin.create(organization_name, gdpr=consent.organization_consent(now))
    user = User(
        organization_id=org.id,
        email=email,
        password_hash=password_hash,
        profile=Profile(first_name=first_name, last_name=last_name),
        role="admin",
        gdpr=consent.user_consent(now),
    )
    try:
        await TenantRepository(db, User).insert(user)
    except Exception:
        # Lost a race for the email (or the store failed): take the organization back so
        # nothing half-made stays.
        await TenantRepository(db, Organization).delete(org.id, org.id)
        raise
    membership = await members.adopt(db, user)
    await audit.record(
        db,
        org.id,
        action="create",
        operation="auth.registered",
        resource_type="organizations",
        resource_id=org.id,
        resource_name=org.name,
        summary=f"{email} created the organization {org.name!r} and is its admin",
        actor=audit.Actor.user(user.id, email),
    )
    await send_verification(db, mailer, base_url, user, best_effort=True)
    return Registration(user, org, membership)


async def _count_failure(db: Any, user: User) -> None:
    """One more failed sign-in; the fifth in a row locks the account (Locked)."""
    users = TenantRepository(db, User)
    # $inc, not read-modify-write, so concurrent guesses are all counted.
    raw = await users.collection.find_one_and_update(
        tenant_filter(user.organization_id, {"_id": user.id}),
        {"$inc": {"authentication.loginAttempts": 1}},
        return_document=ReturnDocument.AFTER,
    )
    attempts = (raw or {}).get("authentication", {}).get("loginAttempts", 0)
    orgs = await members.organization_ids_of(db, user)
    actor = audit.Actor.user(user.id, user.email)
    if attempts >= MAX_FAILED_LOGINS:
        await users.update(
            user.organization_id,
            user.id,
            {"authentication.lockedUntil": utcnow() + LOCKOUT, "authentication.loginAttempts": 0},
        )
        await audit.record(
            db,
            orgs,
            action="login",
            operation="auth.account_locked",
            outcome="failure",
            resource_type="users",
            resource_id=user.id,
            resource_name=user.email,
            summary=f"{user.email}: locked for {LOCKOUT.seconds // 60} min after "
            f"{MAX_FAILED_LOGINS} failed sign-ins",
            actor=actor,
        )
        raise _locked(LOCKOUT)
    await audit.record(
        db,
        orgs,
        action="login",
        operation="auth.login_failed",
        outcome="failure",
        resource_type="users",
        resource_id=user.id,
        resource_name=user.email,
        summary=f"{user.email}: failed sign-in ({attempts} in a row)",
        actor=actor,
    )


def _locked(remaining: timedelta) -> Locked:
    minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    return Locked(
        f"account locked after {MAX_FAILED_LOGINS} failed sign-ins; try again in {minutes} min",
        code="account_locked",
        retry_after=remaining.total_seconds(),
    )


async def authenticate(
    db: Any, cipher: CredentialCipher, email: str, password: str, code: str | None = None
) -> User:
    """The user whose email and password (and second factor, when on) these are."""
    user = await OrganizationAdmin(db).find_user_by_email(email)
    if user is None:
        # Spend the same time as a real check, so timing does not reveal who has an account.
        await asyncio.to_thread(lambda: verify_password(_dummy_hash(), password))
        raise Unauthenticated("invalid email or password")
    now = utcnow()
    locked_until = user.authentication.locked_until
    if locked_until is not None and locked_until > now:
        raise _locked(locked_until - now)
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        await _count_failure(db, user)
        raise Unauthenticated("invalid email or password")
    if not user.authentication.is_active:
        raise Forbidden("this account is disabled", code="account_disabled")
    if user.authentication.two_factor_enabled:
        if not code:
            # Only someone who knows the password learns that a second factor is needed.
            raise Unauthenticated(
                "this account signs in with two factors: send twoFactorCode, the code from "
                "your authenticator app or one of your recovery codes",
                code="two_factor_required",
            )
        if not await two_factor.check(db, cipher, user, code):
            await _count_failure(db, user)
            raise Unauthenticated(
                "the two-factor code is wrong or was already used",
                code="invalid_two_factor_code",
            )
    changes: dict[str, object] = {
        "authentication.loginAttempts": 0,
        "authentication.lockedUntil": None,
        "authentication.lastLogin": now,
    }
    if needs_rehash(user.password_hash):
        changes["passwordHash"] = await asyncio.to_thread(hash_password, password)
    return await TenantRepository(db, User).update(user.organization_id, user.id, changes) or user


async def record_sign_in(
    db: Any, user: User, membership: Membership, *, switched: bool = False
) -> None:
    """Note a successful sign-in (or switch) into ``membership``'s organization."""
    await members.mark_used(db, membership)
    how = "switched to this organization" if switched else "signed in"
    await audit.record(
        db,
        membership.organization_id,
        action="login",
        operation="auth.switched_organization" if switched else "auth.login",
        resource_type="users",
        resource_id=user.id,
        resource_name=user.email,
        summary=f"{user.email} {how} as {membership.role}",
        actor=audit.Actor.user(user.id, user.email),
    )


async def record_sign_out(db: Any, org_id: ObjectId, user_id: ObjectId, email: str) -> None:
    await audit.record(
        db,
        org_id,
        action="logout",
        operation="auth.logout",
        resource_type="users",
        resource_id=user_id,
        resource_name=email,
        summary=f"{email} signed out",
    )


# --- getting back in -----------------------------------------------------------------------


async def request_password_reset(db: Any, mailer: Mailer, base_url: str, email: str) -> None:
    """Mail a reset link if the email has an active account; nothing otherwise. The caller
    answers the same either way."""
    user = await OrganizationAdmin(db).find_user_by_email(email)
    if user is None or not user.authentication.is_active:
        return
    token = await account_links.issue(db, user, "password_reset")
    url = emails.link(base_url, emails.RESET_PATH, token)
    message = emails.password_reset(url=url, ttl=account_links.TTLS["password_reset"])
    await emails.send(mailer, user.email, message)
    await audit.record(
        db,
        await members.organization_ids_of(db, user),
        action="update",
        operation="auth.password_reset_requested",
        resource_type="users",
        resource_id=user.id,
        resource_name=user.email,
        summary=f"{user.email}: a password reset link was mailed",
        actor=audit.Actor.user(user.id, user.email),
    )


async def end_all_sessions(db: Any, user: User) -> int:
    """Sign the user out everywhere: every session in every organization they belong to."""
    orgs = {user.organization_id, *await members.organization_ids_of(db, user)}
    sessions = TenantRepository(db, UserSession)
    ended = 0
    for org_id in orgs:
        ended += await sessions.update_many(
            org_id, {"userId": user.id, "isActive": True}, {"isActive": False}
        )
    return ended


async def reset_password(db: Any, token: str, new_password: str) -> User:
    """Set a new password with a reset link; every session of the account ends, and the
    lockout is lifted (the link proves the mailbox)."""
    link = await account_links.consume(db, token, "password_reset")
    users = TenantRepository(db, User)
    user = await users.get(link.organization_id, link.user_id)
    if user is None or not user.authentication.is_active:
        raise account_links.invalid_link("password_reset")
    password_hash = await asyncio.to_thread(hash_password, new_password)
    now = utcnow()
    updated = await users.update(
        user.organization_id,
        user.id,
        {
            "passwordHash": password_hash,
            "authentication.passwordChangedAt": now,
            "authentication.loginAttempts": 0,
            "authentication.lockedUntil": None,
        },
    )
    ended = await end_all_sessions(db, user)
    await audit.record(
        db,
        await members.organization_ids_of(db, user),
        action="update",
        operation="auth.password_reset",
        resource_type="users",
        resource_id=user.id,
        resource_name=user.email,
        summary=f"{user.email}: password reset by email link; {ended} session(s) ended",
        actor=audit.Actor.user(user.id, user.email),
    )
    return updated or user


async def send_verification(
    db: Any, mailer: Mailer, base_url: str, user: User, *, best_effort: bool = False
) -> bool:
    """Mail a link that confirms the address; False if it is confirmed already. With
    ``best_effort`` a mail failure is logged, not raised (sign-up must not fail on it)."""
    if user.authentication.email_verified:
        return False
    token = await account_links.issue(db, user, "email_verification")
    url = emails.link(base_url, emails.VERIFY_PATH, token)
    message = emails.email_verification(url=url, ttl=account_links.TTLS["email_verification"])
    try:
        await emails.send(mailer, user.email, message)
    except Exception:
        if not best_effort:
            raise
        log.exception("could not send the verification email to user %s", user.id)
    return True


async def verify_email(db: Any, token: str) -> User:
    link = await account_links.consume(db, token, "email_verification")
    users = TenantRepository(db, User)
    user = await users.update(
        link.organization_id,
        link.user_id,
        {"authentication.emailVerified": True, "authentication.emailVerifiedAt": utcnow()},
    )
    if user is None:
        raise account_links.invalid_link("email_verification")
    await audit.record(
        db,
        await members.organization_ids_of(db, user),
        action="update",
        operation="auth.email_verified",
        resource_type="users",
        resource_id=user.id,
        resource_name=user.email,
        summary=f"{user.email}: email address confirmed",
        actor=audit.Actor.user(user.id, user.email),
    )
    return user
