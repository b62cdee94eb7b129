"""The platform operator's routes (/api/admin): open to operators only — an organization's
admin and any API key are refused — figures and lists across organizations, and maintenance
mode refusing writes with 503 while reads go on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from api_support import api_client, assert_error_shape, bearer, register
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Histogram
from team_support import ROOMY_LIMITS, login

from chorus.settings import Settings
from persistence import metrics
from persistence.platform import Platform

READS = [
    "/stats",
    "/users",
    "/organizations",
    "/audit-logs",
    "/system-health",
    "/maintenance-mode",
    "/performance",
]


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with api_client(settings) as (app, client):
        app.state.rate_limits.update(ROOMY_LIMITS)
        yield app, client


async def _operator(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    """An operator's headers (their account registered like anyone's, then granted)."""
    await register(client, "opal@example.com", "Platform team")
    await Platform(app.state.runtime.db).set_operator("opal@example.com", True)
    signed_in = await login(client, "opal@example.com")
    return bearer(signed_in.json()["accessToken"])


async def test_organization_admins_and_api_keys_are_refused_every_admin_route(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    ada = await register(client, "ada@example.com", "Acme")
    admin = bearer(ada["accessToken"])
    op = await _operator(app, client)
    key = await client.post("/api/api-keys", json={"name": "ci"}, headers=op)
    as_key = {"x-api-key": key.json()["key"]}
    for headers in (admin, as_key):
        for path in READS:
            assert_error_shape(await client.get(f"/api/admin{path}", headers=headers), 403)
        switched = await client.post(
            "/api/admin/maintenance-mode", json={"enabled": True}, headers=headers
        )
        assert_error_shape(switched, 403)
    assert_error_shape(await client.get("/api/admin/stats"), 401)
    for path in READS:
        assert (await client.get(f"/api/admin{path}", headers=op)).status_code == 200, path
    # Withdrawn, the role is gone from the next request on.
    await Platform(app.state.runtime.db).set_operator("opal@example.com", False)
    assert_error_shape(await client.get("/api/admin/stats", headers=op), 403)


async def test_an_operator_sees_every_organization_user_and_audit_entry(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    ada = await register(client, "ada@example.com", "Acme")
    bob = await register(client, "bob@example.com", "Other")
    op = await _operator(app, client)
    stats = (await client.get("/api/admin/stats", headers=op)).json()
    assert stats["documents"]["users"] == 3
    assert stats["organizationsByPlan"] == {"free": 3}
    assert stats["signupsLast7Days"] == 3
    orgs = (await client.get("/api/admin/organizations", headers=op)).json()
    assert {o["id"]: o["members"] for o in orgs}[ada["organization"]["id"]] == 1
    assert len(orgs) == 3
    users = await client.get("/api/admin/users", params={"limit": 2}, headers=op)
    assert [u["email"] for u in users.json()] == ["ada@example.com", "bob@example.com"]
    assert "passwordHash" not in users.text
    assert "$argon2" not in users.text
    entries = (await client.get("/api/admin/audit-logs", headers=op)).json()
    seen = {e["organizationId"] for e in entries["items"]}
    assert {ada["organization"]["id"], bob["organization"]["id"]} <= seen
    one = await client.get(
        "/api/admin/audit-logs", params={"organizationId": bob["organization"]["id"]}, headers=op
    )
    assert {e["organizationId"] for e in one.json()["items"]} == {bob["organization"]["id"]}
    first = await client.get("/api/admin/audit-logs", params={"limit": 1}, headers=op)
    older = await client.get(
        "/api/admin/audit-logs",
        params={"limit": 1, "cursor": first.json()["nextCursor"]},
        headers=op,
    )
    assert older.json()["items"][0]["id"] < first.json()["items"][0]["id"]
    health = (await client.get("/api/admin/system-health", headers=op)).json()
    assert {c["name"] for c in health["components"]} >= {"documents", "redis", "media"}
    assert health["maintenance"]["enabled"] is False
    for params, field in (
        ({"organizationId": "nope"}, "query.organizationId"),
        ({"limit": 0}, "query.limit"),
        ({"cursor": "x" * 24}, "query.cursor"),
    ):
        error = assert_error_shape(
            await client.get("/api/admin/audit-logs", params=params, headers=op), 422
        )
        assert [f["field"] for f in error["fields"]] == [field]


async def test_maintenance_refuses_writes_with_its_message_and_reads_go_on(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    ada = await register(client, "ada@example.com", "Acme")
    user = bearer(ada["accessToken"])
    op = await _operator(app, client)
    on = await client.post(
        "/api/admin/maintenance-mode",
        json={"enabled": True, "message": "Upgrading the database; back by 10:00 UTC."},
        headers=op,
    )
    assert on.status_code == 200, on.text
    assert on.json()["enabled"] is True

    refused = await client.put("/api/users/profile", json={"firstName": "Ada"}, headers=user)

    error: dict[str, Any] = assert_error_shape(refused, 503)
    assert error["code"] == "maintenance"
    assert error["message"] == "Upgrading the database; back by 10:00 UTC."
    assert (await client.get("/api/users/profile", headers=user)).json()["firstName"] is None
    assert (await client.get("/api/users/me", headers=user)).status_code == 200
    assert (await login(client, "ada@example.com")).status_code == 200
    off = await client.post("/api/admin/maintenance-mode", json={"enabled": False}, headers=op)
    assert off.json()["enabled"] is False
    done = await client.put("/api/users/profile", json={"firstName": "Ada"}, headers=user)
    assert done.status_code == 200, done.text
    for body, field in (
        ({"enabled": "yes"}, "body.enabled"),
        ({"enabled": True, "message": "two\nlines"}, "body.message"),
        ({"enabled": True, "extra": 1}, "body.extra"),
    ):
        error = assert_error_shape(
            await client.post("/api/admin/maintenance-mode", json=body, headers=op), 422
        )
        assert [f["field"] for f in error["fields"]] == [field]
    assert (await client.get("/api/admin/maintenance-mode", headers=op)).json()["enabled"] is False


async def test_performance_reports_this_processs_latency_by_route(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    op = await _operator(app, client)
    for _ in range(4):
        assert (await client.get("/api/admin/stats", headers=op)).status_code == 200
    report = (await client.get("/api/admin/performance", headers=op)).json()
    stats = next(
        r for r in report["requests"] if r["route"] == "/api/admin/stats" and r["status"] == "2xx"
    )
    assert stats["count"] >= 4
    assert 0 < stats["p50Seconds"] <= stats["p95Seconds"] <= stats["p99Seconds"]
    assert report["queueDepth"] >= 0


def test_quantiles_are_prometheus_histogram_quantile() -> None:
    histogram = Histogram(
        "t_seconds", "t", ["route"], buckets=(0.1, 0.2, 0.4), registry=CollectorRegistry()
    )
    for value, times in ((0.05, 50), (0.15, 40), (0.3, 10)):
        for _ in range(times):
            histogram.labels("a").observe(value)
    [summary] = metrics.histogram_summaries(histogram, ("route",))
    assert summary["count"] == 100
    assert summary["mean_seconds"] == pytest.approx(0.115)
    assert summary["p50_seconds"] == pytest.approx(0.1)  # rank 50 ends the first bucket
    assert summary["p95_seconds"] == pytest.approx(0.3)  # 0.2 + 0.2 * 5/10
    assert summary["p99_seconds"] == pytest.approx(0.38)  # 0.2 + 0.2 * 9/10
