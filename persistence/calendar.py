"""Reading a calendar's entries: one pass over the stored posts on the embedded engine, a
projected find on MongoDB.

A find on the embedded engine copies each match (the projected fields only) for the entry
to be built from and the copy thrown away: for a month of ~2,000 posts that copy was a third
of the calendar's time. The engine can instead hand its stored documents to ``entry_of``
under its lock, and ``entry_of`` keeps nothing of them that can change. On MongoDB the
documents come over the wire anyway, projected to ``CALENDAR_FIELDS``. Both give the same
entries (tests/test_calendar_json.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from persistence.embedded_mongo import EmbeddedAsyncCollection
from persistence.models.calendar import CALENDAR_FIELDS, CalendarEntry, entry_of


async def find_entries(
    collection: Any, spec: Mapping[str, Any], sort: list[tuple[str, int]]
) -> list[CalendarEntry]:
    """The entries of the posts matching `spec`, in `sort` order."""
    if isinstance(collection, EmbeddedAsyncCollection):
        return await collection.read_each(spec, sort, entry_of)
    docs = await collection.find(spec, CALENDAR_FIELDS).sort(sort).to_list(None)
    return [entry_of(doc) for doc in docs]
