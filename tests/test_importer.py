"""``import_analytics``: JSON lines and CSV, idempotency, updates, bad rows by line, accounts,
tenancy, and a few thousand rows."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from chorus.runtime import Runtime
from persistence.errors import InvalidInput
from persistence.models import Analytics, Post, SocialAccount
from persistence.models.content import AccountInfo, PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from tools.analytics import hashtag_stats, metric_summary
from tools.importer import ImportReport, import_analytics

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def row(ppid: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "platform": "instagram",
        "platformPostId": ppid,
        "publishedAt": "2026-06-01T15:30:00Z",
        "text": f"post {ppid}",
        "hashtags": ["#ColdBrew", "summer"],
        "mediaType": "image",
        "likes": 100,
        "comments": 10,
        "shares": 5,
        "saves": 5,
        "clicks": 20,
        "impressions": 2000,
        "reach": 1000,
    }
    base.update(over)
    return base


def jsonl(*rows: dict[str, Any] | str) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


async def docs(runtime: Runtime, org: ObjectId) -> tuple[list[Post], list[Analytics]]:
    return (
        await TenantRepository(runtime.db, Post).find(org),
        await TenantRepository(runtime.db, Analytics).find(org),
    )


def counts(report: ImportReport) -> tuple[int, int, int, int]:
    return (report.imported, report.updated, report.unchanged, report.rejected)


async def test_jsonl_good_rows_land_and_bad_rows_are_reported(runtime: Runtime) -> None:
    org = ObjectId()
    text = jsonl(
        row("ig-1"),
        row("tt-1", platform="TikTok", publishedAt="2026-03-01T23:30:00-05:00", mediaType="video"),
        row("unknown", platform="myspace"),  # line 3
        row("neg", likes=-3),  # line 4
        row("bad-date", publishedAt="yesterday-ish"),  # line 5
        "",  # a blank line counts for line numbers but is no row
        {k: v for k, v in row("x").items() if k != "platformPostId"},  # line 7
        "{not json",  # line 8
        "[1, 2]",  # line 9
        row("tw-1", platform="twitter", publishedAt="2026-05-02T08:00:00", reach=0, hashtags=None),
    )
    report = await import_analytics(runtime.db, org, text)
    assert report.format == "jsonl"
    assert report.rows == 9
    assert counts(report) == (3, 0, 0, 6)
    errors = {(e.line, e.field) for e in report.errors}
    assert errors == {
        (3, "platform"),
        (4, "likes"),
        (5, "publishedAt"),
        (7, "platformPostId"),
        (8, None),
        (9, None),
    }
    by_line = {e.line: e.message for e in report.errors}
    assert "unknown platform 'myspace'" in by_line[3]
    assert "greater than or equal to 0" in by_line[4]
    assert "invalid JSON" in by_line[8]

    posts, analytics = await docs(runtime, org)
    assert len(posts) == len(analytics) == 3
    post = {p.platforms[0].platform_post_id: p for p in posts}
    doc = {a.post_id: a for a in analytics}

    ig = post["ig-1"]
    assert ig.scheduling.status == "published"
    assert ig.scheduling.published_at == datetime(2026, 6, 1, 15, 30, tzinfo=UTC)
    assert ig.content.text == "post ig-1"
    assert ig.content.hashtags == ["#ColdBrew", "#summer"]
    assert ig.content.content_type == "image"
    target = ig.platforms[0]
    assert (target.platform, target.status) == ("instagram", "published")
    m = doc[ig.id].metrics
    assert (m.likes, m.comments, m.shares, m.saves, m.reach) == (100, 10, 5, 5, 1000)
    assert m.engagement_rate == 0.12
    assert m.click_through_rate == 0.01
    assert ig.performance.engagement_score == 0.12
    assert ig.performance.like_count == 100

    # buckets in UTC: 23:30 EST on Sunday 1 March is 04:30 UTC on Monday 2 March
    tt = doc[post["tt-1"].id]
    assert tt.platform == "tiktok"
    assert tt.time_data.recorded_at == datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    assert tt.time_data.date_bucket == datetime(2026, 3, 2, tzinfo=UTC)
    assert (tt.time_data.hour_bucket, tt.time_data.day_of_week) == (4, 0)
    assert (tt.time_data.month, tt.time_data.quarter) == (3, 1)

    tw = doc[post["tw-1"].id]  # naive time is UTC; no reach, no rate
    assert tw.time_data.recorded_at == datetime(2026, 5, 2, 8, tzinfo=UTC)
    assert tw.metrics.engagement_rate == 0.0
    assert post["tw-1"].content.hashtags == []


async def test_importing_twice_changes_nothing(runtime: Runtime) -> None:
    org = ObjectId()
    text = jsonl(*(row(f"p{i}", likes=i) for i in range(20)))
    first = await import_analytics(runtime.db, org, text)
    assert counts(first) == (20, 0, 0, 0)
    before = await docs(runtime, org)
    second = await import_analytics(runtime.db, org, text)
    assert counts(second) == (0, 0, 20, 0)
    after = await docs(runtime, org)
    key = lambda d: str(d.id)  # noqa: E731
    assert sorted(after[0], key=key) == sorted(before[0], key=key)
    assert sorted(after[1], key=key) == sorted(before[1], key=key)


async def by_platform_id(runtime: Runtime, org: ObjectId) -> dict[str, tuple[Post, Analytics]]:
    posts, analytics = await docs(runtime, org)
    doc = {a.post_id: a for a in analytics}
    return {p.platforms[0].platform_post_id or "": (p, doc[p.id]) for p in posts}


async def test_changed_metrics_update_in_place(runtime: Runtime) -> None:
    org = ObjectId()
    await import_analytics(runtime.db, org, jsonl(row("a"), row("b")))
    before = await by_platform_id(runtime, org)
    report = await import_analytics(
        runtime.db, org, jsonl(row("a", likes=300, reach=2000), row("b"), row("c"))
    )
    assert counts(report) == (1, 1, 1, 0)
    after = await by_platform_id(runtime, org)
    assert set(after) == {"a", "b", "c"}
    post, doc = after["a"]
    assert (post.id, doc.id) == (before["a"][0].id, before["a"][1].id)  # in place
    assert (doc.metrics.likes, doc.metrics.reach) == (300, 2000)
    assert doc.metrics.engagement_rate == round(320 / 2000, 5)
    assert doc.updated_at is not None
    assert post.performance.like_count == 300
    assert post.performance.engagement_score == 0.16
    assert after["b"] == before["b"]  # untouched, updatedAt included

    # a changed text or time of an imported post is taken too
    report = await import_analytics(
        runtime.db, org, jsonl(row("b", text="edited", publishedAt="2026-06-02T10:00:00Z"))
    )
    assert counts(report) == (0, 1, 0, 0)
    post, doc = (await by_platform_id(runtime, org))["b"]
    assert post.content.text == "edited"
    assert post.scheduling.published_at == datetime(2026, 6, 2, 10, tzinfo=UTC)
    assert post.platforms[0].published_at == datetime(2026, 6, 2, 10, tzinfo=UTC)
    assert doc.id == before["b"][1].id
    assert doc.time_data.recorded_at == datetime(2026, 6, 2, 10, tzinfo=UTC)
    assert (doc.time_data.hour_bucket, doc.time_data.day_of_week) == (10, 1)


async def test_duplicate_rows_in_one_file(runtime: Runtime) -> None:
    org = ObjectId()
    report = await import_analytics(
        runtime.db, org, jsonl(row("d"), row("d"), row("d", likes=1), row("D"))
    )
    # ids are case-sensitive: "D" is another post
    assert counts(report) == (2, 1, 1, 0)
    posts, analytics = await docs(runtime, org)
    assert len(posts) == len(analytics) == 2
    d = next(a for a in analytics if a.metrics.likes != 100)
    assert d.metrics.likes == 1  # the last row wins


async def test_csv(runtime: Runtime, tmp_path: Path) -> None:
    org = ObjectId()
    path = tmp_path / "export.csv"
    path.write_text(
        "platform,platformPostId,publishedAt,text,hashtags,mediaType,likes,comments,shares,"
        "saves,clicks,impressions,reach\n"
        'linkedin,li-1,2026-06-03T09:00:00Z,"Hiring, roasting",#Jobs #Coffee,text,'
        "40,4,2,0,3,900,700\n"
        'instagram,ig-9,2026-06-04T18:00:00+02:00,"Two\nlines","[""#a"", ""#b""]",carousel,'
        "10,1,1,1,,,100\n"
        "\n"
        'twitter,tw-9,2026-06-05,plain,"#x, #y,z",,5,1,0,0,0,100,50\n'
        "facebook,fb-9,2026-06-05,bad,,video,5,1,0,0,0,100,-50\n"  # line 7
        "tiktok,,2026-06-05,missing id,,video,5,1,0,0,0,100,50\n"  # line 8
        "tiktok,tt-9,2026-06-05,too many,,video,5,1,0,0,0,100,50,99\n"  # line 9
        "instagram,ig-10,2026-06-05,not a number,,image,lots,1,0,0,0,100,50\n",  # line 10
        encoding="utf-8",
    )
    report = await import_analytics(runtime.db, org, path)
    assert report.format == "csv"
    assert counts(report) == (3, 0, 0, 4)
    assert {(e.line, e.field) for e in report.errors} == {
        (7, "reach"),
        (8, "platformPostId"),
        (9, None),
        (10, "likes"),
    }
    posts, analytics = await docs(runtime, org)
    post = {p.platforms[0].platform_post_id: p for p in posts}
    assert post["li-1"].content.text == "Hiring, roasting"
    assert post["li-1"].content.hashtags == ["#Jobs", "#Coffee"]
    assert post["ig-9"].content.text == "Two\nlines"
    assert post["ig-9"].content.hashtags == ["#a", "#b"]
    assert post["ig-9"].content.content_type == "carousel"
    assert post["ig-9"].scheduling.published_at == datetime(2026, 6, 4, 16, tzinfo=UTC)
    assert post["tw-9"].content.hashtags == ["#x", "#y", "#z"]
    assert post["tw-9"].content.content_type == "text"  # empty media type
    ig = next(a for a in analytics if a.post_id == post["ig-9"].id)
    assert (ig.metrics.clicks, ig.metrics.impressions, ig.metrics.click_through_rate) == (0, 0, 0.0)

    again = await import_analytics(runtime.db, org, path)
    assert counts(again) == (0, 0, 3, 4)


async def test_sources_and_formats(runtime: Runtime, tmp_path: Path) -> None:
    org = ObjectId()
    header = "platform,platformPostId,publishedAt,likes,reach\n"
    jsonl_path = tmp_path / "rows.jsonl"
    jsonl_path.write_text(jsonl(row("j1")))
    # a JSON-lines file whose name says nothing
    odd = tmp_path / "rows.txt"
    odd.write_text("\n" + jsonl(row("j2")))

    reports = [
        await import_analytics(runtime.db, org, jsonl_path),
        await import_analytics(runtime.db, org, str(odd)),
        await import_analytics(
            runtime.db, org, io.StringIO(header + "twitter,c1,2026-06-01,1,10\n")
        ),
        await import_analytics(runtime.db, org, header + "twitter,c2,2026-06-01,1,10\n"),
        await import_analytics(runtime.db, org, jsonl(row("j3")), fmt="jsonl"),
        await import_analytics(
            runtime.db, org, io.StringIO(header + "twitter,c3,2026-06-01,1,10\n"), fmt="csv"
        ),
    ]
    assert [r.format for r in reports] == ["jsonl", "jsonl", "csv", "csv", "jsonl", "csv"]
    assert all(counts(r) == (1, 0, 0, 0) for r in reports)
    with pytest.raises(InvalidInput, match="JSON lines"):
        await import_analytics(runtime.db, org, '[{"platform": "twitter"}]\n')
    with pytest.raises(FileNotFoundError):
        await import_analytics(runtime.db, org, str(tmp_path / "missing.csv"))
    with pytest.raises(ValueError, match="fmt"):
        await import_analytics(runtime.db, org, jsonl(row("j9")), fmt="xml")  # type: ignore[arg-type]


async def test_accounts_existing_or_one_placeholder_per_platform(runtime: Runtime) -> None:
    org = ObjectId()
    accounts = TenantRepository(runtime.db, SocialAccount)
    real = SocialAccount(
        organization_id=org,
        platform="instagram",
        account_info=AccountInfo(platform_id="17841", username="brand"),
    )
    await accounts.insert(real)
    await import_analytics(
        runtime.db,
        org,
        jsonl(row("i1"), row("t1", platform="tiktok"), row("t2", platform="tiktok")),
    )
    await import_analytics(runtime.db, org, jsonl(row("t3", platform="tiktok")))
    stored = await accounts.find(org)
    assert len(stored) == 2
    placeholder = next(a for a in stored if a.platform == "tiktok")
    assert placeholder.settings.content_filters["sandbox"] is True
    assert placeholder.status.is_active is False
    posts, analytics = await docs(runtime, org)
    by_platform = {p.platforms[0].platform_post_id: p.platforms[0].social_account_id for p in posts}
    assert by_platform["i1"] == real.id
    assert by_platform["t1"] == by_platform["t2"] == by_platform["t3"] == placeholder.id
    assert all(
        a.social_account_id == (real.id if a.platform == "instagram" else placeholder.id)
        for a in analytics
    )


async def test_a_post_published_through_chorus_gets_its_numbers(runtime: Runtime) -> None:
    """A known post keeps its own text and time; the import only adds or updates metrics."""
    org = ObjectId()
    account = ObjectId()
    published = datetime(2026, 6, 10, 17, tzinfo=UTC)
    post = Post(
        organization_id=org,
        content=PostContent(text="Our own words", hashtags=["#lumen"]),
        scheduling=Scheduling(status="published", published_at=published),
        platforms=[
            PlatformTarget(
                social_account_id=account,
                platform="linkedin",
                platform_post_id="urn:li:share:1",
                status="published",
                published_at=published,
            )
        ],
    )
    await TenantRepository(runtime.db, Post).insert(post)
    line = row("urn:li:share:1", platform="linkedin", text="export text", hashtags=[])
    first = await import_analytics(runtime.db, org, jsonl(line))
    assert counts(first) == (1, 0, 0, 0)
    second = await import_analytics(runtime.db, org, jsonl({**line, "likes": 150}))
    assert counts(second) == (0, 1, 0, 0)
    third = await import_analytics(runtime.db, org, jsonl({**line, "likes": 150}))
    assert counts(third) == (0, 0, 1, 0)
    [stored], [doc] = await docs(runtime, org)
    assert stored.id == post.id
    assert stored.content.text == "Our own words"
    assert stored.content.hashtags == ["#lumen"]
    assert stored.scheduling.published_at == published
    assert stored.performance.like_count == 150
    assert (doc.post_id, doc.social_account_id, doc.metrics.likes) == (post.id, account, 150)


async def test_imports_are_per_tenant(runtime: Runtime) -> None:
    a, b = ObjectId(), ObjectId()
    text = jsonl(row("same-1"), row("same-2"))
    assert counts(await import_analytics(runtime.db, a, text)) == (2, 0, 0, 0)
    # B imports the same platform ids: its own posts, A's untouched
    changed = jsonl(row("same-1", likes=1), row("same-2", likes=1))
    assert counts(await import_analytics(runtime.db, b, changed)) == (2, 0, 0, 0)
    a_posts, a_docs = await docs(runtime, a)
    b_posts, b_docs = await docs(runtime, b)
    assert len(a_posts) == len(b_posts) == 2
    assert not {p.id for p in a_posts} & {p.id for p in b_posts}
    assert all(d.metrics.likes == 100 for d in a_docs)
    assert all(d.metrics.likes == 1 for d in b_docs)
    a_accounts = await TenantRepository(runtime.db, SocialAccount).find(a)
    assert all(p.platforms[0].social_account_id in {x.id for x in a_accounts} for p in a_posts)


async def test_thousands_of_rows(runtime: Runtime) -> None:
    org = ObjectId()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    platforms = ("instagram", "tiktok", "twitter", "linkedin")
    rows = [
        row(
            f"bulk-{i}",
            platform=platforms[i % 4],
            publishedAt=(start + timedelta(hours=i)).isoformat(),
            likes=i % 97,
            reach=1000 + i,
        )
        for i in range(2000)
    ]
    text = jsonl(*rows)
    started = time.perf_counter()
    first = await import_analytics(runtime.db, org, text)
    first_seconds = time.perf_counter() - started
    assert counts(first) == (2000, 0, 0, 0)
    rows[7]["likes"] = 500
    second = await import_analytics(runtime.db, org, jsonl(*rows))
    assert counts(second) == (0, 1, 1999, 0)
    assert await TenantRepository(runtime.db, Post).count(org) == 2000
    assert await TenantRepository(runtime.db, Analytics).count(org) == 2000
    # Generous bounds for slow machines; the embedded engine evaluates $in linearly.
    assert first_seconds < 20
    assert second.seconds < 40


async def test_imported_rows_feed_the_analytics(runtime: Runtime) -> None:
    org = ObjectId()
    text = jsonl(
        row("x1", publishedAt=(NOW - timedelta(days=2)).isoformat()),
        row("x2", publishedAt=(NOW - timedelta(days=3)).isoformat(), hashtags="#ColdBrew #new"),
        row("x3", publishedAt=(NOW - timedelta(days=12)).isoformat(), likes=0),
    )
    await import_analytics(runtime.db, org, text)
    summary = await metric_summary(runtime.db, org, days=7, now=NOW)
    ig = summary.platform("instagram")
    assert ig is not None
    assert (ig.current.posts, ig.previous.posts) == (2, 1)
    assert ig.current.engagement_rate == 0.12
    assert ig.previous.engagement_rate == 0.02
    tags = {s.tag: s for s in await hashtag_stats(runtime.db, org, days=30, recent_days=7, now=NOW)}
    assert (tags["#coldbrew"].recent_uses, tags["#coldbrew"].baseline_uses) == (2, 1)
    assert tags["#new"].recent_uses == 1
