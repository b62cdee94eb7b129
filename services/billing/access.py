"""What a subscription's state allows: everything, everything for a while, or reading only.

* ``trialing``, ``active`` (and ``incomplete``, a first payment still being confirmed, which
  never replaces the plan in force): full access within the plan's limits.
* ``past_due``: a payment failed and Stripe is retrying it. Full access for ``GRACE`` from
  the first failure, with a warning (members are told by a ``billing.payment_failed``
  event); after that, read-only until the invoice is paid.
* ``canceled``, ``unpaid``, ``paused``: read-only. Nothing new is scheduled, generated,
  connected, uploaded or invited; everything stored stays readable and exportable, and the
  billing routes stay open so an admin can pay or choose a plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from persistence.models.organizations import Subscription

GRACE = timedelta(days=14)
READ_ONLY_STATES = frozenset({"canceled", "unpaid", "paused"})

Level = Literal["full", "grace", "read_only"]


@dataclass(frozen=True)
class Access:
    level: Level
    # Why, in a sentence fit for the API (None when all is well).
    reason: str | None = None
    grace_ends_at: datetime | None = None

    @property
    def writable(self) -> bool:
        return self.level != "read_only"


_HOW_TO_PAY = (
    "update the payment method (POST /api/organizations/subscription/portal) or choose a "
    "plan (POST /api/organizations/subscription)"
)


def access_of(subscription: Subscription, now: datetime) -> Access:
    status = subscription.status
    if status in READ_ONLY_STATES:
        return Access(
            "read_only",
            f"the subscription is {status.replace('_', ' ')}: the organization is read-only "
            f"(everything stays readable and exportable, nothing new is created); an admin "
            f"can {_HOW_TO_PAY}",
        )
    if status == "past_due":
        since = subscription.past_due_since or now
        ends = since + GRACE
        if now >= ends:
            return Access(
                "read_only",
                f"a payment has failed since {since.date().isoformat()} and the grace period "
                f"ended on {ends.date().isoformat()}: the organization is read-only until the "
                f"invoice is paid; an admin can {_HOW_TO_PAY}",
                ends,
            )
        return Access(
            "grace",
            f"a payment failed: everything works until {ends.date().isoformat()}, then the "
            f"organization becomes read-only unless the invoice is paid; an admin can "
            f"{_HOW_TO_PAY}",
            ends,
        )
    return Access("full")
