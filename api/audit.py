"""Every write through the API lands in the audit log, whatever route served it.

An ASGI middleware wraps each POST, PUT, PATCH and DELETE. It opens the request's audit scope
(``services.audit``) with the client's address and user agent; the principal dependency
fills in who is calling. When the response has been sent it writes:

- the entries services recorded during the request (richer summaries: "role user →
  manager"), stamped with the route and status, whatever the status (a failed sign-in is
  worth keeping); or else
- for a successful request by an authenticated caller, one entry derived from the matched
  route: action from the method, resource type and id from the route's template and path
  parameters (or the ``id`` of the JSON it answered, for a create), the operation from the
  route's name, and the names (never the values) of the fields the request sent.

So a route added tomorrow is audited without any work of its own. The one exception is a
query sent as a POST, as the LangGraph SDK's protocol does (``/lg/threads/search``,
``.../count``, ``.../history``): a route whose last segment is one of ``QUERY_SEGMENTS`` reads
and is not recorded. Query strings and bodies
are never stored; a path parameter whose name sounds secret is redacted. A failure to write
the log is logged and never fails the request (the change it describes has happened).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services import audit

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ACTIONS: dict[str, audit.AuditAction] = {
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}
# The last path segments of routes that read with a POST body (LangGraph SDK protocol).
QUERY_SEGMENTS = frozenset({"search", "count", "history"})
# Enough of a body to name its fields or find a created id; larger ones are not parsed.
CAPTURE_BYTES = 64 * 1024


def _param_name(segment: str) -> str | None:
    if segment.startswith("{") and segment.endswith("}"):
        return segment[1:-1].split(":", 1)[0]
    return None


def resource_of(template: str, params: dict[str, Any]) -> tuple[str, str | None]:
    """The resource type and id a route's template names: the static path up to its last
    path parameter (without ``/api``), and that parameter's value.

    ``/api/organizations/members/{member_id}`` → ("organizations/members", member_id);
    ``/lg/threads/{thread_id}/runs/{run_id}/cancel`` → ("lg/threads/runs", run_id);
    ``/api/api-keys`` → ("api-keys", None).
    """
    segments = [s for s in template.split("/") if s]
    if segments[:1] == ["api"]:
        segments = segments[1:]
    last = max((i for i, s in enumerate(segments) if _param_name(s)), default=None)
    if last is None:
        return "/".join(segments) or "/", None
    name = _param_name(segments[last]) or ""
    statics = [s for s in segments[:last] if not _param_name(s)]
    value = params.get(name)
    if value is not None and audit.is_sensitive(name):
        value = audit.REDACTED
    return "/".join(statics) or "/", str(value) if value is not None else None


class _Capture:
    """The first bytes of a JSON body, and whether all of it fitted."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.complete = True

    def feed(self, chunk: bytes) -> None:
        if not chunk or not self.complete:
            return
        self.size += len(chunk)
        if self.size > CAPTURE_BYTES:
            self.complete, self.chunks = False, []
        else:
            self.chunks.append(chunk)

    def json(self) -> Any:
        if not self.complete or not self.chunks:
            return None
        try:
            return json.loads(b"".join(self.chunks))
        except ValueError:
            return None


def route_template(path: str, route_path: str | None, params: dict[str, Any]) -> str:
    """The template of the route that served ``path``, prefixes included.

    A route included through routers answers its own template without their prefixes
    (``/threads/{thread_id}`` under ``/lg``); the prefix is what precedes the route's
    rendered template in the request path.
    """
    if not route_path:
        return path
    rendered = route_path
    for name, value in params.items():
        pattern = r"\{" + re.escape(name) + r"(:[^}]*)?\}"
        rendered = re.sub(pattern, lambda _, v=str(value): v, rendered)
    if path.endswith(rendered):
        return path[: len(path) - len(rendered)] + route_path
    return route_path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        request, token = audit.begin_request(
            client[0] if client else None, _header(scope, b"user-agent")
        )
        is_json = "json" in (_header(scope, b"content-type") or "")
        sent = _Capture() if is_json else None
        answered = _Capture()
        state: dict[str, Any] = {"status": None, "json": False}

        async def receive_body() -> Message:
            message = await receive()
            if sent is not None and message["type"] == "http.request":
                sent.feed(message.get("body", b""))
            return message

        async def send_capturing(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = dict(message.get("headers", []))
                state["json"] = b"json" in headers.get(b"content-type", b"")
            elif message["type"] == "http.response.body" and state["json"]:
                answered.feed(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive_body, send_capturing)
        finally:
            try:
                await self._write(scope, request, sent, answered if state["json"] else None, state)
            except Exception:
                log.exception(
                    "could not write the audit log of %s %s", scope["method"], scope["path"]
                )
            audit.end_request(token)

    async def _write(
        self,
        scope: Scope,
        request: audit.RequestAudit,
        sent: _Capture | None,
        answered: _Capture | None,
        state: dict[str, Any],
    ) -> None:
        status = state["status"] or 500  # no answer started: the app raised
        route = scope.get("route")
        params = scope.get("path_params") or {}
        template = route_template(scope["path"], getattr(route, "path", None), params)
        method = scope["method"]
        route_label = f"{method} {template}"
        db = scope["app"].state.runtime.db
        is_query = template.rstrip("/").rsplit("/", 1)[-1] in QUERY_SEGMENTS
        if not request.pending and status < 400 and request.org_id is not None and not is_query:
            await self._generic(db, request, scope, route, template, status, sent, answered)
        if request.pending:
            await audit.flush_request(db, request, route=route_label, status=status)

    async def _generic(
        self,
        db: Any,
        request: audit.RequestAudit,
        scope: Scope,
        route: Any,
        template: str,
        status: int,
        sent: _Capture | None,
        answered: _Capture | None,
    ) -> None:
        method = scope["method"]
        resource_type, resource_id = resource_of(template, scope.get("path_params") or {})
        body = sent.json() if sent is not None else None
        fields = sorted(k for k in body if isinstance(k, str)) if isinstance(body, dict) else []
        if resource_id is None and answered is not None:
            created = answered.json()
            if isinstance(created, dict) and isinstance(created.get("id"), str | int):
                resource_id = str(created["id"])
        summary = f"{method} {template} → {status}"
        if fields:
            summary += f"; fields: {', '.join(fields)}"
        assert request.org_id is not None
        await audit.record(
            db,
            request.org_id,
            action=_ACTIONS[method],
            operation=getattr(route, "name", None) or f"{method.lower()} {template}",
            resource_type=resource_type,
            resource_id=resource_id,
            summary=summary,
            fields=fields,
        )
