"""The account emails: an invitation, a password reset, an email verification.

Each is a subject, a plain-text body and an HTML alternative, sent through the runtime's
mailer (SES, or the outbox directory). Links point at the public base URL the deployment
configures (``CHORUS_PUBLIC_BASE_URL``); the secret rides in the query string, which is the
one place a mail client can pass it on. Everything a person typed (an organization name, a
first name) is escaped in the HTML part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from html import escape
from urllib.parse import urlencode

from persistence.mailer import Mailer

PRODUCT = "Chorus"

# The pages the links open (api.routes.account_pages serves them).
INVITATION_PATH = "/account/accept-invitation"
RESET_PATH = "/account/reset-password"
VERIFY_PATH = "/account/verify-email"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def link(base_url: str, path: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def _lifetime(ttl: timedelta) -> str:
    hours = round(ttl.total_seconds() / 3600)
    if hours >= 48 and hours % 24 == 0:
        return f"{hours // 24} days"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _html(paragraphs: list[str], url: str, button: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5">'
        f'{body}<p><a href="{escape(url)}" style="font-weight: bold">{escape(button)}</a></p>'
        f'<p style="color: #666; font-size: 90%">Or paste this address into your browser:'
        f"<br>{escape(url)}</p></body></html>"
    )


def invitation(*, org_name: str, inviter: str, role: str, url: str, ttl: timedelta) -> Email:
    lifetime = _lifetime(ttl)
    text = (
        f"{inviter} invited you to join {org_name} on {PRODUCT} as {role}.\n\n"
        f"Accept the invitation:\n{url}\n\n"
        f"The link works once and expires in {lifetime}. If you did not expect it, ignore "
        "this email.\n"
    )
    html = _html(
        [
            f"{escape(inviter)} invited you to join <b>{escape(org_name)}</b> on {PRODUCT} "
            f"as <b>{escape(role)}</b>.",
            f"The link works once and expires in {lifetime}. If you did not expect it, "
            "ignore this email.",
        ],
        url,
        "Accept the invitation",
    )
    return Email(f"Join {org_name} on {PRODUCT}", text, html)


def password_reset(*, url: str, ttl: timedelta) -> Email:
    lifetime = _lifetime(ttl)
    text = (
        f"Someone asked to reset the password of your {PRODUCT} account.\n\n"
        f"Choose a new password:\n{url}\n\n"
        f"The link works once and expires in {lifetime}. If it was not you, ignore this "
        "email: your password stays as it is.\n"
    )
    html = _html(
        [
            f"Someone asked to reset the password of your {PRODUCT} account.",
            f"The link works once and expires in {lifetime}. If it was not you, ignore this "
            "email: your password stays as it is.",
        ],
        url,
        "Choose a new password",
    )
    return Email(f"Reset your {PRODUCT} password", text, html)


def email_verification(*, url: str, ttl: timedelta) -> Email:
    lifetime = _lifetime(ttl)
    text = (
        f"Confirm that this address belongs to your {PRODUCT} account:\n{url}\n\n"
        f"The link works once and expires in {lifetime}.\n"
    )
    html = _html(
        [
            f"Confirm that this address belongs to your {PRODUCT} account.",
            f"The link works once and expires in {lifetime}.",
        ],
        url,
        "Confirm my address",
    )
    return Email(f"Confirm your {PRODUCT} email address", text, html)


async def send(mailer: Mailer, to: str, email: Email) -> str:
    return await mailer.send([to], email.subject, email.text, email.html)
