"""Schedule triggers of saved workflows and the SDK's crons, fired by the schedule tick.

Time is driven by passing ``now`` to the tick. Schedules are on 29 February at 09:00, so the
app's own once-a-minute ticker (running in the background of every test app) never finds them
due while a test runs; the tests fire them in 2028 and later.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import api_client, assert_error_shape, bearer, register
from bson import ObjectId
from langgraph_sdk.client import LangGraphClient
from support import TEST_REDIS_URL, make_settings

from persistence.cron import next_fire
from persistence.models import Workflow
from persistence.queue import InProcessJobQueue
from persistence.schedule_claims import claim, due
from runs.schedules import tick as run_tick


async def tick(runtime: Any, now: datetime) -> dict[str, int]:
    """The schedule tick at ``now`` on the app's run engine."""
    return await run_tick(runtime.engine, now=now)


LEAP_DAY = "0 9 29 2 *"
FIRST_FIRE = datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
TRENDS_INPUT = {"input": {"days": 7}}


def _scheduled(cron: str = LEAP_DAY, **config: Any) -> dict[str, Any]:
    return {
        "name": "Leap-day trends",
        "graph": "trend_analysis",
        "input": TRENDS_INPUT,
        "trigger": {"type": "schedule", "configuration": {"cron": cron, **config}},
    }


def _utc(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


# --- the schedule arithmetic ----------------------------------------------------------------


def test_next_fire_is_read_in_the_time_zone_across_daylight_saving_changes() -> None:
    # Paris moves to summer time on 29 March 2026: 09:00 local is 08:00 UTC, then 07:00 UTC.
    before = next_fire("0 9 * * *", "Europe/Paris", datetime(2026, 3, 28, 12, tzinfo=UTC))
    after = next_fire("0 9 * * *", "Europe/Paris", before)
    assert (before, after) == (
        datetime(2026, 3, 29, 7, tzinfo=UTC),
        datetime(2026, 3, 30, 7, tzinfo=UTC),
    )
    assert next_fire("0 9 * * *", "Europe/Paris", datetime(2026, 3, 27, 12, tzinfo=UTC)) == (
        datetime(2026, 3, 28, 8, tzinfo=UTC)
    )

    # New York, 1 November 2026: 01:00-01:59 happens twice. A fixed-time job fires once...
    daily = [datetime(2026, 10, 31, 12, tzinfo=UTC)]
    for _ in range(2):
        daily.append(next_fire("30 1 * * *", "America/New_York", daily[-1]))
    assert daily[1:] == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),  # 01:30 EST the next day, not 06:30 today
    ]
    # ...an hourly job fires in both repeated hours, on real time.
    hourly = [datetime(2026, 11, 1, 4, 30, tzinfo=UTC)]
    for _ in range(3):
        hourly.append(next_fire("0 * * * *", "America/New_York", hourly[-1]))
    assert [h.hour for h in hourly[1:]] == [5, 6, 7]

    # 8 March 2026: 02:30 does not exist there; the job fires at 03:00 EDT (07:00 UTC).
    assert next_fire("30 2 * * *", "America/New_York", datetime(2026, 3, 7, 12, tzinfo=UTC)) == (
        datetime(2026, 3, 8, 7, tzinfo=UTC)
    )


# --- workflows: validation, the tick, deactivation ------------------------------------------


