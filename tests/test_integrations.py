"""Outgoing integrations: signed deliveries a receiver verifies, retries with backoff for a
day with every attempt logged, SSRF refusals, Slack messages, and the API's rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from api_support import api_client, assert_error_shape, bearer, register
from bson import ObjectId
from support import make_settings
from team_support import ROOMY_LIMITS, headers_of, member
from webhook_receiver import receiver

from chorus.app import create_app
from persistence.ids import utcnow
from persistence.models import Integration, WebhookDelivery
from persistence.repository import TenantRepository
from services import events as ev
from services.integrations.delivery import RETRY_FOR, backoff


def _app(tmp_path: Path, **settings: object):
    app = create_app(make_settings(tmp_path / "data", **settings))
    app.state.rate_limits.update(ROOMY_LIMITS)
    return app


async def test_a_connected_webhook_receives_signed_events_and_logs_them(tmp_path: Path) -> None:
    app = _app(tmp_path, webhooks_allow_private=True)
    async with api_client(make_settings(tmp_path), app) as (_, client), receiver() as hook:
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        org = ObjectId(ada["user"]["organizationId"])
        made = await client.post(
            "/api/integrations/webhook/connect",
            json={"url": hook.url, "eventTypes": [ev.POST_PUBLISHED, ev.POST_FAILED]},
            headers=auth,
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        assert secret.startswith("whsec_")
        hook.secret = secret
        iid = made.json()["id"]
        listed = (await client.get("/api/integrations", headers=auth)).json()
        assert [i["id"] for i in listed] == [iid]
        assert "secret" not in listed[0]
        stored = await TenantRepository(app.state.runtime.db, Integration).get(org, ObjectId(iid))
        assert secret not in str(stored.model_dump())  # encrypted at rest

        runtime = app.state.runtime
        published = await runtime.events.emit(org, ev.POST_PUBLISHED, {"url": "https://x/1"})
        await runtime.events.emit(org, ev.REPORT_READY, {})  # not subscribed
        await runtime.webhooks.drain()
        assert len(hook.received) == 1
        got = hook.received[0]
        assert got.signed is True
        assert got.json["id"] == str(published.id)
        assert got.json["type"] == ev.POST_PUBLISHED
        assert got.json["data"] == {"url": "https://x/1"}
        assert got.headers["X-Chorus-Event"] == ev.POST_PUBLISHED

        tested = await client.post(f"/api/integrations/{iid}/test", headers=auth)
        assert tested.status_code == 200, tested.text
        assert tested.json()["ok"] is True
        assert tested.json()["statusCode"] == 200
        assert hook.received[-1].json["type"] == "integration.test"
        assert hook.received[-1].signed is True

        logs = (await client.get(f"/api/integrations/{iid}/logs", headers=auth)).json()
        assert [(e["eventType"], e["ok"]) for e in logs["items"]] == [
            ("integration.test", True),
            (ev.POST_PUBLISHED, True),
        ]
        # A wrong secret is what the receiver's check catches.
        hook.secret = "whsec_not_it"
        await client.post(f"/api/integrations/{iid}/test", headers=auth)
        assert hook.received[-1].signed is False

        gone = await client.delete(f"/api/integrations/{iid}", headers=auth)
        assert gone.status_code == 204
        assert (await client.get("/api/integrations", headers=auth)).json() == []


async def test_failed_deliveries_back_off_for_a_day_and_every_attempt_is_logged(
    tmp_path: Path,
) -> None:
    app = _app(tmp_path, webhooks_allow_private=True)
    async with api_client(make_settings(tmp_path), app) as (_, client), receiver() as hook:
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        org = ObjectId(ada["user"]["organizationId"])
        made = await client.post(
            "/api/integrations/webhook/connect",
            json={"url": hook.url, "eventTypes": ["*"]},
            headers=auth,
        )
        hook.secret = made.json()["secret"]
        iid = made.json()["id"]
        runtime = app.state.runtime
        deliveries = TenantRepository(runtime.db, WebhookDelivery)

        hook.statuses = [500, 503]  # then 200
        await runtime.events.emit(org, ev.POST_FAILED, {})
        await runtime.webhooks.drain()
        [owed] = await deliveries.find(org)
        assert (owed.status, owed.attempts) == ("pending", 1)
        first_retry = owed.next_attempt_at
        assert timedelta(seconds=29) < first_retry - utcnow() <= backoff(1)
        # Not due yet: nothing is attempted.
        assert await runtime.webhooks.deliver_due(utcnow()) == 0
        assert await runtime.webhooks.deliver_due(first_retry) == 1
        [owed] = await deliveries.find(org)
        assert (owed.status, owed.attempts) == ("pending", 2)
        assert owed.next_attempt_at == first_retry + backoff(2)
        assert await runtime.webhooks.deliver_due(owed.next_attempt_at) == 1
        [owed] = await deliveries.find(org)
        assert (owed.status, owed.attempts) == ("delivered", 3)
        assert [r.signed for r in hook.received] == [True, True, True]
        assert len({r.json["id"] for r in hook.received}) == 1  # the same event each time

        # A receiver that never recovers: attempts until a day has passed, then given up.
        hook.statuses = [500] * 100
        await runtime.events.emit(org, ev.CRISIS_DETECTED, {})
        await runtime.webhooks.drain()
        [failing] = await deliveries.find(org, {"eventType": ev.CRISIS_DETECTED})
        while failing.status == "pending":
            assert await runtime.webhooks.deliver_due(failing.next_attempt_at) == 1
            [failing] = await deliveries.find(org, {"eventType": ev.CRISIS_DETECTED})
        assert failing.status == "failed"
        assert failing.next_attempt_at > failing.give_up_at
        # A day from when the delivery was owed (the two clocks are read a moment apart).
        assert abs(failing.give_up_at - failing.created_at - RETRY_FOR) < timedelta(seconds=1)
        assert failing.attempts == 12  # 30 s doubling: the 13th would be past a day
        logs = (await client.get(f"/api/integrations/{iid}/logs?limit=200", headers=auth)).json()
        crisis = [e for e in logs["items"] if e["eventType"] == ev.CRISIS_DETECTED]
        assert len(crisis) == 12
        assert all(not e["ok"] and e["statusCode"] == 500 for e in crisis)
        assert crisis[0]["nextAttemptAt"] is None  # the last: no more
        assert crisis[1]["nextAttemptAt"] is not None


async def test_private_and_loopback_destinations_are_refused_unless_allowed(
    tmp_path: Path,
) -> None:
    app = _app(tmp_path)
    async with api_client(make_settings(tmp_path), app) as (_, client), receiver() as hook:
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        for url in (
            hook.url,
            "http://localhost:9/hook",
            "http://10.1.2.3/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/x",
            "http://[::ffff:127.0.0.1]/x",
            "ftp://example.com/x",
            "http://user:pw@example.com/x",
        ):
            refused = await client.post(
                "/api/integrations/webhook/connect",
                json={"url": url, "eventTypes": ["*"]},
                headers=auth,
            )
            error = assert_error_shape(refused, 422)
            assert [f["field"] for f in error["fields"]] == ["body.url"], (url, error)
        assert (await client.get("/api/integrations", headers=auth)).json() == []
        assert hook.received == []
        # One saved while allowed is still refused at delivery once not allowed.
        org = ObjectId(ada["user"]["organizationId"])
        runtime = app.state.runtime
        runtime.webhooks._allow_private = True
        made = await client.post(
            "/api/integrations/webhook/connect",
            json={"url": hook.url, "eventTypes": ["*"]},
            headers=auth,
        )
        runtime.webhooks._allow_private = False
        tested = await client.post(f"/api/integrations/{made.json()['id']}/test", headers=auth)
        assert tested.json()["ok"] is False
        assert "private" in tested.json()["error"]
        await runtime.events.emit(org, ev.POST_FAILED, {})
        await runtime.webhooks.drain()
        assert hook.received == []


async def test_a_slack_integration_posts_readable_messages(tmp_path: Path) -> None:
    app = _app(tmp_path, webhooks_allow_private=True)
    async with api_client(make_settings(tmp_path), app) as (_, client), receiver() as hook:
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        org = ObjectId(ada["user"]["organizationId"])
        made = await client.post(
            "/api/integrations/slack/connect",
            json={"url": hook.url + "?token=slack-secret-part", "eventTypes": [ev.POST_FAILED]},
            headers=auth,
        )
        assert made.status_code == 201, made.text
        assert made.json()["secret"] is None
        assert "slack-secret-part" not in made.json()["url"]
        await app.state.runtime.events.emit(org, ev.POST_FAILED, {"platform": "x", "reason": "429"})
        await app.state.runtime.webhooks.drain()
        assert hook.received[0].json == {
            "text": "*A post could not be published on x*\nThe post failed: 429."
        }


async def test_integrations_are_per_organization_and_admin_only_with_clear_errors(
    tmp_path: Path,
) -> None:
    app = _app(tmp_path, webhooks_allow_private=True)
    async with api_client(make_settings(tmp_path), app) as (_, client), receiver() as hook:
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        bob = bearer((await register(client, email="bob@example.com", org="Globex"))["accessToken"])
        made = await client.post(
            "/api/integrations/webhook/connect",
            json={"url": hook.url, "eventTypes": ["*"]},
            headers=auth,
        )
        iid = made.json()["id"]
        assert (await client.get("/api/integrations", headers=bob)).json() == []
        for method, path in (
            ("DELETE", f"/api/integrations/{iid}"),
            ("POST", f"/api/integrations/{iid}/test"),
            ("GET", f"/api/integrations/{iid}/logs"),
        ):
            assert_error_shape(await client.request(method, path, headers=bob), 404)
        writer = headers_of(
            await member(app, client, ada["user"]["organizationId"], "u@example.com", "user")
        )
        assert (await client.get("/api/integrations", headers=writer)).status_code == 200
        for method, path, body in (
            ("POST", "/api/integrations/webhook/connect", {"url": hook.url, "eventTypes": ["*"]}),
            ("DELETE", f"/api/integrations/{iid}", None),
            ("POST", f"/api/integrations/{iid}/test", None),
        ):
            assert_error_shape(await client.request(method, path, json=body, headers=writer), 403)
        for body, field in (
            ({"url": hook.url, "eventTypes": ["post.nope"]}, "eventTypes"),
            ({"url": hook.url, "eventTypes": []}, "eventTypes"),
            ({"url": "not a url at all", "eventTypes": ["*"]}, "url"),
            ({"url": hook.url, "eventTypes": ["*"], "extra": True}, "extra"),
        ):
            bad = await client.post("/api/integrations/webhook/connect", json=body, headers=auth)
            error = assert_error_shape(bad, 422)
            assert any(field in f["field"] for f in error["fields"]), error
        bad_type = await client.post(
            "/api/integrations/teams/connect",
            json={"url": hook.url, "eventTypes": ["*"]},
            headers=auth,
        )
        assert_error_shape(bad_type, 422)
        assert len((await client.get("/api/integrations", headers=auth)).json()) == 1
