"""System endpoints: health."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel


class ComponentHealth(BaseModel):
    name: str
    form: Literal["production", "embedded", "off"]
    backend: str
    ok: bool
    detail: str


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    components: list[ComponentHealth]


router = APIRouter(prefix="/api/system", tags=["system"])


@router.get("/health", response_model=Health)
async def health(request: Request, response: Response) -> Health:
    """Each component, its form, and whether it answers (the models are reported as
    configured, not loaded; no filesystem paths are shown)."""
    statuses = await request.app.state.runtime.check(deep=False, public=True)
    components = [
        ComponentHealth(name=s.name, form=s.form, backend=s.backend, ok=s.ok, detail=s.detail)
        for s in statuses
    ]
    healthy = all(c.ok for c in components)
    if not healthy:
        response.status_code = 503
    return Health(status="ok" if healthy else "degraded", components=components)
