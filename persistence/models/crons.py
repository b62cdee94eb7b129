"""Crons of the LangGraph-compatible runs API (``/lg/runs/crons``): runs on a schedule."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document


class LgCron(Document):
    """A run request repeated on a cron schedule, on one thread or on a new thread each time."""

    collection = "lg_crons"

    cron_id: str
    assistant_id: str = Field(description="The graph's name.")
    thread_id: str | None = Field(default=None, description="None: a new thread per run.")
    # The user who created it: each run is started for them, as if they had asked.
    user_id: PyObjectId
    schedule: str
    timezone: str | None = None
    # The run request each fire sends (input, config, metadata, stream_mode, strategy).
    payload: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    end_time: UTCDateTime | None = None
    on_run_completed: Literal["keep"] | None = None
    # Claimed by the schedule tick with a compare-and-set; None when disabled or ended.
    next_run_date: UTCDateTime | None = None
