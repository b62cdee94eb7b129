"""``/lg/runs/crons``: the LangGraph SDK's crons (``client.crons``), runs on a schedule.

What a cron is and how it fires is ``runs.crons``; this translates the SDK's bodies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response

from api.deps import EngineDep, Reader, Writer, rate_limited
from api.responses import errors
from api.routes.lg_schemas import CountBody, CronCreate, CronOut, CronPatch, CronSearch
from persistence.models.crons import LgCron
from runs.assistants import ASSISTANT_IDS, graph_for
from runs.crons import Crons, CronSpec

RATE = rate_limited("runs", 600, 60)
router = APIRouter(prefix="/lg", tags=["runs"], dependencies=[Depends(RATE)])


def crons_of(engine: EngineDep) -> Crons:
    return Crons(engine)


CronsDep = Annotated[Crons, Depends(crons_of)]


def cron_out(cron: LgCron) -> CronOut:
    return CronOut.of(cron, ASSISTANT_IDS.get(cron.assistant_id, cron.assistant_id))


def _spec(body: CronCreate | CronPatch) -> CronSpec:
    sent = body.model_fields_set
    modes = body.stream_mode
    return CronSpec(
        schedule=body.schedule,
        timezone=body.timezone,
        input=body.input,
        model=body.config.configurable.model if body.config else None,
        stream_mode=[modes] if isinstance(modes, str) else modes,
        multitask_strategy=body.multitask_strategy,
        metadata=body.metadata,
        enabled=body.enabled,
        end_time=body.end_time,
        fields_set=set(sent),
    )


@router.post("/runs/crons", response_model=CronOut, responses=errors(404))
async def create_cron(body: CronCreate, crons: CronsDep, principal: Writer) -> CronOut:
    """SDK ``crons.create``: each run on a new thread."""
    graph = graph_for(body.assistant_id)
    return cron_out(await crons.create(principal.org_id, principal.user_id, graph, _spec(body)))


@router.post("/threads/{thread_id}/runs/crons", response_model=CronOut)
async def create_thread_cron(
    thread_id: str, body: CronCreate, crons: CronsDep, principal: Writer
) -> CronOut:
    """SDK ``crons.create_for_thread``: every run on ``thread_id``."""
    graph = graph_for(body.assistant_id)
    cron = await crons.create(
        principal.org_id, principal.user_id, graph, _spec(body), thread_id=thread_id
    )
    return cron_out(cron)


def _query(crons: Crons, body: CronSearch | CountBody) -> dict[str, Any]:
    return crons.query(
        graph=graph_for(body.assistant_id) if body.assistant_id else None,
        thread_id=body.thread_id,
        enabled=body.enabled,
        metadata=body.metadata,
    )


@router.post("/runs/crons/search", responses=errors(404))
async def search_crons(
    crons: CronsDep, principal: Reader, body: Annotated[CronSearch | None, Body()] = None
) -> list[dict[str, Any]]:
    """SDK ``crons.search``: by assistant, thread, enabled, metadata; sorted and paged;
    ``select`` keeps only the fields named."""
    body = body or CronSearch()
    found = await crons.search(
        principal.org_id,
        _query(crons, body),
        sort_by=body.sort_by,
        descending=body.sort_order == "desc",
        offset=body.offset,
        limit=body.limit,
    )
    items = [cron_out(c).model_dump(mode="json") for c in found]
    if body.select:
        items = [{k: v for k, v in item.items() if k in body.select} for item in items]
    return items


@router.post("/runs/crons/count", response_model=int, responses=errors(404))
async def count_crons(
    crons: CronsDep, principal: Reader, body: Annotated[CountBody | None, Body()] = None
) -> int:
    """SDK ``crons.count``."""
    return await crons.count(principal.org_id, _query(crons, body or CountBody()))


@router.patch("/runs/crons/{cron_id}", response_model=CronOut)
async def update_cron(cron_id: str, body: CronPatch, crons: CronsDep, principal: Writer) -> CronOut:
    """SDK ``crons.update``: change what is sent; ``metadata`` is merged into the cron's."""
    return cron_out(await crons.update(principal.org_id, cron_id, _spec(body)))


@router.delete("/runs/crons/{cron_id}", status_code=204)
async def delete_cron(cron_id: str, crons: CronsDep, principal: Writer) -> Response:
    """SDK ``crons.delete``; its past runs and threads stay."""
    await crons.delete(principal.org_id, cron_id)
    return Response(status_code=204)
