"""An organization's own settings, as every part of the product reads and changes them.

Agents, graphs and routes all ask the same questions (the timezone the audience lives in, the
banned terms, the industry, the brand's voice and name); they get one answer from here. The
agents act on these values, so a change is checked thoroughly before it is stored: an IANA
timezone, bounded lists of clean terms, real domain names, a retention period in range.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from bson import ObjectId
from pydantic import BaseModel

from persistence.errors import InvalidInput, NotFound
from persistence.models import MediaAsset, Organization
from persistence.models.organizations import OrganizationSettings
from persistence.organizations import load_organization, load_settings
from persistence.repository import TenantRepository
from services import audit

DEFAULT_NAME = "our brand"

MAX_NAME = 200
MAX_INDUSTRY = 100
MAX_BANNED_TERMS = 500
MAX_TERM = 100
MAX_VOICE_LINES = 20
MAX_VOICE_LINE = 300
MAX_DOMAINS = 50
MAX_BRAND_COLORS = 5
_HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
RETENTION_DAYS = (30, 3650)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


async def display_name(db: Any, org_id: ObjectId) -> str:
    """The organization's name, as the brand speaks of itself."""
    org = await load_organization(db, org_id)
    return org.name if org else DEFAULT_NAME


async def settings(db: Any, org_id: ObjectId) -> OrganizationSettings:
    """The organization's settings; defaults for one that has none stored."""
    return await load_settings(db, org_id)


async def get(db: Any, org_id: ObjectId) -> Organization:
    org = await load_organization(db, org_id)
    if org is None or org.deleted_at is not None:
        raise NotFound("no such organization")
    return org


class OrganizationUpdate(BaseModel):
    """The fields a change may set; a field left out stays as it is (``model_fields_set``),
    ``industry: None`` clears the industry."""

    name: str | None = None
    timezone: str | None = None
    industry: str | None = None
    banned_terms: list[str] | None = None
    brand_voice: list[str] | None = None
    allowed_domains: list[str] | None = None
    data_retention_days: int | None = None
    brand_colors: list[str] | None = None
    # An image of the media library, as its id text; None clears it.
    brand_logo_media_id: str | None = None


# Where each field lives in the document, and how the API names it for the caller.
_PATHS: dict[str, tuple[str, str]] = {
    "name": ("name", "body.name"),
    "timezone": ("settings.timezone", "body.settings.timezone"),
    "industry": ("settings.industry", "body.settings.industry"),
    "banned_terms": ("settings.bannedTerms", "body.settings.bannedTerms"),
    "brand_voice": ("settings.brandVoice", "body.settings.brandVoice"),
    "allowed_domains": ("settings.allowedDomains", "body.settings.allowedDomains"),
    "data_retention_days": ("settings.dataRetentionDays", "body.settings.dataRetentionDays"),
    "brand_colors": ("settings.brandColors", "body.settings.brandColors"),
    "brand_logo_media_id": ("settings.brandLogoMediaId", "body.settings.brandLogoMediaId"),
}


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def is_timezone(value: str) -> bool:
    """Whether ``value`` names an IANA time zone (not a file path, not an abbreviation)."""
    return value in _zones()


def _clean_text(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c).startswith("C") for c in value)


def _terms(
    values: list[str],
    max_items: int,
    max_len: int,
    what: str,
    errors: list[dict[str, str]],
    at: str,
) -> list[str]:
    if len(values) > max_items:
        errors.append({"field": at, "message": f"at most {max_items} {what}"})
        return []
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(values):
        term = _clean_text(raw)
        if not term:
            errors.append({"field": f"{at}.{i}", "message": "must not be blank"})
        elif len(term) > max_len:
            errors.append({"field": f"{at}.{i}", "message": f"at most {max_len} characters"})
        elif _has_control(term):
            errors.append(
                {"field": f"{at}.{i}", "message": "one line of text, no control characters"}
            )
        elif term.casefold() not in seen:
            seen.add(term.casefold())
            out.append(term)
    return out


def normalize_domain(raw: str) -> str | None:
    """``raw`` as a lowercase ASCII domain name (IDNA), or None if it is not one."""
    value = raw.strip().lower().removeprefix("@").rstrip(".")
    try:
        ascii_name = value.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        return None
    if labels[-1].isdigit():  # an IP address is not a mail domain
        return None
    return ascii_name


def _domains(values: list[str], errors: list[dict[str, str]], at: str) -> list[str]:
    if len(values) > MAX_DOMAINS:
        errors.append({"field": at, "message": f"at most {MAX_DOMAINS} domains"})
        return []
    out: list[str] = []
    for i, raw in enumerate(values):
        domain = normalize_domain(raw)
        if domain is None:
            errors.append({"field": f"{at}.{i}", "message": "a domain name such as example.com"})
        elif domain not in out:
            out.append(domain)
    return out


