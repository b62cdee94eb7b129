"""Shared fixtures for the service-backed components: Redis and a local AWS (moto) server.

Import the fixtures a module needs by name, e.g.
``from tests.fixtures_services import backend, redis_client, redis_prefix, redis_url``
(pytest finds fixtures through the module namespace).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

REDIS_URL = os.environ.get("CHORUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


# --- Redis -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis URL; skips (once, cached for the session) if no Redis answers there."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except RedisError as exc:
        pytest.skip(f"no Redis answers at {REDIS_URL} (set CHORUS_TEST_REDIS_URL): {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A ``redis.asyncio`` client on the test database (bytes responses)."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix unique to this test; every key under it is deleted afterwards."""
    prefix = f"chorus-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    # A sync client: teardown must not depend on the test's event loop still being usable.
    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)


@dataclass(frozen=True)
class RedisTarget:
    client: aioredis.Redis
    prefix: str


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> RedisTarget | None:
    """Parametrizes a test over the in-process form (``None``) and the real Redis form."""
    if request.param == "memory":
        return None
    return RedisTarget(
        request.getfixturevalue("redis_client"), request.getfixturevalue("redis_prefix")
    )


# --- AWS (moto's server: a real local HTTP endpoint speaking the AWS wire protocol) ------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port, for the session; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The moto endpoint, with dummy credentials and no user AWS config for this test."""
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Never send the loopback endpoint through a proxy the environment may configure.
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
    monkeypatch.setenv("NO_PROXY", no_proxy)
    return moto_server
