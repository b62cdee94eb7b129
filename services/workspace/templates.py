"""Content templates: a structure with ``{{placeholders}}``, filled to make a post.

The placeholders are read from the structure itself when it is saved, so the list a client
sees can never disagree with the text. Filling is plain substitution of the values given
(or the template's defaults); a placeholder with neither is a 422 naming it, and the result
is checked like any post, on every target, before it is returned or stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from bson import ObjectId

from persistence.errors import InvalidInput, NotFound
from persistence.ids import utcnow
from persistence.models import ContentTemplate, Post
from persistence.models.content import TemplateBody
from persistence.repository import TenantRepository, tenant_filter
from services.workspace import pages, posts

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
Category = Literal["promotional", "educational", "entertainment", "other"]


@dataclass
class TemplateInput:
    name: str
    structure: str
    description: str | None = None
    category: Category = "other"
    default_values: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def placeholders(structure: str) -> list[str]:
    """The placeholder names of ``structure``, each once, in order; 422 for a bad one."""
    names: list[str] = []
    for m in _PLACEHOLDER.finditer(structure):
        name = m.group(1)
        if not _NAME.fullmatch(name):
            raise InvalidInput.field(
                "body.template.structure",
                f"{{{{{name}}}}} is not a placeholder: use letters, digits and underscores, "
                "starting with a letter",
            )
        if name not in names:
            names.append(name)
    return names


def _body(data: TemplateInput) -> TemplateBody:
    if not data.structure.strip():
        raise InvalidInput.field("body.template.structure", "write the template's text")
    names = placeholders(data.structure)
    unknown = [k for k in data.default_values if k not in names]
    if unknown:
        raise InvalidInput.field(
            f"body.template.defaultValues.{unknown[0]}",
            "the structure has no such placeholder",
        )
    return TemplateBody(
        structure=data.structure,
        placeholders=[{"name": n, "required": n not in data.default_values} for n in names],
        default_values=dict(data.default_values),
    )


def repo(db: Any) -> TenantRepository[ContentTemplate]:
    return TenantRepository(db, ContentTemplate)


async def get(db: Any, org_id: ObjectId, template_id: ObjectId) -> ContentTemplate:
    found = await repo(db).get(org_id, template_id)
    if found is None:
        raise NotFound("no such template")
    return found


async def create(
    db: Any, org_id: ObjectId, user_id: ObjectId, data: TemplateInput
) -> ContentTemplate:
    template = ContentTemplate(
        organization_id=org_id,
        user_id=user_id,
        name=data.name,
        description=data.description,
        category=data.category,
        template=_body(data),
        tags=data.tags,
    )
    return await repo(db).insert(template)


async def update(
    db: Any, org_id: ObjectId, template_id: ObjectId, data: TemplateInput
) -> ContentTemplate:
    await get(db, org_id, template_id)
    body = _body(data)
    changed = await repo(db).update(
        org_id,
        template_id,
        {
            "name": data.name,
            "description": data.description,
            "category": data.category,
            "template": body.model_dump(by_alias=True),
            "tags": data.tags,
        },
    )
    if changed is None:
        raise NotFound("no such template")
    return changed


async def delete(db: Any, org_id: ObjectId, template_id: ObjectId) -> None:
    if not await repo(db).delete(org_id, template_id):
        raise NotFound("no such template")


async def page(
    db: Any,
    org_id: ObjectId,
    *,
    category: str | None = None,
    search: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[ContentTemplate], str | None]:
    """Templates newest first, one page, and the cursor of the next."""
    query: dict[str, Any] = {}
    if category:
        query["category"] = category
    if search:
        query["name"] = {"$regex": re.escape(search.strip()), "$options": "i"}
    return await pages.newest_first(db, ContentTemplate, org_id, query, cursor, limit)


def fill(template: ContentTemplate, variables: dict[str, str]) -> str:
    """The structure with every placeholder replaced; 422 naming each one left without a
    value."""
    values = {**template.template.default_values, **variables}
    missing = [n for n in placeholders(template.template.structure) if n not in values]
    if missing:
        raise InvalidInput(
            f"missing template variables: {', '.join(missing)}",
            code="missing_variable",
            fields=[
                {"field": f"body.variables.{n}", "message": "this placeholder needs a value"}
                for n in missing
            ],
        )
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template.template.structure)


@dataclass
class Used:
    text: str
    post: Post
    stored: bool


async def use(
    db: Any,
    org_id: ObjectId,
    user_id: ObjectId,
    template_id: ObjectId,
    variables: dict[str, str],
    data: posts.PostInput,
    *,
    store: bool,
    may_publish: bool,
) -> Used:
    """Fill the template into ``data``'s text and check it as a post on its targets; store
    it (a draft, or scheduled when a time is given and the caller may publish) when
    ``store``. Counts as a use of the template either way."""
    template = await get(db, org_id, template_id)
    data.text = fill(template, variables)
    if store:
        post = await posts.create(db, org_id, user_id, data, may_publish=may_publish)
    else:
        post = await posts.prepare(db, org_id, user_id, data, may_publish=may_publish)
    await repo(db).collection.update_one(
        tenant_filter(org_id, {"_id": template_id}),
        {"$inc": {"usage.timesUsed": 1}, "$set": {"usage.lastUsed": utcnow()}},
    )
    return Used(data.text, post, store)
