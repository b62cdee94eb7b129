"""Each request's id and its latency.

The id is the caller's ``X-Request-ID`` when it is a plain token, else a new one; it is
answered in ``X-Request-ID``, written on every log line of the request (and of the runs and
jobs it starts: ``persistence.logs``), and the request's duration is observed in the latency
histogram under its route's template (never its concrete path, so ids do not become labels).
"""

from __future__ import annotations

import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.audit import route_template
from persistence import logs, metrics

HEADER = "x-request-id"


def _incoming(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key == HEADER.encode():
            text = value.decode("latin-1")
            return text if logs.valid_request_id(text) else None
    return None


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming(scope) or uuid.uuid4().hex
        token = logs.bind_request_id(request_id)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None)
            # Unmatched paths are one label: a scanner's made-up URLs must not grow the series.
            label = (
                route_template(scope["path"], path, scope.get("path_params") or {})
                if path
                else "unmatched"
            )
            metrics.REQUEST_SECONDS.labels(
                scope["method"], label, f"{status['code'] // 100}xx"
            ).observe(time.perf_counter() - started)
            logs.unbind_request_id(token)
