"""The /lg runs API, driven by the official LangGraph SDK client against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_model_apis import serve_app
from langgraph_sdk import get_client
from support import make_settings

from chorus.app import create_app

BRIEF = {"brief": "Launch of our autumn oat latte", "platform": "instagram"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = create_app(make_settings(tmp_path_factory.mktemp("runs") / "data"))
    with serve_app(app) as base:
        yield base


def _api_key(base: str, email: str, org: str) -> str:
    body = {"email": email, "password": "correct horse battery", "organizationName": org}
    reg = httpx.post(f"{base}/api/auth/register", json=body, timeout=30)
    assert reg.status_code == 201, reg.text
    headers = {"Authorization": f"Bearer {reg.json()['accessToken']}"}
    key = httpx.post(f"{base}/api/api-keys", json={"name": "sdk"}, headers=headers, timeout=30)
    assert key.status_code == 201, key.text
    return key.json()["key"]


@pytest.fixture(scope="module")
def key(server: str) -> str:
    return _api_key(server, "sdk@example.com", "SDK Coffee")


def _client(server: str, key: str) -> Any:
    return get_client(url=f"{server}/lg", api_key=key, timeout=60)


async def test_assistants_one_per_graph(server: str, key: str) -> None:
    client = _client(server, key)
    found = await client.assistants.search(limit=100)
    names = {a["graph_id"] for a in found}
    assert {"content_creation", "console", "crisis_manager"} <= names
    by_name = await client.assistants.get("content_creation")
    assert by_name["graph_id"] == "content_creation"
    by_uuid = await client.assistants.get(by_name["assistant_id"])
    assert by_uuid == by_name
    assert await client.assistants.search(graph_id="console") == [
        await client.assistants.get("console")
    ]
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.assistants.get("nope")
    assert err.value.response.status_code == 404


async def test_threads_crud_and_tenant_isolation(server: str, key: str) -> None:
    client = _client(server, key)
    thread = await client.threads.create(metadata={"topic": "latte"})
    assert thread["status"] == "idle"
    assert (await client.threads.get(thread["thread_id"]))["metadata"]["topic"] == "latte"
    found = await client.threads.search(metadata={"topic": "latte"})
    assert [t["thread_id"] for t in found] == [thread["thread_id"]]
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"] == {}
    assert state["next"] == []

    other = _client(server, _api_key(server, "other@example.com", "Other Org"))
    for call in (
        other.threads.get(thread["thread_id"]),
        other.threads.get_state(thread["thread_id"]),
        other.threads.delete(thread["thread_id"]),
    ):
        with pytest.raises(httpx.HTTPStatusError) as err:
            await call
        assert err.value.response.status_code == 404
    assert await other.threads.search() == []

    await client.threads.delete(thread["thread_id"])
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.threads.get(thread["thread_id"])
    assert err.value.response.status_code == 404


async def test_stream_to_interrupt_then_resume(server: str, key: str) -> None:
    client = _client(server, key)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    created: list[Any] = []
    parts = [
        p
        async for p in client.runs.stream(
            tid,
            "content_creation",
            input=BRIEF,
            stream_mode=["values", "updates"],
            on_run_created=created.append,
        )
    ]
    assert created
    assert created[0]["thread_id"] == tid
    events = [p.event for p in parts]
    assert events[0] == "metadata"
    assert events[-1] == "end"
    assert "values" in events
    assert "updates" in events
    assert parts[0].data["thread_id"] == tid
    assert any("__interrupt__" in (p.data or {}) for p in parts if p.event == "updates")

    state = await client.threads.get_state(tid)
    assert state["next"] == ["approval"]
    assert state["interrupts"][0]["value"]["kind"] == "approval"
    assert state["tasks"][0]["interrupts"]
    assert (await client.threads.get(tid))["status"] == "interrupted"
    history = await client.threads.get_history(tid, limit=3)
    assert len(history) == 3
    assert history[0]["next"] == ["approval"]

    resumed = [
        p
        async for p in client.runs.stream(
            tid,
            "content_creation",
            command={"resume": {"action": "approve"}},
            stream_mode="values",
        )
    ]
    assert resumed[-1].event == "end"
    final = await client.threads.get_state(tid)
    assert final["next"] == []
    assert final["values"]["postId"]
    assert (await client.threads.get(tid))["status"] == "idle"

    listed = await client.runs.list(tid)
    assert [r["status"] for r in listed] == ["success", "interrupted"]
    one = await client.runs.get(tid, listed[0]["run_id"])
    assert one["assistant_id"] == "content_creation"

    # Nothing left to resume: a clear 4xx before any event.
    with pytest.raises(httpx.HTTPStatusError) as err:
        async for _ in client.runs.stream(
            tid, "content_creation", command={"resume": {"action": "approve"}}
        ):
            pass
    assert err.value.response.status_code == 409
    assert "no pending interrupt" in err.value.response.text


async def test_console_streams_message_tuples(server: str, key: str) -> None:
    client = _client(server, key)
    thread = await client.threads.create()
    parts = [
        p
        async for p in client.runs.stream(
            thread["thread_id"],
            "console",
            input={"messages": [{"role": "user", "content": "Hello there, who are you?"}]},
            stream_mode="messages-tuple",
        )
    ]
    messages = [p for p in parts if p.event == "messages"]
    assert messages, [p.event for p in parts]
    chunk, meta = messages[0].data
    assert "content" in chunk
    assert "type" in chunk
    assert isinstance(meta, dict)
    assert parts[-1].event == "end"


async def test_wait_and_stateless(server: str, key: str) -> None:
    client = _client(server, key)
    thread = await client.threads.create()
    values = await client.runs.wait(thread["thread_id"], "content_creation", input=BRIEF)
    assert values["draft"]
    assert values["status"] == "drafted"
    stateless = await client.runs.wait(
        None, "scheduler", input={"input": {"platform": "instagram", "count": 2}}
    )
    assert isinstance(stateless, dict)
    assert stateless
    events = [
        p.event
        async for p in client.runs.stream(
            None, "scheduler", input={"input": {"platform": "instagram"}}, stream_mode="updates"
        )
    ]
    assert events[0] == "metadata"
    assert "updates" in events
    assert events[-1] == "end"

    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.runs.wait(thread["thread_id"], "content_creation", input={"platform": 3})
    assert err.value.response.status_code == 422


async def test_background_runs_join_stream_and_multitask(server: str, key: str) -> None:
    client = _client(server, key)
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(
        tid, "content_creation", input=BRIEF, stream_mode=["values", "updates"]
    )
    assert run["status"] in ("pending", "running")

    # The thread is busy: a second run is refused, or queued with "enqueue".
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.runs.create(tid, "content_creation", input=BRIEF)
    assert err.value.response.status_code == 409

    parts = [p async for p in client.runs.join_stream(tid, run["run_id"])]
    assert parts[0].event == "metadata"
    assert parts[-1].event == "end"
    assert "values" in {p.event for p in parts}
    only_updates = [
        p.event async for p in client.runs.join_stream(tid, run["run_id"], stream_mode="updates")
    ]
    assert set(only_updates) == {"metadata", "updates", "end"}
    values = await client.runs.join(tid, run["run_id"])
    assert values["slots"]
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "interrupted"

    queued = await client.runs.create(
        tid,
        "content_creation",
        command={"resume": {"action": "reject"}},
    )
    # A second resume finds nothing left to resume: refused at once if the first is done,
    # else failed when its turn comes (the scripted model is fast, so either may happen).
    again: dict[str, Any] | None = None
    refused: httpx.Response | None = None
    try:
        again = await client.runs.create(
            tid,
            "content_creation",
            command={"resume": {"action": "approve"}},
            multitask_strategy="enqueue",
        )
    except httpx.HTTPStatusError as exc:
        refused = exc.response
    if refused is not None:
        assert refused.status_code == 409
        assert "no pending interrupt" in refused.text
    after = await client.runs.create(
        tid, "content_creation", input=BRIEF, multitask_strategy="enqueue"
    )
    await client.runs.join(tid, queued["run_id"])
    await client.runs.join(tid, after["run_id"])
    statuses = {r["run_id"]: r["status"] for r in await client.runs.list(tid)}
    assert statuses[queued["run_id"]] == "success"
    assert statuses[after["run_id"]] == "interrupted"
    if again is not None:
        assert statuses[again["run_id"]] == "error"
        events = [p async for p in client.runs.join_stream(tid, again["run_id"])]
        assert "no pending interrupt" in events[-2].data["message"]


async def test_cancel_a_queued_run(server: str, key: str) -> None:
    client = _client(server, key)
    tid = (await client.threads.create())["thread_id"]
    first = await client.runs.create(tid, "content_creation", input=BRIEF)
    second = await client.runs.create(
        tid, "content_creation", input=BRIEF, multitask_strategy="enqueue"
    )
    await client.runs.cancel(tid, second["run_id"])
    await client.runs.join(tid, first["run_id"])
    assert (await client.runs.get(tid, second["run_id"]))["status"] == "interrupted"
    # It never started: its log has only the opening metadata and the end.
    events = [p.event async for p in client.runs.join_stream(tid, second["run_id"])]
    assert events == ["metadata", "end"]
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.runs.cancel(tid, second["run_id"])
    assert err.value.response.status_code == 409


async def test_a_failing_run_streams_an_error_event(server: str, key: str) -> None:
    client = _client(server, key)
    tid = (await client.threads.create())["thread_id"]
    # An input that does not fit is refused before anything runs or is stored.
    bad = {"brief": "Autumn latte", "platform": "myspace"}
    with pytest.raises(httpx.HTTPStatusError) as refused:
        async for _ in client.runs.stream(tid, "content_creation", input=bad):
            pass
    assert refused.value.response.status_code == 422
    assert "body.input.platform" in refused.value.response.text
    assert await client.runs.list(tid) == []

    # A run that fails on its way (an agent the organization switched off) says so.
    configure = "/api/ai-agents/trend_analyzer/configure"
    async with httpx.AsyncClient(base_url=server, headers={"x-api-key": key}) as http:
        off = await http.post(configure, json={"enabled": False})
        assert off.status_code == 200, off.text
        try:
            parts = [p async for p in client.runs.stream(tid, "content_creation", input=BRIEF)]
        finally:
            on = await http.post(configure, json={"enabled": True})
            assert on.status_code == 200, on.text
    assert [p.event for p in parts][-2:] == ["error", "end"]
    assert parts[-2].data["error"] == "agent_disabled"
    assert (await client.threads.get(tid))["status"] == "error"
    assert (await client.runs.list(tid))[0]["status"] == "error"

    with pytest.raises(httpx.HTTPStatusError) as err:
        async for _ in client.runs.stream(tid, "content_creation", input=BRIEF, stream_mode="nope"):
            pass
    assert err.value.response.status_code == 422
    assert "stream_mode" in err.value.response.text


async def test_thread_update_count_and_state_edits(server: str, key: str) -> None:
    client = _client(server, key)
    tid = (await client.threads.create(metadata={"team": "brand"}))["thread_id"]
    updated = await client.threads.update(tid, metadata={"stage": "draft"})
    assert updated["metadata"] == {"team": "brand", "stage": "draft"}
    assert await client.threads.count(metadata={"stage": "draft"}) == 1
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.threads.update(tid, metadata={"$where": "1"})
    assert err.value.response.status_code == 422
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.threads.update_state(tid, {"brief": "x"})
    assert err.value.response.status_code == 409

    await client.runs.wait(tid, "content_creation", input=BRIEF)
    before = await client.threads.get_state(tid)
    written = await client.threads.update_state(
        tid,
        {"feedback": "shorter, please"},
        as_node="submit",  # the node before approval
    )
    assert written["checkpoint"]["checkpoint_id"] != before["checkpoint"]["checkpoint_id"]
    edited = await client.threads.get_state(tid)
    assert edited["values"]["feedback"] == "shorter, please"
    assert edited["next"] == ["approval"]
    old = await client.threads.get_state(tid, checkpoint_id=before["checkpoint"]["checkpoint_id"])
    assert old["values"].get("feedback") is None
    assert old["next"] == ["approval"]


def test_runs_routes_need_credentials_and_are_rate_limited(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "data"))
    app.state.rate_limits["runs"] = (3, 60)
    with serve_app(app) as base:
        anonymous = httpx.post(f"{base}/lg/threads", json={}, timeout=30)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["status"] == 401
        headers = {"x-api-key": _api_key(base, "rl@example.com", "RL Org")}
        answers = [
            httpx.get(f"{base}/lg/assistants/console", headers=headers, timeout=30).status_code
            for _ in range(4)
        ]
        assert answers == [200, 200, 200, 429]
