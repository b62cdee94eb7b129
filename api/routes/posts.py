"""Posts: list and filter, create, read, edit under a version, delete, duplicate, schedule,
publish now, and the drafts / scheduled / published views.

Literal paths (``/drafts``, ``/calendar``, ``/bulk-schedule``) are declared before
``/{post_id}`` so they are never read as an id. Every response carries the post's
``ETag``; ``PUT`` and ``DELETE`` take it back in ``If-Match`` (412 when stale) or a
``version`` in the body (409 when stale).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from starlette.datastructures import UploadFile

from api.deps import IdPath, Reader, RuntimeDep, Writer, parse_id, rate_limited, require
from api.errors import ApiError
from api.principal import Principal
from api.responses import errors
from api.routes.post_schemas import (
    ApproveIn,
    BulkCreatedOut,
    BulkErrorOut,
    BulkReportOut,
    CalendarOut,
    CommentIn,
    CommentOut,
    PostIn,
    PostOut,
    PostPageOut,
    PostUpdateIn,
    PreviewOut,
    RejectIn,
    ScheduleIn,
    SubmitIn,
    TargetPreviewOut,
    calendar_json,
)
from persistence.ids import IsoDate, IsoDateTime
from persistence.models import Post
from persistence.models.content import Platform, PostStatus
from runs import approvals as run_approvals
from services.publishing import schedule_warnings
from services.workspace import approvals, bulk, listing, preview
from services.workspace import posts as service
from services.workspace.posts import StaleVersion

router = APIRouter(
    prefix="/api/posts",
    tags=["posts"],
    dependencies=[Depends(rate_limited("read", 600, 60))],
    responses=errors(401, 429),
)

Publisher = Annotated[Principal, Depends(require("publish"))]
_ETAG = re.compile(r'^(?:W/)?"([0-9a-f]{24})-(\d{1,9})"$')


def etag(post: Post) -> str:
    return f'"{post.id}-{post.version}"'


def _answer(post: Post, response: Response) -> PostOut:
    response.headers["ETag"] = etag(post)
    return PostOut.of(post)


async def _answer_queued(post: Post, response: Response, db: object) -> PostOut:
    """The saved post, with what to warn about where it is now queued to go out."""
    response.headers["ETag"] = etag(post)
    queued = post.scheduling.status in ("scheduled", "pending_approval")
    found = await schedule_warnings(db, post.organization_id, post) if queued else []
    return PostOut.of(post, found)


def _if_match_version(post_id: object, if_match: str | None) -> int | None:
    """The version an If-Match header names, None without one; 412 for another post's tag
    or one that is not ours."""
    if if_match is None:
        return None
    m = _ETAG.match(if_match.strip())
    if m is None or m.group(1) != str(post_id):
        raise ApiError(412, "If-Match must be this post's ETag, as GET returned it")
    return int(m.group(2))


def _expected(post_id: object, if_match: str | None, body_version: int | None) -> tuple[int, bool]:
    """The version the caller edited, and whether it came from If-Match."""
    header = _if_match_version(post_id, if_match)
    if header is not None:
        return header, True
    if body_version is not None:
        return body_version, False
    raise ApiError(
        428,
        "say which version you edited: send If-Match with the post's ETag or a version field",
        code="precondition_required",
    )


IfMatch = Annotated[
    str | None,
    Header(max_length=100, description="The post's ETag from GET (guards concurrent edits)."),
]


# --- lists -------------------------------------------------------------------------------


def _filter(
    status: list[PostStatus] | None,
    account_id: str | None,
    platform: Platform | None,
    tag: str | None,
    q: str | None,
    start: datetime | None,
    end: datetime | None,
) -> listing.PostFilter:
    return listing.PostFilter(
        statuses=status or (),
        account_id=parse_id(account_id, "query.accountId") if account_id else None,
        platform=platform,
        tag=tag,
        search=q,
        start=start,
        end=end,
    )


StatusQ = Annotated[list[PostStatus] | None, Query(description="One or more statuses.")]
AccountQ = Annotated[
    str | None,
    Query(alias="accountId", pattern="^[0-9a-fA-F]{24}$", description="A target account."),
]
PlatformQ = Annotated[Platform | None, Query()]
TagQ = Annotated[str | None, Query(min_length=1, max_length=100, description="A campaign/tag.")]
SearchQ = Annotated[
    str | None, Query(min_length=1, max_length=200, description="Words in the title or text.")
]
FromQ = Annotated[IsoDateTime | None, Query(alias="from", description="scheduledAt >= this.")]
ToQ = Annotated[IsoDateTime | None, Query(alias="to", description="scheduledAt < this.")]
CursorQ = Annotated[str | None, Query(max_length=200)]
LimitQ = Annotated[int, Query(ge=1, le=200)]


@router.get("", response_model=PostPageOut, responses=errors(422))
async def list_posts(
    principal: Reader,
    runtime: RuntimeDep,
    status: StatusQ = None,
    account_id: AccountQ = None,
    platform: PlatformQ = None,
    tag: TagQ = None,
    q: SearchQ = None,
    start: FromQ = None,
    end: ToQ = None,
    ai_generated: Annotated[
        bool | None,
        Query(alias="aiGenerated", description="Only posts the agents made (true) or people."),
    ] = None,
    sort: Annotated[listing.Sort, Query()] = "-createdAt",
    cursor: CursorQ = None,
    limit: LimitQ = 50,
) -> PostPageOut:
    """The organization's posts, newest first (or by time with ``sort``); one page.
    ``?status=pending_approval`` is the approval inbox; posts the content_creation workflow
    stored are here too, with their ``aiGeneration`` metadata."""
    flt = _filter(status, account_id, platform, tag, q, start, end)
    flt.ai_generated = ai_generated
    page = await listing.find(
        runtime.db, principal.org_id, flt, sort=sort, cursor=cursor, limit=limit
    )
    return PostPageOut(items=[PostOut.of(p) for p in page.items], next_cursor=page.next_cursor)


async def _view(
    runtime: RuntimeDep,
    principal: Principal,
    statuses: tuple[str, ...],
    sort: listing.Sort,
    cursor: str | None,
    limit: int,
) -> PostPageOut:
    flt = listing.PostFilter(statuses=statuses)
    page = await listing.find(
        runtime.db, principal.org_id, flt, sort=sort, cursor=cursor, limit=limit
    )
    return PostPageOut(items=[PostOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/drafts", response_model=PostPageOut, responses=errors(422))
async def drafts(
    principal: Reader, runtime: RuntimeDep, cursor: CursorQ = None, limit: LimitQ = 50
) -> PostPageOut:
    """Drafts, newest first."""
    return await _view(runtime, principal, ("draft",), "-createdAt", cursor, limit)


@router.get("/scheduled", response_model=PostPageOut, responses=errors(422))
async def scheduled(
    principal: Reader, runtime: RuntimeDep, cursor: CursorQ = None, limit: LimitQ = 50
) -> PostPageOut:
    """The queue: scheduled posts, the next to go out first."""
    return await _view(runtime, principal, ("scheduled",), "scheduledAt", cursor, limit)


@router.get("/published", response_model=PostPageOut, responses=errors(422))
async def published(
    principal: Reader, runtime: RuntimeDep, cursor: CursorQ = None, limit: LimitQ = 50
) -> PostPageOut:
    """Published (wholly or partly), the latest first."""
    statuses = ("published", "partially_published")
    return await _view(runtime, principal, statuses, "-scheduledAt", cursor, limit)


@router.get("/calendar", response_model=CalendarOut, responses=errors(422))
async def calendar(
    principal: Reader,
    runtime: RuntimeDep,
    start: Annotated[IsoDate, Query(description="The first local day (YYYY-MM-DD).")],
    end: Annotated[IsoDate, Query(description="The last local day, included.")],
    timezone: Annotated[
        str | None,
        Query(max_length=64, description="IANA timezone; the organization's by default."),
    ] = None,
    status: StatusQ = None,
    account_id: AccountQ = None,
    platform: PlatformQ = None,
    tag: TagQ = None,
) -> Response:
    """Posts with a time on the local days from ``start`` to ``end`` (at most 93), grouped
    by local day in the timezone and, within a day, by account (a post on two accounts is
    under both)."""
    flt = _filter(status, account_id, platform, tag, None, None, None)
    found = await listing.calendar(
        runtime.db, principal.org_id, start, end, timezone=timezone, flt=flt
    )
    # A month holds thousands of posts: their entries are serialized once, in CalendarOut's
    # form (the response_model documents it; tests/test_calendar_json.py holds the two equal).
    return Response(calendar_json(found), media_type="application/json")


BULK_MAX_BYTES = 2 * 1024 * 1024


async def _bulk_text(request: Request) -> str:
    """The file (multipart field ``file``) or the raw body, refused past the size limit
    before it is all read."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422,
                "invalid input: body.file",
                fields=[{"field": "body.file", "message": "a file upload is required"}],
            )
        data = await upload.read(BULK_MAX_BYTES + 1)
    else:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > BULK_MAX_BYTES:
                break
            chunks.append(chunk)
        data = b"".join(chunks) + (b"x" if size > BULK_MAX_BYTES else b"")
    if len(data) > BULK_MAX_BYTES:
        raise ApiError(413, f"the file is over {BULK_MAX_BYTES:,} bytes; split it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(415, "the file must be UTF-8 text (CSV or JSON lines)") from exc
    if not text.strip():
        raise ApiError(
            422, "invalid input: body", fields=[{"field": "body", "message": "the file is empty"}]
        )
    return text


@router.post(
    "/bulk-schedule",
    response_model=BulkReportOut,
    responses=errors(403, 422),
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "text/csv": {"schema": {"type": "string", "description": "CSV, header row"}},
                "application/x-ndjson": {"schema": {"type": "string", "description": "JSON lines"}},
            }
        }
    },
)
async def bulk_schedule(
    request: Request,
    principal: Publisher,
    runtime: RuntimeDep,
    format: Annotated[bulk.Format, Query()] = "auto",
) -> BulkReportOut:
    """Schedule a post per line of a CSV (header: text, scheduledAt, accounts, hashtags,
    title, tags, timezone, thread, firstComment; a thread cell's parts are separated by a
    line holding only ``---``) or JSON lines file. Each line lands whole or is reported in
    ``errors`` with its line number, field and reason; the other lines still land. When no
    line lands, the whole file is a 422 listing each line's errors."""
    text = await _bulk_text(request)
    report = await bulk.schedule_lines(
        runtime.db, principal.org_id, principal.user_id, text, format
    )
    if not report.created:
        # Nothing landed: the file as a whole is refused (a 200 would read as success), and
        # its lines' errors say what to fix; a file without lines (a header alone) too.
        fields = [
            {"field": f"line {e.line}: {e.field}", "message": e.message} for e in report.errors
        ] or [{"field": "body", "message": "the file has no lines to schedule"}]
        raise ApiError(422, "no post could be scheduled from the file", fields=fields)
    return BulkReportOut(
        lines=report.lines,
        created=[
            BulkCreatedOut(line=c.line, post_id=str(c.post_id), scheduled_at=c.scheduled_at)
            for c in report.created
        ],
        errors=[
            BulkErrorOut(line=e.line, field=e.field, message=e.message, code=e.code)
            for e in report.errors
        ],
    )


