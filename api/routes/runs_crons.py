"""``/lg/runs/crons``: the LangGraph SDK's crons, runs started on a schedule.

``client.crons.create(assistant_id, schedule=..., input=...)`` starts each run on a new thread
(kept: ``on_run_completed`` "delete" is refused), tagged ``{"cron_id": ...}`` in the thread's and
the run's metadata; ``create_for_thread`` runs on that thread every time (a cron whose thread
is deleted stops). ``search``, ``count``, ``update`` and ``delete`` as in the SDK. Crons are
stored per tenant in ``lg_crons``; another tenant's id is simply not found. The schedule tick
(``api.scheduled``) claims due crons and starts each run exactly as ``runs.create`` does: the
same checks, the same pending run document and the same ``graph_run`` background job.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response

from api.deps import RuntimeDep, rate_limited, require
from api.errors import ApiError
from api.principal import Principal
from api.routes.runs import STRATEGIES, start_run
from api.routes.runs_common import ASSISTANT_IDS, get_thread, graph_name, threads
from api.routes.runs_exec import check_payload, stream_modes
from api.routes.runs_threads import checked_metadata
from persistence.cron import ScheduleError, check_cron, next_fire, zone
from persistence.ids import utcnow
from persistence.models.crons import LgCron
from persistence.models.runs import LgRun, LgThread
from persistence.repository import TenantRepository

log = logging.getLogger(__name__)

RATE = rate_limited("runs", 600, 60)
Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]
Payload = Annotated[dict[str, Any], Body()]

router = APIRouter(prefix="/lg", tags=["runs"], dependencies=[Depends(RATE)])

# SDK sort_by -> stored field.
_SORTS = {
    "cron_id": "cronId",
    "assistant_id": "assistantId",
    "thread_id": "threadId",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
    "next_run_date": "nextRunDate",
    "end_time": "endTime",
}


def crons(runtime: Any) -> TenantRepository[LgCron]:
    return TenantRepository(runtime.db, LgCron)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def cron_json(c: LgCron) -> dict[str, Any]:
    """A cron in the SDK's ``Cron`` shape."""
    return {
        "cron_id": c.cron_id,
        "assistant_id": ASSISTANT_IDS.get(c.assistant_id, c.assistant_id),
        "thread_id": c.thread_id,
        "on_run_completed": c.on_run_completed,
        "end_time": _iso(c.end_time),
        "schedule": c.schedule,
        "timezone": c.timezone,
        "created_at": _iso(c.created_at),
        "updated_at": _iso(c.updated_at or c.created_at),
        "payload": {**c.payload, "assistant_id": c.assistant_id, "schedule": c.schedule},
        "user_id": str(c.user_id),
        "next_run_date": _iso(c.next_run_date),
        "metadata": c.metadata,
        "enabled": c.enabled,
    }


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, f"invalid input: {field}", fields=[{"field": field, "message": message}])


