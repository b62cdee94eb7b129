"""Observability: /api/system/metrics in the Prometheus text format (request latency per
route, run durations per graph, queue depth, model tokens and cost), the database and agents
status routes, who may read them, and the request id answered and carried into log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from api_support import api_client, assert_error_shape, bearer, register
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from support import make_settings
from team_support import ROOMY_LIMITS, login

from chorus.settings import Settings
from persistence.logs import JsonFormatter
from persistence.platform import Platform

METRICS_TOKEN = "m3tr1cs-t0ken-for-tests"


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings: Settings = make_settings(tmp_path / "data", metrics_token=METRICS_TOKEN)
    async with api_client(settings) as (app, client):
        app.state.rate_limits.update(ROOMY_LIMITS)
        yield app, client


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_requests_by_route_and_runs_by_graph(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = api
    ada = await register(client, "ada@example.com", "Acme")
    headers = bearer(ada["accessToken"])
    before = _samples((await client.get("/api/system/metrics")).text)
    for _ in range(3):
        assert (await client.get("/api/users/me", headers=headers)).status_code == 200
    await client.get(f"/api/users/export-data/{'a' * 24}", headers=headers)  # a 404
    run = await client.post(
        "/lg/runs/wait",
        json={"assistant_id": "scheduler", "input": {"input": {"platform": "instagram"}}},
        headers=headers,
    )
    assert run.status_code == 200, run.text

    scraped = await client.get("/api/system/metrics")

    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    after = _samples(scraped.text)
    count = "chorus_http_request_duration_seconds_count"
    me = {"method": "GET", "route": "/api/users/me", "status": "2xx"}
    assert _value(after, count, **me) - _value(before, count, **me) == 3
    missing = {"method": "GET", "route": "/api/users/export-data/{export_id}", "status": "4xx"}
    assert _value(after, count, **missing) - _value(before, count, **missing) == 1
    assert not any("a" * 24 in str(key) for key in after)  # ids never become labels
    runs = "chorus_graph_run_duration_seconds_count"
    finished = {"graph": "scheduler", "outcome": "finished"}
    assert _value(after, runs, **finished) - _value(before, runs, **finished) == 1
    assert ("chorus_job_queue_depth", ()) in after
    assert "chorus_model_tokens_total" in scraped.text
    assert "chorus_publish_outcomes_total" in scraped.text


async def test_only_loopback_operators_and_the_metrics_token_may_read_them(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, local = api
    ada = await register(local, "ada@example.com", "Acme")
    await register(local, "opal@example.com", "Platform team")
    await Platform(app.state.runtime.db).set_operator("opal@example.com", True)
    operator = bearer((await login(local, "opal@example.com")).json()["accessToken"])
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as remote:
        for path in ("/metrics", "/database-status", "/ai-agents-status"):
            url = f"/api/system{path}"
            assert_error_shape(await remote.get(url), 401)
            assert_error_shape(await remote.get(url, headers=bearer(ada["accessToken"])), 403)
            assert_error_shape(await remote.get(url, headers=bearer("not-the-token")), 401)
            assert (await remote.get(url, headers=operator)).status_code == 200, path
            assert (await remote.get(url, headers=bearer(METRICS_TOKEN))).status_code == 200
            assert (await local.get(url)).status_code == 200


async def test_the_status_routes_describe_the_database_and_the_agents(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = api
    await register(client, "ada@example.com", "Acme")
    database = (await client.get("/api/system/database-status")).json()
    assert database["ok"] is True
    assert database["form"] == "embedded"
    assert database["collections"]["users"] == 1
    agents = (await client.get("/api/system/ai-agents-status")).json()
    assert "content_creation" in agents["graphs"]
    assert {m["name"] for m in agents["models"]} == {"chat_model", "embeddings"}
    assert agents["queueDepth"] >= 0


async def test_each_answer_carries_a_request_id_that_log_lines_carry_too(
    api: tuple[FastAPI, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    _, client = api
    mine = await client.get("/api/system/health", headers={"X-Request-ID": "trace-42"})
    assert mine.headers["x-request-id"] == "trace-42"
    fresh = await client.get("/api/system/health", headers={"X-Request-ID": "bad id\n"})
    assert fresh.headers["x-request-id"] != "bad id\n"
    assert len(fresh.headers["x-request-id"]) == 32
    # A line logged inside a request names it (erasure logs what it erased).
    ada = await register(client, "ada@example.com", "Acme")
    with caplog.at_level(logging.INFO, logger="services.gdpr.erase"):
        erased = await client.request(
            "DELETE",
            "/api/organizations",
            json={"confirm": True},
            headers={**bearer(ada["accessToken"]), "X-Request-ID": "trace-43"},
        )
    assert erased.status_code == 200, erased.text
    formatted = [JsonFormatter().format(r) for r in caplog.records]
    assert formatted
    assert all('"requestId": "trace-43"' in line for line in formatted), formatted
    assert all(json.loads(line)["logger"] == "services.gdpr.erase" for line in formatted)
