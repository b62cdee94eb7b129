"""Threads and runs of the LangGraph-compatible runs API (``/lg``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from persistence.models.base import Document

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
RunStatus = Literal["pending", "running", "success", "error", "interrupted", "timeout"]
TERMINAL: frozenset[str] = frozenset({"success", "error", "interrupted", "timeout"})


class LgThread(Document):
    """A conversation thread: its checkpoints live in the checkpointer under ``thread_id``."""

    collection = "lg_threads"

    thread_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: ThreadStatus = "idle"
    graph_id: str | None = None


class LgRun(Document):
    """One run of a graph on a thread (or none, for a stateless run)."""

    collection = "lg_runs"

    run_id: str
    thread_id: str
    assistant_id: str
    status: RunStatus = "pending"
    metadata: dict[str, Any] = Field(default_factory=dict)
    multitask_strategy: str = "reject"
    # What to run: kept so a background worker can pick the run up.
    kwargs: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    cancel_requested: bool = False
    # Background runs only (see runs.recovery): the attempt now running it, the
    # worker that runs it, whose request it is, and how many attempts have taken it.
    lease: str | None = None
    worker_id: str | None = None
    user_id: str | None = None
    attempts: int = 0


class LgAssistant(Document):
    """A configured variant of a graph, made by an organization (``assistants.create``): the
    graph it runs and the configuration its runs get (a chat model) unless a run names its own.
    The graphs' own assistants are not stored: every organization has one per graph."""

    collection = "lg_assistants"

    assistant_id: str
    graph_id: str
    name: str
    description: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    version: int = 1
