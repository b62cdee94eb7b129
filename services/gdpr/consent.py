"""Consent recorded at registration: when, and to which version of the terms.

The sign-up page shows the terms of ``TERMS_VERSION``; registering accepts them. Bump the
version when the terms change, so every account says which text its holder agreed to.
"""

from __future__ import annotations

from datetime import datetime

from persistence.models.organizations import OrganizationGdpr, UserGdpr

TERMS_VERSION = "2026-11-01"
# What an account's data is processed for, as the terms state it.
PURPOSES = ["service_delivery", "security", "billing"]


def user_consent(now: datetime) -> UserGdpr:
    return UserGdpr(
        consent_granted=True,
        consent_date=now,
        terms_version=TERMS_VERSION,
        processing_purposes=list(PURPOSES),
    )


def organization_consent(now: datetime) -> OrganizationGdpr:
    return OrganizationGdpr(consent_date=now, terms_version=TERMS_VERSION)
