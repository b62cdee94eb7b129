"""GDPR: erasing the caller's organization or the caller, and exporting their data.

Erasure is for a person signed in with their password (not an API key) and needs
``{"confirm": true}``; erasing the organization needs an admin. Members lose access at
once: their memberships, sessions and keys are the first things erased.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import RuntimeDep, SignedIn, rate_limited, require, signed_in
from api.principal import Principal
from api.responses import errors
from api.routes.gdpr_schemas import ConfirmIn, OrganizationErasureOut, PersonErasureOut
from services.gdpr import erase

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
    body: ConfirmIn, principal: OrgAdmin, runtime: RuntimeDep
) -> OrganizationErasureOut:
    """Erase the organization the caller acts in, from every store: documents of every
    collection, memory, checkpoints, media, queued jobs and cached keys. Its members are
    refused from their next request on. Answers what went from each store and what every
    store still holds of it afterwards (``remaining``: empty)."""
    return OrganizationErasureOut.of(await erase.erase_organization(runtime, principal.org_id))


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
