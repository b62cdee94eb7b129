"""Credential encryption and the secrets kept in the data directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from persistence.crypto import (
    CredentialCipher,
    DecryptionError,
    load_or_create_key,
    load_or_create_secret,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip() -> None:
    cipher = CredentialCipher(Fernet.generate_key().decode())
    token = cipher.encrypt("ya29.oauth-access-token ✓")
    assert "ya29" not in token
    assert cipher.decrypt(token) == "ya29.oauth-access-token ✓"
    # Fernet tokens carry a random IV: the same secret never encrypts the same way twice.
    assert cipher.encrypt("same") != cipher.encrypt("same")


def test_rotation_new_key_encrypts_old_keys_decrypt() -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old_token = CredentialCipher(old_key).encrypt("refresh-token")

    rotated = CredentialCipher([new_key, old_key])
    assert rotated.decrypt(old_token) == "refresh-token"
    new_token = rotated.encrypt("api-key")
    assert CredentialCipher(new_key).decrypt(new_token) == "api-key"
    with pytest.raises(DecryptionError):
        CredentialCipher(old_key).decrypt(new_token)

    # rotate() re-encrypts under the new key, after which the old key can go.
    assert CredentialCipher(new_key).decrypt(rotated.rotate(old_token)) == "refresh-token"


def test_wrong_key_is_a_clear_error_not_garbage() -> None:
    token = CredentialCipher(Fernet.generate_key().decode()).encrypt("secret")
    other = CredentialCipher(Fernet.generate_key().decode())
    with pytest.raises(DecryptionError, match="cannot decrypt"):
        other.decrypt(token)
    with pytest.raises(DecryptionError):
        other.decrypt("not a token at all")
    with pytest.raises(DecryptionError):
        other.rotate(token)


def test_tampered_token_is_refused() -> None:
    cipher = CredentialCipher(Fernet.generate_key().decode())
    token = cipher.encrypt("secret")
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(DecryptionError):
        cipher.decrypt(tampered)


@pytest.mark.parametrize("key", ["", "short", "x" * 44, Fernet.generate_key().decode()[:-2]])
def test_malformed_key_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="32 url-safe base64"):
        CredentialCipher(key)


def test_no_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        CredentialCipher([])


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path)
    path = tmp_path / "secrets" / "encryption.key"
    assert path.read_text().strip() == key
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert load_or_create_key(tmp_path) == key
    # It is a usable key.
    cipher = CredentialCipher(key)
    assert cipher.decrypt(cipher.encrypt("x")) == "x"
    assert [p.name for p in path.parent.iterdir()] == ["encryption.key"]  # no temp files


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path)
    path = tmp_path / "secrets" / "encryption.key"
    os.chmod(path, 0o644)
    os.chmod(path.parent, 0o755)
    assert load_or_create_key(tmp_path) == key
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700


def test_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "encryption.key"
    path.parent.mkdir(parents=True)
    path.write_text("definitely-not-a-fernet-key\n")
    with pytest.raises(ValueError, match=r"encryption\.key.*32 url-safe base64"):
        load_or_create_key(tmp_path)
    path.write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_or_create_key(tmp_path)


def test_secret_is_created_private_and_reused(tmp_path: Path) -> None:
    secret = load_or_create_secret(tmp_path, "signing")
    path = tmp_path / "secrets" / "signing"
    assert len(secret) >= 64  # token_urlsafe(48): 48 random bytes, 64 characters
    assert path.read_text().strip() == secret
    assert _mode(path) == 0o600
    assert load_or_create_secret(tmp_path, "signing") == secret
    assert load_or_create_secret(tmp_path, "webhooks") != secret


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "x" * 65, "signing\n"])
def test_secret_names_cannot_escape(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid secret name"):
        load_or_create_secret(tmp_path, name)
