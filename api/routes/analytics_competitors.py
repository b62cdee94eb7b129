"""Tracked competitors: a handle per network, read through the networks' providers, set against
the organization's own numbers by the competitor monitor's query."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.deps import IdPath, RuntimeDep, Writer
from api.responses import errors
from api.routes.analytics import SCOPE_ERRORS, PlatformName, ScopeDep
from persistence.models import CompetitorAnalysis
from services.analytics import competitors
from services.analytics.scope import RangeOut, range_out
from services.social_accounts.access import StoredAccountAccess
from tools.analytics import CompetitorBenchmarks, competitor_benchmarks

router = APIRouter(prefix="/api/analytics/competitors", tags=["analytics"])

Handle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CompetitorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # as api.routes.schemas.StrictIn

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    handles: dict[PlatformName, Handle] = Field(
        min_length=1,
        max_length=8,
        description='its handle on each network, e.g. {"twitter": "beanthere"}',
    )


class CompetitorOut(BaseModel):
    id: str
    name: str
    platform: str
    handle: str
    profile_url: str | None
    followers: int
    following: int
    posts: int
    posts_per_week: float = Field(description="from the change in its post count between syncs")
    last_synced: dt.datetime | None
    sync_status: str = Field(description="pending, ok, error or unsupported")
    sync_message: str | None = Field(description="why the last sync did not read the numbers")


class CompetitorsAnswer(BaseModel):
    range: RangeOut
    competitors: list[CompetitorOut]
    benchmarks: CompetitorBenchmarks = Field(
        description="the competitor monitor's comparison with your own numbers over the range"
    )


class AddedCompetitors(BaseModel):
    competitors: list[CompetitorOut]


def _out(doc: CompetitorAnalysis) -> CompetitorOut:
    sync = doc.sync
    return CompetitorOut(
        id=str(doc.id),
        name=doc.competitor.name,
        platform=doc.competitor.platform,
        handle=doc.competitor.handle,
        profile_url=doc.competitor.profile_url,
        followers=doc.metrics.follower_count,
        following=doc.metrics.following_count,
        posts=doc.metrics.post_count,
        posts_per_week=doc.metrics.post_frequency,
        last_synced=sync.synced_at if sync else None,
        sync_status=sync.status if sync else "pending",
        sync_message=sync.message if sync else None,
    )


@router.get("", response_model=CompetitorsAnswer, responses=SCOPE_ERRORS)
async def list_competitors(scope: ScopeDep, runtime: RuntimeDep) -> CompetitorsAnswer:
    """The tracked competitors with their latest public numbers, and the competitor monitor's
    benchmarks of them against your own posts of the range."""
    docs = await competitors.tracked(runtime.db, scope.org_id)
    names = [d.competitor.name for d in docs]
    benchmarks = await competitor_benchmarks(
        runtime.db,
        scope.org_id,
        competitors=sorted(set(names)) if names else [],
        days=(scope.last - scope.first).days + 1,
        now=scope.window.end,
    )
    return CompetitorsAnswer(
        range=range_out(scope), competitors=[_out(d) for d in docs], benchmarks=benchmarks
    )


@router.post(
    "/add", status_code=201, response_model=AddedCompetitors, responses=errors(403, 409, 422)
)
async def add_competitor(
    body: CompetitorIn, principal: Writer, runtime: RuntimeDep
) -> AddedCompetitors:
    """Track a competitor by its handle on each network; its public numbers are read at once
    (through a connected account of yours on that network) and every few hours after."""
    docs = await competitors.add(
        runtime.db,
        StoredAccountAccess(runtime),
        principal.org_id,
        name=body.name,
        handles=dict(body.handles),
    )
    return AddedCompetitors(competitors=[_out(d) for d in docs])


@router.delete("/{competitor_id}", status_code=204, responses=errors(403, 404))
async def delete_competitor(
    competitor_id: IdPath, principal: Writer, runtime: RuntimeDep
) -> Response:
    """Stop tracking one competitor handle."""
    await competitors.remove(runtime.db, principal.org_id, competitor_id)  # type: ignore[arg-type]
    return Response(status_code=204)
