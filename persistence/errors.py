"""The one hierarchy of domain errors, from the lowest layer up.

Every layer raises these (or subclasses of them) for what the caller must fix or must know;
only ``api.errors`` turns them into HTTP statuses, so background code (jobs, crons, the CLI)
handles the same exceptions without anything HTTP in between. Each error carries a stable
machine-readable ``code``, a message that says what to do, and, for bad input, the fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class ChorusError(Exception):
    """Base of the domain errors. ``code`` defaults per class."""

    default_code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: Sequence[Mapping[str, str]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = [dict(f) for f in fields] if fields else None
        # Seconds after which trying again can succeed (a lock, a rate limit), when known.
        self.retry_after = retry_after


class InvalidInput(ChorusError):
    """The input cannot be used; ``fields`` name what to fix (``body.x``: message)."""

    default_code = "validation_error"

    @classmethod
    def field(cls, field: str, message: str, *, code: str | None = None) -> InvalidInput:
        return cls(
            f"invalid input: {field}", code=code, fields=[{"field": field, "message": message}]
        )


class Unauthenticated(ChorusError):
    """The caller has not proved who they are: wrong credentials, an expired or unknown
    token, a missing second factor."""

    default_code = "unauthorized"


class NotFound(ChorusError):
    """No such thing for this tenant (another tenant's id is the same: not found)."""

    default_code = "not_found"


class Conflict(ChorusError):
    """The request clashes with the current state (busy, already exists, already done)."""

    default_code = "conflict"


class PaymentRequired(ChorusError):
    """The organization's plan or subscription does not cover this: a plan limit is reached
    (code ``plan_limit``: the message names the limit, the usage and the plan that lifts it)
    or the subscription no longer allows new work (``subscription_inactive``)."""

    default_code = "payment_required"


class Forbidden(ChorusError):
    """The caller may not do this."""

    default_code = "forbidden"


class Locked(ChorusError):
    """The resource is switched off or locked for now (a disabled agent, a locked account)."""

    default_code = "locked"


class RateLimited(ChorusError):
    """Too many attempts for now; ``retry_after`` says when to try again."""

    default_code = "rate_limited"


class Unavailable(ChorusError):
    """A component the request needs is not configured or not answering."""

    default_code = "unavailable"
