"""Each network's webhook body read into activities: what happened to which of its accounts.

Only the fields listening and metrics use are kept (who, what, when, the text); the raw
item goes along for what a later reader may want. Bodies are verified before they get here.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class UnreadableBody(ValueError):
    """The body is not what the network sends."""


@dataclass(frozen=True)
class Activity:
    account_id: str  # the network's id of our connected account (page, user, channel...)
    kind: str  # comment, mention, reaction, message, video, share, follow, post...
    external_id: str  # the network's id of the item, or a digest of it
    text: str | None = None
    author: str | None = None
    occurred_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _digest(item: Any) -> str:
    return hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise UnreadableBody("the body is not JSON") from exc


def _ts(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value) / (1000 if float(value) > 1e11 else 1), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def meta(body: bytes) -> list[Activity]:
    """Facebook Page and Instagram webhooks: entries of changes (or messaging)."""
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        raise UnreadableBody("expected {object, entry: [...]}")
    out = []
    for entry in data["entry"]:
        if not isinstance(entry, dict):
            continue
        account = str(entry.get("id", ""))
        for change in entry.get("changes") or []:
            value = change.get("value") if isinstance(change, dict) else None
            value = value if isinstance(value, dict) else {}
            kind = str(value.get("item") or change.get("field") or "change")
            item_id = value.get("comment_id") or value.get("post_id") or value.get("id")
            sender = value.get("from")
            author = (
                sender.get("name") or sender.get("username") if isinstance(sender, dict) else None
            )
            out.append(
                Activity(
                    account,
                    kind,
                    str(item_id) if item_id else _digest([account, entry.get("time"), change]),
                    text=value.get("message") or value.get("text"),
                    author=author,
                    occurred_at=_ts(value.get("created_time") or entry.get("time")),
                    raw=change,
                )
            )
        for message in entry.get("messaging") or []:
            mid = (message.get("message") or {}).get("mid") if isinstance(message, dict) else None
            out.append(
                Activity(
                    account,
                    "message",
                    str(mid) if mid else _digest([account, message]),
                    text=(message.get("message") or {}).get("text"),
                    author=(message.get("sender") or {}).get("id"),
                    occurred_at=_ts(message.get("timestamp")),
                    raw=message,
                )
            )
    return out


_X_KINDS = {
    "tweet_create_events": "mention",
    "favorite_events": "reaction",
    "follow_events": "follow",
    "direct_message_events": "message",
}


def x(body: bytes) -> list[Activity]:
    """X Account Activity: ``for_user_id`` and arrays of events by kind."""
    data = _json(body)
    if not isinstance(data, dict) or "for_user_id" not in data:
        raise UnreadableBody("expected {for_user_id, ...events}")
    account = str(data["for_user_id"])
    out = []
    for key, kind in _X_KINDS.items():
        for item in data.get(key) or []:
            if not isinstance(item, dict):
                continue
            user = item.get("user") or item.get("source") or {}
            out.append(
                Activity(
                    account,
                    kind,
                    str(item.get("id_str") or item.get("id") or _digest(item)),
                    text=item.get("text") or item.get("full_text"),
                    author=user.get("screen_name") if isinstance(user, dict) else None,
                    occurred_at=_ts(item.get("timestamp_ms") or item.get("created_timestamp")),
                    raw=item,
                )
            )
    return out


def linkedin(body: bytes) -> list[Activity]:
    """LinkedIn organization social action notifications."""
    data = _json(body)
    items = data.get("elements") if isinstance(data, dict) and "elements" in data else [data]
    out = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        account = str(item.get("organizationalEntity") or item.get("organization") or "")
        if not account:
            raise UnreadableBody("expected organizationalEntity")
        action = item.get("decoratedSourcePost") or item.get("sourcePost") or {}
        out.append(
            Activity(
                account,
                str(item.get("action") or item.get("type") or "activity").lower(),
                str(item.get("notificationId") or item.get("id") or _digest(item)),
                text=(item.get("comment") or {}).get("text")
                if isinstance(item.get("comment"), dict)
                else None,
                author=str(item.get("actor")) if item.get("actor") else None,
                occurred_at=_ts(item.get("lastModifiedAt") or item.get("createdAt")),
                raw={**item, "post": action} if action else item,
            )
        )
    return out


def tiktok(body: bytes) -> list[Activity]:
    """TikTok: one event per request, its ``content`` a JSON string."""
    data = _json(body)
    if not isinstance(data, dict) or "event" not in data or "user_openid" not in data:
        raise UnreadableBody("expected {event, user_openid, content}")
    content = data.get("content")
    try:
        detail = json.loads(content) if isinstance(content, str) else (content or {})
    except ValueError:
        detail = {"content": content}
    item_id = detail.get("publish_id") or detail.get("video_id") or detail.get("comment_id")
    return [
        Activity(
            str(data["user_openid"]),
            str(data["event"]),
            str(item_id) if item_id else _digest(data),
            text=detail.get("text"),
            occurred_at=_ts(data.get("create_time")),
            raw=data,
        )
    ]


_ATOM = "{http://www.w3.org/2005/Atom}"
_YT = "{http://www.youtube.com/xml/schemas/2015}"


def youtube(body: bytes) -> list[Activity]:
    """YouTube's WebSub Atom feed: a new or updated video (or a deleted entry)."""
    head = body[:2048].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:  # no DTDs: entity expansion attacks
        raise UnreadableBody("a document type declaration is not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise UnreadableBody("the body is not an Atom feed") from exc
    out = []
    for entry in root.findall(f"{_ATOM}entry"):
        video = entry.findtext(f"{_YT}videoId") or ""
        channel = entry.findtext(f"{_YT}channelId") or ""
        updated = entry.findtext(f"{_ATOM}updated") or ""
        out.append(
            Activity(
                channel,
                "video",
                f"{video}@{updated}",
                text=entry.findtext(f"{_ATOM}title"),
                author=entry.findtext(f"{_ATOM}author/{_ATOM}name"),
                occurred_at=_iso(entry.findtext(f"{_ATOM}published")),
                raw={"videoId": video, "channelId": channel, "updated": updated},
            )
        )
    for deleted in root.findall("{http://purl.org/atompub/tombstones/1.0}deleted-entry"):
        ref = deleted.get("ref", "")
        out.append(Activity("", "video_deleted", ref, raw={"ref": ref}))
    return out


def _iso(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


PARSERS = {
    "facebook": meta,
    "instagram": meta,
    "twitter": x,
    "linkedin": linkedin,
    "tiktok": tiktok,
    "youtube": youtube,
}
