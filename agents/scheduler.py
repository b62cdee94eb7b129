"""scheduler: the best posting slots of the coming days, from the tenant's own engagement by
local weekday and hour.

The grid comes from ``engagement_by_weekday_hour`` in the audience's timezone (the
organization's; the request's when the organization has none but UTC), and the slots are
picked on that clock: people engage at their own evening, whatever timezone the person asking
reads the answer in. The slots are then shown in the request's timezone. The tenant's posts
already scheduled on the platform are kept ``min_gap_hours`` away; ``optimize_schedule``
picks the slots (thin cells blended toward the platform's typical week). The model only writes
the summary, and a template stands in when its words are unusable.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agents.base import Agent, AgentContext
from agents.prompts import scheduler as prompts
from agents.schemas import Schedule, ScheduleRequest, Slot
from agents.toolkit import explain, pct
from persistence.models import Post
from persistence.repository import TenantRepository
from tools.analytics import WeekdayHourProfile, engagement_by_weekday_hour
from tools.ml_common import as_utc, zone
from tools.schedule_optimizer import (
    PLATFORM_NAMES,
    WeekdayHourGrid,
    optimize_schedule,
    window_end,
)
from tools.schedule_optimizer import Slot as OptimizedSlot

HISTORY_DAYS = 90  # how far back the weekday-hour profile looks


class SchedulerAgent(Agent[ScheduleRequest, Schedule]):
    """Proposes posting times for one platform."""

    name = "scheduler"
    task_type = "schedule_posts"
    persona = prompts.PERSONA
    input_model = ScheduleRequest
    output_model = Schedule

    async def run(self, request: ScheduleRequest, ctx: AgentContext) -> Schedule:
        platform = request.platform
        org_timezone = (await ctx.org_settings()).timezone
        timezone = request.timezone
        if "timezone" not in request.model_fields_set:
            # Not asked for: the organization's own timezone, not the schema's UTC default.
            timezone = org_timezone or timezone
        # UTC is also the organization's default, so it says nothing about the audience.
        audience = org_timezone if org_timezone and org_timezone != "UTC" else timezone
        tz = zone(timezone)
        now = ctx.clock()
        start = request.start or now
        if start.tzinfo is None:
            start = start.replace(tzinfo=tz)  # a wall-clock time in the request's timezone
        start = as_utc(start)
        end = window_end(start, request.days, tz)
        gap = timedelta(hours=request.min_gap_hours)

        profile = await engagement_by_weekday_hour(
            ctx.db, ctx.org_id, timezone=audience, platform=platform, days=HISTORY_DAYS, now=now
        )
        existing = await scheduled_posts(ctx, platform, start - gap, end + gap)
        picked = optimize_schedule(
            WeekdayHourGrid.from_cells(profile.cells),
            count=request.count,
            timezone=audience,
            start=start,
            days=request.days,
            min_gap_hours=request.min_gap_hours,
            existing=existing,
            platform=platform,
        )
        slots = [shown_in(s, timezone, audience) for s in picked if s.at < end]

        facts = schedule_facts(request, timezone, profile, slots, existing)
        summary, _ = await explain(
            ctx,
            prompts.system_prompt(ctx.settings.system_prompt),
            prompts.summary_prompt(facts),
            facts=facts,
            fallback=summary_template(request, timezone, profile, slots, existing),
            echo_labels=prompts.ECHO_LABELS,
            anchors=slot_anchors(slots),
        )
        return Schedule(
            slots=[
                Slot(at=s.at, expected_engagement=s.expected_engagement, reason=s.reason)
                for s in sorted(slots, key=lambda s: s.at)
            ],
            summary=summary,
        )


async def scheduled_posts(
    ctx: AgentContext, platform: str, start: datetime, end: datetime
) -> list[datetime]:
    """When the tenant's posts already scheduled on ``platform`` in ``[start, end)`` go out."""
    posts = await TenantRepository(ctx.db, Post).find(
        ctx.org_id,
        {
            "scheduling.status": "scheduled",
            "platforms.platform": platform,
            "scheduling.scheduledAt": {"$gte": start, "$lt": end},
        },
    )
    return sorted(as_utc(p.scheduling.scheduled_at) for p in posts if p.scheduling.scheduled_at)


