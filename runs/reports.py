"""Generating an analytics report: the analysis graphs run in the background through the run
engine, then a ``build_report`` job waits for them and assembles the report.

Each graph runs on a thread of its own (``report-{report id}-{graph}``), as any background
run does, so its progress can be joined through the runs API while the report builds. The
graphs analyse "the last N days" (N = the report's length in days, within each graph's
bounds); the figures section is computed for the report's exact local days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, cast

from bson import ObjectId

from persistence.cache import Cache
from persistence.errors import InvalidInput, NotFound
from persistence.models import AnalyticsReport
from persistence.models.analytics import ReportRun
from persistence.repository import TenantRepository
from runs.engine import RunEngine
from runs.sdk import RunRequest, SdkRuns
from services.analytics import competitors as tracked_competitors
from services.analytics import reports
from services.analytics.queries import Analytics
from services.analytics.scope import Scope, resolve_scope
from services.billing import limits
from services.events import EventBus

GRAPHS = ("performance_analysis", "trend_analysis", "competitor_analysis")
JOB = "build_report"
# The graphs' own bounds on "days" (agents.schemas).
MAX_DAYS = {"performance_analysis": 365, "trend_analysis": 90, "competitor_analysis": 365}


class ReportServices(Protocol):
    """What building a report needs beyond the run engine's services."""

    @property
    def db(self) -> Any: ...

    @property
    def cache(self) -> Cache: ...

    @property
    def events(self) -> EventBus: ...


async def _inputs(engine: RunEngine, scope: Scope, graphs: list[str]) -> dict[str, Any]:
    days = (scope.last - scope.first).days + 1
    inputs: dict[str, Any] = {}
    for graph in graphs:
        request: dict[str, Any] = {"days": min(days, MAX_DAYS[graph])}
        if graph in ("performance_analysis", "trend_analysis") and scope.platforms:
            request["platforms"] = scope.platforms
        if graph == "competitor_analysis":
            names = sorted(
                {
                    d.competitor.name
                    for d in await tracked_competitors.tracked(engine.services.db, scope.org_id)
                }
            )
            if not names:
                raise InvalidInput.field(
                    "body.graphs", "competitor_analysis needs a tracked competitor; add one first"
                )
            request["competitors"] = names[:20]
        inputs[graph] = {"input": request}
    return inputs


async def start(
    engine: RunEngine,
    org_id: ObjectId,
    user_id: ObjectId,
    scope: Scope,
    *,
    title: str,
    graphs: list[str],
) -> AnalyticsReport:
    """Store the report, start its graphs in the background and queue its assembly."""
    inputs = await _inputs(engine, scope, graphs)
    report = AnalyticsReport(
        organization_id=org_id,
        title=title,
        created_by=user_id,
        date_from=scope.first.isoformat(),
        date_to=scope.last.isoformat(),
        timezone=scope.timezone,
        platforms=scope.platforms,
    )
    sdk = SdkRuns(engine)
    # Checked (inputs, AI credits) before anything is stored: a refused report stores nothing.
    for graph in graphs:
        engine.check_input(graph, inputs[graph])
    await limits.check(engine.services.db, org_id, "ai_credits", adding=1)
    repo = TenantRepository(engine.services.db, AnalyticsReport)
    await repo.insert(report)
    for graph in graphs:
        thread_id = f"report-{report.id}-{graph}"
        run = await sdk.start_in_background(
            org_id,
            user_id,
            thread_id,
            RunRequest(
                graph=graph,
                input=inputs[graph],
                if_not_exists="create",
                metadata={"reportId": str(report.id)},
            ),
        )
        report.runs.append(ReportRun(graph=graph, thread_id=thread_id, run_id=run.run_id))
    await repo.update(
        org_id, report.id, {"runs": [r.model_dump(by_alias=True) for r in report.runs]}
    )
    await engine.services.jobs.enqueue(
        JOB, job_id=f"{JOB}:{report.id}", org_id=str(org_id), report_id=str(report.id)
    )
    return report


async def build(engine: RunEngine, org_id: ObjectId, report_id: ObjectId) -> str:
    """Wait for the report's graphs, then store its Markdown, figures and HTML; its status."""
    services = cast(ReportServices, engine.services)
    try:
        report = await reports.get(services.db, org_id, report_id)
    except NotFound:  # deleted before it was built
        return "deleted"
    if report.status != "running":  # a retried job: the report was finished before
        return report.status
    sdk = SdkRuns(engine)
    sections: list[str] = []
    for part in report.runs:
        run = await sdk.wait_done(org_id, part.thread_id, part.run_id)
        part.status, part.error = run.status, run.error
        if run.status == "success":
            ctx = engine.context(org_id, graph=part.graph, thread_id=part.thread_id)
            text = (await engine.outcome(ctx)).values.get("report")
            sections.append(str(text) if text else f"_{part.graph} wrote no report._")
        else:
            sections.append(f"_{part.graph} did not finish ({run.status}): {run.error or ''}_")
    scope = await resolve_scope(
        services.db,
        org_id,
        first=dt.date.fromisoformat(report.date_from),
        last=dt.date.fromisoformat(report.date_to),
        platforms=report.platforms,
    )
    analytics = Analytics(services.db, services.cache)
    summary, trends = await analytics.summary(scope), await analytics.trends(scope)
    done = await reports.finish(services.db, services.events, report, sections, summary, trends)
    return done.status
