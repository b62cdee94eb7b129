"""Counts each authenticated request by credential and route (``services.api_usage``).

An ASGI middleware: after the response starts, it reads the principal the route's
dependency left in the request state and the route's template (not the path: ids would
make every request its own row), and adds one to an in-memory counter. Nothing is awaited
on the request path.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class UsageMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _count(scope, status)


def _count(scope: Scope, status: int) -> None:
    principal: Any = (scope.get("state") or {}).get("principal")
    route = scope.get("route")
    template = getattr(route, "path", None)
    counter = getattr(scope["app"].state, "usage", None) if "app" in scope else None
    if principal is None or template is None or counter is None:
        return
    counter.hit(principal.org_id, principal.api_key_id, scope["method"], template, status)
