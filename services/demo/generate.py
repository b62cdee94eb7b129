"""The demo's accounts, posts and analytics, computed from a seed. No database here.

One ``random.Random(seed)`` is consumed in a fixed order, so the same seed, ``days`` and
``now`` give the same content and metrics; only ObjectIds differ between runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bson import ObjectId

from persistence.models import Analytics, Post, SocialAccount
from persistence.models.analytics import performance_of
from persistence.models.content import (
    AccountInfo,
    AccountMetrics,
    AccountSettings,
    AccountStatus,
    AiGeneration,
    Moderation,
    PlatformTarget,
    PostContent,
    Scheduling,
    Targeting,
)
from services.demo.content import Copy, choose_theme, media_for, pick, write_copy
from services.demo.metrics import post_analytics
from services.demo.planted import (
    INCIDENT_DAYS_AGO,
    ORG_NAME,
    PROFILES,
    TIMEZONE,
    TZ,
    VIRAL_POSTS,
    trend_probability,
)

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Slot:
    """A post the day's plan calls for; unset fields are drawn at random."""

    platform: str
    theme: str | None = None
    content_type: str | None = None
    hour: int | None = None
    viral: float | None = None


@dataclass(frozen=True)
class Team:
    """The ids the posts refer to."""

    org_id: ObjectId
    admin_id: ObjectId
    manager_id: ObjectId
    accounts: dict[str, ObjectId]  # platform -> social account id


