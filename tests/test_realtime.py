"""WebSockets: authenticated at connect, tenant- and person-scoped, resumable from a cursor,
closed when the session ends; fanned out through the real Redis across processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import register
from redis_support import redis_answers, serving
from support import TEST_REDIS_URL, make_settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chorus.app import create_app
from services import events as ev

ROOT = Path(__file__).resolve().parent.parent


def _ws(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


async def _next(ws: ClientConnection, seconds: float = 5) -> dict[str, Any]:
    """The next message that is not a heartbeat."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), seconds))
        if message.get("type") not in ("ping", "welcome"):
            return message


async def _quiet(ws: ClientConnection, seconds: float = 0.3) -> list[dict[str, Any]]:
    """Whatever else arrives within ``seconds`` (heartbeats aside)."""
    got = []
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), seconds))
            if message.get("type") not in ("ping", "welcome"):
                got.append(message)
    except TimeoutError:
        return got


async def _drain(ws: ClientConnection) -> None:
    while True:
        await ws.recv()


async def _closed_code(ws: ClientConnection, seconds: float = 5) -> int | None:
    """The code the server closed ``ws`` with (within ``seconds``)."""
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(_drain(ws), seconds)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def _account(base: str, email: str, org: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as client:
        return await register(client, email=email, org=org)


async def test_a_socket_hears_its_topics_and_its_own_notifications(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "data"))
    async with serving(app) as (base, runtime):
        ada = await _account(base, "ada@example.com", "Acme")
        org = ada["user"]["organizationId"]
        auth = {"Authorization": f"Bearer {ada['accessToken']}"}
        async with (
            connect(_ws(base, "/api/ws/post-status"), additional_headers=auth) as posts,
            connect(_ws(base, f"/api/ws/notifications?token={ada['accessToken']}")) as notes,
            connect(_ws(base, "/api/ws/connect?topics=analytics"), additional_headers=auth) as hub,
        ):
            for ws in (posts, notes, hub):
                welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert welcome["type"] == "welcome"
            from bson import ObjectId

            await runtime.events.emit(ObjectId(org), ev.REPORT_READY, {"name": "Weekly"})
            await runtime.events.emit(ObjectId(org), ev.POST_FAILED, {"platform": "x"})
            got = await _next(posts)
            assert got["topic"] == "post-status"
            assert got["message"]["type"] == ev.POST_FAILED
            assert got["cursor"] == got["message"]["id"]
            assert await _quiet(posts) == []  # the report is not a post's status

            report = await _next(hub)
            assert (report["topic"], report["message"]["type"]) == ("analytics", ev.REPORT_READY)
            # Subscribing on the one socket adds a topic.
            await hub.send(json.dumps({"type": "subscribe", "topics": ["post-status"]}))
            assert await _next(hub) == {
                "type": "subscribed",
                "topics": ["analytics", "post-status"],
            }
            await runtime.events.emit(ObjectId(org), ev.POST_PUBLISHED, {"platform": "x"})
            assert (await _next(hub))["message"]["type"] == ev.POST_PUBLISHED

            # The admin's notifications: the report, the failure, the publication.
            categories = [(await _next(notes))["message"]["data"]["category"] for _ in range(3)]
            assert categories == ["report_ready", "post_failed", "post_published"]
            await notes.send(json.dumps({"type": "ping"}))
            assert await _next(notes) == {"type": "pong"}


async def test_credentials_are_checked_at_connect_and_bad_requests_closed(
    tmp_path: Path,
) -> None:
    app = create_app(make_settings(tmp_path / "data"))
    async with serving(app) as (base, _runtime):
        ada = await _account(base, "ada@example.com", "Acme")
        for url, headers in (
            (_ws(base, "/api/ws/notifications"), {}),
            (_ws(base, "/api/ws/notifications?token=nonsense"), {}),
            (_ws(base, "/api/ws/notifications"), {"x-api-key": "ck_nonsense"}),
        ):
            async with connect(url, additional_headers=headers) as ws:
                assert await _closed_code(ws) == 4401
        token = ada["accessToken"]
        for query in ("topics=everything", f"topics=analytics&cursor=zz&token={token}"):
            async with connect(_ws(base, f"/api/ws/connect?{query}&token={token}")) as ws:
                assert await _closed_code(ws) == 4400
        async with httpx.AsyncClient(base_url=base) as client:
            key = await client.post(
                "/api/api-keys",
                json={"name": "socket"},
                headers={"Authorization": f"Bearer {token}"},
            )
        async with connect(
            _ws(base, "/api/ws/post-status"), additional_headers={"x-api-key": key.json()["key"]}
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "welcome"


async def test_a_signed_out_session_is_closed_at_the_next_heartbeat(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "data"))
    async with serving(app) as (base, _runtime):
        app.state.ws_heartbeat_seconds = 0.2
        ada = await _account(base, "ada@example.com", "Acme")
        auth = {"Authorization": f"Bearer {ada['accessToken']}"}
        async with connect(_ws(base, "/api/ws/notifications"), additional_headers=auth) as ws:
            assert json.loads(await ws.recv())["type"] == "welcome"
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "ping"}
            async with httpx.AsyncClient(base_url=base) as client:
                out = await client.post("/api/auth/logout", headers=auth)
                assert out.status_code == 204
            assert await _closed_code(ws) == 4401


