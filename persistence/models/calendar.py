"""A post as the calendar shows it: a compact entry, built from the stored document.

A month holds about 2,000 posts. The calendar used to answer each as a whole post (its
threads, every target's overrides and platform data, moderation...), validated as a model
and serialized field by field; a grid cell and its card need a dozen fields. An entry is
those fields, read with ``CALENDAR_FIELDS`` as the projection (nested paths, so the store
copies nothing else) and built from the projected document without validating it again:
posts are validated when they are written. A field a stored document lacks (a None is not
stored) takes the default of Post's own models, so an entry built from a document equals
one built from the validated Post (tests/test_calendar_json.py).

Entries are JSON-ready dicts (ids as strings, camelCase keys): the route serializes them
once, as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypedDict

from pydantic import BaseModel

from persistence.models.content import (
    LOCKED_TARGET_STATES,
    AiGeneration,
    Moderation,
    PlatformTarget,
    Post,
    PostContent,
    Scheduling,
)


class CalendarMedia(TypedDict):
    url: str
    type: str


class CalendarTarget(TypedDict):
    socialAccountId: str
    platform: str
    status: str
    url: str | None
    errorMessage: str | None


class CalendarEntry(TypedDict):
    id: str
    title: str | None
    text: str
    status: str
    scheduledAt: datetime | None
    timezone: str
    targets: list[CalendarTarget]
    mediaCount: int
    firstMedia: CalendarMedia | None
    tags: list[str]
    aiGenerated: bool
    approval: str
    locked: bool
    version: int


def _default(model: type[BaseModel], name: str) -> Any:
    """A field's default in `model` (these are all plain values, no factories)."""
    info = model.model_fields[name]
    assert info.default_factory is None, (model.__name__, name)
    return info.default


_TITLE = _default(PostContent, "title")
_TEXT = _default(PostContent, "text")
_STATUS = _default(Scheduling, "status")
_SCHEDULED_AT = _default(Scheduling, "scheduled_at")
_TIMEZONE = _default(Scheduling, "timezone")
_TARGET_STATUS = _default(PlatformTarget, "status")
_TARGET_URL = _default(PlatformTarget, "url")
_TARGET_ERROR = _default(PlatformTarget, "error_message")
_AI_GENERATED = _default(AiGeneration, "is_ai_generated")
_APPROVAL = _default(Moderation, "status")
_VERSION = _default(Post, "version")
_LOCKED = frozenset(LOCKED_TARGET_STATES)
_NOTHING: Mapping[str, Any] = {}

# What an entry reads of a stored post (stored, camelCase names); the _id comes along.
CALENDAR_FIELDS: dict[str, int] = {
    path: 1
    for path in (
        "content.title",
        "content.text",
        "content.mediaFiles.url",
        "content.mediaFiles.type",
        "scheduling.status",
        "scheduling.scheduledAt",
        "scheduling.timezone",
        "platforms.socialAccountId",
        "platforms.platform",
        "platforms.status",
        "platforms.url",
        "platforms.errorMessage",
        "tags",
        "aiGeneration.isAiGenerated",
        "moderation.status",
        "version",
    )
}


def _utc(value: datetime | None) -> datetime | None:
    # The embedded engine stores dates naive, in UTC; a find returns them aware.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def target_of(stored: Mapping[str, Any]) -> CalendarTarget:
    return {
        "socialAccountId": str(stored["socialAccountId"]),
        "platform": stored["platform"],
        "status": stored.get("status", _TARGET_STATUS),
        "url": stored.get("url", _TARGET_URL),
        "errorMessage": stored.get("errorMessage", _TARGET_ERROR),
    }


def entry_of(doc: Mapping[str, Any]) -> CalendarEntry:
    """The entry of a stored post, whole or read with ``CALENDAR_FIELDS``. Nothing of
    `doc` that can be changed is kept (its lists are copied), so `doc` may be the store's
    own document (``EmbeddedAsyncCollection.read_each``); its dates may be naive (UTC)."""
    content = doc.get("content", _NOTHING)
    scheduling = doc.get("scheduling", _NOTHING)
    media = content.get("mediaFiles") or ()
    first = media[0] if media else None
    targets = [target_of(t) for t in doc.get("platforms", ())]
    status = scheduling.get("status", _STATUS)
    return {
        "id": str(doc["_id"]),
        "title": content.get("title", _TITLE),
        "text": content.get("text", _TEXT),
        "status": status,
        "scheduledAt": _utc(scheduling.get("scheduledAt", _SCHEDULED_AT)),
        "timezone": scheduling.get("timezone", _TIMEZONE),
        "targets": targets,
        "mediaCount": len(media),
        "firstMedia": None if first is None else {"url": first["url"], "type": first["type"]},
        "tags": list(doc.get("tags", ())),
        "aiGenerated": doc.get("aiGeneration", _NOTHING).get("isAiGenerated", _AI_GENERATED),
        "approval": doc.get("moderation", _NOTHING).get("status", _APPROVAL),
        # Post's rule (services.workspace.posts.is_locked): claimed, or a target handed over.
        "locked": status == "publishing" or any(t["status"] in _LOCKED for t in targets),
        "version": doc.get("version", _VERSION),
    }
