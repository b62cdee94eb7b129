"""The base of every stored document: id, tenant, timestamps, camelCase field names."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from bson import ObjectId
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from persistence.ids import PyObjectId, UTCDateTime, utcnow


class Model(BaseModel):
    """Sub-documents: camelCase in MongoDB and JSON, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        arbitrary_types_allowed=True,
        extra="ignore",
    )


class Document(Model):
    """A top-level document. Every one carries ``organizationId``: tenancy comes first."""

    collection: ClassVar[str]

    id: PyObjectId = Field(default_factory=ObjectId, alias="_id")
    organization_id: PyObjectId
    created_at: UTCDateTime = Field(default_factory=utcnow)
    updated_at: UTCDateTime | None = None

    def to_mongo(self) -> dict[str, Any]:
        """The document as stored: aliases, native ObjectId and datetime values."""
        return self.model_dump(by_alias=True, mode="python", exclude_none=True)

    @classmethod
    def from_mongo(cls, raw: dict[str, Any]) -> Self:
        return cls.model_validate(raw)
