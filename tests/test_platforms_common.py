"""What every provider shares: limits as data, PKCE, tokens, chunking, cursors, transport
errors, the registry, and the sandbox server's own control surface."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sandbox_support import connect, make_provider, sandbox_fixture  # noqa: F401 - a fixture

from persistence.media import LocalMediaStore
from persistence.models.content import PLATFORMS
from sandbox.client import SandboxControl
from tools.platform_rules import post_length, repair, rules_for, validate_post
from tools.platforms import (
    NETWORKS,
    Media,
    SocialProvider,
    Tokens,
    TransientError,
    build_provider,
    is_configured,
    limits_for,
    media_problems,
    new_pkce,
)
from tools.platforms.base import read_all, read_chunks
from tools.platforms.http import Transport, classify_status, retry_after
from tools.platforms.meta import classify_for
from tools.platforms.provider import TimeCursor

MB = 1024 * 1024
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one grapheme, 25 bytes


def test_every_platform_has_limits_whose_text_rules_are_platform_rules() -> None:
    for platform in PLATFORMS:
        assert limits_for(platform).text is rules_for(platform)
    assert limits_for("x").network == "twitter"


def test_media_problems_say_what_the_network_refuses() -> None:
    five = [("image/jpeg", 1000, None)] * 5
    assert any("at most 4" in p for p in media_problems("twitter", five))
    mixed = [("image/jpeg", 1000, None), ("video/mp4", 1000, 10.0)]
    assert any("does not mix" in p for p in media_problems("twitter", mixed))
    assert any(
        "does not accept video/webm" in p
        for p in media_problems("twitter", [("video/webm", 9, 1.0)])
    )
    assert any("at least one" in p for p in media_problems("instagram", []))
    assert any("longer than" in p for p in media_problems("tiktok", [("video/mp4", MB, 900.0)]))
    assert any("1000000" in p for p in media_problems("bluesky", [("image/png", 1_000_001, None)]))
    assert media_problems("facebook", [("image/jpeg", MB, None)] * 3) == []
    assert media_problems("instagram", mixed) == []  # carousels mix


def test_bluesky_text_is_counted_in_graphemes_and_capped_in_bytes() -> None:
    assert post_length(FAMILY * 2 + "é", "bluesky") == 3
    assert validate_post("a" * 300, [], "bluesky") == []
    [too_long] = validate_post(FAMILY * 130, [], "bluesky")  # 130 graphemes, 3250 bytes
    assert too_long.code == "too_long"
    assert too_long.limit == 3000
    text, tags = repair(FAMILY * 130, [], "bluesky")
    assert validate_post(text, tags, "bluesky") == []


def test_a_pkce_pair_is_an_s256_challenge_of_a_fresh_verifier() -> None:
    pair, other = new_pkce(), new_pkce()
    digest = hashlib.sha256(pair.verifier.encode()).digest()
    assert pair.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert 43 <= len(pair.verifier) <= 128
    assert pair.verifier != other.verifier


def test_tokens_never_show_their_secrets_in_a_repr() -> None:
    tokens = Tokens("access-SECRET", "refresh-SECRET", account_id="42")
    assert "SECRET" not in repr(tokens)
    assert "42" in repr(tokens)


async def test_media_is_recut_into_exact_chunks_whatever_its_source_yields() -> None:
    async def uneven() -> AsyncIterator[bytes]:
        for size in (3, 10, 1, 7):
            yield b"x" * size

    media = Media("video/mp4", 21, uneven)
    assert [len(c) async for c in read_chunks(media, 5)] == [5, 5, 5, 5, 1]


def test_a_time_cursor_round_trips_ids_with_commas_and_skips_what_it_saw() -> None:
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    cursor = TimeCursor().advance([("urn:li:comment:(a,1)", at), ("b", at)])
    again = TimeCursor.parse(cursor.encode())
    assert again == cursor
    assert not again.is_new("urn:li:comment:(a,1)", at)
    assert again.is_new("c", at)
    assert TimeCursor.parse(None).encode() is None


def test_retry_after_reads_seconds_dates_and_epoch_resets() -> None:
    request = httpx.Request("GET", "https://example.test")
    assert retry_after(httpx.Response(429, headers={"retry-after": "17"}, request=request)) == 17
    reset = str(int(time.time()) + 120)
    wait = retry_after(httpx.Response(429, headers={"ratelimit-reset": reset}, request=request))
    assert 115 <= wait <= 120
    assert retry_after(httpx.Response(429, request=request), default=9) == 9


def test_graph_usage_headers_set_how_long_a_rate_limit_lasts() -> None:
    usage = '{"123": [{"type": "pages", "estimated_time_to_regain_access": 7}]}'
    response = httpx.Response(
        400,
        json={"error": {"message": "(#80001) limit", "code": 80001, "type": "OAuthException"}},
        headers={"x-business-use-case-usage": usage},
        request=httpx.Request("POST", "https://graph.test"),
    )
    error = classify_for("facebook")(response)
    assert error.retry_after_seconds == 420  # type: ignore[attr-defined]
    assert (
        classify_status(httpx.Response(503, request=response.request), "x", "down").__class__
        is TransientError
    )


async def test_a_refused_connection_is_transient_and_its_message_holds_no_secret() -> None:
    transport = Transport("twitter", lambda r: classify_status(r, "twitter", "?"), timeout=2)
    try:
        with pytest.raises(TransientError) as caught:
            await transport.request("POST", "http://127.0.0.1:9/2/tweets?access_token=SECRET")
    finally:
        await transport.aclose()
    assert "SECRET" not in str(caught.value)


def test_is_configured_needs_both_the_id_and_the_secret() -> None:
    assert is_configured("id", "secret")
    assert not is_configured("id", None)
    assert not is_configured(" ", "secret")


def config_urls(provider: SocialProvider) -> list[str]:
    config = provider.config  # type: ignore[attr-defined]
    values = [getattr(config, f.name) for f in dataclasses.fields(config)]
    return [v for v in values if isinstance(v, str) and "://" in v]


async def test_every_network_builds_with_production_urls_or_urls_under_a_base() -> None:
    for network in NETWORKS:
        production = build_provider(network, client_id="id", client_secret="secret")
        sandboxed = build_provider(network, base_url="http://127.0.0.1:8900")
        try:
            assert isinstance(production, SocialProvider)
            urls = config_urls(production)
            assert urls
            assert all("127.0.0.1" not in u for u in urls)
            local = config_urls(sandboxed)
            assert all(u.startswith("http://127.0.0.1:8900/") for u in local)
        finally:
            await production.aclose()
            await sandboxed.aclose()
    with pytest.raises(ValueError, match="no provider"):
        build_provider("myspace")


def test_faults_are_consumed_and_the_control_api_names_its_networks(
    sandbox: SandboxControl,
) -> None:
    sandbox.fault("x", "error", path="^/2/users/me$", count=2, status=500)
    assert [sandbox.http.get("/x/2/users/me").status_code for _ in range(3)] == [500, 500, 401]
    assert sandbox.faults()[0]["hits"] == 2
    index = sandbox.http.get("/_sandbox").json()["networks"]
    assert set(index) == {"x", "meta", "linkedin", "tiktok", "google", "bluesky"}
    assert sandbox.http.post("/_sandbox/tiktok/mentions", json={}).status_code == 404


def test_the_sandbox_runs_as_a_module_on_a_port() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/_sandbox", timeout=1).json()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert "x" in body["networks"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_slow_answer_within_the_timeout_succeeds_and_a_read_past_it_is_transient(
    sandbox: SandboxControl,
) -> None:
    x = make_provider("twitter", timeout=0.5)
    try:
        conn = await connect(x, sandbox)
        sandbox.fault("x", "slow", path="^/2/users/me$", delay=0.2)
        assert (await x.account_metrics(conn.tokens)).followers == 1200
        sandbox.fault("x", "slow", path="^/2/users/me$", delay=1.0)
        with pytest.raises(TransientError, match="ReadTimeout"):
            await x.account_metrics(conn.tokens)
    finally:
        await x.aclose()


async def test_media_from_the_media_store_is_read_on_demand(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    stored = await store.put("org1", "cup.jpg", b"\xff\xd8\xff" + b"\x01" * 500, "image/jpeg")
    media = Media.from_loader(
        lambda: store.get("org1", stored.key), stored.content_type, stored.size, alt_text="cup"
    )
    assert media.kind == "image"
    assert await read_all(media) == await store.get("org1", stored.key)
    assert [len(c) async for c in read_chunks(media, 200)] == [200, 200, 103]
