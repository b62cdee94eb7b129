"""Stored analytics reports: created when generation starts, finished with the graphs'
Markdown, the period's figures and the HTML rendering, then announced (``report.ready``).

Starting the graphs and waiting for them is the run engine's part (``runs.reports``); this
module keeps the documents and assembles what the report says.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bson import ObjectId

from persistence.errors import NotFound
from persistence.ids import utcnow
from persistence.models import AnalyticsReport
from persistence.repository import TenantRepository
from services.analytics.queries import SummaryAnswer, TrendsAnswer
from services.analytics.report_render import charts, figures_markdown, render_html
from services.events import REPORT_READY, EventBus


def _repo(db: Any) -> TenantRepository[AnalyticsReport]:
    return TenantRepository(db, AnalyticsReport)


async def get(db: Any, org_id: ObjectId, report_id: ObjectId) -> AnalyticsReport:
    found = await _repo(db).get(org_id, report_id)
    if found is None:
        raise NotFound(f"report {report_id} not found")
    return found


async def listed(
    db: Any, org_id: ObjectId, *, limit: int, offset: int
) -> tuple[list[AnalyticsReport], int]:
    items = await _repo(db).find(org_id, sort=[("_id", -1)], skip=offset, limit=limit)
    return items, await _repo(db).count(org_id)


async def delete(db: Any, org_id: ObjectId, report_id: ObjectId) -> None:
    if not await _repo(db).delete(org_id, report_id):
        raise NotFound(f"report {report_id} not found")


async def finish(
    db: Any,
    events: EventBus,
    report: AnalyticsReport,
    sections: list[str],
    summary: SummaryAnswer,
    trends: TrendsAnswer,
) -> AnalyticsReport:
    """Store the finished report (completed if any graph produced its part) and emit
    ``report.ready``. A report deleted meanwhile stays deleted."""
    failed = [r for r in report.runs if r.status != "success"]
    markdown = "\n\n".join([f"# {report.title}", figures_markdown(summary, trends), *sections])
    drawn = await asyncio.to_thread(charts, summary, trends, report.title)
    html = render_html(report.title, markdown, drawn)
    status = "failed" if report.runs and len(failed) == len(report.runs) else "completed"
    figures = {
        "summary": summary.summary.model_dump(mode="json"),
        "daily": [p.model_dump(mode="json") for p in trends.series.points],
    }
    changes = {
        "status": status,
        "markdown": markdown,
        "html": html,
        "figures": figures,
        "runs": [r.model_dump(by_alias=True) for r in report.runs],
        "error": "; ".join(f"{r.graph}: {r.error or r.status}" for r in failed) or None,
        "completedAt": utcnow(),
    }
    updated = await _repo(db).update(report.organization_id, report.id, changes)
    if updated is None:
        return report
    await events.emit(
        report.organization_id,
        REPORT_READY,
        {"reportId": str(report.id), "name": report.title, "status": status},
        user_id=report.created_by,
        resource=("analytics_report", str(report.id)),
    )
    return updated
