"""Per-tenant long-term memory on Chroma: one collection per (organization, kind)."""

from memory.kinds import MemoryKind
from memory.store import (
    InvalidMetadata,
    MemoryHit,
    MemoryNotFound,
    TenantMemory,
    collection_name,
    validate_org_id,
)

__all__ = [
    "InvalidMetadata",
    "MemoryHit",
    "MemoryKind",
    "MemoryNotFound",
    "TenantMemory",
    "collection_name",
    "validate_org_id",
]
