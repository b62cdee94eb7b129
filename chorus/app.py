"""The API application for a set of settings: the composition root hands the API its runtime."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from api.app import build_app
from api.body_limits import BodyRules
from chorus.runtime import Runtime
from chorus.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    serve_url: str | None = None,
    connect_demo: bool = False,
) -> FastAPI:
    """``serve_url``: where this app is served (``chorus serve``); the data dir then gets a
    note that lets the CLI send its commands here while this process holds the data dir.
    ``connect_demo``: connect the demo organization's accounts through the sandbox networks
    at start (``chorus serve --seed-demo``)."""
    settings = settings or Settings()

    async def open_runtime() -> Runtime:
        runtime = await Runtime.open(settings)
        if connect_demo:
            await _connect_demo(runtime)
        # Scheduled workflows and crons run in this process when no arq worker runs them.
        runtime.start_crons()
        if serve_url:
            runtime.announce(serve_url)
        return runtime

    app = build_app(
        open_runtime,
        rate_limits=settings.rate_limits,
        body_rules=BodyRules(
            max_json_bytes=settings.max_json_bytes,
            max_upload_bytes=settings.max_upload_bytes,
            max_depth=settings.max_json_depth,
        ),
        cors_origins=settings.cors_origins,
    )
    # How often sockets are pinged and their credentials checked again (api.routes.realtime).
    app.state.ws_heartbeat_seconds = settings.ws_heartbeat_seconds
    return app


async def _connect_demo(runtime: Runtime) -> None:
    from chorus.demo_accounts import connect_demo_accounts

    try:
        # Local servers answer in milliseconds; a bound keeps a wedged one from blocking start.
        done = await asyncio.wait_for(connect_demo_accounts(runtime), timeout=120)
        log.info("demo accounts: %s", done)
    except TimeoutError:
        log.warning("connecting the demo accounts took too long; the server starts without")