def _end_time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise _invalid("body.end_time", "an ISO-8601 date and time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _when(schedule: Any, timezone: Any) -> tuple[str, str | None, datetime]:
    """The checked schedule and time zone (None: UTC), and the next fire time from now."""
    try:
        schedule = check_cron(schedule)
    except ScheduleError as exc:
        raise _invalid("body.schedule", str(exc)) from exc
    try:
        timezone = zone(timezone).key if timezone else None
    except ScheduleError as exc:
        raise _invalid("body.timezone", str(exc)) from exc
    try:
        return schedule, timezone, next_fire(schedule, timezone, utcnow())
    except ScheduleError as exc:  # valid fields that match no date, e.g. 30 February
        raise _invalid("body.schedule", str(exc)) from exc


async def _payload(
    runtime: Any,
    principal: Principal,
    name: str,
    thread_id: str | None,
    body: dict[str, Any],
    current: dict[str, Any],
) -> dict[str, Any]:
    """The run request each fire sends: ``current`` with what ``body`` sets, checked as a run
    request is, so a cron that could never start is refused when it is made or changed."""
    sent = {
        k: body[k] for k in ("input", "config", "stream_mode", "multitask_strategy") if k in body
    }
    payload = {**current, **{k: v for k, v in sent.items() if v is not None}}
    payload["multitask_strategy"] = payload.get("multitask_strategy") or "reject"
    if payload["multitask_strategy"] not in STRATEGIES:
        raise _invalid("body.multitask_strategy", f"one of {', '.join(STRATEGIES)}")
    payload["stream_mode"] = stream_modes(payload.get("stream_mode") or ["values", "updates"])
    if payload.get("config") is not None and not isinstance(payload["config"], dict):
        raise _invalid("body.config", "must be an object")
    if body.get("on_run_completed") not in (None, "keep"):
        raise _invalid(
            "body.on_run_completed", "only 'keep' is supported: each run's thread is kept"
        )
    check = {"input": payload.get("input")}
    await check_payload(runtime, principal.org_id, principal.user_id, name, thread_id or "", check)
    return payload


async def _create(
    runtime: Any, principal: Principal, thread_id: str | None, body: dict[str, Any]
) -> LgCron:
    """Check a cron request as a run request is checked, then store the cron."""
    if not body.get("assistant_id"):
        raise _invalid("body.assistant_id", "required")
    name = graph_name(str(body["assistant_id"]))
    schedule, timezone, next_run = _when(body.get("schedule"), body.get("timezone"))
    if thread_id is not None:
        await get_thread(runtime, principal.org_id, thread_id)
    enabled = body.get("enabled", True) is not False
    cron = LgCron(
        organization_id=principal.org_id,
        cron_id=str(uuid.uuid4()),
        assistant_id=name,
        thread_id=thread_id,
        user_id=principal.user_id,
        schedule=schedule,
        timezone=timezone,
        payload=await _payload(runtime, principal, name, thread_id, body, {}),
        metadata=checked_metadata(body.get("metadata")),
        enabled=enabled,
        end_time=_end_time(body.get("end_time")),
        on_run_completed="keep" if thread_id is None else None,
        next_run_date=next_run if enabled else None,
    )
    await crons(runtime).insert(cron)
    return cron


async def _get(runtime: Any, principal: Principal, cron_id: str) -> LgCron:
    found = await crons(runtime).find_one(principal.org_id, {"cronId": cron_id})
    if found is None:
        raise ApiError(404, f"no cron {cron_id!r}")
    return found


@router.post("/runs/crons")
async def create_cron(body: Payload, runtime: RuntimeDep, principal: Writer) -> dict[str, Any]:
    """SDK ``crons.create``: each run on a new thread."""
    return cron_json(await _create(runtime, principal, None, body))


@router.post("/threads/{thread_id}/runs/crons")
async def create_thread_cron(
    thread_id: str, body: Payload, runtime: RuntimeDep, principal: Writer
) -> dict[str, Any]:
    """SDK ``crons.create_for_thread``: every run on ``thread_id``."""
    return cron_json(await _create(runtime, principal, thread_id, body))


def _count_of(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _invalid(f"body.{key}", "a whole number, 0 or more")
    return value


def _search_query(body: dict[str, Any]) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if body.get("assistant_id"):
        query["assistantId"] = graph_name(str(body["assistant_id"]))
    if body.get("thread_id"):
        query["threadId"] = str(body["thread_id"])
    if body.get("enabled") is not None:
        query["enabled"] = bool(body["enabled"])
    for key, value in checked_metadata(body.get("metadata")).items():
        query[f"metadata.{key}"] = value
    return query


@router.post("/runs/crons/search")
async def search_crons(
    runtime: RuntimeDep, principal: Reader, body: Annotated[dict[str, Any] | None, Body()] = None
) -> list[dict[str, Any]]:
    """SDK ``crons.search``: by assistant, thread, enabled, metadata; sorted and paged."""
    body = body or {}
    sort_by = body.get("sort_by") or "created_at"
    if sort_by not in _SORTS:
        raise _invalid("body.sort_by", f"one of {', '.join(_SORTS)}")
    order = -1 if (body.get("sort_order") or "desc") == "desc" else 1
    found = await crons(runtime).find(
        principal.org_id,
        _search_query(body),
        sort=[(_SORTS[sort_by], order), ("cronId", order)],
        skip=_count_of(body, "offset", 0),
        limit=_count_of(body, "limit", 10),
    )
    items = [cron_json(c) for c in found]
    if body.get("select"):
        items = [{k: v for k, v in item.items() if k in body["select"]} for item in items]
    return items


@router.post("/runs/crons/count")
async def count_crons(
    runtime: RuntimeDep, principal: Reader, body: Annotated[dict[str, Any] | None, Body()] = None
) -> int:
    """SDK ``crons.count``."""
    return await crons(runtime).count(principal.org_id, _search_query(body or {}))


@router.patch("/runs/crons/{cron_id}")
async def update_cron(
    cron_id: str, body: Payload, runtime: RuntimeDep, principal: Writer
) -> dict[str, Any]:
    """SDK ``crons.update``: change what is sent; ``metadata`` is merged into the cron's. A new
    schedule, time zone or ``enabled`` computes the next fire again from now."""
    current = await _get(runtime, principal, cron_id)
    changes: dict[str, Any] = {}
    if {"schedule", "timezone", "enabled"} & body.keys():
        schedule, timezone, next_run = _when(
            body.get("schedule") or current.schedule,
            body.get("timezone") or current.timezone,
        )
        enabled = current.enabled if body.get("enabled") is None else bool(body["enabled"])
        changes.update(
            schedule=schedule,
            timezone=timezone,
            enabled=enabled,
            nextRunDate=next_run if enabled else None,
        )
    if "end_time" in body:
        changes["endTime"] = _end_time(body["end_time"])
    if "metadata" in body:
        changes["metadata"] = {**current.metadata, **checked_metadata(body["metadata"])}
    changes["payload"] = await _payload(
        runtime, principal, current.assistant_id, current.thread_id, body, current.payload
    )
    updated = await crons(runtime).update(principal.org_id, current.id, changes)
    if updated is None:
        raise ApiError(404, f"no cron {cron_id!r}")
    return cron_json(updated)


@router.delete("/runs/crons/{cron_id}", status_code=204)
async def delete_cron(cron_id: str, runtime: RuntimeDep, principal: Writer) -> Response:
    """SDK ``crons.delete``; its past runs and threads stay."""
    found = await _get(runtime, principal, cron_id)
    await crons(runtime).delete(principal.org_id, found.id)
    return Response(status_code=204)


async def fire_cron(runtime: Any, cron: LgCron) -> LgRun | None:
    """Start one run of ``cron`` in the background, as ``runs.create`` does; None when the
    run cannot start now (its thread is busy or gone: the fire is skipped, and logged)."""
    org = cron.organization_id
    thread_id = cron.thread_id
    if thread_id is None:
        thread_id = str(uuid.uuid4())
        await threads(runtime).insert(
            LgThread(organization_id=org, thread_id=thread_id, metadata={"cron_id": cron.cron_id})
        )
    # The run is started for the cron's creator; start_run reads only the ids of its principal.
    creator = Principal(user_id=cron.user_id, org_id=org, role="user", email="", via="api_key")
    body = {
        **cron.payload,
        "assistant_id": cron.assistant_id,
        "metadata": {**cron.metadata, "cron_id": cron.cron_id},
    }
    try:
        run = await start_run(runtime, creator, thread_id, body)
    except ApiError as exc:
        log.warning("cron %s skipped a run: %s", cron.cron_id, exc.detail)
        if exc.status_code == 404 and cron.thread_id is not None:
            # Its thread was deleted: it can never run again, so it stops being due.
            await crons(runtime).update(org, cron.id, {"enabled": False, "nextRunDate": None})
        return None
    await runtime.jobs.enqueue(
        "graph_run",
        job_id=f"graph_run:{run.run_id}",
        org_id=str(org),
        user_id=str(cron.user_id),
        run_id=run.run_id,
        thread_id=thread_id,
    )
    return run
