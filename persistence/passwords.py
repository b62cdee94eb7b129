"""Password hashing with Argon2id (argon2-cffi).

Hashes are PHC strings (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) that carry their own
parameters, so raising the cost later only needs ``needs_rehash`` at the next sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["hash_password", "needs_rehash", "verify_password"]

# argon2-cffi's defaults follow RFC 9106's low-memory profile (Argon2id, t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()


def hash_password(plain: str) -> str:
    """A salted Argon2id hash of ``plain``; refuses an empty password."""
    if not isinstance(plain, str) or not plain:
        raise ValueError("a password must be a non-empty string")
    return _hasher.hash(plain)


def verify_password(hashed: str, plain: str) -> bool:
    """Whether ``plain`` matches ``hashed``. False, never an exception, for a mismatch,
    a malformed or foreign hash, or non-string input."""
    if not isinstance(hashed, str) or not isinstance(plain, str) or not hashed:
        return False
    try:
        return _hasher.verify(hashed, plain)
    except (VerificationError, InvalidHashError):
        # VerifyMismatchError is a VerificationError; InvalidHashError covers hashes that are
        # not Argon2 at all (e.g. a bcrypt hash imported from elsewhere).
        return False


def needs_rehash(hashed: str) -> bool:
    """Whether ``hashed`` was made with other parameters than today's (or is unreadable),
    so it should be replaced by ``hash_password`` once the plain password is at hand."""
    try:
        return _hasher.check_needs_rehash(hashed)
    except (InvalidHashError, ValueError, TypeError):
        return True
