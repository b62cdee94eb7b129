"""Import per-post metrics from JSON lines or CSV into posts and analytics, idempotently.

A row is one post on one network, identified by ``(organizationId, platform,
platformPostId)``. A new row creates a published Post and its Analytics document; a known
row updates the metrics in place, or changes nothing when they are the same, so importing a
file twice is harmless. Bad rows are reported by line with the field and the reason; the good
rows of the same file still land.

Rows are processed in batches: one query finds the batch's known posts, one their analytics,
and the writes go out as one insert and one bulk update per collection.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

from bson import ObjectId
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    ValidationError,
    field_validator,
)
from pymongo import UpdateOne

from persistence.analytics_versions import bump_analytics_version
from persistence.errors import InvalidInput
from persistence.ids import utcnow
from persistence.models import Analytics, Post, SocialAccount
from persistence.models.analytics import Metrics, TimeData, performance_of
from persistence.models.content import (
    PLATFORMS,
    AccountInfo,
    AccountSettings,
    AccountStatus,
    ContentType,
    Moderation,
    PlatformTarget,
    PostContent,
    Scheduling,
)
from persistence.repository import TenantRepository, tenant_filter

Format = Literal["auto", "jsonl", "csv"]
BATCH = 500
MAX_ERRORS = 500  # beyond this only the count grows; a report is for reading
SOURCE = "import"  # PlatformTarget.platformData.source of posts this module created
COUNTS = ("likes", "comments", "shares", "saves", "clicks", "impressions", "reach")
# Clocks drift and exports are stamped in odd zones; a day ahead is an error, not a skew.
FUTURE_TOLERANCE = timedelta(days=1)


# --- the report ------------------------------------------------------------------------------


class RowError(BaseModel):
    line: int = Field(description="1-based line of the file where the row starts")
    field: str | None = Field(description="the column at fault, or null for the whole row")
    message: str


class ImportReport(BaseModel):
    format: Literal["jsonl", "csv"]
    rows: int = Field(description="data rows read")
    imported: int = Field(default=0, description="rows that created a post or its analytics")
    updated: int = Field(default=0, description="rows that changed a known post's numbers")
    unchanged: int = Field(default=0, description="rows identical to what was stored")
    rejected: int = 0
    errors: list[RowError] = Field(default_factory=list)
    errors_truncated: bool = False
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """What the CLI prints."""
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


# --- one row ---------------------------------------------------------------------------------


def _alias(camel: str, snake: str) -> AliasChoices:
    return AliasChoices(camel, snake)


class ImportRow(BaseModel):
    """One row of the file, validated. Column names are camelCase (snake_case accepted)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    platform: str
    platform_post_id: str = Field(
        min_length=1,
        max_length=200,
        validation_alias=_alias("platformPostId", "platform_post_id"),
    )
    published_at: datetime = Field(validation_alias=_alias("publishedAt", "published_at"))
    text: str = ""
    hashtags: list[str] = Field(default_factory=list)
    media_type: ContentType = Field(
        default="text", validation_alias=_alias("mediaType", "media_type")
    )
    likes: NonNegativeInt = 0
    comments: NonNegativeInt = 0
    shares: NonNegativeInt = 0
    saves: NonNegativeInt = 0
    clicks: NonNegativeInt = 0
    impressions: NonNegativeInt = 0
    reach: NonNegativeInt = 0

    @field_validator("platform", mode="before")
    @classmethod
    def _platform(cls, value: Any) -> str:
        name = str(value or "").strip().lower()
        if name not in PLATFORMS:
            raise ValueError(f"unknown platform {value!r}; expected one of {', '.join(PLATFORMS)}")
        return name

    @field_validator("published_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # Naive is UTC; milliseconds, as MongoDB stores them, so a re-import compares equal.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if value > utcnow() + FUTURE_TOLERANCE:
            raise ValueError("publishedAt is in the future")
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    @field_validator("hashtags", mode="before")
    @classmethod
    def _hashtags(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"not a JSON list: {exc.msg}") from exc
            else:
                value = [t for t in re.split(r"[\s,]+", text) if t]
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise ValueError("expected a list of hashtags")
        tags: dict[str, str] = {}  # one per spelling, first spelling kept, '#' prefixed
        for raw in value:
            name = raw.strip().lstrip("#").strip()
            if name:
                tags.setdefault(name.casefold(), f"#{name}")
        return list(tags.values())

    @field_validator("media_type", mode="before")
    @classmethod
    def _media_type(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return "text"
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(*COUNTS, mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return 0
        return value

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.platform_post_id)


# --- reading ---------------------------------------------------------------------------------


def _open(source: Path | IO[str] | str) -> tuple[IO[str], str | None, bool]:
    """The text stream, its file name if any, and whether we opened it (and must close it).

    A ``str`` holding a line break or starting with '{' is the file's contents; any other
    ``str`` is a path (so a mistyped path fails loudly instead of importing nothing)."""
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith("{")):
        return io.StringIO(source, newline=""), None, True
    if isinstance(source, str | Path):
        path = Path(source)
        return path.open(encoding="utf-8-sig", newline=""), path.name, True
    return source, getattr(source, "name", None), False


def _detect(stream: IO[str], name: str | None) -> tuple[Literal["jsonl", "csv"], Iterable[str]]:
    """The format by suffix, else by the first non-blank character, and the lines (those
    read to sniff are put back in front)."""
    suffix = Path(name).suffix.lower() if isinstance(name, str) else ""
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl", stream
    if suffix == ".csv":
        return "csv", stream
    seen: list[str] = []
    for line in stream:
        seen.append(line)
        first = line.lstrip("\ufeff \t\r\n")[:1]
        if first == "[":
            message = "this is a JSON array; give one JSON object per line (JSON lines)"
            raise InvalidInput(message, fields=[{"field": "body", "message": message}])
        if first:
            return ("jsonl" if first == "{" else "csv"), itertools.chain(seen, stream)
    return "csv", seen


Raw = tuple[int, dict[str, Any] | None, str | None]  # line, fields, or why it is unreadable


def _jsonl_rows(lines: Iterable[str]) -> Iterator[Raw]:
    for line_no, line in enumerate(lines, start=1):
        text = line.strip().lstrip("\ufeff")
        if not text:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield line_no, None, f"invalid JSON: {exc.msg}"
            continue
        if not isinstance(value, dict):
            yield line_no, None, "expected a JSON object"
            continue
        yield line_no, value, None


def _csv_rows(lines: Iterable[str]) -> Iterator[Raw]:
    consumed = 0

    def counted() -> Iterator[str]:
        nonlocal consumed
        for line in lines:
            consumed += 1
            yield line

    reader = csv.reader(counted(), skipinitialspace=True)
    header: list[str] = []
    for cells in reader:
        if any(c.strip() for c in cells):
            header = [c.strip().lstrip("\ufeff") for c in cells]
            break
    while True:
        start = consumed + 1  # quoted cells can span lines: report where the row starts
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, None, f"unreadable CSV: {exc}"
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            yield start, None, f"{len(cells)} values for {len(header)} columns"
            continue
        yield start, dict(zip(header, cells, strict=False)), None


# --- writing ---------------------------------------------------------------------------------


@dataclass
class _Entry:
    """A post and its analytics on every platform, as they will be stored."""

    post: Post
    analytics: dict[str, Analytics]  # platform -> document
    post_new: bool = False
    post_dirty: bool = False
    new_analytics: set[str] = field(default_factory=set)
    dirty_analytics: set[str] = field(default_factory=set)

    @property
    def ours(self) -> bool:
        """Whether this module created the post (then the file's text and time are the truth;
        a post published through Chorus keeps its own)."""
        return any(t.platform_data.get("source") == SOURCE for t in self.post.platforms)


class _Importer:
    def __init__(self, db: Any, org_id: ObjectId) -> None:
        self.db = db
        self.org_id = org_id
        self.posts = TenantRepository(db, Post)
        self.analytics = TenantRepository(db, Analytics)
        self.accounts_repo = TenantRepository(db, SocialAccount)
        self.accounts: dict[str, ObjectId] | None = None

    async def account_for(self, platform: str) -> ObjectId:
        """The tenant's account on ``platform``, else a placeholder made once per platform."""
        if self.accounts is None:
            found = await self.accounts_repo.find(self.org_id, sort=[("createdAt", 1)])
            self.accounts = {}
            # Real, active accounts first; a placeholder only if nothing else is there.
            for account in sorted(found, key=_account_rank):
                self.accounts.setdefault(account.platform, account.id)
        if platform not in self.accounts:
            placeholder = SocialAccount(
                organization_id=self.org_id,
                platform=platform,  # type: ignore[arg-type]
                account_info=AccountInfo(
                    platform_id=f"import-{platform}",
                    username=f"imported-{platform}",
                    display_name=f"Imported {platform} analytics",
                ),
                settings=AccountSettings(content_filters={"sandbox": True, "placeholder": True}),
                # Inactive: nothing may be published through a placeholder.
                status=AccountStatus(is_active=False),
            )
            await self.accounts_repo.insert(placeholder)
            self.accounts[platform] = placeholder.id
        return self.accounts[platform]

    async def batch(self, rows: list[ImportRow], report: ImportReport) -> None:
        keys = {row.key for row in rows}
        entries = await self._known(keys)
        for row in rows:
            outcome = await self._apply(row, entries)
            setattr(report, outcome, getattr(report, outcome) + 1)
        await self._write(list({id(e): e for e in entries.values()}.values()))

    async def _known(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], _Entry]:
        """The stored posts (with all their analytics) that carry one of ``keys``."""
        ids = sorted({i for _, i in keys})
        # The platform is checked below, per key: one $in is cheaper to evaluate than two.
        posts = await self.posts.find(self.org_id, {"platforms.platformPostId": {"$in": ids}})
        docs = await self.analytics.find(
            self.org_id, {"postId": {"$in": [p.id for p in posts]}}, sort=[("_id", 1)]
        )
        by_post: dict[ObjectId, dict[str, Analytics]] = {}
        for doc in docs:
            by_post.setdefault(doc.post_id, {}).setdefault(doc.platform, doc)
        entries: dict[tuple[str, str], _Entry] = {}
        for post in posts:
            entry = _Entry(post, by_post.get(post.id, {}))
            for target in post.platforms:
                key = (target.platform, target.platform_post_id or "")
                if key in keys:
                    entries.setdefault(key, entry)
        return entries

    async def _apply(self, row: ImportRow, entries: dict[tuple[str, str], _Entry]) -> str:
        """Fold one row into the batch's state; which counter it goes to."""
        metrics = _metrics(row)
        entry = entries.get(row.key)
        if entry is None:
            entries[row.key] = await self._new_entry(row, metrics)
            return "imported"

        outcome = "unchanged"
        if entry.ours and _content_differs(entry.post, row):
            _set_content(entry.post, row)
            entry.post_dirty = True
            outcome = "updated"
        doc = entry.analytics.get(row.platform)
        if doc is None:
            doc = _analytics(self.org_id, entry.post.id, await self._account(entry, row), row)
            doc.metrics = metrics
            entry.analytics[row.platform] = doc
            entry.new_analytics.add(row.platform)
            outcome = "imported"
        else:
            changed = _metrics_differ(doc.metrics, metrics)
            if entry.ours and doc.time_data.recorded_at != row.published_at:
                doc.time_data = _time_data(row.published_at)
                changed = True
            if changed:
                for name in (*COUNTS, "engagement_rate", "click_through_rate"):
                    setattr(doc.metrics, name, getattr(metrics, name))
                if row.platform not in entry.new_analytics:
                    entry.dirty_analytics.add(row.platform)
                outcome = "updated" if outcome == "unchanged" else outcome
        if outcome != "unchanged":
            entry.post.performance = performance_of(entry.analytics.values())
            entry.post_dirty = True
        return outcome

    async def _account(self, entry: _Entry, row: ImportRow) -> ObjectId:
        target = next((t for t in entry.post.platforms if t.platform == row.platform), None)
        return target.social_account_id if target else await self.account_for(row.platform)

    async def _new_entry(self, row: ImportRow, metrics: Metrics) -> _Entry:
        account_id = await self.account_for(row.platform)
        post = Post(
            organization_id=self.org_id,
            scheduling=Scheduling(status="published", timezone="UTC"),
            platforms=[
                PlatformTarget(
                    social_account_id=account_id,
                    platform=row.platform,  # type: ignore[arg-type]
                    platform_post_id=row.platform_post_id,
                    status="published",
                    platform_data={"source": SOURCE},
                )
            ],
            moderation=Moderation(status="approved"),
        )
        _set_content(post, row)
        doc = _analytics(self.org_id, post.id, account_id, row)
        doc.metrics = metrics
        post.performance = performance_of([doc])
        return _Entry(post, {row.platform: doc}, post_new=True, new_analytics={row.platform})

    async def _write(self, entries: list[_Entry]) -> None:
        now = utcnow()
        new_posts = [e.post for e in entries if e.post_new]
        new_docs = [e.analytics[p] for e in entries for p in sorted(e.new_analytics)]
        await self.posts.insert_many(self.org_id, new_posts)
        await self.analytics.insert_many(self.org_id, new_docs)

        post_ops = [
            UpdateOne(
                tenant_filter(self.org_id, {"_id": e.post.id}),
                {"$set": _post_changes(e, now)},
            )
            for e in entries
            if e.post_dirty and not e.post_new
        ]
        doc_ops = [
            UpdateOne(
                tenant_filter(self.org_id, {"_id": e.analytics[p].id}),
                {"$set": _analytics_changes(e.analytics[p], now)},
            )
            for e in entries
            for p in sorted(e.dirty_analytics)
        ]
        if post_ops:
            await self.posts.collection.bulk_write(post_ops, ordered=False)
        if doc_ops:
            await self.analytics.collection.bulk_write(doc_ops, ordered=False)
        if new_posts or new_docs or post_ops or doc_ops:
            # Cached analytics answers of this organization are stale from now on.
            await bump_analytics_version(self.db, self.org_id)


