"""Tenant-scoped media files, on a local directory or in an S3 bucket.

Every key is ``<org_id>/<32 hex>/<safe name>``. Each method checks that the key it is given
lies under the caller's tenant prefix and has no path tricks, before touching storage, so
a key from another tenant is refused without revealing whether it exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "InvalidMediaKey",
    "LocalMediaStore",
    "MediaNotFound",
    "MediaStore",
    "S3MediaStore",
    "StoredMedia",
]

# Patterns are applied with fullmatch: "$" would also accept a trailing newline.
_ORG = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(;[ -~]*)?", re.ASCII)


class InvalidMediaKey(ValueError):
    """The key is malformed, escapes its directory, or belongs to another tenant."""


class MediaNotFound(LookupError):
    """No media under this key."""


@dataclass(frozen=True, slots=True)
class StoredMedia:
    key: str
    url: str
    size: int
    content_type: str


class MediaStore(Protocol):
    async def put(self, org_id: str, name: str, data: bytes, content_type: str) -> StoredMedia:
        """Store ``data`` under a new key in the tenant's prefix."""
        ...

    async def get(self, org_id: str, key: str) -> bytes: ...

    async def delete(self, org_id: str, key: str) -> None:
        """Remove the media; a missing key is not an error."""
        ...

    async def list(self, org_id: str) -> list[StoredMedia]:
        """The tenant's media, sorted by key."""
        ...

    async def erase_tenant(self, org_id: str) -> int:
        """Remove every object under the tenant's prefix, its own or not (GDPR erasure);
        how many files were removed."""
        ...

    async def check(self) -> str:
        """Health probe: a one-line description; raises if the store is unusable."""
        ...


def _check_org(org_id: str) -> str:
    if not isinstance(org_id, str) or not _ORG.fullmatch(org_id):
        raise InvalidMediaKey(f"invalid organization id {org_id!r}")
    return org_id


def check_key(org_id: str, key: str) -> str:
    """Return ``key`` if it is a well-formed media key of ``org_id``; raise otherwise."""
    _check_org(org_id)
    if not isinstance(key, str) or "\\" in key or "\x00" in key:
        raise InvalidMediaKey(f"invalid media key {key!r}")
    parts = key.split("/")
    if parts[0] != org_id:
        raise InvalidMediaKey(f"media key {key!r} is not in this organization")
    # _SEGMENT refuses '', '.', '..' and anything hidden, so no part can climb or be absolute.
    if len(parts) != 3 or not all(_SEGMENT.fullmatch(p) for p in parts[1:]):
        raise InvalidMediaKey(f"invalid media key {key!r}")
    return key


