"""The retry policy: what each class of network failure leads to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.publishing import RetryPolicy
from tools.platforms import (
    AccessTokenExpired,
    NeedsReconnect,
    PermanentError,
    RateLimited,
    TransientError,
    UnknownOutcome,
)

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)


def policy(draw: float) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, base_seconds=2.0, cap_seconds=10.0, rand=lambda: draw)


def test_backoff_doubles_within_its_upper_half_and_stops_at_the_cap() -> None:
    low, high = policy(0.0), policy(1.0)
    assert [low.backoff(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert [high.backoff(n) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_429_waits_for_retry_after_plus_at_most_a_second() -> None:
    error = RateLimited("Too Many Requests", retry_after_seconds=30, network="x")
    decision = policy(0.5).decide(error, 1, NOW)
    assert decision.retry_at == NOW + timedelta(seconds=30.5)
    assert decision.retryable
    assert not decision.unknown


def test_server_errors_retry_until_the_attempts_are_spent() -> None:
    error = TransientError("Service Unavailable", network="x", status=503)
    assert policy(0.0).decide(error, 3, NOW).retry_at == NOW + timedelta(seconds=4)
    spent = policy(0.0).decide(error, 4, NOW)
    assert spent.retry_at is None
    assert spent.retryable
    assert spent.message == "the network kept failing: Service Unavailable"


def test_an_unknown_outcome_is_always_looked_up_again_never_given_up_blind() -> None:
    error = UnknownOutcome("timed out", network="x")
    for attempts in (1, 4, 9):
        decision = policy(0.0).decide(error, attempts, NOW)
        assert decision.unknown
        assert decision.retry_at is not None


def test_a_permanent_refusal_fails_at_once_in_the_networks_words() -> None:
    decision = policy(0.0).decide(PermanentError("duplicate content", network="x"), 1, NOW)
    assert decision.retry_at is None
    assert decision.retryable is False
    assert decision.message == "duplicate content"


def test_refused_tokens_ask_for_a_reconnect_an_expired_one_gets_one_more_try() -> None:
    revoked = policy(0.0).decide(NeedsReconnect("token revoked", network="x"), 1, NOW)
    assert revoked.reconnect
    assert revoked.message == "reconnect your account: token revoked"
    expired = AccessTokenExpired("token expired", network="x")
    assert policy(0.0).decide(expired, 1, NOW).retry_at is not None
    assert policy(0.0).decide(expired, 2, NOW).reconnect
