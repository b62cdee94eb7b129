"""LangChain tools over the organization's long-term memory.

The tenant comes from the run's context (``ToolRuntime[RunContext]``), never from the
arguments the model writes; :class:`memory.store.TenantMemory` then keeps every read and
write inside that tenant's collections, so an ``organization_id`` a model puts into
``filters`` or ``metadata`` can narrow a search to nothing or be refused, never reach another
organization. Results are plain JSON values; ``organization_id`` is left out of them so the
model never sees a tenant id it could echo back.

Mistakes the model can correct (an unknown kind, bad metadata) come back as the tool's
answer, so the model reads the message and retries.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.prebuilt import ToolRuntime
from pydantic import BaseModel, Field, ValidationError

from memory.kinds import MemoryKind
from memory.store import ORGANIZATION_KEY, MemoryHit
from tools.context import RunContext

MAX_RESULTS = 20
_KINDS = ", ".join(f"{k.value} ({k.description})" for k in MemoryKind)


def _validation_message(error: ValidationError) -> str:
    """The schema error as the model should read it: for the kind, the valid kinds."""
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item.get("loc", ())) or "input"
        if field == "kind":
            valid = ", ".join(k.value for k in MemoryKind)
            parts.append(f"unknown memory kind {item.get('input')!r}; expected one of: {valid}")
        else:
            parts.append(f"{field}: {item.get('msg')}")
    return "Invalid arguments: " + "; ".join(parts)


def _hit_json(hit: MemoryHit) -> dict[str, Any]:
    metadata = {k: v for k, v in hit.metadata.items() if k != ORGANIZATION_KEY}
    out: dict[str, Any] = {"id": hit.id, "kind": hit.kind.value, "text": hit.text}
    if hit.score is not None:
        out["score"] = round(hit.score, 4)
    out["metadata"] = metadata
    return out


class SearchMemoryInput(BaseModel):
    kind: MemoryKind = Field(description=f"Which memory to search: {_KINDS}.")
    query: str = Field(min_length=1, description="What to look for, in plain words.")
    k: int = Field(default=5, ge=1, le=MAX_RESULTS, description="How many memories to return.")
    filters: dict[str, Any] | None = Field(
        default=None,
        description=(
            'Optional metadata filter, e.g. {"platform": "instagram"} or '
            '{"engagement_score": {"$gte": 0.5}}.'
        ),
    )


class RememberInput(BaseModel):
    kind: MemoryKind = Field(description=f"Which memory to add to: {_KINDS}.")
    text: str = Field(min_length=1, description="The memory itself, one self-contained fact.")
    metadata: dict[str, Any] | None = Field(
        default=None,
        description='Optional metadata, e.g. {"platform": "linkedin", "confidence": 0.8}.',
    )


@tool(args_schema=SearchMemoryInput, parse_docstring=False)
async def search_memory(
    kind: MemoryKind,
    query: str,
    k: int = 5,
    filters: dict[str, Any] | None = None,
    *,
    runtime: ToolRuntime[RunContext],
) -> dict[str, Any]:
    """Search the organization's long-term memory of one kind for what is relevant to a
    query; returns the closest memories, most relevant first, with a score from 0 to 1."""
    org_id = runtime.context.org_id
    memory = runtime.context.services.memory
    try:
        hits = await memory.search(org_id, kind, query, k=k, where=filters)
    except ValueError as exc:  # bad filter syntax and the like: the model can fix it
        raise ToolException(f"search failed: {exc}") from exc
    return {
        "kind": MemoryKind(kind).value,
        "query": query,
        "results": [_hit_json(h) for h in hits],
    }


@tool(args_schema=RememberInput, parse_docstring=False)
async def remember(
    kind: MemoryKind,
    text: str,
    metadata: dict[str, Any] | None = None,
    *,
    runtime: ToolRuntime[RunContext],
) -> dict[str, Any]:
    """Store one fact in the organization's long-term memory of the given kind, so later
    work can find it with search_memory; returns the new memory's id."""
    org_id = runtime.context.org_id
    memory = runtime.context.services.memory
    try:
        memory_id = await memory.add(org_id, kind, text, metadata)
    except ValueError as exc:  # InvalidMetadata, a foreign organization_id, empty text
        raise ToolException(f"not stored: {exc}") from exc
    return {"id": memory_id, "kind": MemoryKind(kind).value, "stored": True}


for _tool in (search_memory, remember):
    _tool.handle_tool_error = True
    _tool.handle_validation_error = _validation_message

MEMORY_TOOLS: list[BaseTool] = [
    search_memory,
    remember,
]
