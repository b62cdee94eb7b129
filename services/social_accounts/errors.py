"""A network's refusal, said in the domain's terms (the API maps those to HTTP).

The providers raise one of five classes carrying the network's own words; a request that
called the network answers with them: "reconnect your account" (409 ``needs_reconnect``), a
rate limit with the network's wait (429), a refusal (409 ``platform_refused``), or a network
that did not answer (503). Never "unknown error".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from persistence.errors import ChorusError, Conflict, RateLimited, Unavailable
from tools.platforms import base


def translated(exc: base.PlatformError) -> ChorusError:
    network = exc.network
    if isinstance(exc, base.NeedsReconnect):
        reason = exc.reason
        if not reason.startswith("reconnect your"):
            reason = f"reconnect your {network} account: {reason}"
        return Conflict(reason, code="needs_reconnect")
    if isinstance(exc, base.RateLimited):
        return RateLimited(
            f"{network} is rate limiting this account: {exc.message}",
            code="platform_rate_limited",
            retry_after=exc.retry_after_seconds,
        )
    if isinstance(exc, base.PermanentError):
        return Conflict(f"{network} refused the request: {exc.message}", code="platform_refused")
    return Unavailable(
        f"{network} did not answer; nothing was changed, try again: {exc.message}",
        code="platform_unavailable",
    )


@contextmanager
def network_call() -> Iterator[None]:
    """Inside, a provider's failure is re-raised as the matching domain error."""
    try:
        yield
    except base.PlatformError as exc:
        raise translated(exc) from exc
