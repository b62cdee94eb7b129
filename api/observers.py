"""Who may read the service's metrics and status routes: a client on this host (a sidecar
scraper), a platform operator, or a scraper presenting the metrics token.

Behind a reverse proxy on the same host every client looks local unless uvicorn is told
which proxies to trust (``--forwarded-allow-ips``): then the real client address is used,
as for rate limits.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import RuntimeDep, client_ip, get_principal, unauthorized
from api.errors import ApiError


def _loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


async def observer(request: Request, runtime: RuntimeDep) -> None:
    """Let through loopback clients, the metrics token and operators; 401/403 otherwise."""
    if _loopback(client_ip(request)):
        return
    header = request.headers.get("authorization", "")
    token = runtime.metrics_token
    scheme, _, value = header.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(value.encode(), token.encode()):
        return
    if not header and not request.headers.get("x-api-key"):
        raise unauthorized("the metrics token, or an operator's sign-in, is required from here")
    bearer = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=value)
        if scheme.lower() == "bearer" and value
        else None
    )
    principal = await get_principal(request, runtime, bearer, request.headers.get("x-api-key"))
    if not principal.operator:
        raise ApiError(403, "only a platform operator (or the metrics token) may read this")
