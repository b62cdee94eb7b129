"""The context of one graph run: the tenant, this process's services, the clock and a memo.

LangGraph hands it to every node (the graphs' ``context_schema``; a node takes
``runtime: Runtime[RunContext]``) and to tools (``runtime: ToolRuntime[RunContext]``). The run
engine builds it from the authenticated principal, so the tenant never comes from a request
body or from arguments a model wrote: no prompt can point a tool at another tenant's data.

It is not checkpointed: it holds live objects (the database, the memory store) and is built
again for every run, including a resumed one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from bson import ObjectId

from memory.store import TenantMemory
from persistence.ids import utcnow

T = TypeVar("T")


@runtime_checkable  # tools' argument schemas check the injected context's types
class Services(Protocol):
    """The slice of the process's components that tools use."""

    @property
    def db(self) -> Any: ...  # a PyMongo AsyncDatabase, or the embedded engine's equivalent

    @property
    def memory(self) -> TenantMemory: ...


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """One run's tenant and services; ``now`` pins the clock (evals replay a dataset "as of"
    a moment), otherwise the clock is the real time."""

    org_id: ObjectId
    services: Services
    user_id: str | None = None
    graph: str | None = None
    thread_id: str | None = None
    model: str | None = None
    # An assistant variant's instructions: they replace the tenant's own per-agent prompt
    # addition in every agent of this run.
    system_prompt: str | None = None
    now: datetime | None = None
    # One run's answers to repeated questions (several agents of a workflow ask the same
    # analytics question, whose answer cannot change within the run).
    memo: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    def clock(self) -> datetime:
        """The run's "now": aware UTC."""
        if self.now is None:
            return utcnow()
        return self.now.replace(tzinfo=UTC) if self.now.tzinfo is None else self.now

    @property
    def thread_key(self) -> str:
        """The run's thread, as the key of what the run stores (so a retry finds its own
        work); only for runs on a thread."""
        if not self.thread_id:
            raise ValueError("this step stores results and needs the run's thread")
        return f"{self.org_id}:{self.thread_id}"


async def memoized(ctx: RunContext, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
    """``compute()`` once per run for ``key``; concurrent askers share one answer."""
    if key not in ctx.memo:
        ctx.memo[key] = asyncio.ensure_future(compute())
    return await ctx.memo[key]
