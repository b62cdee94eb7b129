"""What a tool learns from its run config: the tenant, and the services of this process.

The tenant always comes from ``configurable.organization_id``, which the serving layer sets
from the authenticated principal. Tools never take a tenant from model-written arguments, so no
prompt can point a tool at another tenant's data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol, TypeVar

from bson import ObjectId
from langchain_core.runnables import RunnableConfig

from memory.store import TenantMemory
from persistence.ids import parse_object_id

ORG_KEY = "organization_id"
SERVICES_KEY = "services"
# Keys starting with "__" stay out of checkpoint metadata; this one holds one run's reads.
MEMO_KEY = "__chorus_memo"


T = TypeVar("T")


class MissingContext(LookupError):
    """A tool ran without the tenant or services in its config."""


class Services(Protocol):
    """The slice of ``chorus.runtime.Runtime`` that tools use."""

    db: Any
    memory: TenantMemory


def tenant_of(config: RunnableConfig | None) -> ObjectId:
    value = ((config or {}).get("configurable") or {}).get(ORG_KEY)
    if not value:
        raise MissingContext("this run has no configurable.organization_id")
    return value if isinstance(value, ObjectId) else parse_object_id(str(value))


def services_of(config: RunnableConfig | None) -> Services:
    services = ((config or {}).get("configurable") or {}).get(SERVICES_KEY)
    if services is None:
        raise MissingContext("this run has no configurable.services")
    return services


async def memoized(
    config: RunnableConfig | None, key: Hashable, compute: Callable[[], Awaitable[T]]
) -> T:
    """``compute()`` once per run for ``key``: several agents of one workflow ask the same
    analytics question, and the answer cannot change within the run. Without a memo in the
    config (a bare tool call) it simply computes."""
    memo = ((config or {}).get("configurable") or {}).get(MEMO_KEY)
    if memo is None:
        return await compute()
    if key not in memo:
        memo[key] = asyncio.ensure_future(compute())  # concurrent askers share one answer
    return await memo[key]


def tool_config(org_id: ObjectId | str, services: Services, **extra: Any) -> RunnableConfig:
    """A run config carrying a tenant and services, as the serving layer builds it."""
    return {"configurable": {ORG_KEY: str(org_id), SERVICES_KEY: services, MEMO_KEY: {}, **extra}}
