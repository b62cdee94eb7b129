"""An organization's own settings, as every part of the product reads them.

Agents, graphs and routes all ask the same questions (the timezone the audience lives in, the
banned terms, the industry, the brand's name); they get one answer from here.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from persistence.models.organizations import OrganizationSettings
from persistence.organizations import load_organization, load_settings

DEFAULT_NAME = "our brand"


async def display_name(db: Any, org_id: ObjectId) -> str:
    """The organization's name, as the brand speaks of itself."""
    org = await load_organization(db, org_id)
    return org.name if org else DEFAULT_NAME


async def settings(db: Any, org_id: ObjectId) -> OrganizationSettings:
    """The organization's settings; defaults for one that has none stored."""
    return await load_settings(db, org_id)
