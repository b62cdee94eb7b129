"""Import per-post metrics (JSON lines or CSV) into the organization's posts and analytics."""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import UploadFile

from api.deps import RuntimeDep, rate_limited, require
from api.errors import ApiError
from api.principal import Principal
from tools.importer import ImportReport, import_analytics

Writer = Annotated[Principal, Depends(require("write"))]

#: The largest file accepted; bigger exports go through the CLI (`chorus import-analytics`).
MAX_BYTES = 20 * 1024 * 1024

router = APIRouter(
    prefix="/api/analytics",
    tags=["analytics"],
    dependencies=[Depends(rate_limited("analytics_import", 20, 60))],
)


def _format_of(filename: str | None, fmt: str) -> Literal["auto", "jsonl", "csv"]:
    if fmt != "auto" or not filename:
        return fmt  # type: ignore[return-value]
    lower = filename.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "auto"


async def _body(request: Request) -> bytes:
    """The raw body, refused as soon as it passes the limit rather than after buffering it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> ApiError:
    limit = f"{MAX_BYTES:,} bytes"
    return ApiError(413, f"the file is over {limit}; use `chorus import-analytics` for more")


def _text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise _too_large()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(415, "the file must be UTF-8 text (JSON lines or CSV)") from exc


@router.post(
    "/import",
    response_model=ImportReport,
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
                # Raw text: one JSON object per line, or CSV with a header row.
                "application/x-ndjson": {"schema": {"description": "JSON lines"}},
                "text/csv": {"schema": {"description": "CSV with a header row"}},
            }
        }
    },
)
async def import_file(
    request: Request,
    principal: Writer,
    runtime: RuntimeDep,
    format: Annotated[Literal["auto", "jsonl", "csv"], Query()] = "auto",
) -> ImportReport:
    """Upload a file (multipart field ``file``) or send JSON lines / CSV as the body. Rows
    are keyed by (platform, platformPostId): re-importing updates in place. Bad rows are in
    ``errors`` by line and field; the good rows of the same file still land."""
    content_type = request.headers.get("content-type", "")
    filename: str | None = None
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422,
                "invalid input: body.file",
                fields=[{"field": "body.file", "message": "a file upload is required"}],
            )
        filename = upload.filename
        text = _text(await upload.read(MAX_BYTES + 1))
    else:
        text = _text(await _body(request))
    if not text.strip():
        raise ApiError(
            422, "invalid input: body", fields=[{"field": "body", "message": "the file is empty"}]
        )
    # Always a stream: import_analytics reads a bare str without a line break as a path.
    report = await import_analytics(
        runtime.db,
        principal.org_id,
        io.StringIO(text, newline=""),
        fmt=_format_of(filename, format),
    )
    return report
