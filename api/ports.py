"""What the API needs of the process, as a protocol: the composition root's ``Runtime`` is
one, and the API never imports it (the app is built by ``chorus.app``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from persistence.cache import Cache
from persistence.crypto import CredentialCipher
from persistence.keyspace import Keyspace
from persistence.mailer import Mailer
from persistence.media import MediaStore
from persistence.ratelimit import RateLimiter
from runs.engine import RunEngine
from runs.ports import RunServices
from services.billing.gateway import Billing
from services.events import EventBus
from services.integrations.delivery import WebhookDispatcher
from services.media_generation.generate import ImageModel
from services.network_webhooks.verify import Secrets as WebhookSecrets
from services.social_accounts.ports import Platforms


class ComponentState(Protocol):
    """One component's health, as the runtime reports it."""

    @property
    def name(self) -> str: ...

    @property
    def form(self) -> str: ...

    @property
    def backend(self) -> str: ...

    @property
    def ok(self) -> bool: ...

    @property
    def detail(self) -> str: ...

    @property
    def seconds(self) -> float: ...


class AppRuntime(RunServices, Protocol):
    @property
    def rate_limiter(self) -> RateLimiter: ...

    @property
    def signing_secret(self) -> str: ...

    @property
    def mailer(self) -> Mailer: ...

    @property
    def cipher(self) -> CredentialCipher: ...

    @property
    def public_base_url(self) -> str: ...

    @property
    def engine(self) -> RunEngine: ...

    @property
    def billing(self) -> Billing: ...

    @property
    def media(self) -> MediaStore: ...

    @property
    def image_model(self) -> ImageModel | None:
        """The image model of /api/ai/images/generate; None: images are composed."""
        ...

    @property
    def events(self) -> EventBus: ...

    @property
    def webhooks(self) -> WebhookDispatcher: ...

    @property
    def network_webhook_secrets(self) -> WebhookSecrets: ...
    def cache(self) -> Cache: ...

    @property
    def platforms(self) -> Platforms: ...

    @property
    def operator_token(self) -> str | None:
        """The secret of operator routes, when ``chorus serve`` started this process."""
        ...

    @property
    def keyspace(self) -> Keyspace: ...

    @property
    def metrics_token(self) -> str | None: ...

    async def check(
        self, *, deep: bool = True, public: bool = False
    ) -> Sequence[ComponentState]: ...

    async def close(self) -> None: ...
