"""What each domain event means to people: its category, who is told by default, how it reads.

One entry per category. The words are built from the event's data with defaults, so an event
a service emits with little data still reads as a sentence; never from anything secret (the
services put no secrets in events).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from persistence.models.notifications import Channel
from persistence.models.organizations import Role
from services import events as ev

Severity = Literal["info", "warning", "error", "success"]
Priority = Literal["low", "normal", "high", "urgent"]


@dataclass(frozen=True)
class Category:
    name: str
    label: str  # for the settings page and grouped email subjects
    severity: Severity
    priority: Priority
    default: Channel
    # Who is told when the event concerns the whole organization (no ``userId``).
    roles: frozenset[Role]
    title: Callable[[dict[str, Any]], str]
    message: Callable[[dict[str, Any]], str]
    # Urgent categories are emailed even in quiet hours.
    urgent: bool = False


def _s(data: dict[str, Any], key: str, default: str) -> str:
    value = data.get(key)
    return str(value) if value not in (None, "") else default


def _targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    # Publishing reports each network's outcome as a target (platform, status, url, error).
    targets = data.get("targets")
    return [t for t in targets if isinstance(t, dict)] if isinstance(targets, list) else []


def _platforms(data: dict[str, Any]) -> str:
    platforms = data.get("platforms") or ([data["platform"]] if data.get("platform") else [])
    if not platforms:
        platforms = [t["platform"] for t in _targets(data) if t.get("platform")]
    return ", ".join(str(p) for p in platforms) if platforms else "its networks"


def _url(data: dict[str, Any]) -> str | None:
    urls = [data.get("url")] + [t.get("url") for t in _targets(data)]
    return next((str(u) for u in urls if u), None)


def _reason(data: dict[str, Any]) -> str:
    if data.get("reason") or data.get("error"):
        return str(data.get("reason") or data.get("error"))
    errors = [f"{t.get('platform')}: {t['error']}" for t in _targets(data) if t.get("error")]
    return "; ".join(errors) or "the network refused it"


def _reconnect_target(data: dict[str, Any]) -> dict[str, Any] | None:
    return next(
        (t for t in _targets(data) if str(t.get("error") or "").startswith("reconnect your")),
        None,
    )


def _reconnect_message(data: dict[str, Any]) -> str:
    name = f" {data['accountName']}" if data.get("accountName") else ""
    known = data.get("reason") or data.get("error") or _targets(data)
    why = _reason(data) if known else "its access was revoked or expired"
    platform = _reconnect_platform(data)
    return f"Posts cannot go out until the {platform} account{name} is reconnected: {why}."


def _reconnect_platform(data: dict[str, Any]) -> str:
    target = _reconnect_target(data) or {}
    return _s(data, "platform", str(target.get("platform") or "social"))


def _excerpt(data: dict[str, Any]) -> str:
    text = _s(data, "text", _s(data, "title", ""))
    if not text:
        return ""
    return f" \u201c{text[:80]}\u2026\u201d" if len(text) > 80 else f" \u201c{text}\u201d"


WRITERS: frozenset[Role] = frozenset({"admin", "manager", "user"})
EVERYONE: frozenset[Role] = frozenset({"admin", "manager", "user", "viewer"})

CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category(
            "approval_waiting",
            "Approvals waiting",
            "info",
            "high",
            "email",
            frozenset({"admin", "manager"}),
            lambda d: "A post is waiting for your approval",
            lambda d: (
                f"A post{_excerpt(d)} for {_platforms(d)} needs a review before it can "
                "be scheduled."
            ),
        ),
        Category(
            "post_published",
            "Posts published",
            "success",
            "normal",
            "in_app",
            WRITERS,
            lambda d: f"Post published on {_platforms(d)}",
            lambda d: f"The post{_excerpt(d)} is live" + (f": {_url(d)}" if _url(d) else "."),
        ),
        Category(
            "post_failed",
            "Posts that failed",
            "error",
            "high",
            "email",
            WRITERS,
            lambda d: f"A post could not be published on {_platforms(d)}",
            lambda d: f"The post{_excerpt(d)} failed: {_reason(d)}.",
        ),
        Category(
            "account_reconnect",
            "Accounts to reconnect",
            "warning",
            "high",
            "email",
            frozenset({"admin", "manager"}),
            lambda d: f"Reconnect your {_reconnect_platform(d)} account",
            _reconnect_message,
        ),
        Category(
            "crisis_detected",
            "Crises detected",
            "error",
            "urgent",
            "email",
            EVERYONE,
            lambda d: f"Possible crisis: {_s(d, 'topic', 'negative mentions rising')}",
            lambda d: _s(
                d,
                "summary",
                f"Severity {_s(d, 'severity', 'high')}: mentions turned negative quickly. "
                "Review the crisis response plan.",
            ),
            urgent=True,
        ),
        Category(
            "report_ready",
            "Reports ready",
            "info",
            "low",
            "in_app",
            EVERYONE,
            lambda d: f"Report ready: {_s(d, 'name', 'performance report')}",
            lambda d: f"The report {_s(d, 'name', '')} is ready to read.".replace("  ", " "),
        ),
        Category(
            "payment_failed",
            "Payments that failed",
            "error",
            "urgent",
            "email",
            frozenset({"admin"}),
            lambda d: "A payment failed",
            lambda d: _s(
                d, "message", "A payment failed: update the payment method to keep the plan."
            ),
        ),
    )
}

EVENT_CATEGORIES: dict[str, str] = {
    ev.POST_APPROVAL_REQUESTED: "approval_waiting",
    ev.POST_PUBLISHED: "post_published",
    ev.POST_FAILED: "post_failed",
    ev.ACCOUNT_NEEDS_RECONNECT: "account_reconnect",
    ev.CRISIS_DETECTED: "crisis_detected",
    ev.REPORT_READY: "report_ready",
    ev.PAYMENT_FAILED: "payment_failed",
}


def category_of(event_type: str, data: dict[str, Any]) -> Category | None:
    """The category an event is told as, or None (not a notification). A post that failed
    because its account must be reconnected is told as a reconnect, which says what to do."""
    name = EVENT_CATEGORIES.get(event_type)
    if name == "post_failed" and (data.get("reconnect") or _reconnect_target(data)):
        name = "account_reconnect"
    return CATEGORIES[name] if name else None
