"""The networks' documented rate budgets, spent before each publish so a 429 is the exception.

``tools.platforms.limits`` holds each network's budgets (X: 100 posts per 15 minutes per
user and 10,000 a day per app...). Before a call, the engine takes one unit of each from the
process's rate limiter (Redis when configured, so every worker shares the count); when one
is spent, the target waits until a unit frees instead of calling and being refused.

Budgets counted in other units than calls (YouTube's quota units, where an upload costs
1,600 and a read 1) are left to the network's own 429/403 answers: one publish is not one
unit of them.
"""

from __future__ import annotations

from persistence.ratelimit import RateLimiter
from tools.platforms.limits import limits_for

__all__ = ["take_budget"]

#: Budgets whose unit is not one call per publish (see the module's docstring).
_NOT_PER_CALL = frozenset({"quota units"})


async def take_budget(limiter: RateLimiter, network: str, account_key: str) -> float:
    """Spend one publish of ``network`` for the account ``account_key`` (its id); 0 if every
    budget allowed it, otherwise the seconds until the tightest one has room again.

    A user-scoped budget is counted per account too: a connected account is one user's
    token on every network but Facebook's and LinkedIn's pages, which share their
    administrator's, so counting per account may allow slightly more than the network would
    there; its 429 then carries the wait."""
    wait = 0.0
    for budget in limits_for(network).budgets:
        if budget.what in _NOT_PER_CALL:
            continue
        scope = "app" if budget.scope == "app" else account_key
        key = f"publish-budget:{network}:{budget.window_seconds}:{scope}"
        decision = await limiter.hit(key, budget.limit, budget.window_seconds)
        if not decision.allowed:
            wait = max(wait, decision.retry_after)
    return wait
