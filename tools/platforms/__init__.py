"""Social network providers: one module per network behind ``base.SocialProvider``.

The composition root builds them from settings with :func:`build_provider`: production
URLs by default, or every URL derived from ``base_url`` for a wire-compatible server (the
sandbox in ``sandbox/``, started with ``sandbox.serve_in_thread``). A network is
configured for production when its client id and secret are set (:func:`is_configured`);
Bluesky needs neither (users connect with a handle and an app password).

    provider = build_provider("twitter", client_id=..., client_secret=...)      # api.x.com
    provider = build_provider(                                                  # the sandbox
        "twitter", base_url="http://127.0.0.1:8900",
        client_id=sandbox.DEFAULT_CLIENT_ID, client_secret=sandbox.DEFAULT_CLIENT_SECRET,
    )

Option names are the config classes' fields: ``timeout``, ``api_base`` (X, LinkedIn,
TikTok, YouTube), ``graph_base``/``graph_version`` (Facebook, Instagram), ``version``
(LinkedIn), ``service_url`` (Bluesky), ``poll_interval``/``poll_timeout`` for media
processing waits.

``limits_for(platform)`` gives what each network accepts (text rules, media, rate budgets).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import httpx

from tools.platforms.base import (
    AccessTokenExpired,
    Account,
    AccountMetrics,
    Author,
    AuthorizationUrl,
    Capability,
    Connection,
    Media,
    Mention,
    MentionsPage,
    NeedsReconnect,
    PermanentError,
    Pkce,
    PlatformError,
    PostMetrics,
    Profile,
    Publication,
    Published,
    RateLimited,
    SocialProvider,
    ThreadPart,
    Tokens,
    TransientError,
    UnknownOutcome,
    Unsupported,
    new_pkce,
)
from tools.platforms.limits import Limits, limits_for, media_problems

__all__ = [
    "NETWORKS",
    "AccessTokenExpired",
    "Account",
    "AccountMetrics",
    "Author",
    "AuthorizationUrl",
    "Connection",
    "Limits",
    "Media",
    "Mention",
    "MentionsPage",
    "NeedsReconnect",
    "PermanentError",
    "Pkce",
    "PlatformError",
    "PostMetrics",
    "Profile",
    "Publication",
    "Published",
    "RateLimited",
    "SocialProvider",
    "ThreadPart",
    "Tokens",
    "TransientError",
    "UnknownOutcome",
    "Unsupported",
    "build_provider",
    "build_providers",
    "capabilities_for",
    "is_configured",
    "limits_for",
    "media_problems",
    "new_pkce",
]

#: Platform name -> (module, provider class, config class), imported when first built.
NETWORKS: dict[str, tuple[str, str, str]] = {
    "twitter": ("tools.platforms.x", "XProvider", "XConfig"),
    "instagram": ("tools.platforms.instagram", "InstagramProvider", "MetaConfig"),
    "facebook": ("tools.platforms.facebook", "FacebookProvider", "MetaConfig"),
    "linkedin": ("tools.platforms.linkedin", "LinkedInProvider", "LinkedInConfig"),
    "tiktok": ("tools.platforms.tiktok", "TikTokProvider", "TikTokConfig"),
    "youtube": ("tools.platforms.youtube", "YouTubeProvider", "YouTubeConfig"),
    "bluesky": ("tools.platforms.bluesky", "BlueskyProvider", "BlueskyConfig"),
}
_ALIASES = {"x": "twitter"}


def _parts(network: str) -> tuple[type[Any], type[Any]]:
    name = _ALIASES.get(network, network)
    if name not in NETWORKS:
        raise ValueError(f"no provider for {network!r}; expected one of: {', '.join(NETWORKS)}")
    module_name, provider, config = NETWORKS[name]
    module = importlib.import_module(module_name)
    return getattr(module, provider), getattr(module, config)


def capabilities_for(network: str) -> frozenset[Capability]:
    """What ``network``'s provider can do (threads, first comments...), read from its class
    without building it: the same set ``GET /api/social-accounts/platforms`` shows. A
    platform without a provider (the data model's ``sandbox`` test platform) can do none
    of the optional things."""
    name = _ALIASES.get(network, network)
    if name not in NETWORKS:
        return frozenset()
    provider_cls, _ = _parts(name)
    return frozenset(provider_cls.capabilities)


def is_configured(client_id: str | None, client_secret: str | None) -> bool:
    """Whether a network has what production needs (its app's id and secret)."""
    return bool(client_id and client_id.strip() and client_secret and client_secret.strip())


def build_provider(
    network: str,
    *,
    client_id: str = "",
    client_secret: str = "",
    base_url: str | None = None,
    client: httpx.AsyncClient | None = None,
    **options: Any,
) -> SocialProvider:
    """A provider for ``network``.

    ``base_url`` None: the network's production URLs. Otherwise every URL is derived from
    it, as the sandbox lays them out (``{base_url}/x/2/tweets``...). ``options`` are fields
    of the network's config class (timeouts, ``api_base`` overrides, API versions...).
    ``client`` is an httpx client to share; without one the provider owns its own.
    """
    provider_cls, config_cls = _parts(network)
    fields = {"client_id": client_id, "client_secret": client_secret, **options}
    config = config_cls.for_base_url(base_url, **fields) if base_url else config_cls(**fields)
    return provider_cls(config, client=client)


def build_providers(
    configs: Mapping[str, Mapping[str, Any]], *, client: httpx.AsyncClient | None = None
) -> dict[str, SocialProvider]:
    """One provider per entry of ``configs`` (network -> :func:`build_provider` keywords)."""
    return {
        _ALIASES.get(name, name): build_provider(name, client=client, **dict(kw))
        for name, kw in configs.items()
    }
