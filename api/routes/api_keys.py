"""API keys: created with the secret shown once, listed without it, revoked by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from api.deps import IdPath, RuntimeDep, rate_limited, require
from api.errors import ApiError
from api.principal import Principal
from api.routes.schemas import ApiKeyIn, ApiKeyOut, CreatedApiKeyOut
from api.security import hash_secret, new_api_key
from persistence.ids import utcnow
from persistence.models.organizations import ApiKey
from persistence.repository import TenantRepository

KeyManager = Annotated[Principal, Depends(require("manage_keys"))]

router = APIRouter(
    prefix="/api/api-keys",
    tags=["api-keys"],
    dependencies=[Depends(rate_limited("api_keys", 60, 60))],
)


@router.post("", status_code=201, response_model=CreatedApiKeyOut)
async def create_key(
    body: ApiKeyIn, principal: KeyManager, runtime: RuntimeDep
) -> CreatedApiKeyOut:
    """A new key acting as the caller. ``key`` is in this answer only."""
    key, prefix = new_api_key(principal.org_id)
    stored = await TenantRepository(runtime.db, ApiKey).insert(
        ApiKey(
            organization_id=principal.org_id,
            user_id=principal.user_id,
            name=body.name,
            prefix=prefix,
            key_hash=hash_secret(key),
        )
    )
    return CreatedApiKeyOut(**ApiKeyOut.of(stored).model_dump(), key=key)


@router.get("", response_model=list[ApiKeyOut])
async def list_keys(principal: KeyManager, runtime: RuntimeDep) -> list[ApiKeyOut]:
    """The organization's live keys, newest first, without their secrets."""
    keys = await TenantRepository(runtime.db, ApiKey).find(
        principal.org_id, {"revokedAt": None}, sort=[("createdAt", -1)]
    )
    return [ApiKeyOut.of(k) for k in keys]


@router.delete("/{key_id}", status_code=204, response_class=Response)
async def revoke_key(key_id: IdPath, principal: KeyManager, runtime: RuntimeDep) -> Response:
    """Revoke a key at once. Another organization's key id answers 404, like an unknown one."""
    # Kept, marked revoked, so an audit can still tell which key did what.
    revoked = await TenantRepository(runtime.db, ApiKey).update_many(
        principal.org_id, {"_id": key_id, "revokedAt": None}, {"revokedAt": utcnow()}
    )
    if revoked != 1:
        raise ApiError(404, "no such API key")
    return Response(status_code=204)
