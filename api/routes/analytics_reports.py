"""Analytics reports: generated in the background by the analysis graphs, stored with their
Markdown, figures and an HTML rendering with charts; ``report.ready`` announces each."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.deps import EngineDep, IdPath, Reader, RuntimeDep, Writer
from api.responses import errors
from api.routes.analytics import PlatformName
from persistence.errors import Conflict
from persistence.ids import IsoDate
from persistence.models import AnalyticsReport
from runs import reports as report_runs
from services.analytics import reports
from services.analytics.scope import resolve_scope

router = APIRouter(prefix="/api/analytics/reports", tags=["analytics"])

GraphName = Literal["performance_analysis", "trend_analysis", "competitor_analysis"]


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    title: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ] = "Analytics report"
    from_: IsoDate | None = Field(default=None, alias="from", description="first local day")
    to: IsoDate | None = Field(default=None, description="last local day (default: today)")
    platforms: list[PlatformName] | None = Field(default=None, max_length=8)
    graphs: list[GraphName] = Field(
        default_factory=lambda: ["performance_analysis", "trend_analysis"],
        min_length=1,
        max_length=3,
        description="the analysis graphs whose reports it includes",
    )


class ReportRunOut(BaseModel):
    graph: str
    thread_id: str
    run_id: str
    status: str
    error: str | None


class ReportSummary(BaseModel):
    id: str
    title: str
    status: str = Field(description="running, completed or failed")
    date_from: str
    date_to: str
    timezone: str
    platforms: list[str] | None
    runs: list[ReportRunOut]
    created_at: dt.datetime
    completed_at: dt.datetime | None
    error: str | None


class ReportOut(ReportSummary):
    markdown: str | None
    figures: dict[str, Any]
    html_url: str = Field(description="GET it for the HTML rendering with charts")


class ReportPage(BaseModel):
    items: list[ReportSummary]
    total: int
    limit: int
    offset: int


def _summary(doc: AnalyticsReport) -> dict[str, Any]:
    return dict(
        id=str(doc.id),
        title=doc.title,
        status=doc.status,
        date_from=doc.date_from,
        date_to=doc.date_to,
        timezone=doc.timezone,
        platforms=doc.platforms,
        runs=[ReportRunOut(**r.model_dump()) for r in doc.runs],
        created_at=doc.created_at,
        completed_at=doc.completed_at,
        error=doc.error,
    )


def _out(doc: AnalyticsReport) -> ReportOut:
    return ReportOut(
        **_summary(doc),
        markdown=doc.markdown,
        figures=doc.figures,
        html_url=f"/api/analytics/reports/{doc.id}/html",
    )


@router.get("", response_model=ReportPage)
async def list_reports(
    principal: Reader,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ReportPage:
    """The organization's reports, newest first (without their contents)."""
    items, total = await reports.listed(runtime.db, principal.org_id, limit=limit, offset=offset)
    return ReportPage(
        items=[ReportSummary(**_summary(d)) for d in items], total=total, limit=limit, offset=offset
    )


@router.post(
    "/generate",
    status_code=202,
    response_model=ReportOut,
    responses=errors(402, 403, 422),
)
async def generate_report(
    body: ReportIn, principal: Writer, runtime: RuntimeDep, engine: EngineDep
) -> ReportOut:
    """Start a report: the chosen analysis graphs run in the background (each on its own
    thread, joinable through the runs API); the report is ``completed`` once they are done
    and ``report.ready`` is emitted. Poll ``GET /api/analytics/reports/{id}``."""
    scope = await resolve_scope(
        runtime.db, principal.org_id, first=body.from_, last=body.to, platforms=body.platforms
    )
    doc = await report_runs.start(
        engine,
        principal.org_id,
        principal.user_id,
        scope,
        title=body.title,
        graphs=list(dict.fromkeys(body.graphs)),
    )
    return _out(doc)


@router.get("/{report_id}", response_model=ReportOut, responses=errors(404))
async def get_report(report_id: IdPath, principal: Reader, runtime: RuntimeDep) -> ReportOut:
    return _out(await reports.get(runtime.db, principal.org_id, report_id))  # type: ignore[arg-type]


@router.get(
    "/{report_id}/html",
    response_class=HTMLResponse,
    responses={**errors(404, 409), 200: {"content": {"text/html": {}}}},
)
async def report_html(report_id: IdPath, principal: Reader, runtime: RuntimeDep) -> HTMLResponse:
    """The report as one standalone HTML page with its charts (inline SVG, no script)."""
    doc = await reports.get(runtime.db, principal.org_id, report_id)  # type: ignore[arg-type]
    if doc.html is None:
        raise Conflict("the report is still being built", code="report_not_ready")
    return HTMLResponse(doc.html)


@router.delete("/{report_id}", status_code=204, responses=errors(403, 404))
async def delete_report(report_id: IdPath, principal: Writer, runtime: RuntimeDep) -> Response:
    await reports.delete(runtime.db, principal.org_id, report_id)  # type: ignore[arg-type]
    return Response(status_code=204)
