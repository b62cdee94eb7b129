"""The plans Chorus sells, and what each allows.

The catalog is configuration kept in code: every process and every test reads the same
limits, and changing one is a reviewed change. Stripe Price ids are not here: they differ per
Stripe account and come from settings (``CHORUS_STRIPE_PRICES``), matched to plans by name.
``None`` means unlimited.

AI credits measure the model work recorded in ``ai_tasks``: a credit is 1,000 tokens, or
``CREDIT_USD`` of model cost, whichever counts more over the month, so a cheap model is
measured by volume and an expensive one by what it costs (the local model costs nothing and
is measured by tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from persistence.models.organizations import Plan as PlanName

LimitKind = Literal["members", "social_accounts", "scheduled_posts", "ai_credits", "media_storage"]
LIMIT_KINDS: tuple[LimitKind, ...] = LimitKind.__args__  # type: ignore[attr-defined]
# Allowances that start again with each monthly period; the others hold at all times.
MONTHLY: frozenset[LimitKind] = frozenset({"scheduled_posts", "ai_credits"})

CREDIT_TOKENS = 1_000
CREDIT_USD = 0.002
GB = 1_000_000_000


@dataclass(frozen=True)
class LimitInfo:
    """How a limit is named to people, and how to get under it without upgrading."""

    label: str
    unit: Literal["count", "credits", "bytes"]
    relief: str


LIMITS: dict[LimitKind, LimitInfo] = {
    "members": LimitInfo(
        "members (pending invitations included)",
        "count",
        "remove a member or revoke a pending invitation",
    ),
    "social_accounts": LimitInfo("connected social accounts", "count", "disconnect an account"),
    "scheduled_posts": LimitInfo(
        "scheduled posts a month", "count", "move posts to another month or wait for the reset"
    ),
    "ai_credits": LimitInfo("AI credits a month", "credits", "wait for the monthly reset"),
    "media_storage": LimitInfo("of media storage", "bytes", "delete media you no longer use"),
}


@dataclass(frozen=True)
class Plan:
    name: PlanName
    title: str
    limits: dict[LimitKind, int | None] = field(default_factory=dict)

    def allowed(self, kind: LimitKind) -> int | None:
        return self.limits[kind]


def _limits(
    members: int | None,
    social_accounts: int | None,
    scheduled_posts: int | None,
    ai_credits: int | None,
    media_gb: int | None,
) -> dict[LimitKind, int | None]:
    return {
        "members": members,
        "social_accounts": social_accounts,
        "scheduled_posts": scheduled_posts,
        "ai_credits": ai_credits,
        "media_storage": media_gb * GB if media_gb is not None else None,
    }


# Cheapest first: the first plan that allows enough is the one an error message names.
PLANS: dict[PlanName, Plan] = {
    "free": Plan("free", "Free", _limits(3, 5, 30, 100, 1)),
    "starter": Plan("starter", "Starter", _limits(5, 10, 300, 1_000, 10)),
    "pro": Plan("pro", "Pro", _limits(15, 25, 2_000, 5_000, 50)),
    "business": Plan("business", "Business", _limits(50, 75, 10_000, 25_000, 250)),
    "enterprise": Plan("enterprise", "Enterprise", _limits(None, None, None, None, None)),
}


def plan(name: str) -> Plan:
    """The plan called ``name``; a stored name that is no longer sold reads as free."""
    return PLANS.get(name, PLANS["free"])  # type: ignore[call-overload]


def lifting(kind: LimitKind, needed: int) -> Plan | None:
    """The cheapest plan that allows ``needed`` of ``kind``."""
    for candidate in PLANS.values():
        allowed = candidate.allowed(kind)
        if allowed is None or allowed >= needed:
            return candidate
    return None


def fmt(kind: LimitKind, amount: int | None) -> str:
    """``amount`` of ``kind`` as people read it (bytes in MB or GB)."""
    if amount is None:
        return "unlimited"
    if LIMITS[kind].unit != "bytes":
        return f"{amount:,}"
    for size, unit in ((GB, "GB"), (1_000_000, "MB"), (1_000, "KB")):
        if amount >= size:
            return f"{amount / size:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{amount} bytes"
