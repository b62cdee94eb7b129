"""An OpenAPI description that tells the truth about every operation.

FastAPI documents the happy path and a 422 in its own validation shape; ours answers every
error in one shape (``{"error": {...}}``) and can answer 401, 402, 403, 404, 409, 413, 422,
423, 429 and 503 as well. This adds, to each operation, the error statuses it can return, all
with the one error schema, and marks LangServe's streaming routes as ``text/event-stream``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.routes.runs_sse import SSE_EVENT

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
REASONS = {
    400: "The request body cannot be read (not UTF-8, nested too deep, invalid Unicode)",
    401: "No valid credentials",
    402: "The plan's limit is reached, or the subscription allows no new work; the message "
    "names the limit, the usage and the plan that lifts it",
    403: "The caller's role may not do this",
    404: "Not found (another organization's id is not found either)",
    409: "Conflicts with the current state",
    413: "The request body is too large",
    415: "The uploaded file is of a type this route cannot read",
    422: "Invalid input; `fields` name what to fix",
    423: "Locked or switched off (a disabled agent, a locked account)",
    429: "Too many requests; retry after `Retry-After` seconds",
    503: "A component the request needs is not configured or not answering",
}
PUBLIC_PATHS = ("/api/system/health", "/api/auth/register", "/api/auth/login")
# Called by other services, not by a member: no principal, so no role to refuse.
SERVICE_PATHS = ("/api/webhooks/",)
STREAMS = ("/stream", "/stream_log", "/stream_events")


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [401, 422, 429, 503]  # 401: no credentials, or wrong ones at sign-in
    if not path.startswith(PUBLIC_PATHS + SERVICE_PATHS):
        statuses.append(403)
        if method in ("post", "put", "patch"):
            # Any write of a member may create work that the plan limits (an invitation, a
            # run that calls a model, a scheduled post) or that a lapsed subscription stops.
            statuses.append(402)
    body_types = set((operation.get("requestBody") or {}).get("content", {}))
    if body_types - {"application/json"}:
        statuses.append(415)  # uploads: a file of a kind the route cannot read
    if "{" in path:
        statuses.append(404)
    if method in ("post", "put", "patch", "delete"):
        statuses += [400, 409, 413, 423]
    if path.startswith(("/api/auth/login",)):
        statuses.append(423)  # a locked account
    return sorted(set(statuses))


def _error_response(status: int) -> dict[str, Any]:
    return {"description": REASONS[status], "content": {"application/json": {"schema": ERROR_REF}}}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the error statuses and the streams documented."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)  # FastAPI's own 422 shape: ours is Error
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in _statuses(path, method, operation):
                responses[str(status)] = _error_response(status)
            if path.startswith("/graphs/") and path.endswith(STREAMS):
                ok = responses.setdefault("200", {"description": "Server-sent events"})
                ok["content"] = {"text/event-stream": {"schema": SSE_EVENT}}
    return schema


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` answer the completed description (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