async def test_a_reconnecting_socket_resumes_after_its_cursor(tmp_path: Path) -> None:
    from bson import ObjectId

    app = create_app(make_settings(tmp_path / "data"))
    async with serving(app) as (base, runtime):
        ada = await _account(base, "ada@example.com", "Acme")
        org = ObjectId(ada["user"]["organizationId"])
        auth = {"Authorization": f"Bearer {ada['accessToken']}"}
        url = _ws(base, "/api/ws/connect?topics=post-status,notifications")
        async with connect(url, additional_headers=auth) as ws:
            await runtime.events.emit(org, ev.POST_PUBLISHED, {"platform": "x", "n": 1})
            first = await _next(ws)
            assert first["message"]["data"]["n"] == 1
            await _quiet(ws)  # its notification
        # Missed while away: two events (and their notifications).
        for n in (2, 3):
            await runtime.events.emit(org, ev.POST_PUBLISHED, {"platform": "x", "n": n})
        async with connect(f"{url}&cursor={first['cursor']}", additional_headers=auth) as ws:
            await runtime.events.emit(org, ev.POST_PUBLISHED, {"platform": "x", "n": 4})
            got = [await _next(ws) for _ in range(7)]
            assert await _quiet(ws) == []
        events = [m["message"]["data"]["n"] for m in got if m["topic"] == "post-status"]
        assert events == [2, 3, 4]
        notes = [m for m in got if m["topic"] == "notifications"]
        assert len(notes) == 4  # the first one's notification came after its cursor too
        cursors = [m["cursor"] for m in got]
        assert len(set(cursors)) == 7


async def test_sockets_of_organization_b_never_see_organization_a(tmp_path: Path) -> None:
    from bson import ObjectId

    app = create_app(make_settings(tmp_path / "data"))
    async with serving(app) as (base, runtime):
        a = await _account(base, "a@example.com", "A")
        b = await _account(base, "b@example.com", "B")
        orgs = {
            "A": ObjectId(a["user"]["organizationId"]),
            "B": ObjectId(b["user"]["organizationId"]),
        }
        tokens = {"A": a["accessToken"], "B": b["accessToken"]}
        sockets: dict[str, list[ClientConnection]] = {"A": [], "B": []}
        try:
            for name in ("A", "B"):
                for _ in range(25):
                    ws = await connect(
                        _ws(
                            base,
                            f"/api/ws/connect?topics=events,notifications&token={tokens[name]}",
                        )
                    )
                    assert json.loads(await ws.recv())["type"] == "welcome"
                    sockets[name].append(ws)
            for n in range(4):
                for name in ("A", "B"):
                    await runtime.events.emit(
                        orgs[name], ev.CRISIS_DETECTED, {"topic": f"{name}{n}"}
                    )
            for name in ("A", "B"):
                for ws in sockets[name]:
                    got = [await _next(ws) for _ in range(8)] + await _quiet(ws, 0.05)
                    assert len(got) == 8
                    for m in got:
                        data = m["message"]["data"]
                        topic = data.get("data", data).get("topic")
                        assert topic.startswith(name), m
                        assert m["message"].get(
                            "organizationId", data.get("organizationId")
                        ) == str(orgs[name])
        finally:
            for ws in sockets["A"] + sockets["B"]:
                await ws.close()


async def test_an_event_from_another_process_reaches_a_socket_through_redis(
    tmp_path: Path,
) -> None:
    if not await redis_answers():
        pytest.skip("no Redis at " + TEST_REDIS_URL)
    from bson import ObjectId

    app = create_app(make_settings(tmp_path / "api", redis_url=TEST_REDIS_URL))
    async with serving(app) as (base, _runtime):
        ada = await _account(base, f"ada{ObjectId()}@example.com", "Acme")
        org = ada["user"]["organizationId"]
        auth = {"Authorization": f"Bearer {ada['accessToken']}"}
        async with connect(_ws(base, "/api/ws/post-status"), additional_headers=auth) as ws:
            assert json.loads(await ws.recv())["type"] == "welcome"
            worker = textwrap.dedent(
                f"""
                import asyncio, sys
                sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
                from bson import ObjectId
                from support import make_settings
                from chorus.runtime import Runtime

                async def main():
                    settings = make_settings(
                        __import__("pathlib").Path({str(tmp_path / "worker")!r}),
                        redis_url={TEST_REDIS_URL!r},
                    )
                    async with await Runtime.open(settings) as runtime:
                        await runtime.events.emit(
                            ObjectId({org!r}), "post.published", {{"from": "worker"}}
                        )

                asyncio.run(main())
                """
            )
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-c", worker],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=ROOT,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            got = await _next(ws, 10)
            assert got["message"]["data"] == {"from": "worker"}
            assert got["message"]["organizationId"] == org


async def test_the_ai_tasks_socket_hears_runs_and_tasks_only(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "data"))
    async with serving(app) as (base, runtime):
        ada = await _account(base, "ada@example.com", "Acme")
        org = ada["user"]["organizationId"]
        auth = {"Authorization": f"Bearer {ada['accessToken']}"}
        async with connect(_ws(base, "/api/ws/ai-tasks"), additional_headers=auth) as tasks:
            assert json.loads(await asyncio.wait_for(tasks.recv(), 5))["type"] == "welcome"
            from bson import ObjectId

            await runtime.events.emit(ObjectId(org), ev.POST_FAILED, {"platform": "x"})
            await runtime.events.emit(ObjectId(org), "run.completed", {"graph": "scheduler"})
            got = await _next(tasks)
            assert (got["topic"], got["message"]["type"]) == ("ai-tasks", "run.completed")
            assert await _quiet(tasks) == []  # a post's failure is not an AI task
