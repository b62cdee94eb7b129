"""The error answers a route documents in OpenAPI (``responses=errors(401, 403, 422)``).

Every error has the one shape of ``api.errors``, described once as the ``Error`` schema
(``api.openapi`` adds it and the statuses any route of a kind can answer); a route names here
the statuses its own rules add, with what each means there.
"""

from __future__ import annotations

from typing import Any

_MEANING = {
    400: "The request cannot be used as sent.",
    401: "No valid credentials (or a second factor is needed: code two_factor_required).",
    402: "A plan limit is reached, or the subscription allows no new work (the message names "
    "the limit, the usage and the plan that lifts it).",
    403: "The caller's role (or kind of credential) may not do this.",
    404: "No such resource in the caller's organization.",
    409: "The request clashes with the current state (code says which rule).",
    412: "If-Match names a version that is no longer current; reload and edit again.",
    413: "The file or body is over its size limit; nothing was stored.",
    415: "The file's content is not of a type this route takes; nothing was stored.",
    422: "Invalid input; fields name what to fix.",
    423: "The account is locked for a while (Retry-After).",
    428: "The edit must say which version it was made on (If-Match or a version field).",
    429: "Too many attempts (Retry-After).",
    502: "An outside service this calls (e.g. the image model) refused or failed; nothing "
    "was stored.",
    501: "This server cannot do it (a tool it needs, e.g. ffmpeg, is not installed).",
    503: "A component this needs (e.g. email) is not answering; nothing was changed.",
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"description": _MEANING[s], "content": _ERROR} for s in statuses}
