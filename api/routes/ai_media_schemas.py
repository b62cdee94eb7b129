"""Request and response bodies of the generated media routes (/api/ai/images|videos)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.routes.media_schemas import MediaOut
from api.routes.post_schemas import StrictIn
from api.routes.schemas import ApiModel
from persistence.ids import PyObjectId
from persistence.models.content import Platform
from services.media_generation.compose import Style
from services.media_generation.generate import Generated


class GenerateImagesIn(StrictIn):
    """Send ``postId`` or ``text`` (one of them)."""

    post_id: PyObjectId | None = Field(
        default=None, description="A post of the organization: its title or first sentence."
    )
    text: str | None = Field(default=None, min_length=1, max_length=5000)
    platforms: list[Platform] | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        description="The networks to shape for; the post's targets when left out.",
    )
    style: Style = Field(
        default="bold", description="bold (brand colour), minimal (light), gradient."
    )


class GenerateVideosIn(GenerateImagesIn):
    seconds_per_slide: float = Field(default=2.5, ge=1, le=10)


class GeneratedItemOut(ApiModel):
    aspect: Literal["square", "portrait", "landscape", "vertical"]
    platforms: list[str] = Field(description="The networks this file is shaped for.")
    media: MediaOut

    @classmethod
    def of(cls, made: Generated) -> GeneratedItemOut:
        return cls(aspect=made.aspect, platforms=made.platforms, media=MediaOut.of(made.asset))


class GeneratedOut(ApiModel):
    generator: str = Field(
        description="What made the files: composed (Pillow), the image model "
        "(provider:model), or slideshow (ffmpeg)."
    )
    items: list[GeneratedItemOut]
