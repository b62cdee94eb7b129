"""Cron schedules: checking a 5-field expression and an IANA time zone, and the next fire time.

Schedules are read in their own time zone, so "0 9 * * *" in Europe/Paris fires at 09:00
Paris time in both winter and summer. Around daylight-saving changes the rules are Vixie
cron's: a fixed-time job (neither minute nor hour starts with ``*``) whose time is skipped when
clocks go forward fires at the first instant after the gap, and when clocks go back it fires
once, not at both occurrences of the repeated wall time; a job with ``*`` in its minute or hour
runs on real elapsed time, so an hourly job fires in both repeated hours.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterBadDateError, CroniterError

DEFAULT_TIMEZONE = "UTC"


class ScheduleError(ValueError):
    """A cron expression or time zone that cannot be used; ``part`` says which one."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part  # "cron" or "timezone"


def zone(name: object) -> ZoneInfo:
    """The IANA time zone ``name`` (UTC when unset), or ScheduleError."""
    name = name or DEFAULT_TIMEZONE
    try:
        if not isinstance(name, str):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(
            "timezone", f"{name!r} is not an IANA time zone, e.g. 'Europe/Paris' or 'UTC'"
        ) from exc


def check_cron(expression: object) -> str:
    """The expression, whitespace normalized, if it has 5 valid fields; else ScheduleError.

    Whether it ever fires is only known by looking for the next date: see ``next_fire``."""
    if not isinstance(expression, str) or not expression.strip():
        raise ScheduleError("cron", "required: a 5-field cron expression such as '0 9 * * 1-5'")
    expression = " ".join(expression.split())
    # croniter also takes seconds and years columns and @-aliases; the API promises 5 fields.
    if len(expression.split(" ")) != 5:
        raise ScheduleError(
            "cron", "must have exactly 5 fields: minute hour day-of-month month day-of-week"
        )
    try:
        croniter(expression)
    except (CroniterError, ValueError, KeyError) as exc:
        message = f"{expression!r} is not a valid cron expression: {exc}"
        raise ScheduleError("cron", message) from exc
    return expression


def next_fire(expression: str, timezone: str | None, after: datetime) -> datetime:
    """The first fire time strictly after ``after``, in UTC; ScheduleError for an expression
    that matches no date (``0 9 30 2 *``)."""
    tz = zone(timezone)
    fixed_time = not any(f.startswith("*") for f in expression.split()[:2])
    times = croniter(expression, after.astimezone(tz))
    while True:
        try:
            candidate: datetime = times.get_next(datetime)
        except CroniterBadDateError as exc:
            raise ScheduleError("cron", f"{expression!r} matches no date") from exc
        if fixed_time and _second_occurrence(candidate, tz):
            continue  # clocks went back: this wall time already fired an hour ago
        return candidate.astimezone(UTC)


def _second_occurrence(moment: datetime, tz: ZoneInfo) -> bool:
    """Whether ``moment``'s wall time also happened earlier that day (clocks went back)."""
    wall = moment.replace(tzinfo=None)
    first = wall.replace(tzinfo=tz, fold=0)
    return first.utcoffset() != wall.replace(tzinfo=tz, fold=1).utcoffset() and (
        moment.astimezone(UTC) > first.astimezone(UTC)
    )
