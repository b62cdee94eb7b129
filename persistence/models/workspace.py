"""The content workspace's own documents: internal notes on posts and the media library.

A post's comments live in their own collection (not an array on the post) so that adding a
note never races an editor's versioned save of the post itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document, Model
from persistence.models.content import Dimensions

CommentKind = Literal["note", "approval", "rejection", "submission"]


class PostComment(Document):
    collection = "post_comments"

    post_id: PyObjectId
    # The author by id only (their email is looked up when read), so erasing a person
    # (services.gdpr unsets userId everywhere) leaves no trace of them here.
    user_id: PyObjectId | None = None
    kind: CommentKind = "note"
    text: str = Field(max_length=5000)


MediaKind = Literal["image", "video", "gif"]


class MediaDerivative(Model):
    """A copy of a media item made to fit one network (``POST /api/media/{id}/optimize``)."""

    platform: str
    key: str
    url: str
    content_type: str
    size: int
    dimensions: Dimensions | None = None
    created_at: UTCDateTime | None = None


class MediaAsset(Document):
    """One file of the media library; the bytes are in the media store under ``key``."""

    collection = "media_assets"

    user_id: PyObjectId | None = None
    key: str
    url: str
    name: str
    content_type: str
    kind: MediaKind
    size: int
    dimensions: Dimensions | None = None
    duration_seconds: float | None = None
    codec: str | None = None
    thumbnail_key: str | None = None
    thumbnail_url: str | None = None
    alt_text: str | None = Field(default=None, max_length=1000)
    tags: list[str] = Field(default_factory=list)
    derivatives: list[MediaDerivative] = Field(default_factory=list)
