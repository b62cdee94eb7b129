"""What a live connection is told: the topics events belong to, who may see each message,
and the replay of what a reconnecting client missed.

Two kinds of message reach an organization's channel (``services.events.org_channel``):
domain events (``EventBus``) and notifications (``Notifier``), the latter for one person. A
socket subscribes to topics; ``topic_of`` says which topic a message is, ``visible_to``
whether this person may see it. Every message carries a cursor (its id; ids grow with time),
and ``replay`` returns what came after a cursor from the outbox and the inbox.
"""

from __future__ import annotations

import functools
from typing import Any

from bson import ObjectId

from persistence.models import DomainEvent, Notification
from persistence.repository import TenantRepository

TOPICS = ("notifications", "post-status", "analytics", "ai-tasks", "events")
NOTIFICATION = "notification.created"
REPLAY_LIMIT = 500

# Event types by prefix; everything an organization emits is also on "events".
_PREFIXES = {
    "post.": "post-status",
    "account.": "post-status",
    "analytics.": "analytics",
    "report.": "analytics",
    "metrics.": "analytics",
    "ai_task.": "ai-tasks",
    "run.": "ai-tasks",
}


def topics_of(message: dict[str, Any]) -> set[str]:
    """The topics a channel message belongs to."""
    kind = str(message.get("type", ""))
    if kind == NOTIFICATION:
        return {"notifications"}
    found = {"events"}
    for prefix, topic in _PREFIXES.items():
        if kind.startswith(prefix):
            found.add(topic)
    return found


@functools.lru_cache(maxsize=256)
def topic_order(kind: str) -> tuple[str, ...]:
    """The topics a message of type ``kind`` belongs to, the one a socket is told first: a
    specific topic before "events" (a socket on both hears it as the specific one). By type,
    so fan-out works it out once per type, not once per socket."""
    return tuple(sorted(topics_of({"type": kind}), key=lambda t: (t == "events", t)))


def frame(topic: str, cursor: str, body: str) -> str:
    """What a socket is sent for a message: ``body`` is the message's JSON text."""
    return f'{{"topic":"{topic}","cursor":"{cursor}","message":{body}}}'


def visible_to(message: dict[str, Any], user_id: ObjectId) -> bool:
    """A personal message (a notification, an event naming a person) is for that person."""
    owner = message.get("userId")
    return owner is None or owner == str(user_id)


def notification_message(wire: dict[str, Any]) -> dict[str, Any]:
    """The channel message announcing a notification (``wire``: its JSON form)."""
    return {"type": NOTIFICATION, "id": wire["id"], "userId": wire["userId"], "data": wire}


def _event_wire(event: DomainEvent) -> dict[str, Any]:
    out = event.model_dump(mode="json", by_alias=True, exclude_none=True)
    out["id"] = out.pop("_id")
    return out


def _notification_wire(n: Notification) -> dict[str, Any]:
    out = n.model_dump(mode="json", by_alias=True, exclude_none=True)
    out["id"] = out.pop("_id")
    return notification_message(out)


async def replay(
    db: Any,
    org_id: ObjectId,
    user_id: ObjectId,
    after: ObjectId,
    topics: set[str],
    limit: int = REPLAY_LIMIT,
) -> list[dict[str, Any]]:
    """The messages of ``topics`` after cursor ``after`` that this person may see, oldest
    first (at most ``limit``: a client further behind should reload)."""
    out: list[dict[str, Any]] = []
    if topics - {"notifications"}:
        events = await TenantRepository(db, DomainEvent).find(
            org_id,
            {"_id": {"$gt": after}, "$or": [{"userId": None}, {"userId": user_id}]},
            sort=[("_id", 1)],
            limit=limit,
        )
        out += [w for w in map(_event_wire, events) if topics_of(w) & topics]
    if "notifications" in topics:
        notes = await TenantRepository(db, Notification).find(
            org_id, {"_id": {"$gt": after}, "userId": user_id}, sort=[("_id", 1)], limit=limit
        )
        out += [_notification_wire(n) for n in notes]
    out.sort(key=lambda m: m["id"])
    return out[:limit]
