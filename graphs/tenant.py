"""What workflow nodes read about the tenant and the thread from the run config."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from persistence.models import Organization
from persistence.models.organizations import OrganizationSettings
from persistence.repository import TenantRepository
from tools.context import services_of, tenant_of


async def _organization(config: RunnableConfig) -> Organization | None:
    org_id = tenant_of(config)
    return await TenantRepository(services_of(config).db, Organization).get(org_id, org_id)


async def org_settings(config: RunnableConfig) -> OrganizationSettings:
    org = await _organization(config)
    return org.settings if org else OrganizationSettings()


async def org_name(config: RunnableConfig) -> str:
    org = await _organization(config)
    return org.name if org else "our brand"


def thread_key(config: RunnableConfig) -> str:
    """The run's thread, as the key of what the run stores (so a retry finds its own work)."""
    configurable = config.get("configurable") or {}
    thread = configurable.get("thread_id")
    if not thread:
        raise ValueError("workflows that store results need a thread_id in the run config")
    return f"{tenant_of(config)}:{thread}"
