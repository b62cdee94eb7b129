"""HTTP for the providers: one place that turns transport failures into the error classes.

Whether a failed write "may have been applied" depends on when it failed, not on the
network: a refused connection or a connect timeout means the request never left
(:class:`TransientError`); a read timeout, a dropped connection or a gateway timeout (502,
504) after a write was sent means it may have been applied (:class:`UnknownOutcome`), while
the same on a read or an idempotent write (PUT of a chunk, DELETE) is only transient.

Each provider gives a ``classify`` function that turns an error response into the right
class with the network's own message; :func:`classify_status` is the fallback by status.
Nothing here logs or repeats a header or a URL query, so tokens never reach a message.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tools.platforms.base import (
    AccessTokenExpired,
    NeedsReconnect,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
    UnknownOutcome,
)

__all__ = [
    "Classifier",
    "Transport",
    "classify_status",
    "expires_at",
    "oauth_refresh_error",
    "payload",
    "retry_after",
]

Classifier = Callable[[httpx.Response], PlatformError]

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Without any hint from the network, how long a rate limit is waited out.
DEFAULT_RETRY_AFTER = 60.0


def payload(response: httpx.Response) -> Any:
    """The JSON body, or None if there is none or it is not JSON."""
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return None


def retry_after(response: httpx.Response, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Seconds to wait, from ``Retry-After`` (seconds or HTTP date), or an epoch reset header
    (X's ``x-rate-limit-reset``, the AT Protocol's ``ratelimit-reset``)."""
    headers = response.headers
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            if when is not None:
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
    for name in ("x-rate-limit-reset", "ratelimit-reset"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) - time.time())
            except ValueError:
                continue
    return default


def classify_status(
    response: httpx.Response,
    network: str,
    message: str,
    code: str | None = None,
    *,
    retry_after_seconds: float | None = None,
) -> PlatformError:
    """The error class a status implies, when the payload said nothing more specific."""
    status = response.status_code
    kw: dict[str, Any] = {"network": network, "status": status, "code": code}
    if status == 429:
        wait = retry_after(response) if retry_after_seconds is None else retry_after_seconds
        return RateLimited(message, retry_after_seconds=wait, **kw)
    if status >= 500:
        return TransientError(message, **kw)
    if status == 401:
        return NeedsReconnect(message, **kw)
    return PermanentError(message, **kw)


def oauth_refresh_error(response: httpx.Response, network: str) -> PlatformError:
    """An OAuth 2.0 token endpoint's refusal (RFC 6749 section 5.2) during a refresh:
    ``invalid_grant`` and kin mean the user must reconnect."""
    body = payload(response)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code = body["error"]
        message = str(body.get("error_description") or code)
        if code in ("invalid_grant", "invalid_token", "invalid_request", "unauthorized_client"):
            return NeedsReconnect(message, network=network, status=response.status_code, code=code)
        return classify_status(response, network, message, code)
    return classify_status(response, network, f"token endpoint answered {response.status_code}")


def expires_at(seconds: object) -> datetime | None:
    """An absolute UTC expiry from an ``expires_in``-style number of seconds."""
    try:
        value = float(seconds)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return datetime.now(UTC) + timedelta(seconds=value) if value > 0 else None


class Transport:
    """An ``httpx.AsyncClient`` whose failures are always :class:`PlatformError` s."""

    def __init__(
        self,
        network: str,
        classify: Classifier,
        *,
        timeout: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.network = network
        self._classify = classify
        self._owned = client is None
        self.client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self.timeout = timeout

    async def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        classify: Classifier | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send; a 2xx/3xx response is returned, anything else raised as its class.

        ``idempotent`` defaults from the method (GET, PUT, DELETE... are; POST is not).
        ``classify`` overrides the provider's classifier for this call (token endpoints).
        """
        safe = method.upper() in _IDEMPOTENT if idempotent is None else idempotent
        try:
            response = await self.client.request(method, url, headers=headers, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransientError(
                f"could not reach the network ({type(exc).__name__})", network=self.network
            ) from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            what = f"no answer after the request was sent ({type(exc).__name__})"
            error = TransientError if safe else UnknownOutcome
            raise error(what, network=self.network) from None
        if response.status_code < 400:
            return response
        error = (classify or self._classify)(response)
        if not safe and type(error) is TransientError and response.status_code in (502, 504):
            error = UnknownOutcome(
                f"gateway error after the request was sent: {error.message}",
                network=self.network,
                status=error.status,
                code=error.code,
            )
        raise error

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.request(method, url, **kwargs)
        body = payload(response)
        if body is None and response.content:
            raise TransientError(
                f"unreadable answer (HTTP {response.status_code}, not JSON)",
                network=self.network,
                status=response.status_code,
            )
        return body

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()


def expired_or_revoked(
    message: str, *, network: str, expired: bool, status: int | None, code: str | None
) -> NeedsReconnect:
    """:class:`AccessTokenExpired` when the network says the access token merely expired
    (a refresh may work), else :class:`NeedsReconnect`."""
    cls = AccessTokenExpired if expired else NeedsReconnect
    return cls(message, network=network, status=status, code=code)
