"""Plan limits, enforced where work is created.

Every place that creates something a plan limits asks here first::

    await limits.check(db, org_id, "members", adding=1)            # an invitation
    await limits.check(db, org_id, "social_accounts", adding=1)    # connecting an account
    await limits.check(db, org_id, "scheduled_posts", adding=1, at=post_time)
    await limits.check(db, org_id, "ai_credits")                   # before a model call
    await limits.check(db, org_id, "media_storage", adding=size, media=runtime.media)

``check`` raises ``PaymentRequired`` (HTTP 402) when the subscription's state allows no new
work (code ``subscription_inactive``: canceled, unpaid, or past due beyond the grace
period) or when ``used + adding`` would pass the plan's allowance (code ``plan_limit``); its
message names the limit, the usage and the cheapest plan that lifts it. It never deletes or
changes anything: an organization that moved to a smaller plan keeps everything it has and
is only stopped from adding more.

A check is not a reservation: two requests that pass it at the same moment can both create
their item, so a limit may be passed by the few items created concurrently with the last
free place. Model calls are checked before they start (a credit must be left), so the call
that crosses the allowance finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from persistence.errors import NotFound, PaymentRequired
from persistence.ids import utcnow
from persistence.media import MediaStore
from persistence.models import Organization
from persistence.organizations import load_organization
from services.billing import usage
from services.billing.access import Access, access_of
from services.billing.plans import LIMIT_KINDS, LIMITS, MONTHLY, LimitKind, fmt, lifting, plan

SUBSCRIBE = "POST /api/organizations/subscription"


async def _organization(db: Any, org_id: ObjectId) -> Organization:
    org = await load_organization(db, org_id)
    if org is None or org.deleted_at is not None:
        raise NotFound("no such organization")
    return org


def ensure_writable(org: Organization, now: datetime | None = None) -> Access:
    """The subscription's access; PaymentRequired if it allows no new work."""
    access = access_of(org.subscription, now or utcnow())
    if not access.writable:
        raise PaymentRequired(access.reason or "read-only", code="subscription_inactive")
    return access


def _limit_message(
    org: Organization, kind: LimitKind, used: int, adding: int, allowed: int, window: str
) -> str:
    current = plan(org.subscription.plan)
    info = LIMITS[kind]
    needed = used + max(adding, 1)
    upgrade = lifting(kind, needed)
    if upgrade is None or upgrade.name == current.name:
        lift = "no plan allows more"
    elif upgrade.allowed(kind) is None:
        lift = f"the {upgrade.title} plan has no such limit: contact sales"
    else:
        lift = (
            f"the {upgrade.title} plan allows {fmt(kind, upgrade.allowed(kind))}: "
            f"an admin can change plans with {SUBSCRIBE}"
        )
    return (
        f"plan limit reached: the {current.title} plan allows {fmt(kind, allowed)} "
        f"{info.label} and {fmt(kind, used)} {'are' if info.unit != 'bytes' else 'is'} used"
        f"{window}. To go on, {info.relief}; or {lift}."
    )


async def check(
    db: Any,
    org_id: ObjectId,
    kind: LimitKind,
    adding: int = 1,
    *,
    at: datetime | None = None,
    media: MediaStore | None = None,
    now: datetime | None = None,
) -> None:
    """Raise PaymentRequired unless the organization may add ``adding`` of ``kind``.

    ``at`` is when a scheduled post goes out (its month is the one counted; default now).
    ``media`` is needed for ``media_storage``, whose usage the media store knows.
    ``adding=0`` checks that the organization is not over the limit already (accepting an
    invitation whose place was counted when it was sent).
    """
    if kind not in LIMIT_KINDS:
        raise ValueError(f"no limit named {kind!r}; one of {', '.join(LIMIT_KINDS)}")
    now = now or utcnow()
    org = await _organization(db, org_id)
    ensure_writable(org, now)
    allowed = plan(org.subscription.plan).allowed(kind)
    if allowed is None:
        return
    when = at or now
    used = await usage.used(db, org, kind, at=when, media=media)
    if used + adding <= allowed:
        return
    window = ""
    if kind in MONTHLY:
        start, end = usage.period(org, when)
        window = (
            f" in the month from {start.date().isoformat()} to {end.date().isoformat()} "
            f"(it resets on {end.date().isoformat()})"
        )
    raise PaymentRequired(
        _limit_message(org, kind, used, adding, allowed, window), code="plan_limit"
    )


@dataclass(frozen=True)
class Usage:
    kind: LimitKind
    used: int
    allowed: int | None
    resets_at: datetime | None

    @property
    def exceeded(self) -> bool:
        return self.allowed is not None and self.used > self.allowed

    @property
    def reached(self) -> bool:
        return self.allowed is not None and self.used >= self.allowed


async def report(
    db: Any, org_id: ObjectId, media: MediaStore, *, now: datetime | None = None
) -> tuple[Organization, list[Usage]]:
    """Each limit of the organization's plan: used, allowed, and when it resets."""
    now = now or utcnow()
    org = await _organization(db, org_id)
    current = plan(org.subscription.plan)
    _, end = usage.period(org, now)
    found = []
    for kind in LIMIT_KINDS:
        used = await usage.used(db, org, kind, at=now, media=media)
        found.append(Usage(kind, used, current.allowed(kind), end if kind in MONTHLY else None))
    return org, found


class PlanSeats:
    """The members limit as ``services.members.SeatPolicy``: invitations and acceptances
    ask it for a seat."""

    async def ensure_seat(self, db: Any, org: Organization, adding: int = 1) -> None:
        await check(db, org.id, "members", adding=adding)


PLAN_SEATS = PlanSeats()
