"""Content templates: list, create, replace, delete, and use (fill the {{placeholders}},
check the result as a post on its targets, and store it when asked)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import IdPath, Reader, RuntimeDep, Writer, rate_limited
from api.responses import errors
from api.routes.post_schemas import PostOut
from api.routes.template_schemas import TemplateIn, TemplateOut, TemplatePageOut, UseIn, UseOut
from services.workspace import templates
from services.workspace.templates import Category

router = APIRouter(
    prefix="/api/content/templates",
    tags=["templates"],
    dependencies=[Depends(rate_limited("read", 600, 60))],
    responses=errors(401, 429),
)


@router.get("", response_model=TemplatePageOut, responses=errors(422))
async def list_templates(
    principal: Reader,
    runtime: RuntimeDep,
    category: Annotated[Category | None, Query()] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=24)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TemplatePageOut:
    """The organization's templates, newest first (``q`` matches the name)."""
    found, next_cursor = await templates.page(
        runtime.db, principal.org_id, category=category, search=q, cursor=cursor, limit=limit
    )
    return TemplatePageOut(items=[TemplateOut.of(t) for t in found], next_cursor=next_cursor)


@router.post("", status_code=201, response_model=TemplateOut, responses=errors(403, 422))
async def create_template(body: TemplateIn, principal: Writer, runtime: RuntimeDep) -> TemplateOut:
    """A template; its placeholders are read from ``template.structure``."""
    made = await templates.create(runtime.db, principal.org_id, principal.user_id, body.to_input())
    return TemplateOut.of(made)


@router.get("/{template_id}", response_model=TemplateOut, responses=errors(404))
async def get_template(template_id: IdPath, principal: Reader, runtime: RuntimeDep) -> TemplateOut:
    return TemplateOut.of(await templates.get(runtime.db, principal.org_id, template_id))


@router.put("/{template_id}", response_model=TemplateOut, responses=errors(403, 404, 422))
async def put_template(
    template_id: IdPath, body: TemplateIn, principal: Writer, runtime: RuntimeDep
) -> TemplateOut:
    """Replace the template's name, description, category, structure and tags."""
    changed = await templates.update(runtime.db, principal.org_id, template_id, body.to_input())
    return TemplateOut.of(changed)


@router.delete(
    "/{template_id}", status_code=204, response_class=Response, responses=errors(403, 404)
)
async def delete_template(template_id: IdPath, principal: Writer, runtime: RuntimeDep) -> Response:
    await templates.delete(runtime.db, principal.org_id, template_id)
    return Response(status_code=204)


@router.post("/{template_id}/use", response_model=UseOut, responses=errors(402, 403, 404, 422))
async def use_template(
    template_id: IdPath, body: UseIn, principal: Writer, runtime: RuntimeDep
) -> UseOut:
    """Fill the placeholders from ``variables`` (or the defaults; a missing one is a 422
    naming it) and check the text as a post on ``platforms`` (422 naming the network and
    the rule). With ``save`` the post is stored: a draft, or scheduled when a time is
    given and the caller may publish."""
    used = await templates.use(
        runtime.db,
        principal.org_id,
        principal.user_id,
        template_id,
        dict(body.variables),
        body.to_input(),
        store=body.save,
        may_publish=principal.can("publish"),
    )
    return UseOut(text=used.text, post=PostOut.of(used.post) if used.stored else None)
