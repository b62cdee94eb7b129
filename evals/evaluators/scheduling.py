"""Deterministic checks of a proposed posting schedule (the scheduler's ``Schedule``).

Each function takes the answer's slot times (ISO-8601 strings or datetimes, as on the wire)
and what the case says, and returns a score in 0..1 (``None`` where the check cannot apply).
A slot time without an offset is never right: it fails every check that reads it.

Windows and capacities count whole local hours of the request's timezone, because that is
the granularity a schedule is proposed in; a planted best window is given in the timezone of
the audience the data was planted for, which need not be the request's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Instant = str | datetime


@dataclass(frozen=True)
class BestWindow:
    """A planted best window: local hours (and optionally weekdays, 0 = Monday) in a zone."""

    timezone: str
    hours: frozenset[int]
    weekdays: frozenset[int] | None = None

    @classmethod
    def from_expect(cls, raw: dict[str, Any] | None) -> BestWindow | None:
        if not raw:
            return None
        days = raw.get("weekdays")
        return cls(
            timezone=raw["timezone"],
            hours=frozenset(raw["hours"]),
            weekdays=frozenset(days) if days is not None else None,
        )

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        if self.weekdays is not None and local.weekday() not in self.weekdays:
            return False
        return local.hour in self.hours


def instant(value: Instant | None) -> datetime | None:
    """An aware datetime from the wire, or None for a missing, unparsable or naive one."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is None or value.utcoffset() is None:
        return None
    return value


def _instants(values: Iterable[Instant]) -> list[datetime | None]:
    return [instant(v) for v in values]


def _fraction(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def offset_matches(slots: Sequence[Instant], timezone: str) -> float | None:
    """Share of slots whose UTC offset is the one ``timezone`` has at that very instant (so a
    slot after a DST change carries the new offset)."""
    tz = ZoneInfo(timezone)
    flags = []
    for at in _instants(slots):
        flags.append(at is not None and at.utcoffset() == at.astimezone(tz).utcoffset())
    return _fraction(flags)


def inside_window(slots: Sequence[Instant], start: Instant, end: Instant) -> float | None:
    """Share of slots in the requested window ``[start, end)``."""
    lo, hi = instant(start), instant(end)
    if lo is None or hi is None:
        raise ValueError("the window's start and end must be aware ISO-8601 times")
    return _fraction([at is not None and lo <= at < hi for at in _instants(slots)])


def gap_kept(
    slots: Sequence[Instant], min_gap_hours: float, existing: Sequence[Instant] = ()
) -> float | None:
    """Share of slots that keep at least ``min_gap_hours`` of real time from every other slot
    and from every post already scheduled (a post exactly that far away is fine)."""
    gap = timedelta(hours=min_gap_hours)
    times = _instants(slots)
    taken = [t for t in _instants(existing) if t is not None]
    flags = []
    for i, at in enumerate(times):
        if at is None:
            flags.append(False)
            continue
        others = [t for j, t in enumerate(times) if j != i and t is not None] + taken
        flags.append(all(abs(at - other) >= gap for other in others))
    return _fraction(flags)


def hour_starts(timezone: str, start: datetime, end: datetime) -> list[datetime]:
    """Every instant in ``[start, end)`` that is a whole local hour in ``timezone`` (both
    occurrences of a repeated fall-back hour; none in a spring-forward gap)."""
    tz = ZoneInfo(timezone)
    step = timedelta(minutes=15)  # every offset in use is a multiple of 15 minutes
    at = start.astimezone(UTC).replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
    out = []
    while at < end:
        local = at.astimezone(tz)
        if at >= start and local.minute == 0:
            out.append(at)
        at += step
    return out


def spaced(
    candidates: Sequence[datetime], min_gap_hours: float, existing: Sequence[Instant] = ()
) -> list[datetime]:
    """The most candidates that can be taken pairwise ``min_gap_hours`` apart and that far
    from ``existing`` (earliest-first is optimal for this interval problem)."""
    gap = timedelta(hours=min_gap_hours)
    taken = [t for t in _instants(existing) if t is not None]
    chosen: list[datetime] = []
    for at in sorted(candidates):
        if any(abs(at - t) < gap for t in taken):
            continue
        if chosen and at - chosen[-1] < gap:
            continue
        chosen.append(at)
    return chosen


def feasible_count(
    timezone: str,
    start: Instant,
    end: Instant,
    min_gap_hours: float,
    existing: Sequence[Instant] = (),
    window: BestWindow | None = None,
) -> int:
    """How many whole-hour slots the request's window can hold with the gap kept (only those
    inside ``window`` when one is given)."""
    lo, hi = instant(start), instant(end)
    if lo is None or hi is None:
        raise ValueError("the window's start and end must be aware ISO-8601 times")
    candidates = hour_starts(timezone, lo, hi)
    if window is not None:
        candidates = [c for c in candidates if window.contains(c)]
    return len(spaced(candidates, min_gap_hours, existing))


def window_hit_rate(slots: Sequence[Instant], window: BestWindow, wanted: int) -> float | None:
    """Slots inside the planted best window, over how many there should be (``wanted``: the
    smaller of the count asked for and what the window can hold); capped at 1. None when the
    window can hold none, so there is nothing to hit."""
    if wanted <= 0:
        return None
    hits = sum(1 for at in _instants(slots) if at is not None and window.contains(at))
    return min(1.0, hits / wanted)


def count_honoured(returned: int, asked: int, feasible: int) -> float:
    """1 when the answer has as many slots as asked, or all the window can hold when that is
    fewer; short answers score the share delivered; more slots than asked score 0."""
    if returned > asked:
        return 0.0
    target = min(asked, feasible)
    if target == 0:
        return 1.0 if returned == 0 else 0.0
    return min(returned, target) / target


def summary_names_slot(summary: str, slots: Sequence[Instant], timezone: str) -> float | None:
    """1 when the summary names at least one slot the way people read a schedule (weekday,
    'Sat ', '18:00', '6 pm', '6pm' in ``timezone``), else 0; None without slots."""
    times = [at for at in _instants(slots) if at is not None]
    if not times:
        return None
    text = (summary or "").lower()
    tz = ZoneInfo(timezone)
    for at in times:
        local = at.astimezone(tz)
        h12, half = local.hour % 12 or 12, "am" if local.hour < 12 else "pm"
        words = (
            local.strftime("%A"),
            local.strftime("%a "),
            f"{local.hour:02d}:00",
            f"{h12} {half}",
            f"{h12}{half}",
        )
        if any(word.lower() in text for word in words):
            return 1.0
    return 0.0
