"""What the accounts services need from the process: documents, the cipher, the providers.

The composition root's ``Runtime`` satisfies this; services never import it (layers point
down), and tests may pass anything with these attributes.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from persistence.crypto import CredentialCipher
from services.events import EventBus
from tools.platforms.base import SocialProvider


class Platforms(Protocol):
    """One provider per network (production or sandbox: the code acting cannot tell)."""

    @property
    def networks(self) -> tuple[str, ...]: ...

    def provider(self, network: str) -> SocialProvider: ...

    def form(self, network: str) -> Literal["production", "sandbox"]:
        """Shown to users (``GET /api/social-accounts/platforms``); nothing branches on it."""
        ...


class AccountsRuntime(Protocol):
    db: Any
    cipher: CredentialCipher
    platforms: Platforms
    # Who must act is told through domain events (an account to reconnect, a crisis).
    events: EventBus