def _account_rank(account: SocialAccount) -> tuple[int, int]:
    placeholder = bool(account.settings.content_filters.get("placeholder"))
    return (int(placeholder), int(not account.status.is_active))


def _metrics(row: ImportRow) -> Metrics:
    engaged = row.likes + row.comments + row.shares + row.saves
    return Metrics(
        **{name: getattr(row, name) for name in COUNTS},
        engagement_rate=round(engaged / row.reach, 5) if row.reach else 0.0,
        click_through_rate=round(row.clicks / row.impressions, 5) if row.impressions else 0.0,
    )


def _metrics_differ(stored: Metrics, new: Metrics) -> bool:
    return any(getattr(stored, name) != getattr(new, name) for name in COUNTS)


def _time_data(at: datetime) -> TimeData:
    """Buckets of the publishing time, in UTC, as the rest of the analytics has them."""
    return TimeData(
        recorded_at=at,
        date_bucket=datetime(at.year, at.month, at.day, tzinfo=UTC),
        hour_bucket=at.hour,
        day_of_week=at.weekday(),
        month=at.month,
        quarter=(at.month - 1) // 3 + 1,
    )


def _analytics(org_id: ObjectId, post_id: ObjectId, account_id: ObjectId, row: ImportRow):
    return Analytics(
        organization_id=org_id,
        post_id=post_id,
        social_account_id=account_id,
        platform=row.platform,  # type: ignore[arg-type]
        time_data=_time_data(row.published_at),
    )


