"""Request and response bodies of the content template routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from api.routes.post_schemas import (
    ContentIn,
    PostOut,
    SchedulingIn,
    StrictIn,
    Tag,
    TargetIn,
)
from api.routes.schemas import ApiModel
from persistence.models import ContentTemplate
from services.workspace.posts import PostInput, TargetInput
from services.workspace.templates import Category, TemplateInput

Value = Annotated[str, StringConstraints(max_length=5000)]
VarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class TemplateBodyIn(StrictIn):
    structure: str = Field(
        min_length=1, max_length=20000, description="The text, with {{placeholders}}."
    )
    default_values: dict[VarName, Value] = Field(
        default_factory=dict, max_length=100, description="Values used when none is given."
    )


class TemplateIn(StrictIn):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    category: Category = "other"
    template: TemplateBodyIn
    tags: list[Tag] = Field(default_factory=list, max_length=30)

    def to_input(self) -> TemplateInput:
        return TemplateInput(
            name=self.name,
            description=self.description,
            category=self.category,
            structure=self.template.structure,
            default_values=dict(self.template.default_values),
            tags=list(dict.fromkeys(self.tags)),
        )


class PlaceholderOut(ApiModel):
    name: str
    required: bool = Field(description="False when the template has a default value.")


class TemplateBodyOut(ApiModel):
    structure: str
    placeholders: list[PlaceholderOut]
    default_values: dict[str, str]


class UsageOut(ApiModel):
    times_used: int
    last_used: datetime | None = None


class TemplateOut(ApiModel):
    id: str
    name: str
    description: str | None = None
    category: Category
    template: TemplateBodyOut
    usage: UsageOut
    tags: list[str]
    created_at: datetime
    updated_at: datetime | None = None

    @classmethod
    def of(cls, template: ContentTemplate) -> TemplateOut:
        return cls.model_validate(template.model_dump(mode="json"))


class TemplatePageOut(ApiModel):
    items: list[TemplateOut]
    next_cursor: str | None


class UseIn(StrictIn):
    variables: dict[VarName, Value] = Field(default_factory=dict, max_length=100)
    platforms: list[TargetIn] = Field(min_length=1, max_length=30)
    content: ContentIn | None = Field(
        default=None, description="Title, hashtags and media for the post (its text is ignored)."
    )
    scheduling: SchedulingIn = Field(default_factory=SchedulingIn)
    tags: list[Tag] = Field(default_factory=list, max_length=30)
    save: bool = Field(default=False, description="Store the result as a post.")

    def to_input(self) -> PostInput:
        content = self.content or ContentIn(text="")
        return PostInput(
            text="",
            title=content.title,
            hashtags=list(content.hashtags),
            media_ids=[m.media_id for m in content.media_files],
            targets=[TargetInput(t.social_account_id, t.text) for t in self.platforms],
            scheduled_at=self.scheduling.scheduled_at,
            timezone=self.scheduling.timezone,
            tags=list(dict.fromkeys(self.tags)),
        )


class UseOut(ApiModel):
    text: str = Field(description="The filled template.")
    post: PostOut | None = Field(description="The stored post, when save was true.")
