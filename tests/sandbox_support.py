"""The sandbox server for the provider tests, and helpers to connect and make media.

One sandbox server serves the whole session (started on first use, stopped at exit); the
``sandbox`` fixture resets its state before each test, so tests never see each other's
posts. Test modules import the fixture: ``from sandbox_support import sandbox_fixture``.
"""

from __future__ import annotations

import atexit
import secrets
from collections.abc import Iterator

import pytest

from sandbox import serve_in_thread
from sandbox.client import SandboxControl
from sandbox.core import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tools.platforms import Connection, SocialProvider, build_provider, new_pkce

REDIRECT_URI = "https://chorus.test/oauth/callback"
_server: str | None = None


def sandbox_url() -> str:
    global _server
    if _server is None:
        _server, stop = serve_in_thread()
        atexit.register(stop)
    return _server


@pytest.fixture(name="sandbox")
def sandbox_fixture() -> Iterator[SandboxControl]:
    control = SandboxControl(sandbox_url())
    control.reset()
    yield control
    control.close()


def make_provider(network: str, **options: object) -> SocialProvider:
    """A provider pointed at the sandbox, with short timeouts and quick polling."""
    defaults: dict[str, object] = {"timeout": 2.0, "poll_interval": 0.01, "poll_timeout": 5.0}
    return build_provider(
        network,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        base_url=sandbox_url(),
        **{**defaults, **options},
    )


async def connect(
    provider: SocialProvider, control: SandboxControl, *, user: str | None = None
) -> Connection:
    """The whole OAuth dance: authorization URL, consent page, code exchange."""
    pkce = new_pkce()
    state = secrets.token_urlsafe(12)
    auth = provider.authorization_url(state, REDIRECT_URI, pkce.challenge)
    result = control.consent(auth.url, user=user)
    assert result.state == state, "the consent redirect must carry our state back"
    assert result.code, f"no code in {result.location}"
    return await provider.exchange_code(result.code, REDIRECT_URI, pkce.verifier)


def jpeg(size: int = 2048) -> bytes:
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    return head + b"\x00" * (size - len(head))


def png(size: int = 2048) -> bytes:
    head = b"\x89PNG\r\n\x1a\n"
    return head + b"\x00" * (size - len(head))


def mp4(size: int = 4096) -> bytes:
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + b"\x01" * (size - len(head))
