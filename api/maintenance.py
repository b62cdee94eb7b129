"""Maintenance mode at the door: while it is on, every write is answered 503 with the
operator's message before any route runs; reads go on.

Left open: the operator routes (so maintenance can be switched off) and signing in, out and
refreshing (so people can go on reading). Webhooks from Stripe are refused too and Stripe
delivers them again later, which is what a 503 asks of it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.audit import WRITE_METHODS
from api.errors import error_response
from services import maintenance

OPEN_PREFIXES = ("/api/admin/", "/api/auth/login", "/api/auth/logout", "/api/auth/refresh")


class MaintenanceMode:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in WRITE_METHODS
            and not scope["path"].startswith(OPEN_PREFIXES)
        ):
            state = await maintenance.current(scope["app"].state.runtime.db)
            if state.enabled:
                response = error_response(503, state.message, code="maintenance")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
