"""When to try a target again: the retry policy, kept apart from the engine that applies it.

A network's answer falls in one of the provider errors' classes (``tools.platforms.base``);
this module turns each into a :class:`Decision`: try again at a time (a 429's Retry-After,
or exponential backoff with full jitter for 5xx and timeouts, so many workers retrying at
once spread out instead of hammering the network together), or fail now, saying why and
whether a person may retry it. The attempt cap turns a network that keeps failing into a
failure the user sees, instead of a post retried for ever.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tools.platforms.base import (
    AccessTokenExpired,
    NeedsReconnect,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
)

__all__ = ["Decision", "RetryPolicy"]


@dataclass(frozen=True, slots=True)
class Decision:
    """``retry_at`` set: try again then (``unknown``: first look for the post on the
    network). Otherwise the target failed: ``message`` says why, ``retryable`` whether a
    person retrying later could succeed. ``reconnect``: the account must be reconnected."""

    message: str
    retry_at: datetime | None = None
    retryable: bool = False
    unknown: bool = False
    reconnect: bool = False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` calls to the network per target; backoff ``base * 2**(n-1)`` capped at
    ``cap`` seconds, drawn uniformly from its upper half (jitter that never retries at once)."""

    max_attempts: int = 8
    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    rate_limit_jitter_seconds: float = 1.0
    rand: Callable[[], float] = random.random

    def backoff(self, attempts: int) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return ceiling * (0.5 + 0.5 * self.rand())

    def decide(self, error: BaseException, attempts: int, now: datetime) -> Decision:
        """What to do after attempt number ``attempts`` ended with ``error``."""
        network_words = error.message if isinstance(error, PlatformError) else str(error)
        exhausted = attempts >= self.max_attempts
        if isinstance(error, RateLimited):
            if exhausted:
                return Decision(f"rate limited: {network_words}", retryable=True)
            wait = error.retry_after_seconds + self.rate_limit_jitter_seconds * self.rand()
            return Decision(network_words, retry_at=now + timedelta(seconds=wait), retryable=True)
        if isinstance(error, AccessTokenExpired):
            # The account access refreshes tokens that are about to expire when it opens
            # the account; a network that expired one early gets one more chance with
            # fresh tokens before the user is asked to reconnect.
            if attempts >= 2:
                return Decision(
                    f"reconnect your account: {network_words}", reconnect=True, retryable=False
                )
            wait = self.backoff(attempts)
            return Decision(network_words, retry_at=now + timedelta(seconds=wait), retryable=True)
        if isinstance(error, NeedsReconnect):
            return Decision(
                f"reconnect your account: {network_words}", reconnect=True, retryable=False
            )
        if isinstance(error, PermanentError):
            return Decision(network_words, retryable=False)
        if not isinstance(error, TransientError):
            # UnknownOutcome, or a failure of ours mid-call: the post may exist. Never give up
            # without looking: the engine checks the network first when it comes back, and
            # gives up there (without posting) once the attempts are spent.
            wait = self.backoff(attempts)
            return Decision(
                network_words, retry_at=now + timedelta(seconds=wait), retryable=True, unknown=True
            )
        if exhausted:
            return Decision(f"the network kept failing: {network_words}", retryable=True)
        wait = self.backoff(attempts)
        return Decision(network_words, retry_at=now + timedelta(seconds=wait), retryable=True)
