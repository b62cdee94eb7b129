"""A webhook receiver for tests: a real HTTP server on loopback that checks each request's
signature the way a customer's receiver would, and answers the statuses it is told to."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from services.integrations import signing


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signed: bool | None  # None: no secret known to check with

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    secret: str | None = None
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    received: list[Received] = field(default_factory=list)


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        signed = None
        if state.secret is not None:
            signed = signing.verify(
                state.secret,
                request.headers.get("X-Chorus-Timestamp", ""),
                body,
                request.headers.get("X-Chorus-Signature", ""),
                time.time(),
            )
        state.received.append(Received(dict(request.headers), body, signed))
        status = state.statuses.pop(0) if state.statuses else 200
        return web.Response(status=status if signed is not False else 401, text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield state
    finally:
        await runner.cleanup()
