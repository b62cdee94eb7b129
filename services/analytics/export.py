"""Exports of the analytics as CSV or XLSX: the period's posts (one row per post and network)
or its local days, with the metrics chosen, read by the same queries as the API's answers.

CSV is produced row by row as the posts are read, page by page; XLSX (a zip) is written by
openpyxl's write-only workbook, which keeps only the current row in memory, then streamed.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any, Literal

from openpyxl import Workbook

from persistence.errors import InvalidInput
from services.analytics.scope import Scope
from tools.analytics import daily_series
from tools.analytics.posts import post_rows

Dataset = Literal["posts", "daily"]
Format = Literal["csv", "xlsx"]
PAGE = 500

KEYS: dict[str, tuple[str, ...]] = {
    "posts": ("post_id", "platform", "social_account_id", "published_at"),
    "daily": ("date",),
}
METRICS: dict[str, tuple[str, ...]] = {
    "posts": (
        "content_type",
        "text",
        "reach",
        "impressions",
        "likes",
        "comments",
        "shares",
        "saves",
        "clicks",
        "engagements",
        "engagement_rate",
    ),
    "daily": (
        "posts",
        "reach",
        "engagements",
        "engagement_rate",
        "comments",
        "comment_rate",
        "sentiment",
    ),
}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def columns(dataset: Dataset, metrics: Sequence[str] | None) -> list[str]:
    """The key columns, then the chosen metrics (all of them when none are chosen)."""
    allowed = METRICS[dataset]
    chosen = list(dict.fromkeys(metrics)) if metrics else list(allowed)
    unknown = [m for m in chosen if m not in allowed]
    if unknown:
        raise InvalidInput.field(
            "body.metrics", f"unknown for {dataset}: {', '.join(unknown)}; use {', '.join(allowed)}"
        )
    return [*KEYS[dataset], *chosen]


async def rows(db: Any, scope: Scope, dataset: Dataset, header: list[str]) -> AsyncIterator[list]:
    """The export's rows, in the organization's timezone, read page by page."""
    if dataset == "daily":
        series = await daily_series(
            db,
            scope.org_id,
            timezone=scope.timezone,
            now=scope.now,
            dates=scope.dates,
            platforms=scope.platforms,
            accounts=scope.accounts,
        )
        for point in series.points:
            yield [_cell(getattr(point, c)) for c in header]
        return
    offset = 0
    while True:
        page = await post_rows(
            db,
            scope.org_id,
            period=scope.window,
            platforms=scope.platforms,
            accounts=scope.accounts,
            sort="published_at",
            descending=False,
            limit=PAGE,
            offset=offset,
        )
        for item in page.items:
            values = item.model_dump()
            if item.published_at is not None:
                values["published_at"] = item.published_at.astimezone(scope.zone)
            yield [_cell(values.get(c)) for c in header]
        offset += PAGE
        if offset >= page.total or not page.items:
            return


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def csv_stream(header: list[str], source: AsyncIterator[list]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    count = 0
    async for row in source:
        writer.writerow(["" if v is None else v for v in row])
        count += 1
        if count % 200 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def xlsx_stream(
    header: list[str], source: AsyncIterator[list], title: str
) -> AsyncIterator[bytes]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(header)
    async for row in source:
        sheet.append(row)
    out = io.BytesIO()
    await asyncio.to_thread(workbook.save, out)
    data = out.getvalue()
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]
