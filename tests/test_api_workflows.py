"""Saved workflows: CRUD, execution to the end or to an interrupt, history, tenancy."""

from __future__ import annotations

from pathlib import Path

from api_support import add_member, api_client, assert_error_shape, bearer, register
from support import make_settings

TRENDS = {"name": "Weekly trends", "graph": "trend_analysis", "input": {"input": {"days": 7}}}
CREATE = {
    "name": "Cold brew post",
    "graph": "content_creation",
    "input": {"brief": "Announce the cold brew", "platform": "instagram"},
}


async def test_workflow_lifecycle_and_history(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        created = await client.post("/api/ai/workflows", json=TRENDS, headers=auth)
        assert created.status_code == 201, created.text
        workflow = created.json()
        assert workflow["graph"] == "trend_analysis"

        run = await client.post(f"/api/ai/workflows/{workflow['id']}/execute", headers=auth)
        assert run.status_code == 200, run.text
        assert run.json()["status"] == "completed"
        assert run.json()["result"]["report"].startswith("# Trend analysis")

        paused = await client.post("/api/ai/workflows", json=CREATE, headers=auth)
        pending = await client.post(
            f"/api/ai/workflows/{paused.json()['id']}/execute", headers=auth
        )
        assert pending.json()["status"] == "interrupted"
        assert pending.json()["interrupts"][0]["kind"] == "approval"

        patched = await client.patch(
            f"/api/ai/workflows/{workflow['id']}", json={"name": "Trends"}, headers=auth
        )
        assert patched.json()["name"] == "Trends"
        listed = await client.get("/api/ai/workflows", headers=auth)
        assert listed.json()["total"] == 2
        history = await client.get(f"/api/ai/workflows/{workflow['id']}/history", headers=auth)
        assert [r["status"] for r in history.json()["items"]] == ["completed"]
        again = await client.get(f"/api/ai/workflows/{workflow['id']}", headers=auth)
        assert again.json()["execution"]["runCount"] == 1
        assert again.json()["execution"]["successCount"] == 1

        gone = await client.delete(f"/api/ai/workflows/{workflow['id']}", headers=auth)
        assert gone.status_code == 204
        assert_error_shape(
            await client.get(f"/api/ai/workflows/{workflow['id']}", headers=auth), 404
        )


async def test_bad_workflows_are_refused_with_the_field_named(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        auth = bearer((await register(client))["accessToken"])
        unknown = await client.post(
            "/api/ai/workflows", json={**TRENDS, "graph": "nope"}, headers=auth
        )
        assert assert_error_shape(unknown, 422)["fields"][0]["field"] == "body.graph"
        misfit = await client.post(
            "/api/ai/workflows", json={**CREATE, "input": {"platform": "instagram"}}, headers=auth
        )
        error = assert_error_shape(misfit, 422)
        assert error["fields"][0]["field"] == "body.input"
        assert "brief" in error["fields"][0]["message"]


async def test_workflows_belong_to_their_tenant_and_viewers_cannot_write(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        ben = await register(client, email="ben@example.com", org="Ben Tea")
        mine = await client.post(
            "/api/ai/workflows", json=TRENDS, headers=bearer(ana["accessToken"])
        )
        theirs = bearer(ben["accessToken"])
        wid = mine.json()["id"]
        for method, path in (
            ("GET", f"/api/ai/workflows/{wid}"),
            ("POST", f"/api/ai/workflows/{wid}/execute"),
            ("GET", f"/api/ai/workflows/{wid}/history"),
            ("DELETE", f"/api/ai/workflows/{wid}"),
        ):
            assert_error_shape(await client.request(method, path, headers=theirs), 404)
        viewer = await add_member(
            app, client, ana["organization"]["id"], "vic@example.com", "viewer"
        )
        refused = await client.post("/api/ai/workflows", json=TRENDS, headers=bearer(viewer))
        assert_error_shape(refused, 403)
        assert (await client.get("/api/ai/workflows", headers=bearer(viewer))).status_code == 200
