"""One JSON error shape for every failure, and the handlers that produce it.

Every error answers ``{"error": {"status", "code", "message", "fields"?}}``; ``fields`` lists
``{"field": "body.email", "message": "..."}`` for input the caller must fix.
"""

from __future__ import annotations

import logging
import math
import traceback
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from persistence.errors import (
    ChorusError,
    Conflict,
    Forbidden,
    InvalidInput,
    Locked,
    NotFound,
    PaymentRequired,
    RateLimited,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger(__name__)

# The code for a status when the raiser gave none.
_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    423: "locked",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(StarletteHTTPException):
    """An HTTP error with a machine-readable code and optional per-field messages."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: Sequence[Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, message, dict(headers) if headers else None)
        self.code = code or code_for(status)
        self.fields = [dict(f) for f in fields] if fields else None


def code_for(status: int) -> str:
    if status in _CODES:
        return _CODES[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def error_body(
    status: int, code: str, message: str, fields: Sequence[Mapping[str, str]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if fields:
        error["fields"] = list(fields)
    return {"error": error}


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    fields: Sequence[Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = error_body(status, code or code_for(status), message, fields)
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


def _field_name(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def _validation_message(err: Mapping[str, Any]) -> str:
    # pydantic prefixes custom validator messages with "Value error, "; the caller needs only
    # what to fix.
    message = str(err.get("msg", "is invalid"))
    return message.removeprefix("Value error, ")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None)
    fields = getattr(exc, "fields", None)
    detail = exc.detail if isinstance(exc.detail, str) else None
    message = detail or HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        message = f"no route for {request.method} {request.url.path}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        if detail == "Method Not Allowed":
            message = (
                f"{request.method} is not allowed on {request.url.path}; use {headers['Allow']}"
            )
    return error_response(exc.status_code, message, code=code, fields=fields, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path. Starlette's own ``Allow`` names only the
    first route that matched the path, and FastAPI makes one route per method."""
    by_params: dict[int, set[str]] = {}
    path = request.url.path
    for route in iter_route_contexts(request.app.router.routes):
        regex = getattr(route, "path_regex", None)
        if route.methods and regex is not None and regex.match(path):
            params = (route.path or "").count("{")
            by_params.setdefault(params, set()).update(route.methods)
    # The most specific resource is the one meant: /lg/threads/search is that resource, even
    # where a template (/lg/threads/{thread_id}) would also match it.
    methods = by_params[min(by_params)] if by_params else set()
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # PUT /api/social-accounts/callback reaches PUT /{account_id} (the literal resource has
    # only GET), and its id fails validation: the method is what is wrong, not the id.
    allowed = allowed_methods(request)
    if allowed and request.method not in allowed:
        message = f"{request.method} is not allowed on {request.url.path}; use {', '.join(allowed)}"
        return error_response(405, message, headers={"Allow": ", ".join(allowed)})
    # FastAPI gives pydantic's error dicts; LangServe raises it with plain strings.
    fields = [
        {"field": _field_name(err.get("loc", ())), "message": _validation_message(err)}
        if isinstance(err, Mapping)
        else {"field": "body", "message": str(err)}
        for err in exc.errors()
    ]
    names = ", ".join(dict.fromkeys(f["field"] for f in fields))
    return error_response(422, f"invalid input: {names}", fields=fields)


# Domain errors by class, most specific first; everything below the API raises these.
_DOMAIN_STATUS: tuple[tuple[type[ChorusError], int], ...] = (
    (Unauthenticated, 401),
    (PaymentRequired, 402),
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (Locked, 423),
    (RateLimited, 429),
    (Unavailable, 503),
)


def status_of(exc: ChorusError) -> int:
    return next((status for cls, status in _DOMAIN_STATUS if isinstance(exc, cls)), 400)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChorusError)
    status = status_of(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="chorus"'
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return error_response(status, exc.message, code=exc.code, fields=exc.fields, headers=headers)


async def _duplicate_key(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DuplicateKeyError)
    details = exc.details or {}
    # Name the field(s) that clash, never their values or the index internals.
    keys = [k for k in (details.get("keyPattern") or {}) if k != "organizationId"]
    if keys:
        message = f"a record with this {', '.join(keys)} already exists"
        fields = [{"field": f"body.{k}", "message": "already exists"} for k in keys]
    else:
        message, fields = "a record with these values already exists", None
    return error_response(409, message, fields=fields)


async def _pydantic_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    if request.url.path.startswith("/graphs/"):
        # LangServe's batch route validates each input itself and lets the error out.
        fields = [
            {"field": _field_name(("body", "inputs", *err["loc"])), "message": err["msg"]}
            for err in exc.errors()
        ]
        return error_response(422, "invalid input: body.inputs", fields=fields)
    return await _unexpected(request, exc)


async def _type_error(request: Request, exc: Exception) -> JSONResponse:
    # LangServe reads the request's "config" itself and raises TypeError for a null one.
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and frames[-1].name == "batch" and "langserve" in frames[-1].filename:
        # ... and takes len() of a null "inputs" on /batch.
        return error_response(
            422,
            "invalid input: body.inputs",
            fields=[{"field": "body.inputs", "message": "must be a list of inputs"}],
        )
    if (
        frames
        and frames[-1].name == "_unpack_request_config"
        and "langserve" in frames[-1].filename
    ):
        return error_response(
            422,
            "invalid input: body.config",
            fields=[{"field": "body.config", "message": "must be an object when given"}],
        )
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Log the internals; the caller only learns that it was our fault.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Make every failure of ``app`` answer the one JSON error shape."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ChorusError, _domain_error)
    app.add_exception_handler(DuplicateKeyError, _duplicate_key)
    app.add_exception_handler(ValidationError, _pydantic_error)
    app.add_exception_handler(TypeError, _type_error)
    app.add_exception_handler(Exception, _unexpected)
