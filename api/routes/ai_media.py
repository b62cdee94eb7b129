"""Generated media: images and short videos for a post or a text, stored in the media
library like uploads (the spec's /api/ai/images/generate and /api/ai/videos/generate).
HTTP only: the work is ``services.media_generation``."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from fastapi import APIRouter

from api.deps import RuntimeDep, Writer
from api.errors import ApiError
from api.responses import errors
from api.routes.ai_common import AI_RATE
from api.routes.ai_media_schemas import (
    GeneratedItemOut,
    GeneratedOut,
    GenerateImagesIn,
    GenerateVideosIn,
)
from persistence.errors import InvalidInput
from services.media_generation import generate
from services.media_generation.openai_images import ImageModelFailed
from services.media_generation.slideshow import FfmpegMissing

router = APIRouter(prefix="/api/ai", tags=["ai"], dependencies=[AI_RATE])


async def _source(body: GenerateImagesIn, org_id: ObjectId, db: Any) -> generate.Source:
    if (body.post_id is None) == (body.text is None):
        raise InvalidInput.field("body.postId", "send postId or text, one of them")
    return await generate.source_of(
        db,
        org_id,
        post_id=body.post_id,
        text=body.text,
        platforms=list(body.platforms) if body.platforms else None,
    )


@router.post(
    "/images/generate",
    status_code=201,
    response_model=GeneratedOut,
    responses=errors(402, 403, 404, 422, 502),
)
async def generate_images(
    body: GenerateImagesIn, principal: Writer, runtime: RuntimeDep
) -> GeneratedOut:
    """An image for each shape the networks need (4:5 for Instagram and Facebook, 16:9 for
    X, YouTube and Bluesky, 9:16 for TikTok, 1:1 for LinkedIn), stored in the media library.
    From the image model when one is configured (402 when no AI credit is left, 502 when it
    fails), else composed from the brand's colours, logo and the headline. 402 past the
    plan's storage; nothing is stored unless everything is."""
    source = await _source(body, principal.org_id, runtime.db)
    model = runtime.image_model
    try:
        made = await generate.images(
            runtime.db,
            runtime.media,
            principal.org_id,
            principal.user_id,
            source,
            style=body.style,
            model=model,
        )
    except ImageModelFailed as exc:
        raise ApiError(502, exc.message, code=exc.code) from exc
    return GeneratedOut(
        generator=model.name if model is not None else "composed",
        items=[GeneratedItemOut.of(m) for m in made],
    )


@router.post(
    "/videos/generate",
    status_code=201,
    response_model=GeneratedOut,
    responses=errors(402, 403, 404, 422, 501, 503),
)
async def generate_videos(
    body: GenerateVideosIn, principal: Writer, runtime: RuntimeDep
) -> GeneratedOut:
    """A short MP4 slideshow (the headline, the post's images, the rest of its text) for
    each shape the networks need (9:16 for TikTok and Instagram, 16:9 elsewhere), stored in
    the media library with its duration and codec. 501 (code ffmpeg_missing) where ffmpeg
    is not installed; 402 past the plan's storage."""
    source = await _source(body, principal.org_id, runtime.db)
    try:
        made = await generate.videos(
            runtime.db,
            runtime.media,
            principal.org_id,
            principal.user_id,
            source,
            style=body.style,
            seconds_per_slide=body.seconds_per_slide,
        )
    except FfmpegMissing as exc:
        raise ApiError(501, exc.message, code=exc.code) from exc
    return GeneratedOut(generator="slideshow", items=[GeneratedItemOut.of(m) for m in made])
