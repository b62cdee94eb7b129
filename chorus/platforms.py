"""The social networks' providers, each in its production or sandbox form.

A network whose app credentials are set (``tools.platforms.is_configured``) talks to the
network itself; every other network talks to the sandbox (``sandbox/``), a local server that
speaks its wire format, so the product runs end to end with no network access. The sandbox is
``platforms_sandbox_url`` when set, else one started in this process the first time an
unconfigured network is used (never for a process that does not touch the networks).

Bluesky needs no app credentials (users connect with an app password): it is production when
``bluesky_service_url`` is set explicitly, the sandbox otherwise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal

from chorus.settings import Settings, secret
from tools.platforms import NETWORKS, SocialProvider, build_provider, is_configured

log = logging.getLogger(__name__)

PlatformForm = Literal["production", "sandbox"]

_ALIASES = {"x": "twitter"}


class PlatformRegistry:
    """One provider per network, built on first use and shared by the process."""

    def __init__(
        self,
        settings: Settings,
        *,
        start_sandbox: Callable[[], tuple[str, Callable[[], None]]] | None = None,
    ) -> None:
        self._settings = settings
        self._providers: dict[str, SocialProvider] = {}
        self._lock = threading.Lock()
        self._sandbox_url: str | None = settings.platforms_sandbox_url
        self._stop_sandbox: Callable[[], None] | None = None
        self._start_sandbox = start_sandbox

    @property
    def networks(self) -> tuple[str, ...]:
        return tuple(NETWORKS)

    def form(self, network: str) -> PlatformForm:
        """Whether ``network`` talks to the network itself or to the sandbox."""
        return "production" if self._production_options(self._name(network)) else "sandbox"

    def provider(self, network: str) -> SocialProvider:
        """The provider of ``network`` (``ValueError`` for a network without one)."""
        name = self._name(network)
        with self._lock:
            found = self._providers.get(name)
            if found is None:
                found = self._build(name)
                self._providers[name] = found
            return found

    @property
    def sandbox_url(self) -> str:
        """The sandbox's base URL, starting the in-process one if there is none yet."""
        if self._sandbox_url is None:
            starter = self._start_sandbox
            if starter is None:
                from sandbox import serve_in_thread

                starter = serve_in_thread
            self._sandbox_url, self._stop_sandbox = starter()
            log.info("social network sandbox started at %s", self._sandbox_url)
        return self._sandbox_url

    def describe(self) -> str:
        """One line for health output: which networks run in which form."""
        production = [n for n in NETWORKS if self.form(n) == "production"]
        sandboxed = [n for n in NETWORKS if n not in production]
        parts = []
        if production:
            parts.append("production: " + ", ".join(production))
        if sandboxed:
            where = self._settings.platforms_sandbox_url or "in process, started on first use"
            parts.append(f"sandbox ({where}): " + ", ".join(sandboxed))
        return "; ".join(parts)

    async def aclose(self) -> None:
        with self._lock:
            providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            try:
                await provider.aclose()
            except Exception:  # closing must go on for the rest
                log.exception("closing the %s provider failed", provider.network)
        if self._stop_sandbox is not None:
            self._stop_sandbox()
            self._stop_sandbox = None
            self._sandbox_url = self._settings.platforms_sandbox_url

    # --- building ----------------------------------------------------------------------------

    @staticmethod
    def _name(network: str) -> str:
        name = _ALIASES.get(network, network)
        if name not in NETWORKS:
            raise ValueError(f"no provider for {network!r}; expected one of: {', '.join(NETWORKS)}")
        return name

    def _build(self, name: str) -> SocialProvider:
        timeout = {"timeout": self._settings.platform_timeout_seconds}
        production = self._production_options(name)
        if production is not None:
            return build_provider(name, **production, **timeout)
        from sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

        return build_provider(
            name,
            base_url=self.sandbox_url,
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            **self._version_options(name),
            **timeout,
        )

    def _version_options(self, name: str) -> dict[str, Any]:
        s = self._settings
        if name in ("facebook", "instagram"):
            return {"graph_version": s.meta_graph_version}
        if name == "linkedin":
            return {"version": s.linkedin_version}
        return {}

    def _production_options(self, name: str) -> dict[str, Any] | None:
        """``build_provider`` keywords for production, or None if the network is not set up."""
        s = self._settings
        credentials: dict[str, tuple[str | None, Any]] = {
            "twitter": (s.x_client_id, s.x_client_secret),
            "facebook": (s.meta_app_id, s.meta_app_secret),
            "instagram": (s.meta_app_id, s.meta_app_secret),
            "linkedin": (s.linkedin_client_id, s.linkedin_client_secret),
            "tiktok": (s.tiktok_client_key, s.tiktok_client_secret),
            "youtube": (s.google_client_id, s.google_client_secret),
        }
        if name == "bluesky":
            if "bluesky_service_url" not in s.model_fields_set:
                return None
            return {"service_url": s.bluesky_service_url}
        client_id, client_secret = credentials[name]
        plain_secret = secret(client_secret)
        if not is_configured(client_id, plain_secret):
            return None
        options: dict[str, Any] = {
            "client_id": client_id or "",
            "client_secret": plain_secret or "",
            **self._version_options(name),
        }
        api_base = {
            "twitter": s.x_api_base,
            "linkedin": s.linkedin_api_base,
            "tiktok": s.tiktok_api_base,
            "youtube": s.youtube_api_base,
        }.get(name)
        if api_base:
            options["api_base"] = api_base
        if name in ("facebook", "instagram") and s.meta_graph_base:
            options["graph_base"] = s.meta_graph_base
        return options
