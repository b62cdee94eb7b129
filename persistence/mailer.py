"""Outgoing email: an outbox directory of ``.eml`` files, or Amazon SES."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Protocol

__all__ = ["MailDeliveryError", "Mailer", "OutboxMailer", "SesMailer"]


class MailDeliveryError(RuntimeError):
    """The mail service refused or failed to take the message."""


class Mailer(Protocol):
    async def send(self, to: list[str], subject: str, text: str, html: str | None = None) -> str:
        """Send a message with a plain-text body (and an HTML alternative); return its id."""
        ...

    async def check(self) -> str:
        """Health probe: a one-line description; raises if mail cannot be sent."""
        ...


def _address(value: str) -> str:
    """``value`` if it is one address (``a@b`` or ``Name <a@b>``); raise ``ValueError``."""
    _, addr = parseaddr(value)
    local, at, domain = addr.rpartition("@")
    if "\r" in value or "\n" in value or not (local and at and domain) or " " in addr:
        raise ValueError(f"invalid email address {value!r}")
    return value


def _check(to: list[str], subject: str) -> list[str]:
    if isinstance(to, str) or not to:
        raise ValueError("`to` must be a non-empty list of addresses")
    if "\r" in subject or "\n" in subject:
        raise ValueError("the subject must be one line")
    return [_address(a) for a in to]


class OutboxMailer:
    """Writes each message as an RFC 5322 file ``<dir>/<UTC time>-<id>.eml``.

    The file is written under a temporary name and renamed, so anything watching the
    directory only ever sees complete messages. Files are 0600: mail can carry sign-in links.
    """

    def __init__(self, dir: Path, sender: str) -> None:
        self._dir = Path(dir)
        self._sender = _address(sender)
        self._domain = parseaddr(sender)[1].rpartition("@")[2]

    async def send(self, to: list[str], subject: str, text: str, html: str | None = None) -> str:
        recipients = _check(to, subject)
        token = uuid.uuid4().hex
        message_id = f"{token}@{self._domain}"
        now = datetime.now(UTC)
        msg = EmailMessage(policy=policy.SMTP)  # CRLF line ends, as RFC 5322 says
        msg["From"] = self._sender
        msg["To"] = ", ".join(recipients)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = f"<{message_id}>"
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
        name = f"{now:%Y%m%dT%H%M%S%fZ}-{token}.eml"
        await asyncio.to_thread(self._write, name, msg.as_bytes())
        return message_id

    async def check(self) -> str:
        await asyncio.to_thread(self._probe)
        return f"outbox {self._dir} writable"

    def _probe(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".tmp-")
        os.close(fd)
        os.unlink(tmp)

    def _write(self, name: str, data: bytes) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._dir / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class SesMailer:
    """Amazon SES ``SendEmail`` through one boto3 client, called in a worker thread.

    ``sender`` must be an identity verified in SES for ``region``.
    """

    def __init__(self, sender: str, region: str, endpoint_url: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self._sender = _address(sender)
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5)
        self._ses: Any = boto3.session.Session().client(
            "ses", region_name=region, endpoint_url=endpoint_url, config=config
        )

    async def send(self, to: list[str], subject: str, text: str, html: str | None = None) -> str:
        recipients = _check(to, subject)
        body: dict[str, Any] = {"Text": {"Data": text, "Charset": "UTF-8"}}
        if html is not None:
            body["Html"] = {"Data": html, "Charset": "UTF-8"}
        return await asyncio.to_thread(self._send, recipients, subject, body)

    async def check(self) -> str:
        return await asyncio.to_thread(self._check)

    def _check(self) -> str:
        # The sender counts as verified if the address or its whole domain is.
        address = parseaddr(self._sender)[1]
        identities = [address, address.rpartition("@")[2]]
        attrs = self._ses.get_identity_verification_attributes(Identities=identities)
        statuses = {v.get("VerificationStatus") for v in attrs["VerificationAttributes"].values()}
        if "Success" not in statuses:
            raise MailDeliveryError(f"SES has not verified the sender {address} or its domain")
        quota = self._ses.get_send_quota()
        return (
            f"SES sender {address} verified; sent {quota['SentLast24Hours']:.0f} "
            f"of {quota['Max24HourSend']:.0f} in 24 h"
        )

    def _send(self, to: list[str], subject: str, body: dict[str, Any]) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._ses.send_email(
                Source=self._sender,
                Destination={"ToAddresses": to},
                Message={"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": body},
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise MailDeliveryError(
                f"SES refused the message: {error.get('Code')}: {error.get('Message')}"
            ) from exc
        except BotoCoreError as exc:
            raise MailDeliveryError(f"could not reach SES: {exc}") from exc
        return str(response["MessageId"])
