"""Mail: the outbox directory writes real RFC 5322 files; SES sends through moto's server."""

from __future__ import annotations

import stat
import uuid
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from persistence.mailer import MailDeliveryError, OutboxMailer, SesMailer

pytest_plugins = ("fixtures_services",)


def _files(directory: Path, pattern: str = "*") -> list[Path]:
    return sorted(directory.glob(pattern))


def _only_eml(outbox: Path) -> Path:
    files = list(outbox.iterdir())
    assert len(files) == 1, files
    assert files[0].suffix == ".eml"
    return files[0]


async def test_outbox_writes_a_parseable_message(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    mailer = OutboxMailer(outbox, "Chorus <noreply@chorus.example>")

    message_id = await mailer.send(
        ["ana@example.com", "Bo Li <bo@example.org>"],
        "Your weekly report — ready",
        "Plain text body\nwith two lines",
        html="<p>HTML <b>body</b></p>",
    )

    path = _only_eml(outbox)
    raw = path.read_bytes()
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only, as RFC 5322 wants
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert msg["Message-ID"] == f"<{message_id}>"
    assert message_id.endswith("@chorus.example")
    assert msg["From"] == "Chorus <noreply@chorus.example>"
    assert [a.addr_spec for a in msg["To"].addresses] == ["ana@example.com", "bo@example.org"]
    assert msg["Subject"] == "Your weekly report — ready"
    assert msg["Date"].datetime.tzinfo is not None
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("plain",)).get_content().splitlines() == [
        "Plain text body",
        "with two lines",
    ]
    assert "<b>body</b>" in msg.get_body(("html",)).get_content()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_outbox_text_only_and_one_file_per_message(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path, "noreply@chorus.example")
    ids = {await mailer.send(["a@example.com"], f"n{i}", "text") for i in range(3)}
    assert len(ids) == 3
    files = _files(tmp_path, "*.eml")
    assert len(files) == 3
    msg = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert msg.get_content_type() == "text/plain"
    assert _files(tmp_path, ".tmp-*") == []


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ([], "hi"),
        ("a@example.com", "hi"),
        (["not-an-address"], "hi"),
        (["a@example.com\r\nBcc: victim@example.com"], "hi"),
        (["a@example.com"], "hi\r\nBcc: victim@example.com"),
    ],
)
async def test_bad_input_is_refused_and_nothing_written(
    tmp_path: Path, to: list[str], subject: str
) -> None:
    mailer = OutboxMailer(tmp_path, "noreply@chorus.example")
    with pytest.raises(ValueError, match=r"address|subject|list"):
        await mailer.send(to, subject, "body")
    assert _files(tmp_path) == []


async def test_outbox_health_check(tmp_path: Path) -> None:
    assert "writable" in await OutboxMailer(tmp_path / "new", "a@b.example").check()


# --- SES through moto's server ------------------------------------------------------------


def _ses(endpoint: str) -> Any:
    return boto3.client("ses", region_name="us-east-1", endpoint_url=endpoint)


async def test_ses_sends_from_a_verified_sender(aws_endpoint: str) -> None:
    sender = f"noreply-{uuid.uuid4().hex[:8]}@chorus.example"
    ses = _ses(aws_endpoint)
    ses.verify_email_identity(EmailAddress=sender)
    before = sum(p["DeliveryAttempts"] for p in ses.get_send_statistics()["SendDataPoints"])

    mailer = SesMailer(sender, "us-east-1", endpoint_url=aws_endpoint)
    message_id = await mailer.send(
        ["ana@example.com", "bo@example.org"], "Approval needed", "text", html="<p>html</p>"
    )

    assert message_id
    after = sum(p["DeliveryAttempts"] for p in ses.get_send_statistics()["SendDataPoints"])
    assert after == before + 2  # one delivery attempt per recipient
    # The server runs in this process, so its backend shows exactly what arrived.
    sent = {m.id: m for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages}
    message = sent[message_id]
    assert message.source == sender
    assert message.subject == "Approval needed"
    assert message.destinations["ToAddresses"] == ["ana@example.com", "bo@example.org"]
    assert "verified" in await mailer.check()


async def test_ses_refuses_an_unverified_sender(aws_endpoint: str) -> None:
    mailer = SesMailer(f"nobody-{uuid.uuid4().hex[:8]}@chorus.example", "us-east-1", aws_endpoint)
    with pytest.raises(MailDeliveryError, match="not verified"):
        await mailer.send(["ana@example.com"], "hi", "text")
    with pytest.raises(MailDeliveryError, match="not verified"):
        await mailer.check()


async def test_ses_validates_before_sending(aws_endpoint: str) -> None:
    mailer = SesMailer("noreply@chorus.example", "us-east-1", aws_endpoint)
    with pytest.raises(ValueError, match="subject"):
        await mailer.send(["ana@example.com"], "a\nb", "text")
