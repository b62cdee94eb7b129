"""The calendar across DST changes, the per-network preview, and bulk scheduling by line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from support import make_settings
from workspace_support import connect, post_body, soon

from persistence.models import Post
from persistence.models.content import PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _insert(app, org: str, account: str, platform: str, when: str, text: str) -> str:  # type: ignore[no-untyped-def]
    """A scheduled post stored as the queue holds it (times in the past are fine here)."""
    post = Post(
        organization_id=ObjectId(org),
        content=PostContent(text=text),
        platforms=[PlatformTarget(social_account_id=ObjectId(account), platform=platform)],  # type: ignore[arg-type]
        scheduling=Scheduling(status="scheduled", scheduled_at=at(when)),
    )
    await TenantRepository(app.state.runtime.db, Post).insert(post)
    return text


def _days(body: dict) -> dict[str, list[str]]:
    return {
        day["date"]: [p["text"] for group in day["accounts"] for p in group["posts"]]
        for day in body["days"]
    }


async def test_the_calendar_groups_by_local_day_across_dst_in_new_york_and_berlin(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        li = await connect(app, org, "linkedin")
        # New York springs forward on 2026-03-08: that local day is 05:00Z to 04:00Z next day.
        for when, text in (
            ("2026-03-08T04:59:00", "ny-sat-late"),
            ("2026-03-08T05:00:00", "ny-sun-midnight"),
            ("2026-03-09T03:59:00", "ny-sun-late"),
            ("2026-03-09T04:00:00", "ny-mon-midnight"),
            ("2026-03-10T04:00:00", "ny-after-range"),
        ):
            await _insert(app, org, x, "twitter", when, text)
        ny = await client.get(
            "/api/posts/calendar?start=2026-03-07&end=2026-03-09&timezone=America/New_York",
            headers=auth,
        )
        assert ny.status_code == 200, ny.text
        body = ny.json()
        assert body["start"].startswith("2026-03-07T05:00:00")
        assert body["end"].startswith("2026-03-10T04:00:00")
        assert _days(body) == {
            "2026-03-07": ["ny-sat-late"],
            "2026-03-08": ["ny-sun-midnight", "ny-sun-late"],
            "2026-03-09": ["ny-mon-midnight"],
        }

        # Berlin, the organization's timezone: 2026-03-29 has 23 hours, 2026-10-25 has 25.
        await client.put(
            "/api/organizations", json={"settings": {"timezone": "Europe/Berlin"}}, headers=auth
        )
        for when, text in (
            ("2026-03-28T22:59:00", "be-sat-late"),
            ("2026-03-29T21:59:00", "be-sun-late"),
            ("2026-03-29T22:00:00", "be-mon-midnight"),
            ("2026-10-25T22:30:00", "be-oct-sun-2330"),
            ("2026-10-25T23:00:00", "be-oct-mon-midnight"),
        ):
            await _insert(app, org, li, "linkedin", when, text)
        spring = await client.get(
            "/api/posts/calendar?start=2026-03-28&end=2026-03-30", headers=auth
        )
        assert spring.json()["timezone"] == "Europe/Berlin"
        assert _days(spring.json()) == {
            "2026-03-28": ["be-sat-late"],
            "2026-03-29": ["be-sun-late"],
            "2026-03-30": ["be-mon-midnight"],
        }
        autumn = await client.get(
            "/api/posts/calendar?start=2026-10-25&end=2026-10-25&platform=linkedin", headers=auth
        )
        assert _days(autumn.json()) == {"2026-10-25": ["be-oct-sun-2330"]}
        assert autumn.json()["end"].startswith("2026-10-25T23:00:00")


async def test_the_calendar_lists_a_post_under_each_of_its_accounts_and_refuses_bad_ranges(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        li = await connect(app, org, "linkedin")
        when = soon(24)
        made = await client.post(
            "/api/posts",
            json=post_body([x, li], scheduling={"scheduledAt": when.isoformat()}),
            headers=auth,
        )
        assert made.status_code == 201, made.text
        day = when.date().isoformat()
        found = await client.get(f"/api/posts/calendar?start={day}&end={day}", headers=auth)
        groups = found.json()["days"][0]["accounts"]
        assert sorted(g["socialAccountId"] for g in groups) == sorted([x, li])
        only_x = await client.get(
            f"/api/posts/calendar?start={day}&end={day}&accountId={x}", headers=auth
        )
        assert [g["socialAccountId"] for g in only_x.json()["days"][0]["accounts"]] == [x]

        ben = await register(client, email="ben@example.com", org="Ben Tea")
        theirs = await client.get(
            f"/api/posts/calendar?start={day}&end={day}", headers=bearer(ben["accessToken"])
        )
        assert theirs.json()["days"] == []

        for query, field in (
            ("start=2026-03-09&end=2026-03-01", "query.end"),
            ("start=2026-01-01&end=2026-12-31", "query.end"),
            ("start=2026-01-01&end=2026-01-02&timezone=Nowhere/Land", "query.timezone"),
            ("start=yesterday&end=2026-01-02", "query.start"),
        ):
            error = assert_error_shape(
                await client.get(f"/api/posts/calendar?{query}", headers=auth), 422
            )
            assert error["fields"][0]["field"] == field


async def test_the_preview_shows_each_network_with_its_count_truncation_and_fixes(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        ig = await connect(app, org, "instagram")
        link = "https://example.com/" + "a" * 80
        made = await client.post(
            "/api/posts",
            json=post_body([x, ig], text=f"Our new cold brew. Read {link}", hashtags=["coffee"]),
            headers=auth,
        )
        pid = made.json()["id"]
        preview = await client.get(f"/api/posts/{pid}/preview", headers=auth)
        assert preview.status_code == 200, preview.text
        on_x, on_ig = preview.json()["targets"]
        assert on_x["text"] == f"Our new cold brew. Read {link}\n\n#coffee"
        # A URL weighs 23 on X whatever its length; Instagram counts every character.
        assert on_x["length"] == len("Our new cold brew. Read ") + 23 + len("\n\n#coffee")
        assert on_x["counting"] == "x_weighted"
        assert on_ig["length"] == len(on_ig["text"])
        assert on_x["hashtags"] == ["coffee"]
        assert on_x["valid"] is True
        assert on_ig["valid"] is False  # Instagram will not publish without media
        assert on_ig["violations"][0]["code"] == "media_required"
        assert "Attach" in on_ig["violations"][0]["fix"]
        assert on_ig["foldAt"] == 125

        # A post stored before a rule changed (or made elsewhere) shows what to fix.
        await client.put(
            "/api/organizations", json={"settings": {"bannedTerms": ["cheap"]}}, headers=auth
        )
        long_text = "Cheap coffee for everyone today. " * 12  # ~400 characters
        stored = Post(
            organization_id=ObjectId(org),
            content=PostContent(text=long_text),
            platforms=[PlatformTarget(social_account_id=ObjectId(x), platform="twitter")],
        )
        await TenantRepository(app.state.runtime.db, Post).insert(stored)
        over = (await client.get(f"/api/posts/{stored.id}/preview", headers=auth)).json()
        target = over["targets"][0]
        assert target["overBy"] == target["length"] - 280 > 0
        assert target["truncatedText"] is not None
        assert len(target["truncatedText"]) <= 280
        assert long_text.startswith(target["truncatedText"])
        codes = {v["code"] for v in target["violations"]}
        assert codes == {"too_long", "banned_term"}
        assert "cheap" not in target["suggestion"]["text"].lower()

        ben = await register(client, email="ben@example.com", org="Ben Tea")
        other = await client.get(f"/api/posts/{pid}/preview", headers=bearer(ben["accessToken"]))
        assert_error_shape(other, 404)


async def test_bulk_schedule_lands_good_lines_and_reports_bad_ones_by_line(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        li = await connect(app, org, "linkedin")
        ben = await register(client, email="ben@example.com", org="Ben Tea")
        theirs = await connect(app, ben["organization"]["id"], "twitter")
        year = soon(24 * 400).year  # a year ahead: every line is in the future
        csv_text = (
            "text,scheduledAt,accounts,hashtags,tags,timezone\n"
            f"Spring launch,{year}-03-08 09:00,{x};{li},coffee launch,spring,America/New_York\n"
            f"Wrong account,{year}-03-09T09:00:00Z,{theirs},,,\n"
            f'"{"too long " * 40}",{year}-03-10T09:00:00Z,{x},,,\n'
            f"Bad time,next tuesday,{x},,,\n"
            f"Berlin morning,{year}-03-29 09:00,{li},,,Europe/Berlin\n"
        )
        response = await client.post(
            "/api/posts/bulk-schedule",
            content=csv_text.encode(),
            headers={**auth, "Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["lines"] == 5
        assert [c["line"] for c in report["created"]] == [2, 6]
        # 09:00 in New York on the second Sunday of March is after the switch to EDT in
        # most years, before it in others; either way it is 09:00 local.
        created = {c["line"]: c["scheduledAt"] for c in report["created"]}
        assert created[6].startswith(f"{year}-03-29T07:00:00")  # CEST (UTC+2)
        errors = {(e["line"], e["field"]) for e in report["errors"]}
        assert (3, "accounts.0") in errors
        assert (4, "text") in errors
        assert (5, "scheduledAt") in errors
        too_long = next(e for e in report["errors"] if e["line"] == 4)
        assert too_long["message"].startswith("twitter: too_long")
        listed = (await client.get("/api/posts?limit=10", headers=auth)).json()["items"]
        assert sorted(p["content"]["text"] for p in listed) == ["Berlin morning", "Spring launch"]
        launch = next(p for p in listed if p["content"]["text"] == "Spring launch")
        assert launch["tags"] == ["spring"]
        assert launch["content"]["hashtags"] == ["coffee", "launch"]
        assert launch["scheduling"]["status"] == "scheduled"

        april = f"{year}-04-01T10:00:00Z"
        jsonl = (
            f'{{"text": "From JSON", "scheduledAt": "{april}", "accounts": ["{x}"]}}\n'
            "not json\n"
            f'{{"text": "No accounts", "scheduledAt": "{april}", "accounts": []}}\n'
        )
        files = {"file": ("posts.jsonl", jsonl.encode(), "application/x-ndjson")}
        second = await client.post("/api/posts/bulk-schedule", files=files, headers=auth)
        assert second.status_code == 200, second.text
        assert [c["line"] for c in second.json()["created"]] == [1]
        assert [(e["line"], e["field"]) for e in second.json()["errors"]] == [
            (2, "line"),
            (3, "accounts"),
        ]

        user = bearer(await add_member(app, client, org, "uma@example.com", "user"))
        refused = await client.post(
            "/api/posts/bulk-schedule", content=csv_text.encode(), headers=user
        )
        assert_error_shape(refused, 403)
        empty = await client.post("/api/posts/bulk-schedule", content=b"  ", headers=auth)
        assert_error_shape(empty, 422)
