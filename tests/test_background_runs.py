"""Background runs on Redis: the runs API queues, a real arq worker runs, Redis carries events.

The API server and the arq worker share one process, one event loop and one runtime (the
embedded document store locks its data directory per process), as ``build_worker_for`` allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from arq.jobs import Job
from fastapi import FastAPI
from langchain_core.messages import BaseMessage
from langgraph_sdk import get_client
from redis.asyncio import Redis
from support import TEST_REDIS_URL, make_settings

from api.app import create_app
from chorus.runtime import Runtime
from chorus.scripted_model import ScriptedChatModel
from chorus.worker import build_worker_for
from persistence.eventlog import RedisEventLog
from persistence.queue import ArqJobQueue

pytestmark = pytest.mark.redis

REPLY = "Joined mid-way, and here is the whole answer."


async def _redis_answers() -> bool:
    client = Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _serving(app: FastAPI) -> AsyncIterator[tuple[str, Runtime]]:
    """uvicorn on this event loop (not a thread), so the test shares the app's runtime."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()  # raises why it stopped
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}", app.state.runtime
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@contextlib.asynccontextmanager
async def _arq_worker(runtime: Runtime) -> AsyncIterator[Any]:
    """A long-running (not burst) arq worker on ``runtime``, as a task of this loop."""
    worker = build_worker_for(runtime)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        await worker.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _api_key(http: httpx.AsyncClient, email: str) -> str:
    body = {"email": email, "password": "correct horse battery", "organizationName": "BG Org"}
    reg = await http.post("/api/auth/register", json=body)
    assert reg.status_code == 201, reg.text
    headers = {"Authorization": f"Bearer {reg.json()['accessToken']}"}
    key = await http.post("/api/api-keys", json={"name": "sdk"}, headers=headers)
    assert key.status_code == 201, key.text
    return str(key.json()["key"])


async def _logged(redis: Redis, run_id: str) -> list[dict[str, Any]]:
    """The run's events exactly as they sit in Redis (RedisEventLog's stream key)."""
    entries = await redis.xrange(f"chorus:ev:run:{run_id}")
    return [json.loads(fields[b"e"]) for _, fields in entries]


async def test_a_background_run_runs_on_arq_and_is_joined_mid_way_through_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not await _redis_answers():
        pytest.skip(f"no Redis answers at {TEST_REDIS_URL}")
    app = create_app(make_settings(tmp_path / "data", redis_url=TEST_REDIS_URL))

    # The model call blocks (in LangChain's executor thread) until the test lets it answer,
    # so the run is certainly still going when the client joins.
    entered, gate = threading.Event(), threading.Event()

    def responder(messages: Sequence[BaseMessage]) -> str:
        entered.set()
        if not gate.wait(60):
            raise TimeoutError("the test never released the model")
        return REPLY

    redis = Redis.from_url(TEST_REDIS_URL)
    try:
        async with _serving(app) as (base, runtime):
            assert isinstance(runtime.jobs, ArqJobQueue)
            assert isinstance(runtime.event_log, RedisEventLog)
            monkeypatch.setattr(
                runtime.chat_models, "get", lambda *a, **k: ScriptedChatModel(responder=responder)
            )
            async with (
                _arq_worker(runtime) as worker,
                httpx.AsyncClient(base_url=base, timeout=30) as http,
            ):
                client = get_client(url=f"{base}/lg", api_key=await _api_key(http, "bg@x.io"))
                tid = (await client.threads.create())["thread_id"]
                run = await client.runs.create(
                    tid,
                    "console",
                    input={"messages": [{"role": "user", "content": "Hello there, who are you?"}]},
                    stream_mode=["values", "messages-tuple"],
                )
                run_id = run["run_id"]
                assert run["status"] == "pending"

                # The worker picked the job up and the run waits inside the model.
                assert await asyncio.to_thread(entered.wait, 30), "the arq worker never ran it"
                before = await _logged(redis, run_id)
                assert before[0]["event"] == "metadata"
                assert "end" not in [e["event"] for e in before]
                assert (await client.runs.get(tid, run_id))["status"] == "running"

                parts: list[Any] = []
                async for part in client.runs.join_stream(tid, run_id):
                    parts.append(part)
                    if len(parts) == len(before):
                        # The joiner has replayed what was logged: now let the run finish.
                        gate.set()

                result = await Job(f"graph_run:{run_id}", worker.pool).result(timeout=30)
                assert result == "success"
                assert worker.jobs_complete >= 1
                after = await _logged(redis, run_id)
                assert (await client.runs.get(tid, run_id))["status"] == "success"
                state = await client.threads.get_state(tid)
                assert state["values"]["messages"][-1]["content"] == REPLY
    finally:
        gate.set()
        await redis.aclose()

    # The joiner got the whole log in order: the replayed start, then the live rest, to `end`.
    assert [{"event": p.event, "data": p.data} for p in parts] == after
    assert len(parts) > len(before)
    assert parts[0].event == "metadata"
    assert parts[-1].event == "end"
    assert parts[-1].data["status"] == "success"
    live = parts[len(before) :]
    assert "messages" in {p.event for p in live}
    streamed = "".join(p.data[0]["content"] for p in live if p.event == "messages")
    assert REPLY in streamed
