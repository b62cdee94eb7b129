"""Notifications: each domain event reaches the right people by the channel they chose, once;
bursts become one email with a text and an HTML part; quiet hours hold emails in the
person's own timezone; nobody of another organization hears anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bson import ObjectId
from notify_support import outbox_messages, team

from chorus.runtime import Runtime
from persistence.models import DomainEvent, Notification
from persistence.models.notifications import NotificationEmail, QuietHours
from persistence.repository import TenantRepository
from services import events as ev
from services.notifications import emails, preferences
from services.notifications.emails import GROUP_WINDOW


async def _inbox(runtime: Runtime, org: ObjectId, user_id: ObjectId) -> list[Notification]:
    return await TenantRepository(runtime.db, Notification).find(
        org, {"userId": user_id}, sort=[("_id", 1)]
    )


async def _categories(runtime: Runtime, org: ObjectId, user_id: ObjectId) -> list[str]:
    return [n.category for n in await _inbox(runtime, org, user_id)]


async def _queued(runtime: Runtime, org: ObjectId) -> list[NotificationEmail]:
    return await TenantRepository(runtime.db, NotificationEmail).find(org)


async def test_each_event_type_reaches_the_roles_it_is_for(runtime: Runtime) -> None:
    org, people = await team(runtime.db, "acme")
    other_org, others = await team(runtime.db, "globex")
    for event_type, data in (
        (ev.POST_APPROVAL_REQUESTED, {"text": "Cold brew is back", "platforms": ["x"]}),
        (ev.POST_PUBLISHED, {"platform": "linkedin", "url": "https://linkedin.example/p/1"}),
        (ev.POST_FAILED, {"platform": "x", "reason": "rate limited"}),
        (ev.POST_FAILED, {"platform": "instagram", "reconnect": True, "reason": "token revoked"}),
        (ev.ACCOUNT_NEEDS_RECONNECT, {"platform": "facebook", "accountName": "Acme"}),
        (ev.CRISIS_DETECTED, {"topic": "recall rumours", "severity": "high"}),
        (ev.REPORT_READY, {"name": "November performance"}),
        (ev.PAYMENT_FAILED, {"message": "Your card was declined."}),
        (ev.POST_APPROVED, {}),  # not a notification
    ):
        await runtime.events.emit(org, event_type, data)

    assert await _categories(runtime, org, people["admin"].id) == [
        "approval_waiting",
        "post_published",
        "post_failed",
        "account_reconnect",
        "account_reconnect",
        "crisis_detected",
        "report_ready",
        "payment_failed",
    ]
    assert await _categories(runtime, org, people["manager"].id) == [
        "approval_waiting",
        "post_published",
        "post_failed",
        "account_reconnect",
        "account_reconnect",
        "crisis_detected",
        "report_ready",
    ]
    assert await _categories(runtime, org, people["user"].id) == [
        "post_published",
        "post_failed",
        "crisis_detected",
        "report_ready",
    ]
    assert await _categories(runtime, org, people["viewer"].id) == [
        "crisis_detected",
        "report_ready",
    ]
    for user in others.values():
        assert await _inbox(runtime, other_org, user.id) == []

    admin_inbox = await _inbox(runtime, org, people["admin"].id)
    failed = admin_inbox[2]
    assert failed.type == "error"
    assert failed.title == "A post could not be published on x"
    assert "rate limited" in failed.message
    assert admin_inbox[3].title == "Reconnect your instagram account"
    assert admin_inbox[7].message == "Your card was declined."
    # By default: published and report-ready only in the app; the rest also by email.
    queued = {(q.to, q.category) for q in await _queued(runtime, org)}
    assert ("admin@acme.example", "post_published") not in queued
    assert ("admin@acme.example", "report_ready") not in queued
    assert ("admin@acme.example", "payment_failed") in queued
    assert ("viewer@acme.example", "crisis_detected") in queued
    # One email per person and event: admin 6, manager 5, user 2, viewer 1.
    ids = [q.notification_id for q in await _queued(runtime, org)]
    assert len(ids) == len(set(ids)) == 14


async def test_a_personal_event_tells_only_that_person_and_not_the_actor(
    runtime: Runtime,
) -> None:
    org, people = await team(runtime.db, "acme")
    await runtime.events.emit(
        org, ev.POST_APPROVAL_REQUESTED, {"text": "Hi"}, user_id=people["manager"].id
    )
    assert await _categories(runtime, org, people["manager"].id) == ["approval_waiting"]
    assert await _categories(runtime, org, people["admin"].id) == []
    # An organization-wide event is not told to the person who caused it.
    await runtime.events.emit(
        org, ev.POST_APPROVAL_REQUESTED, {"text": "Mine"}, actor=("user", str(people["admin"].id))
    )
    assert await _categories(runtime, org, people["admin"].id) == []
    assert await _categories(runtime, org, people["manager"].id) == ["approval_waiting"] * 2


async def test_settings_choose_the_channel_per_category(runtime: Runtime) -> None:
    org, people = await team(runtime.db, "acme")
    admin = people["admin"].id
    await preferences.update(
        runtime.db, org, admin, channels={"post_failed": "off", "post_published": "email"}
    )
    await runtime.events.emit(org, ev.POST_FAILED, {"platform": "x"})
    await runtime.events.emit(org, ev.POST_PUBLISHED, {"platform": "x"})
    assert await _categories(runtime, org, admin) == ["post_published"]
    assert [q.category for q in await _queued(runtime, org) if q.user_id == admin] == [
        "post_published"
    ]
    # The manager kept the defaults: told of both, emailed only of the failure.
    manager = people["manager"].id
    assert await _categories(runtime, org, manager) == ["post_failed", "post_published"]
    assert [q.category for q in await _queued(runtime, org) if q.user_id == manager] == [
        "post_failed"
    ]


async def test_an_event_handled_twice_notifies_once(runtime: Runtime) -> None:
    org, people = await team(runtime.db, "acme")
    event = await runtime.events.emit(org, ev.PAYMENT_FAILED, {"message": "declined"})
    from services.notifications.notifier import Notifier

    again = await Notifier(runtime.db, runtime.pubsub).handle(event)
    assert len(again) == 1
    assert len(await _inbox(runtime, org, people["admin"].id)) == 1
    assert len(await _queued(runtime, org)) == 1


async def test_a_burst_of_similar_events_is_one_email_with_text_and_html(
    runtime: Runtime, settings
) -> None:
    org, people = await team(runtime.db, "acme")
    for n in range(3):
        await runtime.events.emit(org, ev.POST_FAILED, {"platform": "x", "reason": f"error {n}"})
    await runtime.events.emit(org, ev.CRISIS_DETECTED, {"topic": "recall <rumours>"})
    now = datetime.now(UTC)
    assert await emails.send_due(runtime.db, runtime.mailer, "https://app.example", now) == 0
    later = now + GROUP_WINDOW + timedelta(seconds=1)
    sent = await emails.send_due(runtime.db, runtime.mailer, "https://app.example", later)
    # admin, manager, user: one failures digest each; all four: one crisis email each.
    assert sent == 3 + 4
    messages = outbox_messages(settings.data_dir)
    admin_mail = [m for m in messages if m["To"] == "admin@acme.example"]
    subjects = sorted(str(m["Subject"]) for m in admin_mail)
    assert subjects == ["Possible crisis: recall <rumours>", "Posts that failed: 3 new"]
    digest = next(m for m in admin_mail if "3 new" in str(m["Subject"]))
    text = digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    for n in range(3):
        assert f"error {n}" in text
        assert f"error {n}" in html
    crisis = next(m for m in admin_mail if "crisis" in str(m["Subject"]))
    assert "recall &lt;rumours&gt;" in crisis.get_body(("html",)).get_content()
    # Sent once: nothing is due any more, and the inbox records the email.
    assert await emails.send_due(runtime.db, runtime.mailer, "https://x", later) == 0
    assert all(n.channels.email.sent for n in await _inbox(runtime, org, people["viewer"].id))


async def test_quiet_hours_hold_emails_until_they_end_in_the_persons_timezone(
    runtime: Runtime, settings
) -> None:
    org, people = await team(runtime.db, "acme", timezone="America/New_York")
    admin = people["admin"].id
    await preferences.update(
        runtime.db, org, admin, quiet_hours=QuietHours(enabled=True, start="22:00", end="07:00")
    )
    from services.notifications.notifier import Notifier

    notifier = Notifier(runtime.db, runtime.pubsub)
    night = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # 23:00 in New York (EST, UTC-5)
    # Handed to the notifier as the bus would, with the clock at night.
    failed = DomainEvent(organization_id=org, type=ev.POST_FAILED, data={"platform": "x"})
    crisis = DomainEvent(organization_id=org, type=ev.CRISIS_DETECTED, data={"topic": "t"})
    await notifier.handle(failed, now=night)
    await notifier.handle(crisis, now=night)
    queued = {q.category: q.due_at for q in await _queued(runtime, org) if q.user_id == admin}
    # The failure waits for 07:00 New York time (12:00 UTC); a crisis does not wait.
    assert queued["post_failed"] == datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert queued["crisis_detected"] == night + GROUP_WINDOW
    # The manager has no quiet hours: their failure email goes after the window.
    assert await emails.send_due(
        runtime.db, runtime.mailer, "https://x", night + timedelta(hours=1)
    )
    to_admin = [m for m in outbox_messages(settings.data_dir) if m["To"] == "admin@acme.example"]
    assert [str(m["Subject"]) for m in to_admin] == ["Possible crisis: t"]
    await emails.send_due(
        runtime.db, runtime.mailer, "https://x", datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    )
    to_admin = [m for m in outbox_messages(settings.data_dir) if m["To"] == "admin@acme.example"]
    assert len(to_admin) == 2


def test_quiet_hours_windows_span_midnight_and_follow_daylight_saving() -> None:
    quiet = QuietHours(enabled=True, start="22:00", end="07:00")
    paris = "Europe/Paris"
    # 21:30 in Paris (CEST, UTC+2) in summer: not quiet.
    assert preferences.quiet_until(quiet, paris, datetime(2026, 7, 1, 19, 30, tzinfo=UTC)) is None
    # 02:00 in Paris in summer: quiet until 07:00 CEST = 05:00 UTC.
    assert preferences.quiet_until(
        quiet, paris, datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    ) == datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    # In winter (CET, UTC+1) the same hours end at 06:00 UTC.
    assert preferences.quiet_until(
        quiet, paris, datetime(2026, 1, 10, 23, 0, tzinfo=UTC)
    ) == datetime(2026, 1, 11, 6, 0, tzinfo=UTC)
    daytime = QuietHours(enabled=True, start="12:00", end="13:00")
    assert preferences.quiet_until(daytime, "UTC", datetime(2026, 1, 1, 12, 30, tzinfo=UTC))
    assert preferences.quiet_until(daytime, "UTC", datetime(2026, 1, 1, 13, 0, tzinfo=UTC)) is None
    assert (
        preferences.quiet_until(QuietHours(), "UTC", datetime(2026, 1, 1, 23, tzinfo=UTC)) is None
    )


async def test_a_refused_email_is_retried_later(runtime: Runtime, tmp_path: Path) -> None:
    from persistence.mailer import OutboxMailer

    org, _ = await team(runtime.db, "acme")
    await runtime.events.emit(org, ev.PAYMENT_FAILED, {"message": "declined"})
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the outbox directory should be")
    later = datetime.now(UTC) + GROUP_WINDOW + timedelta(seconds=1)
    assert (
        await emails.send_due(runtime.db, OutboxMailer(blocked, "c@x.example"), "https://x", later)
        == 0
    )
    [item] = await _queued(runtime, org)
    assert item.status == "pending"
    assert item.attempts == 1
    assert item.error
    assert item.due_at > later
    assert await emails.send_due(runtime.db, runtime.mailer, "https://x", item.due_at) == 1


async def test_publishing_outcomes_read_as_sentences_and_a_revoked_account_asks_to_reconnect(
    runtime: Runtime,
) -> None:
    org, people = await team(runtime.db, "acme")
    author = people["user"].id
    published = {
        "postId": "p1",
        "status": "published",
        "targets": [
            {"platform": "x", "status": "published", "url": "https://x.example/s/1"},
            {"platform": "linkedin", "status": "published", "url": None},
        ],
    }
    revoked = {
        "postId": "p2",
        "status": "failed",
        "targets": [
            {
                "platform": "instagram",
                "status": "failed",
                "error": "reconnect your instagram account: the token was revoked",
            }
        ],
    }
    await runtime.events.emit(org, ev.POST_PUBLISHED, published, user_id=author)
    await runtime.events.emit(org, ev.POST_FAILED, revoked, user_id=author)
    live, reconnect = await _inbox(runtime, org, author)
    assert live.title == "Post published on x, linkedin"
    assert live.message == "The post is live: https://x.example/s/1"
    assert reconnect.category == "account_reconnect"
    assert reconnect.title == "Reconnect your instagram account"
    assert "the token was revoked" in reconnect.message
    assert await _inbox(runtime, org, people["admin"].id) == []  # the author's own post
