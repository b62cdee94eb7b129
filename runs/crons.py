"""Crons of the runs API (the LangGraph SDK's ``client.crons``): runs started on a schedule.

A cron without a thread starts each run on a new thread (kept; the SDK's "delete" on
completion is refused), tagged ``{"cron_id": ...}`` in the thread's and the run's metadata;
a cron on a thread runs there every time and stops when its thread is deleted. Each fire
starts a run exactly as ``runs.create`` does: the same checks, the same pending run document
and the same background job. A cron is checked like a run request when it is made or
changed, so a cron that could never start is refused then, not at 3 a.m.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId

from persistence.cron import ScheduleError, check_cron, next_fire, zone
from persistence.errors import ChorusError, InvalidInput, NotFound
from persistence.ids import utcnow
from persistence.models.crons import LgCron
from persistence.models.runs import LgRun, LgThread
from persistence.repository import TenantRepository
from runs.engine import RunEngine, check_graph
from runs.sdk import RunRequest, SdkRuns, get_thread, stream_modes, threads
from runs.threads import checked_metadata

log = logging.getLogger(__name__)

SORTS = {
    "cron_id": "cronId",
    "assistant_id": "assistantId",
    "thread_id": "threadId",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
    "next_run_date": "nextRunDate",
    "end_time": "endTime",
}
SortBy = Literal[
    "cron_id", "assistant_id", "thread_id", "created_at", "updated_at", "next_run_date", "end_time"
]


@dataclass
class CronSpec:
    """What a cron says (all optional on update: only what is set changes)."""

    schedule: str | None = None
    timezone: str | None = None
    input: Any = None
    model: str | None = None
    stream_mode: list[str] | None = None
    multitask_strategy: Literal["reject", "enqueue"] | None = None
    metadata: dict[str, Any] | None = None
    enabled: bool | None = None
    end_time: datetime | None = None
    fields_set: set[str] = field(default_factory=set)


def crons(db: Any) -> TenantRepository[LgCron]:
    return TenantRepository(db, LgCron)


def when(schedule: Any, timezone: Any, now: datetime) -> tuple[str, str | None, datetime]:
    """The checked schedule and time zone (None: UTC) and the next fire time after ``now``."""
    try:
        schedule = check_cron(schedule)
    except ScheduleError as exc:
        raise InvalidInput.field("body.schedule", str(exc)) from exc
    try:
        timezone = zone(timezone).key if timezone else None
    except ScheduleError as exc:
        raise InvalidInput.field("body.timezone", str(exc)) from exc
    try:
        return schedule, timezone, next_fire(schedule, timezone, now)
    except ScheduleError as exc:  # valid fields that match no date, e.g. 30 February
        raise InvalidInput.field("body.schedule", str(exc)) from exc


class Crons:
    def __init__(self, engine: RunEngine) -> None:
        self.engine = engine
        self.db = engine.services.db
        self.sdk = SdkRuns(engine)

    async def _payload(
        self,
        org_id: ObjectId,
        user_id: Any,
        graph: str,
        thread_id: str | None,
        spec: CronSpec,
        current: dict[str, Any],
    ) -> dict[str, Any]:
        """The run request each fire sends: ``current`` with what ``spec`` sets, checked as
        a run request is checked."""
        payload = dict(current)
        if spec.input is not None:
            payload["input"] = spec.input
        if spec.model is not None:
            payload["config"] = {"configurable": {"model": spec.model}}
        if spec.stream_mode is not None:
            payload["stream_mode"] = spec.stream_mode
        if spec.multitask_strategy is not None:
            payload["multitask_strategy"] = spec.multitask_strategy
        payload.setdefault("multitask_strategy", "reject")
        payload["stream_mode"] = stream_modes(payload.get("stream_mode") or ["values", "updates"])
        if payload.get("input") is not None:
            self.engine.check_input(graph, payload["input"])
        return payload

    async def create(
        self,
        org_id: ObjectId,
        user_id: ObjectId,
        graph: str,
        spec: CronSpec,
        *,
        thread_id: str | None = None,
    ) -> LgCron:
        check_graph(graph)
        schedule, timezone, next_run = when(spec.schedule, spec.timezone, utcnow())
        if thread_id is not None:
            await get_thread(self.db, org_id, thread_id)
        enabled = spec.enabled is not False
        cron = LgCron(
            organization_id=org_id,
            cron_id=str(uuid.uuid4()),
            assistant_id=graph,
            thread_id=thread_id,
            user_id=user_id,
            schedule=schedule,
            timezone=timezone,
            payload=await self._payload(org_id, user_id, graph, thread_id, spec, {}),
            metadata=checked_metadata(spec.metadata),
            enabled=enabled,
            end_time=spec.end_time,
            on_run_completed="keep" if thread_id is None else None,
            next_run_date=next_run if enabled else None,
        )
        await crons(self.db).insert(cron)
        return cron

    async def get(self, org_id: ObjectId, cron_id: str) -> LgCron:
        found = await crons(self.db).find_one(org_id, {"cronId": cron_id})
        if found is None:
            raise NotFound(f"no cron {cron_id!r}")
        return found

    def query(
        self,
        *,
        graph: str | None = None,
        thread_id: str | None = None,
        enabled: bool | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if graph:
            query["assistantId"] = check_graph(graph)
        if thread_id:
            query["threadId"] = thread_id
        if enabled is not None:
            query["enabled"] = enabled
        for key, value in checked_metadata(metadata).items():
            query[f"metadata.{key}"] = value
        return query

    async def search(
        self,
        org_id: ObjectId,
        query: dict[str, Any],
        *,
        sort_by: SortBy = "created_at",
        descending: bool = True,
        offset: int = 0,
        limit: int = 10,
    ) -> list[LgCron]:
        order = -1 if descending else 1
        return await crons(self.db).find(
            org_id,
            query,
            sort=[(SORTS[sort_by], order), ("cronId", order)],
            skip=offset,
            limit=limit,
        )

    async def count(self, org_id: ObjectId, query: dict[str, Any]) -> int:
        return await crons(self.db).count(org_id, query)

    async def update(self, org_id: ObjectId, cron_id: str, spec: CronSpec) -> LgCron:
        """Change what is set; ``metadata`` merges into the cron's. A new schedule, time zone
        or ``enabled`` computes the next fire again from now."""
        current = await self.get(org_id, cron_id)
        changes: dict[str, Any] = {}
        if {"schedule", "timezone", "enabled"} & spec.fields_set:
            schedule, timezone, next_run = when(
                spec.schedule or current.schedule, spec.timezone or current.timezone, utcnow()
            )
            enabled = current.enabled if spec.enabled is None else spec.enabled
            changes.update(
                schedule=schedule,
                timezone=timezone,
                enabled=enabled,
                nextRunDate=next_run if enabled else None,
            )
        if "end_time" in spec.fields_set:
            changes["endTime"] = spec.end_time
        if spec.metadata is not None:
            changes["metadata"] = checked_metadata({**current.metadata, **spec.metadata})
        changes["payload"] = await self._payload(
            org_id, current.user_id, current.assistant_id, current.thread_id, spec, current.payload
        )
        updated = await crons(self.db).update(org_id, current.id, changes)
        if updated is None:
            raise NotFound(f"no cron {cron_id!r}")
        return updated

    async def delete(self, org_id: ObjectId, cron_id: str) -> None:
        """The cron; its past runs and threads stay."""
        found = await self.get(org_id, cron_id)
        await crons(self.db).delete(org_id, found.id)

    async def fire(self, cron: LgCron) -> LgRun | None:
        """Start one run of ``cron`` in the background, for the user who made it; None when
        it cannot start now (its thread is busy or gone: the fire is skipped, and logged)."""
        org = cron.organization_id
        thread_id = cron.thread_id
        if thread_id is None:
            thread_id = str(uuid.uuid4())
            await threads(self.db).insert(
                LgThread(
                    organization_id=org, thread_id=thread_id, metadata={"cron_id": cron.cron_id}
                )
            )
        payload = cron.payload
        model = ((payload.get("config") or {}).get("configurable") or {}).get("model")
        request = RunRequest(
            graph=cron.assistant_id,
            input=payload.get("input"),
            stream_mode=payload.get("stream_mode") or ["values", "updates"],
            metadata={**cron.metadata, "cron_id": cron.cron_id},
            model=model,
            multitask_strategy=payload.get("multitask_strategy") or "reject",
        )
        try:
            return await self.sdk.start_in_background(org, cron.user_id, thread_id, request)
        except ChorusError as exc:
            log.warning("cron %s skipped a run: %s", cron.cron_id, exc.message)
            if isinstance(exc, NotFound) and cron.thread_id is not None:
                # Its thread was deleted: it can never run again, so it stops being due.
                await crons(self.db).update(org, cron.id, {"enabled": False, "nextRunDate": None})
            return None
