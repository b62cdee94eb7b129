"""Operator routes: what ``chorus`` commands do, asked of the server that holds the data dir.

An embedded data dir is open in one process at a time, so while ``chorus serve`` runs, the CLI
cannot open it; it sends its command here instead. The credential is a random secret the
serving process writes, readable by its owner only (0600), into the data dir; whoever can read
it could open the data dir itself anyway, so it grants nothing more than that. It is not a
user's credential: no principal, no tenant of its own; commands name their organization as
the CLI does. A process not started by ``chorus serve`` holds no secret and refuses them all.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import RuntimeDep, unauthorized
from api.ports import AppRuntime
from api.responses import errors
from persistence.admin import OrganizationAdmin
from persistence.errors import InvalidInput, NotFound
from persistence.ids import parse_object_id
from runs.operator_runs import operator_run
from services.demo import DemoSummary, seed_demo

OPERATOR_HEADER = "X-Chorus-Operator"


async def operator(
    runtime: RuntimeDep,
    credential: Annotated[
        str | None,
        Header(
            alias=OPERATOR_HEADER,
            description="The operator secret the serving process wrote to its data dir.",
        ),
    ] = None,
) -> AppRuntime:
    expected = runtime.operator_token
    if not expected:
        raise unauthorized("operator commands are off in this process (not started by serve)")
    if not credential or not hmac.compare_digest(credential.encode(), expected.encode()):
        raise unauthorized(f"a valid {OPERATOR_HEADER} header is required")
    return runtime


Operator = Annotated[AppRuntime, Depends(operator)]

router = APIRouter(prefix="/api/operator", tags=["operator"], responses=errors(401))


class Component(BaseModel):
    name: str
    form: str
    backend: str
    ok: bool
    detail: str
    seconds: float


class Components(BaseModel):
    ok: bool
    components: list[Component]


@router.get("/components", response_model=Components)
async def components(
    runtime: Operator, deep: Annotated[bool, Query(description="Load the models too.")] = True
) -> Components:
    """What ``chorus doctor`` reports: every component, its form, whether it answers."""
    statuses = await runtime.check(deep=deep)
    found = [
        Component(
            name=s.name,
            form=s.form,
            backend=s.backend,
            ok=s.ok,
            detail=s.detail,
            seconds=s.seconds,
        )
        for s in statuses
    ]
    return Components(ok=all(c.ok for c in found), components=found)


class Organizations(BaseModel):
    organizations: list[dict[str, Any]] = Field(
        description="The stored organization documents, as ``chorus orgs list`` prints them."
    )


@router.get("/organizations", response_model=Organizations)
async def list_organizations(runtime: Operator) -> Organizations:
    """Every organization (``chorus orgs list``)."""
    orgs = await OrganizationAdmin(runtime.db).list()
    return Organizations(organizations=[o.model_dump(mode="json", by_alias=True) for o in orgs])


@router.post("/demo", response_model=DemoSummary, responses=errors(402))
async def demo(request: Request, runtime: Operator) -> DemoSummary:
    """Seed the demo organization if absent (``chorus seed-demo``); idempotent."""
    # The demo seeder takes the whole runtime (memory, media, models), as the CLI gives it.
    return await seed_demo(request.app.state.runtime)


class OperatorRun(BaseModel):
    # Strict, as api.routes.schemas.StrictIn explains.
    model_config = ConfigDict(strict=True)

    graph: str = Field(min_length=1, description="Graph name, e.g. content_creation.")
    org: str = Field(description="Organization id.")
    input: Any = Field(default=None, description="The graph's input (or give resume).")
    resume: Any = Field(default=None, description="The answer to the thread's interrupt.")
    thread: str | None = Field(default=None, min_length=1, max_length=200)
    model: str | None = Field(default=None, description="Chat model, provider:model.")


RUN_LINES = {
    200: {
        "description": 'JSON lines: {"kind": "update" | "error" | "outcome", "data": {...}}',
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/runs",
    response_class=StreamingResponse,
    responses={**RUN_LINES, **errors(402, 404, 409, 422)},
)
async def run(body: OperatorRun, runtime: Operator) -> StreamingResponse:
    """``chorus run`` in the server: the run's updates as JSON lines, then where it stopped.
    The thread is an /lg thread of the organization, like one the SDK started."""
    try:
        org_id = parse_object_id(body.org)
    except ValueError as exc:
        raise InvalidInput.field("body.org", str(exc)) from exc
    if await OrganizationAdmin(runtime.db).get(org_id) is None:
        raise NotFound(f"no organization {body.org}")
    lines = operator_run(
        runtime.engine,
        org_id,
        graph=body.graph,
        thread_id=body.thread,
        input=body.input,
        resume=body.resume,
        model=body.model,
    )
    # The first line is awaited here: a run that cannot start is an error status, not a line.
    first = await anext(lines)

    async def rest() -> AsyncIterator[bytes]:
        yield _line(*first)
        async for kind, data in lines:
            yield _line(kind, data)

    return StreamingResponse(rest(), media_type="application/x-ndjson")


def _line(kind: str, data: Any) -> bytes:
    return (json.dumps({"kind": kind, "data": data}, default=str) + "\n").encode()