# --- one post ----------------------------------------------------------------------------


@router.post("", status_code=201, response_model=PostOut, responses=errors(402, 403, 422))
async def create_post(
    body: PostIn, principal: Writer, runtime: RuntimeDep, response: Response
) -> PostOut:
    """A new post on one or more accounts, each checked by its network's rules (422 naming
    the network, the rule and the field). With ``scheduling.scheduledAt`` a manager's or
    admin's post is scheduled (402 past the plan's monthly allowance); a user's stays a
    draft with that proposed time until approved."""
    post = await service.create(
        runtime.db,
        principal.org_id,
        principal.user_id,
        body.to_input(),
        may_publish=principal.can("publish"),
    )
    return await _answer_queued(post, response, runtime.db)


@router.get("/{post_id}", response_model=PostOut, responses=errors(404))
async def get_post(
    post_id: IdPath, principal: Reader, runtime: RuntimeDep, response: Response
) -> PostOut:
    return _answer(await service.get(runtime.db, principal.org_id, post_id), response)


@router.get("/{post_id}/preview", response_model=PreviewOut, responses=errors(404))
async def preview_post(post_id: IdPath, principal: Reader, runtime: RuntimeDep) -> PreviewOut:
    """How the post will appear on each network: the published text, its length as the
    network counts it, truncation and the feed's fold, hashtags, media checks, and every
    violation with its fix (plus a repaired text when something fails)."""
    post, targets = await preview.preview(runtime.db, principal.org_id, post_id)
    return PreviewOut(
        post_id=str(post.id),
        version=post.version,
        targets=[
            TargetPreviewOut.model_validate(
                {
                    **_checked(t),
                    "social_account_id": str(t.social_account_id),
                    "thread": [_checked(p) for p in t.thread],
                    "first_comment": _checked(t.first_comment) if t.first_comment else None,
                    "unsupported": [vars(v) for v in t.unsupported],
                }
            )
            for t in targets
        ],
    )


