"""The error answers a route documents in OpenAPI (``responses=errors(401, 403, 422)``).

Every error has the one shape of ``api.errors``; this gives it a schema and a sentence per
status, so a client reading /docs knows what each route may answer besides success.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FieldError(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    fields: list[FieldError] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


_MEANING = {
    400: "The request cannot be used as sent.",
    401: "No valid credentials (or a second factor is needed: code two_factor_required).",
    403: "The caller's role (or kind of credential) may not do this.",
    404: "No such resource in the caller's organization.",
    409: "The request clashes with the current state (code says which rule).",
    422: "Invalid input; fields name what to fix.",
    423: "The account is locked for a while (Retry-After).",
    429: "Too many attempts (Retry-After).",
    503: "A component this needs (e.g. email) is not answering; nothing was changed.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorOut, "description": _MEANING[s]} for s in statuses}
