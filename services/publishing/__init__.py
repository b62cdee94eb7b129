"""Publishing: due posts claimed once and published to each target exactly once.

``engine.Publisher`` claims and publishes; ``tick.run_due`` drains what is due with a bound
on concurrency; ``policy`` decides retries; ``budgets`` spends the networks' rate budgets;
``media`` reads a post's files from the media store; ``warnings`` says what to warn
about when a post is scheduled.
"""

from services.publishing.engine import LostClaim, PublishConfig, Publisher, Settled
from services.publishing.policy import Decision, RetryPolicy
from services.publishing.tick import Ticker, run_due
from services.publishing.warnings import ScheduleWarning, schedule_warnings

__all__ = [
    "Decision",
    "LostClaim",
    "PublishConfig",
    "Publisher",
    "RetryPolicy",
    "ScheduleWarning",
    "Settled",
    "Ticker",
    "run_due",
    "schedule_warnings",
]