def safe_name(name: str) -> str:
    """A file name reduced to ``[A-Za-z0-9._-]``, without directories or leading dots."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".")
    if len(cleaned) > 128:
        stem, ext = os.path.splitext(cleaned)
        ext = ext[:16]
        cleaned = stem[: 128 - len(ext)] + ext
    return cleaned or "file"


def _check_content_type(content_type: str) -> str:
    # It becomes an HTTP header (S3, serving): refuse anything that could split it.
    if not _CONTENT_TYPE.fullmatch(content_type or ""):
        raise ValueError(f"invalid content type {content_type!r}: expected 'type/subtype'")
    return content_type


def _new_key(org_id: str, name: str) -> str:
    return f"{_check_org(org_id)}/{uuid.uuid4().hex}/{safe_name(name)}"


class LocalMediaStore:
    """Files under ``root/<key>``, with a ``.meta.json`` beside each holding its content type.

    Writes go to a temporary file first and are renamed into place, so a reader never sees
    a partial file. ``url`` is ``<base_url>/<key>``, for the API to serve.
    """

    _META = ".meta.json"

    def __init__(self, root: Path, base_url: str = "/media") -> None:
        self._root = Path(root)
        self._base_url = base_url.rstrip("/")

    def _path(self, key: str) -> Path:
        return self._root / key

    def _media(self, key: str, size: int, content_type: str) -> StoredMedia:
        return StoredMedia(key, f"{self._base_url}/{key}", size, content_type)

    async def put(self, org_id: str, name: str, data: bytes, content_type: str) -> StoredMedia:
        key = _new_key(org_id, name)
        _check_content_type(content_type)
        await asyncio.to_thread(self._write, key, bytes(data), content_type)
        return self._media(key, len(data), content_type)

    def _write(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps({"content_type": content_type}).encode()
        # Metadata first: a file that is visible always has its metadata.
        _atomic_write(path.parent / self._META, meta)
        _atomic_write(path, data)

    async def get(self, org_id: str, key: str) -> bytes:
        path = self._path(check_key(org_id, key))
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise MediaNotFound(key) from None

    async def delete(self, org_id: str, key: str) -> None:
        path = self._path(check_key(org_id, key))
        await asyncio.to_thread(self._remove, path)

    def _remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        (path.parent / self._META).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty, or already gone
            path.parent.rmdir()

    async def list(self, org_id: str) -> list[StoredMedia]:
        return await asyncio.to_thread(self._list, _check_org(org_id))

    async def erase_tenant(self, org_id: str) -> int:
        return await asyncio.to_thread(self._erase, self._root / _check_org(org_id))

    @staticmethod
    def _erase(tenant: Path) -> int:
        if not tenant.is_dir():
            return 0
        files = sum(1 for f in tenant.rglob("*") if f.is_file() and f.name != LocalMediaStore._META)
        shutil.rmtree(tenant)
        return files

    async def check(self) -> str:
        await asyncio.to_thread(_probe_directory, self._root)
        return f"directory {self._root} writable"

    def _list(self, org_id: str) -> list[StoredMedia]:
        out: list[StoredMedia] = []
        tenant = self._root / org_id
        if not tenant.is_dir():
            return out
        for entry in tenant.iterdir():
            try:
                files = [f for f in entry.iterdir() if not f.name.startswith(".")]
                meta = json.loads((entry / self._META).read_bytes())
            except (OSError, ValueError):
                continue  # a stray file, or media being deleted right now
            for file in files:
                key = f"{org_id}/{entry.name}/{file.name}"
                try:
                    check_key(org_id, key)
                    size = file.stat().st_size
                except (InvalidMediaKey, OSError):
                    continue
                out.append(self._media(key, size, meta["content_type"]))
        return sorted(out, key=lambda m: m.key)


def _probe_directory(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    _atomic_write(root / ".probe", b"ok")
    (root / ".probe").unlink()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; media is not secret to the service
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class S3MediaStore:
    """Objects in one S3 bucket (or an S3-compatible endpoint, path-style).

    boto3 is synchronous; each call runs in a worker thread on one shared client (clients
    are thread-safe). ``url`` is ``<public_base_url>/<key>`` when a public base (a CDN) is
    given, else a presigned GET URL valid for ``url_expires_seconds``. ``list`` costs one
    HEAD per object for the content type; keep a catalogue elsewhere for large listings.
    """

    def __init__(
        self,
        bucket: str,
        region: str,
        endpoint_url: str | None = None,
        *,
        public_base_url: str | None = None,
        url_expires_seconds: int = 3600,
    ) -> None:
        import boto3
        from botocore.config import Config

        config = Config(
            region_name=region,
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            # Custom endpoints (MinIO, LocalStack, moto) rarely resolve virtual hosts.
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self._s3: Any = boto3.session.Session().client(
            "s3", region_name=region, endpoint_url=endpoint_url, config=config
        )
        self._bucket = bucket
        self._public = public_base_url.rstrip("/") if public_base_url else None
        self._expires = url_expires_seconds

    def _url(self, key: str) -> str:
        if self._public:
            return f"{self._public}/{key}"
        return self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key},
            ExpiresIn=self._expires,
        )

    async def put(self, org_id: str, name: str, data: bytes, content_type: str) -> StoredMedia:
        key = _new_key(org_id, name)
        _check_content_type(content_type)
        body = bytes(data)
        await asyncio.to_thread(
            self._s3.put_object, Bucket=self._bucket, Key=key, Body=body, ContentType=content_type
        )
        return StoredMedia(key, self._url(key), len(body), content_type)

    async def get(self, org_id: str, key: str) -> bytes:
        check_key(org_id, key)
        return await asyncio.to_thread(self._get, key)

    def _get(self, key: str) -> bytes:
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            raise MediaNotFound(key) from None
        with response["Body"] as body:
            return body.read()

    async def delete(self, org_id: str, key: str) -> None:
        check_key(org_id, key)
        await asyncio.to_thread(self._s3.delete_object, Bucket=self._bucket, Key=key)

    async def list(self, org_id: str) -> list[StoredMedia]:
        return await asyncio.to_thread(self._list, _check_org(org_id))

    async def erase_tenant(self, org_id: str) -> int:
        return await asyncio.to_thread(self._erase, f"{_check_org(org_id)}/")

    def _erase(self, prefix: str) -> int:
        erased = 0
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix
        )
        for page in pages:
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents", ())]
            if keys:  # at most 1000 a page, as many as one DeleteObjects takes
                self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": keys})
                erased += len(keys)
        return erased

    async def check(self) -> str:
        await asyncio.to_thread(self._s3.head_bucket, Bucket=self._bucket)
        return f"bucket {self._bucket} reachable"

    def _list(self, org_id: str) -> list[StoredMedia]:
        from botocore.exceptions import ClientError

        out: list[StoredMedia] = []
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=f"{org_id}/"
        )
        for page in pages:
            for obj in page.get("Contents", ()):
                key = obj["Key"]
                try:
                    check_key(org_id, key)
                    head = self._s3.head_object(Bucket=self._bucket, Key=key)
                except InvalidMediaKey:
                    continue  # written by something else; not ours to show
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                        continue  # deleted between the listing and the HEAD
                    raise
                content_type = head.get("ContentType", "application/octet-stream")
                out.append(StoredMedia(key, self._url(key), int(obj["Size"]), content_type))
        return sorted(out, key=lambda m: m.key)