async def test_bad_schedules_are_422_naming_the_field(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        auth = bearer((await register(client))["accessToken"])
        cases = {
            "61 * * * *": "body.trigger.configuration.cron",  # out of range
            "* * * * * *": "body.trigger.configuration.cron",  # 6 fields
            "0 9 30 2 *": "body.trigger.configuration.cron",  # 30 February never comes
        }
        for cron, field in cases.items():
            response = await client.post("/api/ai/workflows", json=_scheduled(cron), headers=auth)
            assert [f["field"] for f in assert_error_shape(response, 422)["fields"]] == [field]

        no_cron = await client.post(
            "/api/ai/workflows",
            json={**_scheduled(), "trigger": {"type": "schedule", "configuration": {}}},
            headers=auth,
        )
        assert assert_error_shape(no_cron, 422)["fields"][0]["field"] == (
            "body.trigger.configuration.cron"
        )
        bad_zone = await client.post(
            "/api/ai/workflows", json=_scheduled(timezone="Mars/Olympus_Mons"), headers=auth
        )
        error = assert_error_shape(bad_zone, 422)
        assert error["fields"][0]["field"] == "body.trigger.configuration.timezone"
        assert "Mars/Olympus_Mons" in error["fields"][0]["message"]
        both = await client.post(
            "/api/ai/workflows", json=_scheduled("nope", timezone="Nowhere"), headers=auth
        )
        assert {f["field"] for f in assert_error_shape(both, 422)["fields"]} == {
            "body.trigger.configuration.cron",
            "body.trigger.configuration.timezone",
        }
        assert (await client.get("/api/ai/workflows", headers=auth)).json()["total"] == 0

        # A bad schedule in a change is refused, and nothing of the change is kept.
        saved = (await client.post("/api/ai/workflows", json=_scheduled(), headers=auth)).json()
        refused = await client.patch(
            f"/api/ai/workflows/{saved['id']}",
            json={"name": "Renamed", "trigger": {"configuration": {"cron": "0 25 * * *"}}},
            headers=auth,
        )
        assert assert_error_shape(refused, 422)["fields"][0]["field"] == (
            "body.trigger.configuration.cron"
        )
        again = (await client.get(f"/api/ai/workflows/{saved['id']}", headers=auth)).json()
        assert again["name"] == saved["name"]
        assert again["trigger"] == saved["trigger"]


async def test_next_fire_is_stored_in_the_schedule_time_zone(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        auth = bearer((await register(client))["accessToken"])
        utc = (await client.post("/api/ai/workflows", json=_scheduled(), headers=auth)).json()
        assert utc["trigger"]["configuration"] == {"cron": LEAP_DAY, "timezone": "UTC"}
        assert _utc(utc["execution"]["nextRun"]) == FIRST_FIRE

        tokyo = await client.post(
            "/api/ai/workflows", json=_scheduled(timezone="Asia/Tokyo"), headers=auth
        )
        assert tokyo.status_code == 201, tokyo.text
        # 09:00 in Tokyo (UTC+9, no daylight saving) is midnight UTC the same day.
        assert _utc(tokyo.json()["execution"]["nextRun"]) == datetime(2028, 2, 29, 0, tzinfo=UTC)

        manual = await client.post(
            "/api/ai/workflows",
            json={**_scheduled(), "trigger": {"type": "manual"}},
            headers=auth,
        )
        assert manual.json()["execution"]["nextRun"] is None


async def test_due_workflow_fires_once_when_two_ticks_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both ticks read the due documents before either claims one, as two workers may.
    both_read = asyncio.Barrier(2)

    async def due_then_wait(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        found = await due(*args, **kwargs)
        await asyncio.wait_for(both_read.wait(), timeout=10)
        return found

    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        auth = bearer((await register(client))["accessToken"])
        saved = (await client.post("/api/ai/workflows", json=_scheduled(), headers=auth)).json()
        runtime = app.state.runtime

        assert await tick(runtime, now=datetime(2028, 2, 29, 8, 59, tzinfo=UTC)) == {
            "workflows": 0,
            "crons": 0,
        }
        # Down from before 2028 until 2036: two leap days missed, one fire.
        late = datetime(2036, 3, 1, 12, tzinfo=UTC)
        with monkeypatch.context() as patch:
            patch.setattr("runs.schedules.due", due_then_wait)
            first, second = await asyncio.gather(tick(runtime, now=late), tick(runtime, now=late))
        assert sorted([first["workflows"], second["workflows"]]) == [0, 1]
        assert (await tick(runtime, now=late))["workflows"] == 0

        history = await client.get(f"/api/ai/workflows/{saved['id']}/history", headers=auth)
        [run] = history.json()["items"]
        assert run["trigger"] == "schedule"
        assert run["status"] == "completed", run
        assert run["result"]["report"].startswith("# Trend analysis")
        workflow = (await client.get(f"/api/ai/workflows/{saved['id']}", headers=auth)).json()
        assert workflow["execution"]["runCount"] == 1
        assert workflow["execution"]["successCount"] == 1
        assert _utc(workflow["execution"]["nextRun"]) == datetime(2040, 2, 29, 9, tzinfo=UTC)

        # A manual execution is recorded beside it, marked as such.
        await client.post(f"/api/ai/workflows/{saved['id']}/execute", headers=auth)
        history = await client.get(f"/api/ai/workflows/{saved['id']}/history", headers=auth)
        assert sorted(r["trigger"] for r in history.json()["items"]) == ["manual", "schedule"]


async def test_claim_is_a_compare_and_set(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        auth = bearer((await register(client))["accessToken"])
        await client.post("/api/ai/workflows", json=_scheduled(), headers=auth)
        collection = app.state.runtime.db[Workflow.collection]
        query = {"trigger.type": "schedule", "trigger.isActive": True}
        late = datetime(2030, 1, 1, tzinfo=UTC)
        # Two workers read the same due workflow before either claims it.
        [seen_by_a] = await due(collection, query, "execution.nextRun", late)
        [seen_by_b] = await due(collection, query, "execution.nextRun", late)
        # Each would move it to a different time: a write by B could not look like no change.
        a_next, b_next = datetime(2032, 2, 29, 9, tzinfo=UTC), datetime(2036, 2, 29, 9, tzinfo=UTC)
        assert await claim(collection, seen_by_a, "execution.nextRun", a_next) is True
        assert await claim(collection, seen_by_b, "execution.nextRun", b_next) is False
        stored = await collection.find_one({"_id": seen_by_a["_id"]})
        assert stored["execution"]["nextRun"].replace(tzinfo=UTC) == a_next
        assert await due(collection, query, "execution.nextRun", late) == []


async def test_a_stored_schedule_that_cannot_fire_stops_without_failing_the_tick(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        account = await register(client)
        auth = bearer(account["accessToken"])
        good = (await client.post("/api/ai/workflows", json=_scheduled(), headers=auth)).json()
        # Saved before schedules were checked: no cron at all, yet due.
        broken = Workflow(
            organization_id=ObjectId(account["organization"]["id"]),
            name="Legacy",
            graph="trend_analysis",
            input=TRENDS_INPUT,
            trigger={"type": "schedule", "configuration": {"cron": "whenever"}},
            execution={"next_run": datetime(2027, 1, 1, tzinfo=UTC)},
        )
        collection = app.state.runtime.db[Workflow.collection]
        await collection.insert_one(broken.to_mongo())

        fired = await tick(app.state.runtime, now=datetime(2028, 3, 1, tzinfo=UTC))
        assert fired["workflows"] == 2  # its last fire, and the good one's
        stored = await collection.find_one({"_id": broken.id})
        assert stored["execution"].get("nextRun") is None
        again = (await client.get(f"/api/ai/workflows/{good['id']}", headers=auth)).json()
        assert _utc(again["execution"]["nextRun"]) == datetime(2032, 2, 29, 9, tzinfo=UTC)


async def test_paused_or_manual_workflows_do_not_fire(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        auth = bearer((await register(client))["accessToken"])
        saved = (await client.post("/api/ai/workflows", json=_scheduled(), headers=auth)).json()
        path = f"/api/ai/workflows/{saved['id']}"
        late = datetime(2030, 1, 1, tzinfo=UTC)

        paused = (
            await client.patch(path, json={"trigger": {"isActive": False}}, headers=auth)
        ).json()
        assert paused["execution"]["nextRun"] is None
        assert paused["trigger"]["type"] == "schedule"
        assert paused["trigger"]["configuration"]["cron"] == LEAP_DAY  # kept for resuming
        assert (await tick(app.state.runtime, now=late))["workflows"] == 0

        resumed = (
            await client.patch(path, json={"trigger": {"isActive": True}}, headers=auth)
        ).json()
        assert _utc(resumed["execution"]["nextRun"]) == FIRST_FIRE

        manual = (
            await client.patch(path, json={"trigger": {"type": "manual"}}, headers=auth)
        ).json()
        assert manual["execution"]["nextRun"] is None
        assert (await tick(app.state.runtime, now=late))["workflows"] == 0
        history = await client.get(f"{path}/history", headers=auth)
        assert history.json()["items"] == []

        # Created inactive: nothing scheduled either.
        inactive = _scheduled()
        inactive["trigger"]["isActive"] = False
        created = (await client.post("/api/ai/workflows", json=inactive, headers=auth)).json()
        assert created["execution"]["nextRun"] is None


# --- the SDK's crons --------------------------------------------------------------------------


async def _api_key(client: httpx.AsyncClient, email: str, org: str) -> str:
    account = await register(client, email=email, org=org)
    made = await client.post(
        "/api/api-keys", json={"name": "sdk"}, headers=bearer(account["accessToken"])
    )
    assert made.status_code == 201, made.text
    return made.json()["key"]


@asynccontextmanager
async def _sdk(app: Any, key: str) -> AsyncIterator[LangGraphClient]:
    """The official SDK client, talking to the app in this event loop (so the test can tick)."""
    transport = httpx.ASGITransport(app=app)
    http = httpx.AsyncClient(
        transport=transport, base_url="http://test/lg", headers={"x-api-key": key}, timeout=60
    )
    async with LangGraphClient(http) as sdk:
        yield sdk


async def _status(call: Any) -> int:
    with pytest.raises(httpx.HTTPStatusError) as err:
        await call
    return err.value.response.status_code


async def test_sdk_crons_create_search_fire_and_delete(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        key = await _api_key(client, "ada@example.com", "Acme")
        other_key = await _api_key(client, "ben@example.com", "Ben Tea")
        async with _sdk(app, key) as sdk, _sdk(app, other_key) as other:
            thread = await sdk.threads.create()
            tid = thread["thread_id"]
            on_thread = await sdk.crons.create_for_thread(
                tid, "trend_analysis", schedule=LEAP_DAY, input=TRENDS_INPUT
            )
            stateless = await sdk.crons.create(
                "trend_analysis",
                schedule=LEAP_DAY,
                timezone="Asia/Tokyo",
                input=TRENDS_INPUT,
                metadata={"team": "growth"},
            )
            assert on_thread["thread_id"] == tid
            assert _utc(on_thread["next_run_date"]) == FIRST_FIRE
            assert stateless["thread_id"] is None
            assert stateless["timezone"] == "Asia/Tokyo"
            assert _utc(stateless["next_run_date"]) == datetime(2028, 2, 29, 0, tzinfo=UTC)
            assert stateless["enabled"] is True
            assert stateless["payload"]["input"] == TRENDS_INPUT

            found = await sdk.crons.search(assistant_id="trend_analysis", limit=10)
            assert {c["cron_id"] for c in found} == {on_thread["cron_id"], stateless["cron_id"]}
            assert [c["cron_id"] for c in await sdk.crons.search(thread_id=tid)] == [
                on_thread["cron_id"]
            ]
            assert [c["cron_id"] for c in await sdk.crons.search(metadata={"team": "growth"})] == [
                stateless["cron_id"]
            ]
            assert await sdk.crons.count() == 2
            counted = await client.post(
                "/lg/runs/crons/count",
                json={"assistant_id": "trend_analysis"},
                headers={"x-api-key": key},
            )
            assert counted.json() == 2
            assert await other.crons.count() == 0

            # Another tenant sees none of them, and cannot delete one or schedule on the thread.
            assert await other.crons.search() == []
            assert await _status(other.crons.delete(on_thread["cron_id"])) == 404
            assert (
                await _status(
                    other.crons.create_for_thread(tid, "trend_analysis", schedule=LEAP_DAY)
                )
                == 404
            )

            fired = await tick(app.state.runtime, now=datetime(2028, 2, 29, 9, 1, tzinfo=UTC))
            assert fired == {"workflows": 0, "crons": 2}

            [run] = await sdk.runs.list(tid)
            assert run["metadata"]["cron_id"] == on_thread["cron_id"]
            await sdk.runs.join(tid, run["run_id"])
            assert (await sdk.runs.get(tid, run["run_id"]))["status"] == "success"
            state = await sdk.threads.get_state(tid)
            assert state["values"]["report"].startswith("# Trend analysis")

            [new_thread] = await sdk.threads.search(metadata={"cron_id": stateless["cron_id"]})
            [stateless_run] = await sdk.runs.list(new_thread["thread_id"])
            assert stateless_run["metadata"] == {
                "team": "growth",
                "cron_id": stateless["cron_id"],
            }
            refreshed = await sdk.crons.search(thread_id=tid)
            assert _utc(refreshed[0]["next_run_date"]) == datetime(2032, 2, 29, 9, tzinfo=UTC)

            await sdk.crons.delete(on_thread["cron_id"])
            assert [c["cron_id"] for c in await sdk.crons.search()] == [stateless["cron_id"]]
            assert await _status(sdk.crons.delete(on_thread["cron_id"])) == 404
            later = await tick(app.state.runtime, now=datetime(2032, 3, 1, tzinfo=UTC))
            assert later == {"workflows": 0, "crons": 1}  # only the stateless one is left
            await sdk.runs.join(tid, run["run_id"])
            assert len(await sdk.runs.list(tid)) == 1


async def test_sdk_cron_requests_are_checked(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        key = await _api_key(client, "ada@example.com", "Acme")
        async with _sdk(app, key) as sdk:
            for kwargs, field in (
                ({"schedule": "every day"}, "body.schedule"),
                ({"schedule": LEAP_DAY, "timezone": "Atlantis/Capital"}, "body.timezone"),
                # Not under "input": the field missing is named.
                ({"schedule": LEAP_DAY, "input": {"days": 7}}, "body.input.input"),
                ({"schedule": LEAP_DAY, "on_run_completed": "delete"}, "body.on_run_completed"),
            ):
                with pytest.raises(httpx.HTTPStatusError) as err:
                    await sdk.crons.create("trend_analysis", **kwargs)
                assert err.value.response.status_code == 422, kwargs
                assert err.value.response.json()["error"]["fields"][0]["field"] == field
            assert await _status(sdk.crons.create("no_such_graph", schedule=LEAP_DAY)) == 404
            paged = await sdk.http.client.post("/runs/crons/search", json={"limit": "ten"})
            assert assert_error_shape(paged, 422)["fields"][0]["field"] == "body.limit"
            assert (
                await _status(
                    sdk.crons.create_for_thread("nope", "trend_analysis", schedule=LEAP_DAY)
                )
                == 404
            )
            disabled = await sdk.crons.create("trend_analysis", schedule=LEAP_DAY, enabled=False)
            assert disabled["next_run_date"] is None
            assert await tick(app.state.runtime, now=datetime(2030, 1, 1, tzinfo=UTC)) == {
                "workflows": 0,
                "crons": 0,
            }


async def test_sdk_cron_update_pauses_and_reschedules(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        key = await _api_key(client, "ada@example.com", "Acme")
        other_key = await _api_key(client, "ben@example.com", "Ben Tea")
        async with _sdk(app, key) as sdk, _sdk(app, other_key) as other:
            thread = await sdk.threads.create()
            cron = await sdk.crons.create_for_thread(
                thread["thread_id"],
                "trend_analysis",
                schedule=LEAP_DAY,
                input=TRENDS_INPUT,
                metadata={"team": "growth"},
            )
            cid = cron["cron_id"]
            assert await _status(other.crons.update(cid, enabled=False)) == 404

            paused = await sdk.crons.update(cid, enabled=False, metadata={"owner": "ada"})
            assert paused["enabled"] is False
            assert paused["next_run_date"] is None
            assert paused["metadata"] == {"team": "growth", "owner": "ada"}
            late = datetime(2030, 1, 1, tzinfo=UTC)
            assert (await tick(app.state.runtime, now=late))["crons"] == 0

            moved = await sdk.crons.update(
                cid, enabled=True, schedule="30 8 29 2 *", timezone="Europe/Paris"
            )
            # 08:30 in Paris (UTC+1 in February) is 07:30 UTC.
            assert _utc(moved["next_run_date"]) == datetime(2028, 2, 29, 7, 30, tzinfo=UTC)
            assert (moved["schedule"], moved["timezone"]) == ("30 8 29 2 *", "Europe/Paris")
            bad = await sdk.http.client.patch(f"/runs/crons/{cid}", json={"schedule": "0 0 0 0 0"})
            assert assert_error_shape(bad, 422)["fields"][0]["field"] == "body.schedule"
            refused_input = await sdk.http.client.patch(
                f"/runs/crons/{cid}", json={"input": {"days": 7}}
            )
            refused_field = assert_error_shape(refused_input, 422)["fields"][0]["field"]
            assert refused_field == "body.input.input"

            # Its thread deleted, the cron stops instead of failing at every fire.
            await sdk.threads.delete(thread["thread_id"])
            assert (await tick(app.state.runtime, now=late))["crons"] == 0
            [stopped] = await sdk.crons.search()
            assert (stopped["enabled"], stopped["next_run_date"]) == (False, None)


# --- the in-process ticker (embedded profile) -----------------------------------------------


class _RecordingQueue:
    def __init__(self) -> None:
        self.queued: list[tuple[str, str | None]] = []
        self.grew = asyncio.Event()

    async def enqueue(self, name: str, /, *, job_id: str | None = None, **kwargs: Any) -> str:
        self.queued.append((name, job_id))
        self.grew.set()
        return job_id or name

    async def close(self) -> None:
        pass


class _FakeTime:
    """A clock the ticker sleeps on: each sleep moves it forward at once."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


async def test_in_process_ticker_queues_crons_on_arq_s_schedule() -> None:
    from chorus.cron_ticker import CronTicker

    queue = _RecordingQueue()
    time = _FakeTime(datetime(2026, 1, 1, 10, 0, 0, 500_000, tzinfo=UTC))
    # Every second; "timeout" is for arq's worker and must not be read as a time field.
    ticker = CronTicker(
        queue,
        {"often": {"second": set(range(60)), "timeout": 5}},
        clock=time.clock,
        sleep=time.sleep,
    )
    ticker.start()
    try:
        while len(queue.queued) < 3:
            queue.grew.clear()
            await asyncio.wait_for(queue.grew.wait(), 5)
    finally:
        await ticker.stop()
    assert [name for name, _ in queue.queued[:3]] == ["often"] * 3
    fired = [int(job_id.rsplit(":", 1)[1]) for _, job_id in queue.queued[:3]]
    start = int(datetime(2026, 1, 1, 10, 0, 1, tzinfo=UTC).timestamp())
    assert fired == [start, start + 1, start + 2]  # one job id per fire time, one per slot
    stopped = len(queue.queued)
    await time.sleep(5)
    assert len(queue.queued) == stopped

    # arq takes the same entry for `chorus worker`: every minute, with a long timeout.
    from arq import cron

    from chorus.jobs import CRONS, JOBS

    arq_job = cron(JOBS["schedule_tick"], name="cron:schedule_tick", **CRONS["schedule_tick"])
    assert arq_job.timeout_s == 3600
    minutely = CronTicker(queue, {"tick": CRONS["schedule_tick"]})
    assert minutely.next_fire("tick", datetime(2026, 1, 1, 10, 0, 30, tzinfo=UTC)).replace(
        microsecond=0
    ) == datetime(2026, 1, 1, 10, 1, tzinfo=UTC)


async def test_the_app_ticks_schedules_itself_when_jobs_run_in_process(tmp_path: Path) -> None:
    from chorus.jobs import CRONS

    assert CRONS["schedule_tick"]["second"] == 0  # every minute

    def ticking() -> bool:
        return "cron-ticker" in {t.get_name() for t in asyncio.all_tasks() if not t.done()}

    async with api_client(make_settings(tmp_path / "data")):
        assert ticking()
    assert not ticking()
    # With Redis, `chorus worker` runs the crons: the API server must not fire them as well.
    async with api_client(make_settings(tmp_path / "prod", redis_url=TEST_REDIS_URL)):
        assert not ticking()


async def test_an_overdue_workflow_fires_through_the_in_process_queue(tmp_path: Path) -> None:
    """In-process job queue -> schedule_tick job -> tick -> execution."""
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        auth = bearer((await register(client))["accessToken"])
        saved = (await client.post("/api/ai/workflows", json=_scheduled(), headers=auth)).json()
        runtime = app.state.runtime
        # As if the service had been down when it was due.
        overdue = datetime(2020, 2, 29, 9, tzinfo=UTC)
        await runtime.db[Workflow.collection].update_one(
            {"_id": ObjectId(saved["id"])}, {"$set": {"execution.nextRun": overdue}}
        )
        # The job the app's ticker queues each minute, queued now on the same queue.
        queue = runtime.jobs
        assert isinstance(queue, InProcessJobQueue)
        await queue.enqueue("schedule_tick", job_id="tick-1")
        assert await asyncio.wait_for(queue.result("tick-1"), 60) == {"workflows": 1, "crons": 0}
        await queue.enqueue("schedule_tick", job_id="tick-2")  # nothing is due any more
        assert await asyncio.wait_for(queue.result("tick-2"), 60) == {"workflows": 0, "crons": 0}
        path = f"/api/ai/workflows/{saved['id']}"
        items = (await client.get(f"{path}/history", headers=auth)).json()["items"]
        assert [(r["trigger"], r["status"]) for r in items] == [("schedule", "completed")]
        workflow = (await client.get(path, headers=auth)).json()
        assert _utc(workflow["execution"]["nextRun"]) == FIRST_FIRE
