"""A signed-in console session opens the LangServe playground (``/graphs/{name}/playground``).

A browser cannot add an ``Authorization`` header to a page it navigates to, so the console,
once signed in, asks for a cookie (``POST /api/auth/playground-session``) holding its access
token: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), limited
to ``/graphs`` and to the token's own lifetime, and renewed with each refresh. The graph
routes accept it when no header credential is sent. Writes carried by the cookie must also
come from this origin (the ``Origin`` header, or ``Referer`` when a browser omits it), so a
request forged elsewhere is refused even where SameSite is not enforced.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import RuntimeDep, api_key_scheme, bearer_scheme, from_token, get_principal, identify
from api.errors import ApiError
from api.principal import Principal
from api.security import ACCESS_TOKEN_TTL

COOKIE = "chorus_playground"
PATH = "/graphs"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def issue(request: Request, response: Response, access_token: str) -> int:
    """Set the cookie for ``access_token``; its lifetime in seconds."""
    seconds = int(ACCESS_TOKEN_TTL.total_seconds())
    response.set_cookie(
        COOKIE,
        access_token,
        max_age=seconds,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return seconds


def clear(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path=PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def _same_origin(request: Request) -> bool:
    own = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin == own


async def graph_principal(
    request: Request,
    runtime: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    """The caller of a graph route: a header credential as everywhere, else the playground
    cookie (writes only from this origin); 401 when there is neither."""
    token = request.cookies.get(COOKIE)
    if "authorization" in request.headers or api_key or not token:
        return await get_principal(request, runtime, bearer, api_key)
    if request.method not in SAFE_METHODS and not _same_origin(request):
        raise ApiError(403, "a playground request must come from this site", code="csrf")
    principal = await from_token(runtime, token)
    request.state.principal = principal
    identify(principal)
    return principal
