"""Analytics reports: the analysis graphs run in the background, the report stored with the
period's figures, the graphs' Markdown and an HTML page with charts, report.ready emitted;
listing, deleting, tenancy, roles and bad input."""

from __future__ import annotations

import asyncio
import io
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from support import make_settings

from persistence.models import AnalyticsReport, DomainEvent
from persistence.repository import TenantRepository
from tools.importer import import_analytics

ROWS = [
    '{"platform": "instagram", "platformPostId": "a", "publishedAt": "2026-01-05T15:00:00Z",'
    ' "likes": 60, "comments": 10, "reach": 1000, "text": "cold brew"}',
    '{"platform": "twitter", "platformPostId": "b", "publishedAt": "2026-01-10T15:00:00Z",'
    ' "likes": 20, "reach": 400}',
]


async def wait_report(client: httpx.AsyncClient, auth: dict, report_id: str) -> dict[str, Any]:
    for _ in range(600):
        r = await client.get(f"/api/analytics/reports/{report_id}", headers=auth)
        assert r.status_code == 200, r.text
        if r.json()["status"] != "running":
            return r.json()
        await asyncio.sleep(0.1)
    raise AssertionError("the report never finished")


async def test_a_report_runs_the_graphs_and_stores_markdown_figures_and_charts(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        org = ObjectId(ada["organization"]["id"])
        db = app.state.runtime.db
        await import_analytics(db, org, io.StringIO("\n".join(ROWS)))

        started = await client.post(
            "/api/analytics/reports/generate",
            json={"title": "January", "from": "2026-01-01", "to": "2026-01-31"},
            headers=auth,
        )
        assert started.status_code == 202, started.text
        body = started.json()
        assert body["status"] == "running"
        assert [r["graph"] for r in body["runs"]] == ["performance_analysis", "trend_analysis"]

        done = await wait_report(client, auth, body["id"])
        assert done["status"] == "completed", done
        assert {r["status"] for r in done["runs"]} == {"success"}
        markdown = done["markdown"]
        assert markdown.startswith("# January")
        assert "## Figures, 2026-01-01 to 2026-01-31 (UTC)" in markdown
        # 2 posts, 90 engagements, 1,400 reach: the period's known figures.
        assert "| Posts | 2 | 0 |" in markdown
        assert "| Engagements | 90 | 0 |" in markdown
        assert "| instagram | 1 | 1,000 | 70 | 7.00% |" in markdown
        assert "# Trend analysis" in markdown  # the trend graph's own report
        assert done["figures"]["summary"]["overall"]["current"]["engagements"] == 90
        assert len(done["figures"]["daily"]) == 31

        page = await client.get(done["html_url"], headers=auth)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.text.count("<svg") == 2
        assert "<script" not in page.text
        assert ">90</td>" in page.text  # the figures table, rendered

        events = await TenantRepository(db, DomainEvent).find(org, {"type": "report.ready"})
        assert [e.data["reportId"] for e in events] == [body["id"]]

        listed = await client.get("/api/analytics/reports", headers=auth)
        assert listed.json()["total"] == 1
        assert "markdown" not in listed.json()["items"][0]

        gone = await client.delete(f"/api/analytics/reports/{body['id']}", headers=auth)
        assert gone.status_code == 204
        assert_error_shape(
            await client.get(f"/api/analytics/reports/{body['id']}", headers=auth), 404
        )


async def test_reports_belong_to_their_tenant_viewers_read_and_bad_input_stores_nothing(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        ben = bearer((await register(client, email="ben@example.com", org="Ben"))["accessToken"])
        started = await client.post(
            "/api/analytics/reports/generate", json={"graphs": ["trend_analysis"]}, headers=auth
        )
        assert started.status_code == 202, started.text
        rid = started.json()["id"]
        await wait_report(client, auth, rid)
        for method, path in (
            ("GET", f"/api/analytics/reports/{rid}"),
            ("GET", f"/api/analytics/reports/{rid}/html"),
            ("DELETE", f"/api/analytics/reports/{rid}"),
        ):
            assert_error_shape(await client.request(method, path, headers=ben), 404)
        viewer = bearer(
            await add_member(app, client, ada["organization"]["id"], "v@example.com", "viewer")
        )
        assert (
            await client.get(f"/api/analytics/reports/{rid}", headers=viewer)
        ).status_code == 200
        assert_error_shape(
            await client.post("/api/analytics/reports/generate", json={}, headers=viewer), 403
        )
        assert_error_shape(
            await client.delete(f"/api/analytics/reports/{rid}", headers=viewer), 403
        )

        org = ObjectId(ada["organization"]["id"])
        repo = TenantRepository(app.state.runtime.db, AnalyticsReport)
        before = await repo.count(org)
        today = date.today().isoformat()
        for body, field in (
            ({"graphs": []}, "body.graphs"),
            ({"graphs": ["crisis_response"]}, "body.graphs.0"),
            ({"from": "2026-02-01", "to": "2026-01-01"}, "query.from"),
            # No competitor is tracked: the competitor graph has nothing to compare.
            ({"graphs": ["competitor_analysis"], "to": today}, "body.graphs"),
            ({"title": ""}, "body.title"),
        ):
            r = await client.post("/api/analytics/reports/generate", json=body, headers=auth)
            error = assert_error_shape(r, 422)
            assert field in [f["field"] for f in error["fields"]], error
        assert await repo.count(org) == before