def _content_differs(post: Post, row: ImportRow) -> bool:
    return (
        post.content.text != row.text
        or post.content.hashtags != row.hashtags
        or post.content.content_type != row.media_type
        or post.scheduling.published_at != row.published_at
    )


def _set_content(post: Post, row: ImportRow) -> None:
    post.content = PostContent(text=row.text, content_type=row.media_type, hashtags=row.hashtags)
    post.scheduling.published_at = post.scheduling.scheduled_at = row.published_at
    for target in post.platforms:
        if target.platform == row.platform and target.platform_post_id == row.platform_post_id:
            target.published_at = row.published_at


def _post_changes(entry: _Entry, now: datetime) -> dict[str, Any]:
    dumped = entry.post.to_mongo()
    changes: dict[str, Any] = {"performance": dumped["performance"], "updatedAt": now}
    if entry.ours:
        changes.update(
            content=dumped["content"],
            scheduling=dumped["scheduling"],
            platforms=dumped["platforms"],
        )
    return changes


def _analytics_changes(doc: Analytics, now: datetime) -> dict[str, Any]:
    dumped = doc.to_mongo()
    changes: dict[str, Any] = {
        f"metrics.{name}": dumped["metrics"].get(name, 0)
        for name in (*COUNTS, "engagementRate", "clickThroughRate")
    }
    changes.update(timeData=dumped["timeData"], updatedAt=now)
    return changes


