"""The signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import CurrentPrincipal, RuntimeDep, rate_limited, unauthorized
from api.routes.schemas import UserOut
from persistence.models.organizations import User
from persistence.repository import TenantRepository

router = APIRouter(
    prefix="/api/users", tags=["users"], dependencies=[Depends(rate_limited("read", 600, 60))]
)


@router.get("/me", response_model=UserOut)
async def me(principal: CurrentPrincipal, runtime: RuntimeDep) -> UserOut:
    """The caller's own account."""
    user = await TenantRepository(runtime.db, User).get(principal.org_id, principal.user_id)
    if user is None:  # deleted between authentication and here
        raise unauthorized("the account no longer exists")
    return UserOut.of(user)
