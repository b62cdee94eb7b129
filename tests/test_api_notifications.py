"""/api/notifications: a person's inbox and settings, reachable by them alone."""

from __future__ import annotations

from pathlib import Path

from api_support import api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from support import make_settings
from team_support import ROOMY_LIMITS, headers_of, member

from chorus.app import create_app
from persistence.models import Notification
from persistence.repository import TenantRepository
from services import events as ev


def _app(tmp_path: Path) -> FastAPI:
    app = create_app(make_settings(tmp_path / "data"))
    app.state.rate_limits.update(ROOMY_LIMITS)
    return app


async def test_the_inbox_lists_filters_pages_reads_and_deletes(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data"), _app(tmp_path)) as (app, client):
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        org = ObjectId(ada["user"]["organizationId"])
        events = app.state.runtime.events
        for n in range(5):
            await events.emit(org, ev.POST_FAILED, {"platform": "x", "reason": f"r{n}"})
        await events.emit(org, ev.REPORT_READY, {"name": "Weekly"})

        count = await client.get("/api/notifications/unread-count", headers=auth)
        assert count.status_code == 200, count.text
        assert count.json() == {"count": 6}
        first = await client.get("/api/notifications?limit=4", headers=auth)
        assert first.status_code == 200, first.text
        page = first.json()
        assert [i["category"] for i in page["items"]] == ["report_ready"] + ["post_failed"] * 3
        assert page["items"][1]["message"] == "The post failed: r4."
        second = await client.get(
            f"/api/notifications?limit=4&cursor={page['nextCursor']}", headers=auth
        )
        assert [i["message"] for i in second.json()["items"]] == [
            "The post failed: r1.",
            "The post failed: r0.",
        ]
        assert second.json()["nextCursor"] is None
        failed = await client.get("/api/notifications?category=post_failed", headers=auth)
        assert len(failed.json()["items"]) == 5
        errors_only = await client.get("/api/notifications?type=error", headers=auth)
        assert len(errors_only.json()["items"]) == 5

        target = page["items"][0]["id"]
        read = await client.put(f"/api/notifications/{target}/read", headers=auth)
        assert read.status_code == 200, read.text
        assert read.json()["read"] is True
        assert read.json()["readAt"]
        unread = await client.get("/api/notifications?unread=true", headers=auth)
        assert target not in [i["id"] for i in unread.json()["items"]]
        assert len(unread.json()["items"]) == 5
        read_only = await client.get("/api/notifications?unread=false", headers=auth)
        assert [i["id"] for i in read_only.json()["items"]] == [target]

        gone = await client.delete(f"/api/notifications/{target}", headers=auth)
        assert gone.status_code == 204
        assert_error_shape(await client.delete(f"/api/notifications/{target}", headers=auth), 404)
        marked = await client.post("/api/notifications/mark-all-read", headers=auth)
        assert marked.json() == {"updated": 5}
        count = await client.get("/api/notifications/unread-count", headers=auth)
        assert count.json() == {"count": 0}


async def test_nobody_reaches_another_persons_or_organizations_notifications(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data"), _app(tmp_path)) as (app, client):
        ada = await register(client)
        org = ObjectId(ada["user"]["organizationId"])
        bob = await register(client, email="bob@example.com", org="Globex")
        colleague = await member(app, client, str(org), "cy@example.com", "manager")
        await app.state.runtime.events.emit(org, ev.PAYMENT_FAILED, {"message": "declined"})
        [mine] = (
            await client.get("/api/notifications", headers=bearer(ada["accessToken"]))
        ).json()["items"]
        for other in (bearer(bob["accessToken"]), headers_of(colleague)):
            assert (await client.get("/api/notifications", headers=other)).json()["items"] == []
            assert (await client.get("/api/notifications/unread-count", headers=other)).json() == {
                "count": 0
            }
            assert_error_shape(
                await client.put(f"/api/notifications/{mine['id']}/read", headers=other), 404
            )
            assert_error_shape(
                await client.delete(f"/api/notifications/{mine['id']}", headers=other), 404
            )
            marked = await client.post("/api/notifications/mark-all-read", headers=other)
            assert marked.json() == {"updated": 0}
        stored = await TenantRepository(app.state.runtime.db, Notification).get(
            org, ObjectId(mine["id"])
        )
        assert stored is not None
        assert not stored.channels.in_app.read


async def test_every_role_manages_its_own_inbox_and_credentials_are_required(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data"), _app(tmp_path)) as (app, client):
        ada = await register(client)
        org = ObjectId(ada["user"]["organizationId"])
        viewer = headers_of(await member(app, client, str(org), "vi@example.com", "viewer"))
        await app.state.runtime.events.emit(org, ev.CRISIS_DETECTED, {"topic": "recall"})
        [n] = (await client.get("/api/notifications", headers=viewer)).json()["items"]
        assert (await client.put(f"/api/notifications/{n['id']}/read", headers=viewer)).json()[
            "read"
        ]
        changed = await client.put(
            "/api/notifications/settings",
            json={"channels": {"crisisDetected": "in_app"}},
            headers=viewer,
        )
        assert changed.status_code == 200, changed.text
        assert (
            await client.delete(f"/api/notifications/{n['id']}", headers=viewer)
        ).status_code == 204
        for method, path in (
            ("GET", "/api/notifications"),
            ("GET", "/api/notifications/unread-count"),
            ("POST", "/api/notifications/mark-all-read"),
            ("GET", "/api/notifications/settings"),
        ):
            assert_error_shape(await client.request(method, path), 401)


async def test_settings_are_read_with_defaults_and_changed_all_or_nothing(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data"), _app(tmp_path)) as (_, client):
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        got = await client.get("/api/notifications/settings", headers=auth)
        assert got.status_code == 200, got.text
        assert got.json()["channels"]["postPublished"] == "in_app"
        assert got.json()["channels"]["paymentFailed"] == "email"
        assert got.json()["quietHours"] == {"enabled": False, "start": "22:00", "end": "07:00"}
        assert got.json()["timezone"] == "UTC"

        put = await client.put(
            "/api/notifications/settings",
            json={
                "channels": {"postPublished": "email", "reportReady": "off"},
                "quietHours": {"enabled": True, "start": "21:30", "end": "06:45"},
            },
            headers=auth,
        )
        assert put.status_code == 200, put.text
        assert put.json()["channels"]["postPublished"] == "email"
        assert put.json()["channels"]["reportReady"] == "off"
        assert put.json()["channels"]["postFailed"] == "email"  # untouched

        for body, field in (
            ({"channels": {"postPublished": "sms"}}, "postPublished"),
            ({"channels": {"nonsense": "email"}}, "nonsense"),
            ({"quietHours": {"enabled": True, "start": "25:00", "end": "06:00"}}, "start"),
            ({"quietHours": {"enabled": True, "start": "06:00", "end": "06:00"}}, "end"),
            ({"channels": {"postPublished": "off"}, "extra": 1}, "extra"),
        ):
            bad = await client.put("/api/notifications/settings", json=body, headers=auth)
            error = assert_error_shape(bad, 422)
            assert any(field in f["field"] for f in error["fields"]), error
        again = await client.get("/api/notifications/settings", headers=auth)
        assert again.json() == put.json()  # nothing written by the refused ones

        for path in (
            "/api/notifications?limit=0",
            "/api/notifications?category=nope",
            "/api/notifications?cursor=zz",
        ):
            assert_error_shape(await client.get(path, headers=auth), 422)
        assert_error_shape(await client.put("/api/notifications/123/read", headers=auth), 422)