def local_dt(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local wall-clock time on ``day`` as aware UTC."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=TZ).astimezone(UTC)


def build_accounts(org_id: ObjectId, owner_id: ObjectId, now: datetime) -> list[SocialAccount]:
    """One sandbox account per network: real platform names, no tokens, flagged as sandbox."""
    return [
        SocialAccount(
            organization_id=org_id,
            user_id=owner_id,
            platform=platform,  # type: ignore[arg-type]
            account_info=AccountInfo(
                platform_id=f"sandbox-{platform}-{profile.handle.lower()}",
                username=profile.handle,
                display_name=ORG_NAME,
                follower_count=profile.followers,
                is_verified=platform == "instagram",
            ),
            settings=AccountSettings(
                default_hashtags=["#lumencoffee"],
                content_filters={"sandbox": True},
                timezone=TIMEZONE,
            ),
            status=AccountStatus(is_active=True, last_sync=now, sync_status="active"),
            created_at=now - timedelta(days=400),
        )
        for platform, profile in PROFILES.items()
    ]


def generate(
    rng: random.Random,
    team: Team,
    *,
    days: int,
    now: datetime,
    progress: Progress | None = None,
) -> tuple[list[Post], list[Analytics]]:
    """Published posts over the last ``days`` local days with their analytics, then a week of
    scheduled posts and a few drafts."""
    today = now.astimezone(TZ).date()
    platforms = list(PROFILES)
    posts: list[Post] = []
    analytics: list[Analytics] = []
    for index, days_ago in enumerate(range(days, 0, -1), start=1):
        weekend = (today - timedelta(days=days_ago)).weekday() >= 5
        shares = [
            PROFILES[p].share * (PROFILES[p].weekend_posting if weekend else 1.0) for p in platforms
        ]
        slots = [Slot(rng.choices(platforms, shares)[0]) for _ in range(rng.randint(3, 5))]
        slots += [Slot(p, t, c, h, m) for d, p, c, h, m, t in VIRAL_POSTS if d == days_ago]
        if days_ago == INCIDENT_DAYS_AGO[0]:
            slots.append(Slot("twitter", "incident_notice", "text", 16))
        if days_ago == INCIDENT_DAYS_AGO[-1]:
            slots.append(Slot("instagram", "incident_update", "image", 12))
            slots.append(Slot("facebook", "incident_update", "text", 13))
        for slot in slots:
            post, docs = _published(rng, team, slot, today, days_ago, days, now, len(posts))
            posts.append(post)
            analytics.extend(docs)
        if progress:
            progress("generate", index, days)
    posts += _upcoming(rng, team, today, now, len(posts))
    return posts, analytics


def account_metrics(analytics: list[Analytics], platform: str) -> AccountMetrics:
    """An account's roll-up of the generated analytics."""
    mine = [a for a in analytics if a.platform == platform]
    if not mine:
        return AccountMetrics()
    rates = [a.metrics.engagement_rate for a in mine]
    return AccountMetrics(
        total_posts=len(mine),
        avg_engagement=round(sum(rates) / len(rates), 5),
        last_post_date=max(a.time_data.recorded_at for a in mine),
    )


def _published(
    rng: random.Random,
    team: Team,
    slot: Slot,
    today: date,
    days_ago: int,
    days: int,
    now: datetime,
    seq: int,
) -> tuple[Post, list[Analytics]]:
    platform = slot.platform
    profile = PROFILES[platform]
    if slot.theme:
        theme = slot.theme
    elif rng.random() < trend_probability(days_ago):
        theme = "cold_brew"
    else:
        theme = choose_theme(rng, platform)
    content_type = slot.content_type or pick(rng, profile.content_mix)
    hour = slot.hour if slot.hour is not None else pick(rng, profile.hours)
    day = today - timedelta(days=days_ago)
    published = local_dt(day, hour, rng.randint(0, 59), rng.randint(0, 59))
    copy = write_copy(rng, platform, theme, content_type)

    targets = [platform]
    # Some Instagram posts are shared to Facebook as well: one post, two analytics documents.
    if (
        platform == "instagram"
        and slot.theme is None
        and content_type != "video"
        and rng.random() < 0.15
    ):
        targets.append("facebook")

    post_id = ObjectId()
    docs = [
        post_analytics(
            rng,
            org_id=team.org_id,
            account_id=team.accounts[target],
            post_id=post_id,
            platform=target,
            copy=copy,
            content_type=content_type,
            published=published,
            days_ago=days_ago,
            days=days,
            now=now,
            viral=slot.viral if target == slot.platform else None,
        )
        for target in targets
    ]
    created = published - timedelta(hours=rng.randint(6, 72))
    return (
        Post(
            id=post_id,
            organization_id=team.org_id,
            user_id=team.manager_id if rng.random() < 0.6 else team.admin_id,
            content=_content(rng, seq, platform, content_type, copy),
            targeting=_targeting(),
            scheduling=Scheduling(
                status="published",
                scheduled_at=published,
                published_at=published,
                timezone=TIMEZONE,
            ),
            ai_generation=_ai(rng, platform, copy),
            platforms=[
                PlatformTarget(
                    social_account_id=team.accounts[t],
                    platform=t,  # type: ignore[arg-type]
                    platform_post_id=f"sandbox-{t}-{seq:05d}",
                    status="published",
                    published_at=published,
                    platform_data={"sandbox": True},
                )
                for t in targets
            ],
            performance=performance_of(docs),
            moderation=Moderation(
                status="approved", moderated_by=team.manager_id, moderated_at=created
            ),
            created_at=created,
            updated_at=max(d.created_at for d in docs),
        ),
        docs,
    )


def _upcoming(rng: random.Random, team: Team, today: date, now: datetime, seq: int) -> list[Post]:
    """A week of scheduled posts (at the hours that work) and three drafts."""
    posts: list[Post] = []
    good_hours = {"instagram": (18, 19), "linkedin": (8, 9)}
    platforms = list(PROFILES)
    for ahead in range(1, 8):
        for _ in range(1 + (rng.random() < 0.3)):
            platform = rng.choice(platforms)
            profile = PROFILES[platform]
            hour = rng.choice(good_hours.get(platform, (11, 12, 13, 17)))
            theme = "cold_brew" if rng.random() < 0.4 else choose_theme(rng, platform)
            content_type = pick(rng, profile.content_mix)
            at = local_dt(today + timedelta(days=ahead), hour, rng.choice((0, 15, 30, 45)))
            posts.append(_planned(rng, team, platform, theme, content_type, at, now, seq))
            seq += 1
    for platform, theme, content_type in (
        ("instagram", "cold_brew", "video"),
        ("facebook", "promo", "link"),
        ("linkedin", "sustainability", "text"),
    ):
        posts.append(_planned(rng, team, platform, theme, content_type, None, now, seq))
        seq += 1
    return posts


def _planned(
    rng: random.Random,
    team: Team,
    platform: str,
    theme: str,
    content_type: str,
    at: datetime | None,
    now: datetime,
    seq: int,
) -> Post:
    copy = write_copy(rng, platform, theme, content_type)
    draft = at is None
    created = now - timedelta(hours=rng.randint(2, 48))
    return Post(
        organization_id=team.org_id,
        user_id=team.manager_id,
        content=_content(rng, seq, platform, content_type, copy),
        targeting=_targeting(),
        scheduling=Scheduling(
            status="draft" if draft else "scheduled", scheduled_at=at, timezone=TIMEZONE
        ),
        ai_generation=_ai(rng, platform, copy, force=draft),
        platforms=[
            PlatformTarget(
                social_account_id=team.accounts[platform],
                platform=platform,  # type: ignore[arg-type]
                status="pending",
            )
        ],
        moderation=Moderation(status="pending")
        if draft
        else Moderation(status="approved", moderated_by=team.manager_id, moderated_at=created),
        created_at=created,
    )


def _content(
    rng: random.Random, seq: int, platform: str, content_type: str, copy: Copy
) -> PostContent:
    return PostContent(
        title=copy.title,
        text=copy.text,
        content_type=content_type,  # type: ignore[arg-type]
        media_files=media_for(rng, seq, platform, content_type),
        hashtags=copy.hashtags,
        mentions=copy.mentions,
        links=copy.links,
    )


def _targeting() -> Targeting:
    return Targeting(
        audience="all",
        interests=["specialty coffee", "home brewing", "cafés"],
        locations=["New York, NY", "Jersey City, NJ"],
    )


def _ai(rng: random.Random, platform: str, copy: Copy, *, force: bool = False) -> AiGeneration:
    if not force and rng.random() >= 0.25:
        return AiGeneration()
    return AiGeneration(
        is_ai_generated=True,
        agent_id="content_creator",
        prompt=f"Write a {platform} post for Lumen Coffee Roasters: {copy.title}",
        model="gpt-4o-mini",
        confidence=round(rng.uniform(0.72, 0.95), 2),
        iterations=rng.randint(1, 3),
    )