def shown_in(slot: OptimizedSlot, timezone: str, audience: str) -> OptimizedSlot:
    """``slot`` on the asker's clock; its reason names the audience's clock it was read on."""
    if timezone == audience:
        return slot
    return slot.model_copy(
        update={
            "at": slot.at.astimezone(zone(timezone)),
            "reason": f"{slot.reason}; {audience} time, where your audience is",
        }
    )


def when(slot: OptimizedSlot) -> str:
    """'Sat 21 Nov 18:00': weekday, date and local time, the way people read a schedule."""
    return slot.at.strftime("%a %d %b %H:%M")


def slot_anchors(slots: list[OptimizedSlot]) -> list[str]:
    """Words a summary of these slots names at least once: their weekdays or hours."""
    out: list[str] = []
    for slot in slots:
        hour = slot.at.hour  # on the clock the answer is shown in
        h12 = hour % 12 or 12
        half = "am" if hour < 12 else "pm"
        out += [slot.at.strftime("%A"), slot.at.strftime("%a"), f"{hour:02d}:00"]
        out += [f"{h12} {half}", f"{h12}{half}", f"{h12}:00 {half}", f"{h12}:00{half}"]
    return out


def _basis(platform: str, profile: WeekdayHourProfile) -> str:
    name = PLATFORM_NAMES.get(platform, platform)
    if not profile.posts:
        return (
            f"You have no {name} posts in the last {profile.days} days, so the times follow "
            f"the typical {name} week."
        )
    best = ", ".join(
        f"{s.label} ({pct(s.engagement_rate)})" for s in profile.best_hours[:2] if s.label
    )
    text = f"Based on your {profile.posts} {name} posts of the last {profile.days} days"
    return f"{text}; your strongest hours are {best}." if best else f"{text}."


def schedule_facts(
    request: ScheduleRequest,
    timezone: str,
    profile: WeekdayHourProfile,
    slots: list[OptimizedSlot],
    existing: list[datetime],
) -> str:
    """The numbers the summary may use, one per line."""
    name = PLATFORM_NAMES.get(request.platform, request.platform)
    lines = [
        f"- Platform: {name}; timezone {timezone}",
        f"- Slots asked for: {request.count}; found: {len(slots)}",
        "- Proposed slots: "
        + ("; ".join(f"{when(s)} ({s.reason})" for s in slots) if slots else "none"),
        f"- {_basis(request.platform, profile)}",
        f"- Posts already scheduled in this window: {len(existing)}; every slot keeps at "
        f"least {request.min_gap_hours:g} hours from them and from each other",
    ]
    return "\n".join(lines)


def summary_template(
    request: ScheduleRequest,
    timezone: str,
    profile: WeekdayHourProfile,
    slots: list[OptimizedSlot],
    existing: list[datetime],
) -> str:
    name = PLATFORM_NAMES.get(request.platform, request.platform)
    gap = f"{request.min_gap_hours:g} hours"
    if not slots:
        return (
            f"No free {name} slot in the next {request.days} days: every hour is within {gap} "
            f"of the {len(existing)} posts already scheduled."
        )
    times = ", ".join(when(s) for s in slots)
    lift = [s.lift for s in slots if s.lift is not None]
    text = f"Post on {name} at {times} ({timezone}). {_basis(request.platform, profile)}"
    if lift:
        text += f" The slots are expected at {min(lift):.1f}x to {max(lift):.1f}x your average."
    text += f" They keep at least {gap} apart"
    text += f" and from the {len(existing)} posts already scheduled." if existing else "."
    if len(slots) < request.count:
        text += f" Only {len(slots)} of the {request.count} slots asked for fit the window."
    return text


scheduler = SchedulerAgent()
