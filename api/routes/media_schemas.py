"""Request and response bodies of the media library routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.routes.post_schemas import DimensionsOut, StrictIn, Tag
from api.routes.schemas import ApiModel
from persistence.models import MediaAsset
from persistence.models.content import Platform


class DerivativeOut(ApiModel):
    platform: str
    url: str = Field(description="Its bytes through the API (?variant=<platform>).")
    content_type: str
    size: int
    dimensions: DimensionsOut | None = None
    created_at: datetime | None = None


class MediaOut(ApiModel):
    id: str
    name: str
    kind: Literal["image", "video", "gif"]
    content_type: str = Field(description="Sniffed from the bytes, not the name.")
    size: int
    url: str = Field(description="The file through the API.")
    storage_url: str = Field(description="Where the media store keeps it (S3/CDN URL).")
    thumbnail_url: str | None = None
    dimensions: DimensionsOut | None = None
    duration_seconds: float | None = None
    codec: str | None = None
    alt_text: str | None = None
    tags: list[str]
    derivatives: list[DerivativeOut]
    created_at: datetime
    updated_at: datetime | None = None

    @classmethod
    def of(cls, asset: MediaAsset) -> MediaOut:
        base = f"/api/media/{asset.id}/file"
        return cls(
            id=str(asset.id),
            name=asset.name,
            kind=asset.kind,
            content_type=asset.content_type,
            size=asset.size,
            url=base,
            storage_url=asset.url,
            thumbnail_url=f"{base}?variant=thumbnail" if asset.thumbnail_key else None,
            dimensions=DimensionsOut(**asset.dimensions.model_dump()) if asset.dimensions else None,
            duration_seconds=asset.duration_seconds,
            codec=asset.codec,
            alt_text=asset.alt_text,
            tags=asset.tags,
            derivatives=[
                DerivativeOut(
                    platform=d.platform,
                    url=f"{base}?variant={d.platform}",
                    content_type=d.content_type,
                    size=d.size,
                    dimensions=DimensionsOut(**d.dimensions.model_dump()) if d.dimensions else None,
                    created_at=d.created_at,
                )
                for d in asset.derivatives
            ],
            created_at=asset.created_at,
            updated_at=asset.updated_at,
        )


class MediaPageOut(ApiModel):
    items: list[MediaOut]
    next_cursor: str | None


class MediaUpdateIn(StrictIn):
    alt_text: str | None = Field(default=None, max_length=1000, description="null clears it.")
    tags: list[Tag] | None = Field(default=None, max_length=30)


class OptimizeIn(StrictIn):
    platforms: list[Platform] = Field(min_length=1, max_length=8)


class StorageUsageOut(ApiModel):
    used_bytes: int = Field(description="Everything stored: files, thumbnails, derivatives.")
    allowed_bytes: int | None = Field(description="The plan's allowance; null: no limit.")
    files: int
    by_kind: dict[str, int] = Field(description="Bytes of the library's originals by kind.")
