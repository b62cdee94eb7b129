"""Publishing: due posts claimed once and published to each target exactly once.

``engine.Publisher`` claims and publishes; ``tick.run_due`` drains what is due with a bound
on concurrency; ``policy`` decides retries; ``budgets`` spends the networks' rate budgets;
``media`` reads a post's files from the media store.
"""

from services.publishing.engine import LostClaim, PublishConfig, Publisher, Settled
from services.publishing.policy import Decision, RetryPolicy
from services.publishing.tick import Ticker, run_due

__all__ = [
    "Decision",
    "LostClaim",
    "PublishConfig",
    "Publisher",
    "RetryPolicy",
    "Settled",
    "Ticker",
    "run_due",
]