def validated(update: OrganizationUpdate) -> dict[str, Any]:
    """The stored values of the fields ``update`` sets, by model field; InvalidInput naming
    every field to fix at once."""
    given = update.model_fields_set
    errors: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    if "name" in given:
        name = _clean_text(update.name or "")
        if not name or len(name) > MAX_NAME:
            errors.append({"field": "body.name", "message": f"1 to {MAX_NAME} characters"})
        values["name"] = name
    if "timezone" in given:
        zone = (update.timezone or "").strip()
        if not is_timezone(zone):
            errors.append(
                {
                    "field": "body.settings.timezone",
                    "message": "an IANA time zone such as Europe/Paris or America/New_York",
                }
            )
        values["timezone"] = zone
    if "industry" in given:
        industry = _clean_text(update.industry or "") or None
        if industry is not None and (len(industry) > MAX_INDUSTRY or _has_control(industry)):
            errors.append(
                {"field": "body.settings.industry", "message": f"at most {MAX_INDUSTRY} characters"}
            )
        values["industry"] = industry
    if "banned_terms" in given:
        values["banned_terms"] = _terms(
            update.banned_terms or [],
            MAX_BANNED_TERMS,
            MAX_TERM,
            "terms",
            errors,
            "body.settings.bannedTerms",
        )
    if "brand_voice" in given:
        values["brand_voice"] = _terms(
            update.brand_voice or [],
            MAX_VOICE_LINES,
            MAX_VOICE_LINE,
            "guidelines",
            errors,
            "body.settings.brandVoice",
        )
    if "allowed_domains" in given:
        values["allowed_domains"] = _domains(
            update.allowed_domains or [], errors, "body.settings.allowedDomains"
        )
    if "data_retention_days" in given:
        days = update.data_retention_days
        low, high = RETENTION_DAYS
        if days is None or not low <= days <= high:
            errors.append(
                {
                    "field": "body.settings.dataRetentionDays",
                    "message": f"a whole number of days from {low} to {high}",
                }
            )
        values["data_retention_days"] = days
    if "brand_colors" in given:
        values["brand_colors"] = _colors(update.brand_colors or [], errors)
    if "brand_logo_media_id" in given:
        raw = update.brand_logo_media_id
        if raw is not None and not ObjectId.is_valid(raw):
            errors.append(
                {"field": "body.settings.brandLogoMediaId", "message": "a media library id"}
            )
        values["brand_logo_media_id"] = ObjectId(raw) if raw and ObjectId.is_valid(raw) else None
    if errors:
        names = ", ".join(dict.fromkeys(e["field"] for e in errors))
        raise InvalidInput(f"invalid input: {names}", fields=errors)
    return values


def _colors(values: list[str], errors: list[dict[str, str]]) -> list[str]:
    """#RRGGBB colours, main first (generated graphics: background, then accent)."""
    at = "body.settings.brandColors"
    if len(values) > MAX_BRAND_COLORS:
        errors.append({"field": at, "message": f"at most {MAX_BRAND_COLORS} colours"})
        return []
    out: list[str] = []
    for i, raw in enumerate(values):
        color = raw.strip()
        if not _HEX_COLOR.match(color):
            errors.append({"field": f"{at}.{i}", "message": "a colour as #RRGGBB, e.g. #0F766E"})
        elif color.upper() not in out:
            out.append(color.upper())
    return out


async def _check_logo(db: Any, org_id: ObjectId, media_id: ObjectId | None) -> None:
    """The logo must be an image of this organization's library (another's id is refused
    like a missing one)."""
    if media_id is None:
        return
    asset = await TenantRepository(db, MediaAsset).get(org_id, media_id)
    if asset is None or asset.kind != "image":
        raise InvalidInput.field(
            "body.settings.brandLogoMediaId",
            "no image with this id in the media library; upload the logo first",
        )


def _current(org: Organization, name: str) -> Any:
    return org.name if name == "name" else getattr(org.settings, name)


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} item{'s' if len(value) != 1 else ''}"
    return "none" if value is None else str(value)


async def update(db: Any, org_id: ObjectId, changes: OrganizationUpdate) -> Organization:
    """Apply ``changes`` to the organization: all of them, or none if one is invalid."""
    org = await get(db, org_id)
    values = validated(changes)
    if "brand_logo_media_id" in values:
        await _check_logo(db, org_id, values["brand_logo_media_id"])
    changed = {k: v for k, v in values.items() if _current(org, k) != v}
    if not changed:
        return org
    stored = await TenantRepository(db, Organization).update(
        org_id, org_id, {_PATHS[k][0]: v for k, v in changed.items()}
    )
    if stored is None:
        raise NotFound("no such organization")
    paths = [_PATHS[k][0] for k in changed]
    await audit.record(
        db,
        org_id,
        action="update",
        operation="organization.updated",
        resource_type="organizations",
        resource_id=org_id,
        resource_name=stored.name,
        summary="; ".join(
            f"{_PATHS[k][0]}: {_describe(_current(org, k))} → {_describe(v)}"
            for k, v in changed.items()
        ),
        before={_PATHS[k][0]: _current(org, k) for k in changed},
        after={_PATHS[k][0]: v for k, v in changed.items()},
        fields=paths,
    )
    return stored
