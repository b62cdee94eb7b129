"""GDPR: erasing the caller's organization or the caller, and exporting their data.

An export is built in the background: ``POST /api/users/export-data`` answers 202 with its
id, and ``GET /api/users/export-data/{id}`` answers 202 with its status until the archive
is ready, then the archive itself (``application/zip``), once, within its download window.

Erasure is for a person signed in with their password (not an API key) and needs
``{"confirm": true}``; erasing the organization needs an admin. Members lose access at
once: their memberships, sessions and keys are the first things erased.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from api.deps import IdPath, RuntimeDep, SignedIn, rate_limited, require, signed_in
from api.errors import ApiError
from api.principal import Principal
from api.responses import errors
from api.routes.gdpr_schemas import (
    ConfirmIn,
    ExportIn,
    ExportOut,
    OrganizationErasureOut,
    PersonErasureOut,
)
from services.gdpr import erase
from services.gdpr import export as gdpr_export

OrgAdmin = Annotated[Principal, Depends(require("manage_organization"))]

router = APIRouter(
    tags=["gdpr"],
    dependencies=[Depends(rate_limited("gdpr", 20, 3600))],
    responses=errors(401, 429),
)


@router.delete(
    "/api/organizations",
    response_model=OrganizationErasureOut,
    dependencies=[Depends(signed_in)],
    responses=errors(403, 422),
)
async def erase_organization(
    body: ConfirmIn, principal: OrgAdmin, runtime: RuntimeDep, request: Request
) -> OrganizationErasureOut:
    """Erase the organization the caller acts in, from every store: documents of every
    collection, memory, checkpoints, media, queued jobs and cached keys. Its members are
    refused from their next request on. Answers what went from each store and what every
    store still holds of it afterwards (``remaining``: empty)."""
    report = await erase.erase_organization(runtime, principal.org_id)
    # Nor may this request's own usage count bring the organization back (api.usage).
    request.state.principal = None
    usage = getattr(request.app.state, "usage", None)
    if usage is not None:
        usage.forget(principal.org_id)
    return OrganizationErasureOut.of(report)


@router.delete(
    "/api/users/profile", response_model=PersonErasureOut, responses=errors(403, 409, 422)
)
async def erase_me(body: ConfirmIn, principal: SignedIn, runtime: RuntimeDep) -> PersonErasureOut:
    """Erase the caller's account: what exists only for them goes (memberships, sessions,
    API keys, exports, notifications, crons), their name is taken off what they did for an
    organization, and organizations they were the only member of are erased with them.
    409 (``last_admin``) while they are the last admin of an organization with other
    members; nothing is changed then."""
    return PersonErasureOut.of(await erase.erase_person(runtime, principal.user_id))


@router.post(
    "/api/users/export-data",
    status_code=202,
    response_model=ExportOut,
    dependencies=[Depends(rate_limited("gdpr_export", 10, 3600))],
    responses=errors(403, 422),
)
async def request_export(
    principal: SignedIn, runtime: RuntimeDep, body: ExportIn | None = None
) -> ExportOut:
    """Start building an archive of the caller's data (JSON documents, memories, checkpoints
    of their threads, media and audit entries), or for an admin of the whole organization.
    Built in the background: poll the ``downloadUrl``."""
    admin = principal.can("manage_organization")
    scope = (body.scope if body else None) or ("organization" if admin else "person")
    if scope == "organization" and not admin:
        raise ApiError(403, f"the {principal.role} role may not export the whole organization")
    export = await gdpr_export.request_export(
        runtime, principal.org_id, principal.user_id, organization=scope == "organization"
    )
    return ExportOut.of(export)


_ARCHIVE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The archive (once; it is deleted as it is handed out).",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    },
    202: {"description": "Still being built: its status.", "model": ExportOut},
}


@router.get(
    "/api/users/export-data/{export_id}",
    response_class=Response,
    responses={**_ARCHIVE, **errors(403, 404, 409, 422)},
)
async def download_export(export_id: IdPath, principal: SignedIn, runtime: RuntimeDep) -> Response:
    """202 with the export's status while it is built; then 200 with the archive, once.
    404 for another person's export, and once it was downloaded or has expired (code
    ``export_gone``); 409 if building it failed (``export_failed``)."""
    oid = export_id  # validated to an ObjectId by IdPath
    export = await gdpr_export.get_export(runtime.db, principal.org_id, principal.user_id, oid)
    if gdpr_export.state(export) in ("pending", "processing"):
        body = ExportOut.of(export).model_dump(mode="json", by_alias=True)
        return JSONResponse(body, status_code=202)
    export, data = await gdpr_export.take_archive(runtime, principal.org_id, principal.user_id, oid)
    name = f"chorus-export-{export.id}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
