"""Background runs on Redis: the runs API queues, a real arq worker runs, Redis carries events.

The API server and the arq worker share one process, one event loop and one runtime (see
``redis_support``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.jobs import Job
from langchain_core.messages import BaseMessage
from langgraph_sdk import get_client
from redis.asyncio import Redis
from redis_support import api_key, arq_worker, logged, redis_answers, serving
from support import TEST_REDIS_URL, make_settings

from chorus.app import create_app
from chorus.scripted_model import ScriptedChatModel
from persistence.eventlog import RedisEventLog
from persistence.queue import ArqJobQueue

pytestmark = pytest.mark.redis

REPLY = "Joined mid-way, and here is the whole answer."


async def test_a_background_run_runs_on_arq_and_is_joined_mid_way_through_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not await redis_answers():
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
        async with serving(app) as (base, runtime):
            assert isinstance(runtime.jobs, ArqJobQueue)
            assert isinstance(runtime.event_log, RedisEventLog)
            monkeypatch.setattr(
                runtime.chat_models, "get", lambda *a, **k: ScriptedChatModel(responder=responder)
            )
            async with (
                arq_worker(runtime) as worker,
                httpx.AsyncClient(base_url=base, timeout=30) as http,
            ):
                client = get_client(url=f"{base}/lg", api_key=await api_key(http, "bg@x.io"))
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
                before = await logged(redis, run_id)
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
                after = await logged(redis, run_id)
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
