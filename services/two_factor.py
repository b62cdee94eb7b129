"""Two-factor sign-in: TOTP (RFC 6238, pyotp) and one-time recovery codes.

Enabling takes two steps: ``begin`` makes a secret (stored encrypted as pending) and shows it
once with its otpauth:// URI for the authenticator app; ``confirm`` checks the first code
from the app, turns 2FA on and returns ten recovery codes, shown this once (only salted
hashes are kept). From then on signing in needs a code (``check``).

A code is accepted once: the time step of the last accepted code is stored and a code of that
step or an earlier one is refused, with a compare-and-set so two concurrent sign-ins cannot
both use it. A recovery code is removed as it is used.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

import pyotp
from bson import ObjectId

from persistence.crypto import CredentialCipher
from persistence.errors import Conflict, InvalidInput, Unauthenticated
from persistence.ids import utcnow
from persistence.models import User
from persistence.passwords import verify_password
from persistence.repository import TenantRepository, tenant_filter
from services import audit
from services.members import organization_ids_of

ISSUER = "Chorus"
RECOVERY_CODES = 10
# Codes of the previous and next 30-second step are accepted too: clocks drift.
VALID_WINDOW = 1
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def _normalize_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _recovery_hash(user_id: ObjectId, code: str) -> str:
    # Salted with the user id: equal codes of two users hash differently. The codes carry
    # 50 random bits and sign-in attempts are rate limited and locked out, so SHA-256 is
    # enough (and checking ten slow hashes per attempt would be a gift to attackers).
    return hashlib.sha256(f"{user_id}:{_normalize_code(code)}".encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within the window; None if none is."""
    digits = _normalize_code(code)
    if not digits.isdigit() or len(digits) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for counter in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(counter), digits):
            return counter
    return None


def _users(db: Any) -> TenantRepository[User]:
    return TenantRepository(db, User)


async def _password_ok(user: User, password: str) -> None:
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        raise Unauthenticated("the password is wrong", code="invalid_password")


async def begin(db: Any, cipher: CredentialCipher, user: User, password: str) -> tuple[str, str]:
    """A new pending secret and its otpauth:// URI; 2FA is on only after ``confirm``."""
    if user.authentication.two_factor_enabled:
        raise Conflict("two-factor sign-in is already on; disable it first", code="2fa_enabled")
    await _password_ok(user, password)
    secret = pyotp.random_base32()
    await _users(db).update(
        user.organization_id,
        user.id,
        {"authentication.twoFactorPendingSecret": cipher.encrypt(secret)},
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return secret, uri


async def _take_step(db: Any, user: User, step: int) -> bool:
    """Record ``step`` as the last accepted one, if it is newer: False for a replay."""
    users = _users(db)
    result = await users.collection.update_one(
        tenant_filter(
            user.organization_id,
            {
                "_id": user.id,
                "$or": [
                    {"authentication.twoFactorLastCounter": None},
                    {"authentication.twoFactorLastCounter": {"$lt": step}},
                ],
            },
        ),
        {"$set": {"authentication.twoFactorLastCounter": step, "updatedAt": utcnow()}},
    )
    return result.modified_count == 1


async def confirm(db: Any, cipher: CredentialCipher, user: User, code: str) -> list[str]:
    """Turn 2FA on with the first code from the app; the recovery codes, shown once."""
    if user.authentication.two_factor_enabled:
        raise Conflict("two-factor sign-in is already on", code="2fa_enabled")
    pending = user.authentication.two_factor_pending_secret
    if pending is None:
        raise Conflict("nothing to verify: call /api/auth/2fa/enable first", code="2fa_not_started")
    secret = cipher.decrypt(pending)
    step = _matching_step(secret, code, utcnow())
    if step is None:
        raise InvalidInput(
            "the code does not match: type the current code, and check the device's clock",
            code="invalid_two_factor_code",
            fields=[{"field": "body.code", "message": "not the current code"}],
        )
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    enabled = await _users(db).update_many(
        user.organization_id,
        {"_id": user.id, "authentication.twoFactorPendingSecret": pending},
        {
            "authentication.twoFactorEnabled": True,
            "authentication.twoFactorSecret": pending,
            "authentication.twoFactorPendingSecret": None,
            "authentication.twoFactorLastCounter": step,
            "authentication.recoveryCodeHashes": [_recovery_hash(user.id, c) for c in codes],
        },
    )
    if enabled != 1:
        raise Conflict("two-factor setup changed meanwhile; start again", code="2fa_not_started")
    await _record(db, user, "auth.two_factor_enabled", "two-factor sign-in turned on")
    return codes


async def check(db: Any, cipher: CredentialCipher, user: User, code: str) -> bool:
    """Whether ``code`` is a valid second factor for ``user`` now: a TOTP code not used
    before, or an unused recovery code (which is used up)."""
    secret_box = user.authentication.two_factor_secret
    if not user.authentication.two_factor_enabled or secret_box is None:
        return False
    step = _matching_step(cipher.decrypt(secret_box), code, utcnow())
    if step is not None:
        return await _take_step(db, user, step)
    # Not a TOTP code: perhaps a recovery code. $pull by exact hash is atomic: a code
    # used twice at once is removed once.
    hashed = _recovery_hash(user.id, code)
    result = await _users(db).collection.update_one(
        tenant_filter(
            user.organization_id, {"_id": user.id, "authentication.recoveryCodeHashes": hashed}
        ),
        {"$pull": {"authentication.recoveryCodeHashes": hashed}, "$set": {"updatedAt": utcnow()}},
    )
    if result.modified_count == 1:
        await _record(db, user, "auth.recovery_code_used", "a recovery code was used to sign in")
        return True
    return False


async def disable(db: Any, cipher: CredentialCipher, user: User, password: str, code: str) -> None:
    """Turn 2FA off; needs the password and a current code (or a recovery code)."""
    if not user.authentication.two_factor_enabled:
        raise Conflict("two-factor sign-in is not on", code="2fa_disabled")
    await _password_ok(user, password)
    if not await check(db, cipher, user, code):
        raise Unauthenticated(
            "the two-factor code is wrong or was already used", code="invalid_two_factor_code"
        )
    await _users(db).update(
        user.organization_id,
        user.id,
        {
            "authentication.twoFactorEnabled": False,
            "authentication.twoFactorSecret": None,
            "authentication.twoFactorPendingSecret": None,
            "authentication.twoFactorLastCounter": None,
            "authentication.recoveryCodeHashes": [],
        },
    )
    await _record(db, user, "auth.two_factor_disabled", "two-factor sign-in turned off")


async def _record(db: Any, user: User, operation: str, summary: str) -> None:
    await audit.record(
        db,
        await organization_ids_of(db, user),
        action="update",
        operation=operation,
        resource_type="users",
        resource_id=user.id,
        resource_name=user.email,
        summary=f"{user.email}: {summary}",
        actor=audit.Actor.user(user.id, user.email),
    )
