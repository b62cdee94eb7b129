"""Chroma client factories: an embedded on-disk client and a client for a Chroma server.

Both switch Chroma's anonymized product telemetry off: the service must not phone home, and
these machines have no route out anyway (the attempts would only slow start-up).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import chromadb
from chromadb.config import Settings

# The header Chroma's own token client provider (and Chroma Cloud) use for API tokens.
TOKEN_HEADER = "X-Chroma-Token"


def _settings() -> Settings:
    return Settings(anonymized_telemetry=False)


def persistent_client(path: Path) -> chromadb.ClientAPI:
    """An embedded Chroma that keeps its data under ``path`` (created if missing)."""
    path = Path(path).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=_settings())


def parse_server_url(url: str) -> tuple[str, int, bool]:
    """``(host, port, ssl)`` from ``http[s]://host[:port]``; the port defaults by scheme."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"Chroma URL must start with http:// or https://, got {url!r}")
    if not parts.hostname:
        raise ValueError(f"Chroma URL has no host: {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        # chromadb's HttpClient has no notion of a path prefix; refuse rather than ignore it.
        raise ValueError(f"Chroma URL must be scheme://host[:port] without a path: {url!r}")
    if parts.username or parts.password:
        raise ValueError("pass the Chroma token separately, not as URL credentials")
    ssl = parts.scheme == "https"
    try:
        port = parts.port or (443 if ssl else 80)
    except ValueError as exc:  # urlsplit raises on a non-numeric or out-of-range port
        raise ValueError(f"Chroma URL has an invalid port: {url!r}") from exc
    return parts.hostname, port, ssl


def http_client(url: str, token: str | None = None) -> chromadb.ClientAPI:
    """A client for the Chroma server at ``url``; ``token`` is sent as ``X-Chroma-Token``.

    Connects at once (chromadb checks the tenant and database on construction), so a wrong
    URL fails here rather than on the first memory operation.
    """
    host, port, ssl = parse_server_url(url)
    settings = _settings()
    if token:
        # Chroma's own token provider, as CloudClient configures it.
        settings.chroma_client_auth_provider = "chromadb.auth.token_authn.TokenAuthClientProvider"
        settings.chroma_client_auth_credentials = token
        settings.chroma_auth_token_transport_header = TOKEN_HEADER
    return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
