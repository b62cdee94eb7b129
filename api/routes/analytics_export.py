"""POST /api/analytics/export: the period's posts or days, chosen metrics, as CSV or XLSX."""

from __future__ import annotations

from typing import Annotated

from bson import ObjectId
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.deps import Reader, RuntimeDep
from api.responses import errors
from api.routes.analytics import PlatformName
from persistence.ids import IsoDate
from services.analytics import export
from services.analytics.scope import resolve_scope

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

AccountId = Annotated[str, StringConstraints(pattern="^[0-9a-fA-F]{24}$")]


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    format: export.Format = "csv"
    dataset: export.Dataset = Field(
        default="posts", description="posts: a row per post and network; daily: a row per day"
    )
    metrics: list[str] | None = Field(
        default=None,
        max_length=20,
        description="columns beside the keys; all when omitted. posts: "
        + ", ".join(export.METRICS["posts"])
        + "; daily: "
        + ", ".join(export.METRICS["daily"]),
    )
    from_: IsoDate | None = Field(default=None, alias="from", description="first local day")
    to: IsoDate | None = Field(default=None, description="last local day (default: today)")
    platforms: list[PlatformName] | None = Field(default=None, max_length=8)
    accounts: list[AccountId] | None = Field(default=None, max_length=100)


@router.post(
    "/export",
    response_class=StreamingResponse,
    responses={
        **errors(404, 422),
        200: {
            "description": "The file, streamed",
            "content": {media: {} for media in export.MEDIA_TYPES.values()},
        },
    },
)
async def export_analytics(
    body: ExportIn, principal: Reader, runtime: RuntimeDep
) -> StreamingResponse:
    """Download the period's posts (or days) with the chosen metrics, in the organization's
    timezone. Everything is checked before the first byte is sent."""
    scope = await resolve_scope(
        runtime.db,
        principal.org_id,
        first=body.from_,
        last=body.to,
        platforms=body.platforms,
        accounts=[ObjectId(a) for a in body.accounts] if body.accounts else None,
    )
    header = export.columns(body.dataset, body.metrics)
    source = export.rows(runtime.db, scope, body.dataset, header)
    name = f"analytics-{body.dataset}-{scope.first}-{scope.last}.{body.format}"
    stream = (
        export.csv_stream(header, source)
        if body.format == "csv"
        else export.xlsx_stream(header, source, f"{body.dataset} {scope.first}")
    )
    return StreamingResponse(
        stream,
        media_type=export.MEDIA_TYPES[body.format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