def _checked(item: preview.TargetPreview | preview.PartPreview) -> dict[str, object]:
    """A target's or a part's preview as the response names its fields."""
    return {
        **vars(item),
        "valid": item.valid,
        "violations": [vars(v) for v in item.violations],
        "media": [
            {"media_id": m["mediaId"], "type": m["type"], "url": m["url"]} for m in item.media
        ],
    }


@router.put(
    "/{post_id}", response_model=PostOut, responses=errors(402, 403, 404, 409, 412, 422, 428)
)
async def update_post(
    post_id: IdPath,
    body: PostUpdateIn,
    principal: Writer,
    runtime: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> PostOut:
    """Replace the post's content, targets, time and tags. Name the version edited (If-Match
    or ``version``): a stale one is 412 (If-Match) or 409 (``version``). Editing a scheduled
    post reschedules it; a post the publishing engine claimed is locked (409 post_locked)."""
    version, by_header = _expected(post_id, if_match, body.version)
    try:
        post = await service.update(
            runtime.db,
            principal.org_id,
            post_id,
            body.to_input(),
            version=version,
            may_publish=principal.can("publish"),
        )
    except StaleVersion as exc:
        if by_header:
            raise ApiError(412, exc.message, code="version_conflict") from exc
        raise
    return await _answer_queued(post, response, runtime.db)


@router.delete(
    "/{post_id}", status_code=204, response_class=Response, responses=errors(404, 409, 412)
)
async def delete_post(
    post_id: IdPath, principal: Writer, runtime: RuntimeDep, if_match: IfMatch = None
) -> Response:
    """Delete a post not yet claimed for publishing (at the If-Match version when sent)."""
    version = _if_match_version(post_id, if_match)
    try:
        await service.delete(runtime.db, principal.org_id, post_id, version)
    except StaleVersion as exc:
        raise ApiError(412, exc.message, code="version_conflict") from exc
    return Response(status_code=204)


@router.post("/{post_id}/duplicate", status_code=201, response_model=PostOut, responses=errors(404))
async def duplicate_post(
    post_id: IdPath, principal: Writer, runtime: RuntimeDep, response: Response
) -> PostOut:
    """A new draft with the same content, targets and tags."""
    copy = await service.duplicate(runtime.db, principal.org_id, principal.user_id, post_id)
    return _answer(copy, response)


@router.post(
    "/{post_id}/schedule", response_model=PostOut, responses=errors(402, 403, 404, 409, 422)
)
async def schedule_post(
    post_id: IdPath,
    body: ScheduleIn,
    principal: Publisher,
    runtime: RuntimeDep,
    response: Response,
) -> PostOut:
    """Schedule (or move) the post; checked as it will go out (media included) and against
    the plan's monthly allowance of scheduled posts (402)."""
    post = await service.schedule(
        runtime.db, principal.org_id, post_id, body.scheduled_at, version=body.version
    )
    return await _answer_queued(post, response, runtime.db)


@router.post(
    "/{post_id}/publish", response_model=PostOut, responses=errors(402, 403, 404, 409, 422)
)
async def publish_post(
    post_id: IdPath, principal: Publisher, runtime: RuntimeDep, response: Response
) -> PostOut:
    """Publish now: the post becomes due at once and the publishing engine takes it."""
    post = await service.publish_now(runtime.db, principal.org_id, post_id)
    return _answer(post, response)


# --- approvals and comments --------------------------------------------------------------


def _person(principal: Principal) -> approvals.Person:
    return approvals.Person(principal.user_id, principal.email)


@router.post("/{post_id}/submit", response_model=PostOut, responses=errors(404, 409, 422))
async def submit_post(
    post_id: IdPath,
    principal: Writer,
    runtime: RuntimeDep,
    response: Response,
    body: SubmitIn | None = None,
) -> PostOut:
    """Send a draft for approval (checked as it will go out); it joins the inbox
    (``GET /api/posts?status=pending_approval``)."""
    post = await approvals.submit(
        runtime.db,
        principal.org_id,
        post_id,
        _person(principal),
        body.note if body else None,
        events=runtime.events,
    )
    return _answer(post, response)


@router.post(
    "/{post_id}/approve", response_model=PostOut, responses=errors(402, 403, 404, 409, 422)
)
async def approve_post(
    post_id: IdPath,
    principal: Publisher,
    runtime: RuntimeDep,
    response: Response,
    body: ApproveIn | None = None,
) -> PostOut:
    """Approve a pending post: scheduled at ``scheduledAt`` or its proposed time (402 past
    the plan's allowance), or an approved draft when it has no time. A post the
    content_creation workflow submitted also resumes its thread with the approval."""
    body = body or ApproveIn()
    post = await run_approvals.approve(
        runtime.engine,
        principal.org_id,
        post_id,
        _person(principal),
        scheduled_at=body.scheduled_at,
        comment=body.comment,
    )
    return _answer(post, response)


@router.post("/{post_id}/reject", response_model=PostOut, responses=errors(403, 404, 409, 422))
async def reject_post(
    post_id: IdPath, body: RejectIn, principal: Publisher, runtime: RuntimeDep, response: Response
) -> PostOut:
    """Send a pending post back to its author as a draft, with the reason as a comment (a
    workflow's post: its thread is answered with the rejection)."""
    post = await run_approvals.reject(
        runtime.engine, principal.org_id, post_id, _person(principal), body.comment
    )
    return _answer(post, response)


@router.get("/{post_id}/comments", response_model=list[CommentOut], responses=errors(404))
async def list_comments(
    post_id: IdPath, principal: Reader, runtime: RuntimeDep
) -> list[CommentOut]:
    """The post's internal notes and approval decisions, oldest first."""
    found = await approvals.comments(runtime.db, principal.org_id, post_id)
    return [CommentOut.of(c, email) for c, email in found]


@router.post(
    "/{post_id}/comments",
    status_code=201,
    response_model=CommentOut,
    responses=errors(404, 422),
)
async def add_comment(
    post_id: IdPath, body: CommentIn, principal: Writer, runtime: RuntimeDep
) -> CommentOut:
    """An internal note on the post (never published)."""
    comment = await approvals.add_comment(
        runtime.db, principal.org_id, post_id, _person(principal), body.text
    )
    return CommentOut.of(comment, principal.email)
