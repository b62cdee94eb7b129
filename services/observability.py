"""What the status routes report: the document store's answer and contents, and the agents'
recent work (runs by graph and outcome, agent calls by agent and outcome)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from persistence.ids import utcnow
from persistence.platform import Platform

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class DatabaseStatus:
    ok: bool
    ping_ms: float
    collections: dict[str, int]
    error: str | None = None


async def database_status(db: Any) -> DatabaseStatus:
    started = time.perf_counter()
    try:
        await db.command("ping")
        ping_ms = (time.perf_counter() - started) * 1000
        return DatabaseStatus(True, round(ping_ms, 2), await Platform(db).counts())
    except Exception as exc:  # a status route reports the failure instead of failing
        return DatabaseStatus(False, 0.0, {}, type(exc).__name__)


@dataclass(frozen=True)
class AgentsStatus:
    runs: list[dict[str, Any]]
    agent_calls: list[dict[str, Any]]


async def agents_status(db: Any) -> AgentsStatus:
    """Runs by graph and status, and agent calls by agent and status, in the last 24 hours."""
    platform = Platform(db)
    since = utcnow() - WINDOW
    runs = await platform.grouped_since(
        "lg_runs", {"graph": "assistantId", "status": "status"}, "createdAt", since
    )
    calls = await platform.grouped_since(
        "ai_tasks", {"agent": "agentType", "status": "execution.status"}, "createdAt", since
    )
    return AgentsStatus(runs=runs, agent_calls=calls)
