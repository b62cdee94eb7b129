"""The media library: upload (multipart, sniffed, measured, thumbnailed), list, read the
bytes, alt text and tags, delete (not while a waiting post uses it), per-network
derivatives, and the storage used. Files are addressed by id only, never by a name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile

from api.deps import IdPath, Reader, RuntimeDep, Writer, rate_limited
from api.errors import ApiError
from api.responses import errors
from api.routes.media_schemas import (
    MediaOut,
    MediaPageOut,
    MediaUpdateIn,
    OptimizeIn,
    StorageUsageOut,
)
from persistence.media import MediaNotFound
from services.workspace import media
from services.workspace.media import MediaTooLarge, ToolMissing, UnsupportedMedia

router = APIRouter(
    prefix="/api/media",
    tags=["media"],
    dependencies=[Depends(rate_limited("read", 600, 60))],
    responses=errors(401, 429),
)

CHUNK = 1024 * 1024


def _http(exc: Exception) -> ApiError:
    if isinstance(exc, UnsupportedMedia):
        return ApiError(415, exc.message, code=exc.code, fields=exc.fields)
    if isinstance(exc, MediaTooLarge):
        return ApiError(413, exc.message, code=exc.code, fields=exc.fields)
    assert isinstance(exc, ToolMissing)
    return ApiError(501, exc.message, code=exc.code)


async def _read(upload: UploadFile) -> bytes:
    """The upload's bytes, refused once past the limit rather than read whole first."""
    chunks, size = [], 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > media.MAX_MEDIA_BYTES:
            raise ApiError(413, f"files are at most {media.MAX_MEDIA_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/upload", status_code=201, response_model=MediaOut, responses=errors(402, 403, 413, 415, 422)
)
async def upload_media(
    principal: Writer,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="An image (JPEG, PNG, WebP, GIF) or video.")],
    alt_text: Annotated[str | None, Form(alias="altText", max_length=1000)] = None,
    tags: Annotated[str | None, Form(max_length=3000, description="Comma-separated tags.")] = None,
) -> MediaOut:
    """Upload a file of up to 100 MB into the library. Its type is read from its content
    (415 when it is not an image or video); images get their dimensions and a thumbnail,
    videos their duration and codec where ffprobe is installed. 402 past the plan's storage."""
    data = await _read(file)
    names = [t.strip() for t in (tags or "").split(",") if t.strip()]
    if len(names) > 30 or any(len(t) > 100 for t in names):
        raise ApiError(
            422,
            "invalid input: body.tags",
            fields=[{"field": "body.tags", "message": "at most 30 tags of 100 characters"}],
        )
    try:
        asset = await media.upload(
            runtime.db,
            runtime.media,
            principal.org_id,
            principal.user_id,
            file.filename or "upload",
            data,
            alt_text=alt_text,
            tags=list(dict.fromkeys(names)),
        )
    except (UnsupportedMedia, MediaTooLarge) as exc:
        raise _http(exc) from exc
    return MediaOut.of(asset)


@router.get("", response_model=MediaPageOut, responses=errors(422))
async def list_media(
    principal: Reader,
    runtime: RuntimeDep,
    kind: Annotated[media.MediaKind | None, Query()] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=24)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MediaPageOut:
    """The library, newest first."""
    found, next_cursor = await media.page(
        runtime.db, principal.org_id, kind=kind, tag=tag, cursor=cursor, limit=limit
    )
    return MediaPageOut(items=[MediaOut.of(a) for a in found], next_cursor=next_cursor)


@router.get("/storage-usage", response_model=StorageUsageOut)
async def storage_usage(principal: Reader, runtime: RuntimeDep) -> StorageUsageOut:
    """The bytes the organization stores, against its plan's allowance."""
    usage = await media.storage_usage(runtime.db, runtime.media, principal.org_id)
    return StorageUsageOut(
        used_bytes=usage.used_bytes,
        allowed_bytes=usage.allowed_bytes,
        files=usage.files,
        by_kind=usage.by_kind,
    )


@router.get("/{media_id}", response_model=MediaOut, responses=errors(404))
async def get_media(media_id: IdPath, principal: Reader, runtime: RuntimeDep) -> MediaOut:
    return MediaOut.of(await media.get(runtime.db, principal.org_id, media_id))


@router.get(
    "/{media_id}/file",
    response_class=Response,
    responses={
        **errors(404, 422),
        200: {
            "description": "The file's bytes, as the type sniffed from them at upload",
            "content": {"image/*": {}, "video/*": {}, "application/octet-stream": {}},
        },
    },
)
async def media_file(
    media_id: IdPath,
    principal: Reader,
    runtime: RuntimeDep,
    variant: Annotated[
        str,
        Query(
            pattern="^[a-z]{1,20}$",
            description="original, thumbnail, or a network's name for its derivative.",
        ),
    ] = "original",
) -> Response:
    """The bytes of the file, its thumbnail or a derivative."""
    try:
        data, kind = await media.file(
            runtime.db, runtime.media, principal.org_id, media_id, variant
        )
    except MediaNotFound as exc:
        raise ApiError(404, "the file is missing from the media store") from exc
    return Response(
        data,
        media_type=kind,
        headers={"Content-Disposition": "inline", "Cache-Control": "private, max-age=3600"},
    )


@router.put("/{media_id}", response_model=MediaOut, responses=errors(403, 404, 422))
async def update_media(
    media_id: IdPath, body: MediaUpdateIn, principal: Writer, runtime: RuntimeDep
) -> MediaOut:
    """Change the alt text and/or tags sent (``altText: null`` clears it)."""
    asset = await media.update(
        runtime.db,
        principal.org_id,
        media_id,
        alt_text=body.alt_text,
        tags=list(dict.fromkeys(body.tags or [])),
        fields=set(body.model_fields_set),
    )
    return MediaOut.of(asset)


@router.delete(
    "/{media_id}", status_code=204, response_class=Response, responses=errors(403, 404, 409)
)
async def delete_media(media_id: IdPath, principal: Writer, runtime: RuntimeDep) -> Response:
    """Delete the file, its thumbnail and derivatives (409 while a post waiting to go out
    uses it)."""
    await media.delete(runtime.db, runtime.media, principal.org_id, media_id)
    return Response(status_code=204)


@router.post(
    "/{media_id}/optimize",
    response_model=MediaOut,
    responses=errors(402, 403, 404, 422, 501),
)
async def optimize_media(
    media_id: IdPath, body: OptimizeIn, principal: Writer, runtime: RuntimeDep
) -> MediaOut:
    """Make a copy for each network that meets its limits (size, aspect ratio, format):
    Pillow for images; ffmpeg for videos where installed (501 where it is not)."""
    try:
        asset = await media.optimize(
            runtime.db, runtime.media, principal.org_id, media_id, list(body.platforms)
        )
    except (UnsupportedMedia, ToolMissing) as exc:
        raise _http(exc) from exc
    return MediaOut.of(asset)
