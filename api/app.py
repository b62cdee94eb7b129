"""The FastAPI application. The serving issue adds the routers; this is its frame."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routes import api_keys, auth, system, users
from chorus.runtime import Runtime
from chorus.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.open(settings)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="Chorus",
        version="0.1.0",
        summary="AI social media management: seven agents on LangGraph, one API.",
        lifespan=lifespan,
    )
    # Route-class rate limits, (limit, window_seconds) by class; see api.deps.rate_limited.
    app.state.rate_limits = {}
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(api_keys.router)
    return app
