"""The note a serving process leaves in its data dir, so the CLI can reach it.

An embedded data dir is open in one process at a time. While ``chorus serve`` holds it, the
CLI reads this note (the server's address and an operator secret) and sends its command to
the server instead (``api.routes.operator``). The note is readable by its owner only, like
the data dir's keys beside it, and is removed when the server stops.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

SERVER_FILE = "server.json"


@dataclass(frozen=True)
class ServerNote:
    url: str
    token: str
    pid: int


def new_token() -> str:
    return "chop_" + secrets.token_urlsafe(32)


def write(data_dir: Path, url: str, token: str) -> Path:
    """Write the note for this process, owner-only (0600) from its first byte."""
    path = data_dir / SERVER_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older note may have been created with other modes
        os.write(fd, json.dumps(asdict(ServerNote(url, token, os.getpid()))).encode())
    finally:
        os.close(fd)
    return path


def read(data_dir: Path) -> ServerNote | None:
    """The note, or None when there is none (or it is not one: a half-written file)."""
    try:
        raw = json.loads((data_dir / SERVER_FILE).read_text())
        return ServerNote(url=str(raw["url"]), token=str(raw["token"]), pid=int(raw["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove(data_dir: Path, token: str) -> None:
    """Remove the note if it is still this process's (a newer server may have replaced it)."""
    note = read(data_dir)
    if note is not None and note.token == token:
        (data_dir / SERVER_FILE).unlink(missing_ok=True)


def local_url(host: str, port: int) -> str:
    """Where a client on this machine reaches a server bound to ``host``."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
