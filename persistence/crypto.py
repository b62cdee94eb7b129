"""Encryption of stored credentials (Fernet), and secrets kept in the data directory.

Key rotation: construct the cipher with the new key first and the old keys after. New
tokens use the first key; any listed key decrypts; ``rotate`` re-encrypts an old token
under the first key so the old key can be retired once every stored token is rotated.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = [
    "CredentialCipher",
    "DecryptionError",
    "load_or_create_key",
    "load_or_create_secret",
]

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class DecryptionError(ValueError):
    """A token that none of the configured keys can decrypt (wrong key or corrupted)."""


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise ValueError(
            "an encryption key must be 32 url-safe base64-encoded bytes, "
            "as made by cryptography.fernet.Fernet.generate_key()"
        ) from None


class CredentialCipher:
    """Encrypts strings at rest with the first key; decrypts with any of ``keys``."""

    def __init__(self, keys: str | Sequence[str]) -> None:
        keys = [keys] if isinstance(keys, str) else list(keys)
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([_fernet(k) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "cannot decrypt this credential with the configured encryption keys: "
                "the key has changed (add the old key after the new one) or the value is "
                "corrupted"
            ) from None

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "cannot rotate this credential: no configured key decrypts it"
            ) from None


def load_or_create_key(data_dir: Path) -> str:
    """The Fernet key in ``data_dir/secrets/encryption.key``, created (0600) if absent."""
    path = Path(data_dir) / "secrets" / "encryption.key"
    return _load_or_create(path, lambda: Fernet.generate_key().decode(), _fernet)


def load_or_create_secret(data_dir: Path, name: str) -> str:
    """The secret in ``data_dir/secrets/<name>``, created (0600, 48 random bytes) if absent."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid secret name {name!r}")
    return _load_or_create(
        Path(data_dir) / "secrets" / name, lambda: secrets.token_urlsafe(48), lambda _: None
    )


def _load_or_create(path: Path, make: Callable[[], str], check: Callable[[str], object]) -> str:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(path.parent, 0o700)
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(make() + "\n")
                f.flush()
                os.fsync(f.fileno())
            # link() refuses to replace: if another process created the file meanwhile,
            # both end up using its value, never one each.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            Path(tmp).unlink(missing_ok=True)
    _tighten(path, 0o600)
    value = path.read_text().strip()
    if not value:
        raise ValueError(f"{path} is empty; delete it to have a new secret made")
    try:
        check(value)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return value


def _tighten(path: Path, mode: int) -> None:
    # A secret readable by others is a leak; fix it when we own it, warn when we can't.
    if path.stat().st_mode & 0o077:
        try:
            os.chmod(path, mode)
        except OSError:
            log.warning("%s is accessible to other users; restrict it to mode %o", path, mode)
