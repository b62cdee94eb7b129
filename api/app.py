"""The FastAPI application: the routers, the graphs over LangServe, the error handlers.

``build_app`` takes the way to open the process's runtime, so the API never imports the
composition root; ``chorus.app.create_app`` passes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from langgraph.checkpoint.base import BaseCheckpointSaver

from api import openapi
from api.audit import AuditMiddleware
from api.body_limits import BodyLimits, BodyRules
from api.errors import install_error_handlers
from api.graph_routes import mount_graphs
from api.maintenance import MaintenanceMode
from api.ports import AppRuntime
from api.realtime_hub import Hub
from api.request_context import RequestContext
from api.routes import (
    account,
    account_pages,
    admin,
    ai,
    ai_agents,
    ai_media,
    ai_tasks,
    analytics,
    analytics_competitors,
    analytics_export,
    analytics_import,
    analytics_reports,
    api_keys,
    api_usage,
    auth,
    billing,
    console,
    docs,
    gdpr,
    integrations,
    media,
    network_webhooks,
    notifications,
    observability,
    operator,
    organizations,
    posts,
    realtime,
    runs,
    runs_crons,
    social_accounts,
    stripe_webhooks,
    system,
    templates,
    users,
    workflows,
)
from api.security_headers import SecurityHeaders
from api.usage import UsageMiddleware
from persistence.checkpointer import TenantScopedSaver
from persistence.logs import stamp_records
from services.api_usage import UsageCounter

RuntimeOpener = Callable[[], Awaitable[AppRuntime]]


def build_app(
    open_runtime: RuntimeOpener,
    *,
    rate_limits: Mapping[str, tuple[int, float]] | None = None,
    body_rules: BodyRules | None = None,
    cors_origins: Sequence[str] = (),
) -> FastAPI:
    """The app; its lifespan opens the runtime with ``open_runtime`` and closes it on
    shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await open_runtime()
        app.state.runtime = runtime
        # The same store and keys as every other caller of the runtime's checkpointer.
        graph_saver.bind(runtime.checkpointer.inner)
        # The sockets' fan-out: one subscription per organization channel in this process.
        app.state.realtime = Hub(runtime.pubsub)
        # Requests per credential and route, counted in memory, written every few seconds.
        app.state.usage = UsageCounter(runtime.db)
        app.state.usage.start()
        try:
            yield
        finally:
            await app.state.usage.close()
            await app.state.realtime.close()
            await runtime.close()

    app = FastAPI(
        title="Chorus",
        version="0.1.0",
        summary="AI social media management: seven agents on LangGraph, one API.",
        lifespan=lifespan,
        docs_url=None,  # our own /docs, with its assets served from here
        redoc_url=None,
    )
    # Outermost last: headers go on every answer, bodies are checked before anything else;
    # innermost, every write that got through (on every route, those mounted below
    # included) goes into the audit log.
    app.add_middleware(UsageMiddleware)
    app.add_middleware(AuditMiddleware)
    # Outside the audit log: a write refused for maintenance changed nothing.
    app.add_middleware(MaintenanceMode)
    app.add_middleware(BodyLimits, rules=body_rules or BodyRules())
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-API-Key",
                "Last-Event-ID",
                "If-Match",
            ],
            expose_headers=["ETag"],
        )
    app.add_middleware(SecurityHeaders)
    # Outermost: every answer, refusals by the layers inside included, is timed and tagged.
    app.add_middleware(RequestContext)
    stamp_records()
    # Route-class rate limits, (limit, window_seconds) by class; see api.deps.rate_limited.
    app.state.rate_limits = dict(rate_limits or {})
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(observability.router)
    app.include_router(auth.router)
    app.include_router(account.router)
    app.include_router(account.two_factor_router)
    app.include_router(users.router)
    app.include_router(organizations.router)
    app.include_router(notifications.router)
    app.include_router(realtime.router)
    app.include_router(gdpr.router)
    app.include_router(integrations.router)
    app.include_router(admin.router)
    app.include_router(billing.router)
    app.include_router(stripe_webhooks.router)
    app.include_router(network_webhooks.router)
    app.include_router(api_keys.router)
    app.include_router(api_usage.router)
    app.include_router(ai.router)
    app.include_router(ai_tasks.router)
    app.include_router(ai_agents.router)
    app.include_router(ai_media.router)
    app.include_router(analytics_import.router)
    app.include_router(analytics.router)
    app.include_router(analytics_competitors.router)
    app.include_router(analytics_reports.router)
    app.include_router(analytics_export.router)
    app.include_router(workflows.router)
    app.include_router(social_accounts.router)
    # The content workspace: posts, calendar and approvals.
    app.include_router(posts.router)
    app.include_router(templates.router)
    app.include_router(media.router)
    # The LangGraph SDK-compatible runs API.
    app.include_router(runs.router)
    app.include_router(runs_crons.router)
    # ``chorus`` commands sent to the server that holds the data dir.
    app.include_router(operator.router)
    # The browser console and the API docs, with their static files.
    app.include_router(console.router)
    console.mount_static(app)
    # The pages the account emails link to (verify, reset, accept an invitation).
    app.include_router(account_pages.router)
    account_pages.mount_static(app)
    app.include_router(docs.router)
    docs.mount_static(app)
    # Until the runtime opens, the graphs' saver is the base class, which refuses every call.
    graph_saver = TenantScopedSaver(BaseCheckpointSaver())
    mount_graphs(app, graph_saver)
    openapi.install(app)
    return app