# --- the entry point -------------------------------------------------------------------------


async def import_analytics(
    db: Any,
    org_id: ObjectId,
    source: Path | IO[str] | str,
    *,
    fmt: Format = "auto",
) -> ImportReport:
    """Import a JSON-lines or CSV file of per-post metrics into the tenant's posts and
    analytics. ``source`` is a path, an open text stream, or the file's contents as a str.
    ``fmt="auto"`` goes by the file suffix, else by the first character ('{' is JSON lines)."""
    started = time.perf_counter()
    stream, name, close = _open(source)
    try:
        if fmt == "auto":
            kind, lines = _detect(stream, name)
        elif fmt in ("jsonl", "csv"):
            kind, lines = fmt, stream
        else:
            raise ValueError(f"fmt must be 'auto', 'jsonl' or 'csv', got {fmt!r}")
        report = ImportReport(format=kind, rows=0)
        importer = _Importer(db, org_id)
        rows = _jsonl_rows(lines) if kind == "jsonl" else _csv_rows(lines)
        batch: list[ImportRow] = []
        for line, raw, problem in rows:
            report.rows += 1
            row = _validate(line, raw, problem, report)
            if row is None:
                continue
            batch.append(row)
            if len(batch) >= BATCH:
                await importer.batch(batch, report)
                batch = []
        if batch:
            await importer.batch(batch, report)
    finally:
        if close:
            stream.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _validate(
    line: int, raw: dict[str, Any] | None, problem: str | None, report: ImportReport
) -> ImportRow | None:
    if raw is not None:
        try:
            return ImportRow.model_validate(raw)
        except ValidationError as exc:
            errors = [
                RowError(
                    line=line,
                    field=".".join(str(p) for p in e["loc"]) or None,
                    message=_message(e),
                )
                for e in exc.errors()
            ]
    else:
        errors = [RowError(line=line, field=None, message=problem or "unreadable row")]
    report.rejected += 1
    room = MAX_ERRORS - len(report.errors)
    report.errors.extend(errors[: max(room, 0)])
    report.errors_truncated = report.errors_truncated or room < len(errors)
    return None


def _message(error: Any) -> str:
    message = str(error["msg"])
    # "Value error, unknown platform ..." -> "unknown platform ..."
    return message.removeprefix("Value error, ")
