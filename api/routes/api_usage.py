"""``GET /api/api-usage``: requests per API key (and signed-in people) and route over time,
for whoever manages the organization's keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from api.deps import RuntimeDep, parse_id, rate_limited, require
from api.errors import ApiError
from api.principal import Principal
from api.responses import errors
from api.routes.schemas import ApiModel
from persistence.ids import IsoDateTime
from services import api_usage

KeyManager = Annotated[Principal, Depends(require("manage_keys"))]

router = APIRouter(
    prefix="/api/api-usage",
    tags=["api keys"],
    dependencies=[Depends(rate_limited("read", 600, 60))],
    responses=errors(401, 429),
)


class UsageRowOut(ApiModel):
    period: datetime = Field(description="The hour (or day) the requests fell in, UTC.")
    api_key_id: str | None = Field(description="null: people signed in with a token.")
    method: str
    route: str = Field(description="The route's template, e.g. /api/posts/{post_id}.")
    count: int
    errors: int = Field(description="Answers with a status of 400 or more.")


class UsageOut(ApiModel):
    items: list[UsageRowOut]


@router.get("", response_model=UsageOut, responses=errors(403, 422))
async def api_usage_report(
    principal: KeyManager,
    runtime: RuntimeDep,
    since: Annotated[IsoDateTime | None, Query(description="Default: 7 days before until")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Default: now")] = None,
    api_key_id: Annotated[str | None, Query(alias="apiKeyId", max_length=24)] = None,
    granularity: Annotated[Literal["hour", "day"], Query()] = "hour",
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> UsageOut:
    """Counted as requests are served and written every few seconds; newest first."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ApiError(
                422,
                f"invalid input: query.{name}",
                fields=[{"field": f"query.{name}", "message": "give a timezone (Z or +hh:mm)"}],
            )
    rows = await api_usage.report(
        runtime.db,
        principal.org_id,
        since=since,
        until=until,
        api_key_id=parse_id(api_key_id, "query.apiKeyId") if api_key_id else None,
        granularity=granularity,
        limit=limit,
    )
    return UsageOut(
        items=[
            UsageRowOut(**{**r, "api_key_id": str(r["api_key_id"]) if r["api_key_id"] else None})
            for r in rows
        ]
    )
