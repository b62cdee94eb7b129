"""The API application for a set of settings: the composition root hands the API its runtime."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import build_app
from api.body_limits import BodyRules
from chorus.runtime import Runtime
from chorus.settings import Settings


def create_app(settings: Settings | None = None, *, serve_url: str | None = None) -> FastAPI:
    """``serve_url``: where this app is served (``chorus serve``); the data dir then gets a
    note that lets the CLI send its commands here while this process holds the data dir."""
    settings = settings or Settings()

    async def open_runtime() -> Runtime:
        runtime = await Runtime.open(settings)
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
