"""Monthly allowances: which month a moment falls in.

A month runs from the subscription's anchor day to the same day of the next month (the 31st
becomes the last day of a shorter month), so allowances start again when the plan renews.
Without an anchor (no Stripe subscription), months are calendar months in UTC.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime


def _add_months(anchor: datetime, months: int) -> datetime:
    total = anchor.month - 1 + months
    year, month = anchor.year + total // 12, total % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def month_of(at: datetime, anchor: datetime | None = None) -> tuple[datetime, datetime]:
    """The ``[start, end)`` of the monthly period that contains ``at``."""
    at = at.astimezone(UTC)
    if anchor is None:
        anchor = datetime(2000, 1, 1, tzinfo=UTC)
    anchor = anchor.astimezone(UTC)
    # A first guess from the calendar, then step to the period that holds ``at``.
    months = (at.year - anchor.year) * 12 + (at.month - anchor.month)
    start = _add_months(anchor, months)
    while start > at:
        months -= 1
        start = _add_months(anchor, months)
    while (end := _add_months(anchor, months + 1)) <= at:
        months += 1
        start = end
    return start, end
