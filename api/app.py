"""The FastAPI application. The serving issue adds the routers; this is its frame."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.routes import system
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
    app.include_router(system.router)
    return app
