"""Reading one organization's own document: its settings and name.

Tools, agents and services all read the same fields (timezone, banned terms, industry); this
is the one query they share.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from persistence.models import Organization
from persistence.models.organizations import OrganizationSettings
from persistence.repository import TenantRepository


async def load_organization(db: Any, org_id: ObjectId) -> Organization | None:
    """The organization (its tenant id is its own id), or None."""
    return await TenantRepository(db, Organization).get(org_id, org_id)


async def load_settings(db: Any, org_id: ObjectId) -> OrganizationSettings:
    """The organization's settings; defaults when it has none (or does not exist)."""
    org = await load_organization(db, org_id)
    return org.settings if org else OrganizationSettings()
