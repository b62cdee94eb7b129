"""The export archive: JSON files and media files in one zip, written to a spooled file so
a large organization's export does not sit in memory whole.

Stored values are made JSON-safe here (ObjectIds and dates as text, bytes as base64, models
through their own dump) and secrets are withheld: a password hash, a TOTP secret, a token or
key hash, a social network's tokens are credentials, not personal data, and an archive
that leaves the service must not carry them.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import zipfile
from collections.abc import Mapping
from datetime import date, datetime
from typing import IO, Any

from bson import ObjectId

WITHHELD = "[withheld: a credential]"
# Field names that hold credentials (exact words, so "hashtags" is not one of them).
_SECRET_FIELD = re.compile(r"^(password|\w*[sS]ecret|\w*Hash(es)?|token|\w*Token|apiKey)$")
# Spooled to disk past this size.
_IN_MEMORY = 8 * 1024 * 1024


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON types, with credential fields withheld."""
    if depth > 64:
        return "…"
    if isinstance(value, Mapping):
        return {
            str(k): WITHHELD
            if isinstance(k, str) and _SECRET_FIELD.match(k) and v
            else jsonable(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return {"base64": base64.b64encode(bytes(value)).decode()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    dump = getattr(value, "model_dump", None)  # pydantic models, LangChain messages
    if callable(dump):
        return jsonable(dump(), depth + 1)
    return str(value)


class ArchiveWriter:
    """A zip being written; ``finish`` returns its bytes."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115
        self._zip = zipfile.ZipFile(self._file, "w", compression=zipfile.ZIP_DEFLATED)
        self.names: list[str] = []

    def json(self, name: str, value: Any) -> None:
        self.bytes(name, json.dumps(jsonable(value), indent=2, ensure_ascii=False).encode())

    def bytes(self, name: str, data: bytes) -> None:
        self._zip.writestr(name, data)
        self.names.append(name)

    def finish(self) -> bytes:
        self._zip.close()
        self._file.seek(0)
        data = self._file.read()
        self._file.close()
        return data
