"""Argon2id password hashing: round trip, mismatch, malformed hashes, rehash detection."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from persistence.passwords import hash_password, needs_rehash, verify_password


def test_hash_verifies_and_is_salted() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert "correct horse" not in first
    assert verify_password(first, "correct horse")
    assert verify_password(second, "correct horse")


def test_mismatch_is_false_not_an_error() -> None:
    hashed = hash_password("s3cret")
    assert verify_password(hashed, "S3cret") is False
    assert verify_password(hashed, "") is False
    assert verify_password(hashed, "s3cret ") is False


def test_unicode_password() -> None:
    hashed = hash_password("café ☕ contraseña")
    assert verify_password(hashed, "café ☕ contraseña")
    assert not verify_password(hashed, "cafe ☕ contraseña")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not a hash",
        "$2b$12$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyzABCD",  # bcrypt
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ",  # truncated
        None,
        b"$argon2id$",
    ],
)
def test_invalid_hash_is_false(bad: object) -> None:
    assert verify_password(bad, "anything") is False  # type: ignore[arg-type]


def test_corrupted_hash_is_false() -> None:
    hashed = hash_password("s3cret")
    corrupted = hashed[:-4] + ("AAAA" if not hashed.endswith("AAAA") else "BBBB")
    assert verify_password(corrupted, "s3cret") is False


def test_non_string_plain_is_false() -> None:
    assert verify_password(hash_password("x"), None) is False  # type: ignore[arg-type]


def test_empty_password_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        hash_password("")


def test_needs_rehash() -> None:
    assert needs_rehash(hash_password("x")) is False
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("x")
    assert verify_password(weaker, "x")  # still accepted ...
    assert needs_rehash(weaker) is True  # ... but due for an upgrade
    assert needs_rehash("garbage") is True
    assert needs_rehash("") is True
