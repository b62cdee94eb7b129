"""Helpers for tests against the real Redis: uvicorn and arq workers on the test's own loop.

The API server and the arq workers share one process, one event loop and one runtime (the
embedded document store locks its data directory per process), as ``build_worker_for``
allows. Everything started here is stopped and awaited with a timeout, so a test that fails
midway still tears down instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis
from support import TEST_REDIS_URL

from chorus.runtime import Runtime
from chorus.worker import build_worker_for

STOP_SECONDS = 30.0


async def redis_answers() -> bool:
    client = Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[tuple[str, Runtime]]:
    """uvicorn on this event loop (not a thread), so the test shares the app's runtime."""
    port = free_port()
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
        await asyncio.wait_for(task, STOP_SECONDS)


async def until(predicate: Callable[[], Awaitable[bool]], seconds: float) -> None:
    """Poll ``predicate`` until true; TimeoutError after ``seconds``."""
    async with asyncio.timeout(seconds):
        # Polled: the state is another task's (a worker's) or lives in Redis or the database.
        while not await predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def start_worker(runtime: Runtime, **options: Any) -> tuple[Any, asyncio.Task[None]]:
    """An arq worker on ``runtime`` as a task of this loop, once its startup has run (it has
    an id and beats); the caller stops it."""
    worker = build_worker_for(runtime, **options)
    task = asyncio.create_task(worker.async_run())

    async def started() -> bool:
        if task.done():
            task.result()  # raises why it stopped
        return "worker_id" in worker.ctx

    await until(started, 30)
    return worker, task


@contextlib.asynccontextmanager
async def arq_worker(runtime: Runtime, **options: Any) -> AsyncIterator[Any]:
    """A long-running (not burst) arq worker on ``runtime``, started, stopped on exit."""
    worker, task = await start_worker(runtime, **options)
    try:
        yield worker
    finally:
        await asyncio.wait_for(worker.close(), STOP_SECONDS)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, STOP_SECONDS)


async def api_key(http: httpx.AsyncClient, email: str) -> str:
    body = {"email": email, "password": "correct horse battery", "organizationName": "BG Org"}
    reg = await http.post("/api/auth/register", json=body)
    assert reg.status_code == 201, reg.text
    headers = {"Authorization": f"Bearer {reg.json()['accessToken']}"}
    key = await http.post("/api/api-keys", json={"name": "sdk"}, headers=headers)
    assert key.status_code == 201, key.text
    return str(key.json()["key"])


async def logged(redis: Redis, run_id: str) -> list[dict[str, Any]]:
    """The run's events exactly as they sit in Redis (RedisEventLog's stream key)."""
    entries = await redis.xrange(f"chorus:ev:run:{run_id}")
    return [json.loads(fields[b"e"]) for _, fields in entries]
