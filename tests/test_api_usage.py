"""GET /api/api-usage: requests counted per API key and route, per organization, for key
managers."""

from __future__ import annotations

from pathlib import Path

from api_support import api_client, assert_error_shape, bearer, register
from support import make_settings
from team_support import ROOMY_LIMITS, headers_of, member

from chorus.app import create_app


async def test_requests_are_counted_per_key_and_route_template(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "data"))
    app.state.rate_limits.update(ROOMY_LIMITS)
    async with api_client(make_settings(tmp_path), app) as (_, client):
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        made = await client.post("/api/api-keys", json={"name": "script"}, headers=auth)
        assert made.status_code == 201, made.text
        key = {"x-api-key": made.json()["key"]}
        key_id = made.json()["id"]
        for _ in range(3):
            assert (await client.get("/api/notifications", headers=key)).status_code == 200
        for n in range(2):  # two ids, one route template
            missing = f"/api/notifications/{n:024x}/read"
            assert (await client.put(missing, headers=key)).status_code == 404
        await client.get("/api/notifications/unread-count", headers=auth)
        await client.get("/api/notifications", headers={"x-api-key": "ck_wrong"})  # no one
        await app.state.usage.flush()

        usage = await client.get("/api/api-usage", headers=auth)
        assert usage.status_code == 200, usage.text
        rows = {
            (r["apiKeyId"], r["method"], r["route"]): (r["count"], r["errors"])
            for r in usage.json()["items"]
        }
        assert rows[(key_id, "GET", "/api/notifications")] == (3, 0)
        assert rows[(key_id, "PUT", "/api/notifications/{notification_id}/read")] == (2, 2)
        assert rows[(None, "GET", "/api/notifications/unread-count")] == (1, 0)
        only_key = await client.get(
            f"/api/api-usage?apiKeyId={key_id}&granularity=day", headers=auth
        )
        assert {r["apiKeyId"] for r in only_key.json()["items"]} == {key_id}
        assert len(only_key.json()["items"]) == 2

        # Another organization sees none of it; roles without manage_keys may not look.
        bob = bearer((await register(client, email="bob@example.com", org="Globex"))["accessToken"])
        await app.state.usage.flush()
        theirs = (await client.get("/api/api-usage", headers=bob)).json()["items"]
        assert {r["route"] for r in theirs} <= {"/api/api-usage"}
        for role in ("user", "viewer"):
            who = headers_of(
                await member(app, client, ada["user"]["organizationId"], f"{role}@x.example", role)
            )
            assert_error_shape(await client.get("/api/api-usage", headers=who), 403)
        for query in ("since=2026-01-01T00:00:00", "apiKeyId=zz", "granularity=minute", "limit=0"):
            assert_error_shape(await client.get(f"/api/api-usage?{query}", headers=auth), 422)
