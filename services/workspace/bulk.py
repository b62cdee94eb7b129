"""Scheduling many posts from one file: CSV with a header row, or JSON lines.

Each line is one post and is all-or-nothing: it is checked whole (fields, accounts, every
network's rules, the plan's allowance) and stored, or reported by line number with the
field and the reason while the other lines go on. Columns (JSON keys alike):

    text, scheduledAt, accounts, hashtags, title, tags, timezone, thread, firstComment

``accounts``, ``hashtags`` and ``tags`` are lists in JSON, and ``;``-separated in CSV
(hashtags may also be space-separated). ``thread`` (the parts after ``text``, each a reply
to the one before) is a list of strings in JSON; in CSV one quoted cell whose parts are
separated by a line holding only ``---``. A ``scheduledAt`` without an offset is a local time
in the line's ``timezone``, else the organization's: "2026-03-08 09:00" in New York is 14:00
UTC that day, whatever the DST rule.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bson import ObjectId
from bson.errors import InvalidId
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from persistence.errors import ChorusError, InvalidInput
from persistence.ids import IsoDateTime
from services import organizations
from services.workspace import posts

MAX_LINES = 1000
# In a CSV cell: a line holding only "---" ends one thread part and starts the next.
THREAD_SEPARATOR = re.compile(r"\n[ \t]*---[ \t]*(?:\n|$)")
Format = Literal["auto", "csv", "jsonl"]


class BulkLine(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=70000)
    scheduled_at: IsoDateTime = Field(alias="scheduledAt")
    accounts: list[str] = Field(min_length=1, max_length=30)
    hashtags: list[str] = Field(default_factory=list, max_length=60)
    title: str | None = Field(default=None, max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=30)
    timezone: str | None = Field(default=None, max_length=64)
    thread: list[str] = Field(default_factory=list, max_length=50)
    first_comment: str | None = Field(default=None, alias="firstComment", max_length=10000)

    @field_validator("thread", mode="before")
    @classmethod
    def _split_parts(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = THREAD_SEPARATOR.split(value.replace("\r\n", "\n"))
            return [part.strip() for part in parts if part.strip()]
        return value

    @field_validator("accounts", "tags", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(";") if part.strip()]
        return value

    @field_validator("hashtags", mode="before")
    @classmethod
    def _split_tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.replace(";", " ").split() if part]
        return value

    @field_validator("title", "timezone", "first_comment", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


@dataclass
class LineError:
    line: int
    field: str
    message: str
    code: str = "validation_error"


@dataclass
class Created:
    line: int
    post_id: ObjectId
    scheduled_at: datetime


@dataclass
class BulkReport:
    lines: int = 0
    created: list[Created] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def _rows(text: str, fmt: Format) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, fields) for each non-blank line; a string instead of fields says why
    the line cannot be read at all."""
    if fmt == "auto":
        fmt = "jsonl" if text.lstrip().startswith("{") else "csv"
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                yield number, "not valid JSON"
                continue
            yield number, value if isinstance(value, dict) else "must be a JSON object"
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        return
    for row in reader:
        number = reader.line_num
        if None in row:
            yield number, "has more cells than the header"
            continue
        values = {k.strip(): v for k, v in row.items() if k is not None and v not in (None, "")}
        if values:
            yield number, values


def _account_ids(values: list[str]) -> list[ObjectId]:
    out = []
    for i, value in enumerate(values):
        try:
            out.append(ObjectId(value))
        except (InvalidId, TypeError) as exc:
            raise InvalidInput.field(f"accounts.{i}", "must be a 24-character hex id") from exc
    return out


def _when(line: BulkLine, default_tz: str) -> datetime:
    if line.scheduled_at.tzinfo is not None:
        return line.scheduled_at
    name = line.timezone or default_tz
    if not organizations.is_timezone(name):
        raise InvalidInput.field("timezone", "must be an IANA timezone such as Europe/Berlin")
    return line.scheduled_at.replace(tzinfo=ZoneInfo(name))


def _field_of(error: ChorusError) -> str:
    # Service errors name request fields (body.content.text); a line's columns are flatter.
    name = (error.fields or [{"field": "line"}])[0]["field"]
    for prefix, column in (
        ("body.content.text", "text"),
        ("body.content.hashtags", "hashtags"),
        ("body.content.title", "title"),
        ("body.content.thread", "thread"),
        ("body.content.firstComment", "firstComment"),
        ("body.scheduling.scheduledAt", "scheduledAt"),
        ("body.scheduling.timezone", "timezone"),
        ("body.platforms", "accounts"),
    ):
        if name.startswith(prefix):
            return column + name[len(prefix) :].replace(".socialAccountId", "")
    return name


async def schedule_lines(
    db: Any, org_id: ObjectId, user_id: ObjectId, text: str, fmt: Format = "auto"
) -> BulkReport:
    """Create and schedule a post per line; the good lines land, the bad ones are reported."""
    report = BulkReport()
    default_tz = (await organizations.settings(db, org_id)).timezone
    for number, raw in _rows(text, fmt):
        report.lines += 1
        if report.lines > MAX_LINES:
            report.errors.append(
                LineError(number, "line", f"at most {MAX_LINES} lines per file; send the rest")
            )
            break
        if isinstance(raw, str):
            report.errors.append(LineError(number, "line", raw))
            continue
        try:
            line = BulkLine.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "line"
                message = str(err["msg"]).removeprefix("Value error, ")
                report.errors.append(LineError(number, where, message))
            continue
        try:
            when = _when(line, default_tz)
            data = posts.PostInput(
                text=line.text,
                title=line.title,
                hashtags=line.hashtags,
                targets=[posts.TargetInput(a) for a in _account_ids(line.accounts)],
                scheduled_at=when,
                timezone=line.timezone,
                tags=list(dict.fromkeys(line.tags)),
                thread=[posts.PartInput(part) for part in line.thread],
                first_comment=line.first_comment,
            )
            post = await posts.create(db, org_id, user_id, data, may_publish=True)
        except ChorusError as exc:
            fields = exc.fields or [{"field": "line", "message": exc.message}]
            for f in fields:
                one = ChorusError(exc.message, fields=[f])
                report.errors.append(LineError(number, _field_of(one), f["message"], exc.code))
            continue
        assert post.scheduling.scheduled_at is not None
        report.created.append(Created(number, post.id, post.scheduling.scheduled_at))
    return report
