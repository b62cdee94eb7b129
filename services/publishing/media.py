"""A post's media files, read from the media store and handed to a provider as ``Media``.

A post names its media by the URL the store gave (``MediaFile.url``: ``/media/<key>`` for
the local directory, the bucket's URL for S3); the key is the ``<org>/<id>/<name>`` part
of it, checked to be the post's own organization's. The bytes are read once per publish
(``Media.read`` replays them for a retried upload); the type comes from the stored
name's extension, the size from the bytes. An absolute http(s) URL is also given as
``public_url``, for the networks that fetch media themselves (Instagram images, TikTok
photos).
"""

from __future__ import annotations

import mimetypes
from urllib.parse import unquote, urlsplit

from bson import ObjectId

from persistence.media import InvalidMediaKey, MediaNotFound, MediaStore, check_key
from persistence.models.content import MediaFile
from tools.platforms.base import Media

__all__ = ["MediaUnavailable", "load_media"]

# What each kind of media file may be when its name has no known extension.
_FALLBACK = {"image": None, "video": None, "gif": "image/gif"}


class MediaUnavailable(Exception):
    """A media file of the post cannot be read: the target fails, saying which and why."""


def media_key(org_id: ObjectId, url: str) -> str:
    """The store key inside ``url`` (the part from the organization's id on)."""
    path = unquote(urlsplit(url).path)
    marker = f"{org_id}/"
    at = path.find(marker)
    if at < 0:
        raise MediaUnavailable(f"media {url} is not in this organization's media store")
    try:
        return check_key(str(org_id), path[at:])
    except InvalidMediaKey as exc:
        raise MediaUnavailable(f"media {url}: {exc}") from None


def _mime_type(key: str, kind: str) -> str:
    guessed, _ = mimetypes.guess_type(key.rsplit("/", 1)[-1])
    mime = guessed or _FALLBACK.get(kind)
    if mime is None:
        raise MediaUnavailable(
            f"media {key.rsplit('/', 1)[-1]} has no file extension that names its type"
        )
    return mime


async def load_media(store: MediaStore, org_id: ObjectId, files: list[MediaFile]) -> list[Media]:
    """The post's media in order, read from ``store``; MediaUnavailable if one is missing."""
    out: list[Media] = []
    for file in files:
        key = media_key(org_id, file.url)
        try:
            data = await store.get(str(org_id), key)
        except MediaNotFound:
            raise MediaUnavailable(f"media {file.url} is no longer in the media store") from None
        absolute = urlsplit(file.url).scheme in ("http", "https")
        out.append(
            Media.from_bytes(
                data,
                _mime_type(key, file.type),
                alt_text=file.alt_text,
                public_url=file.url if absolute else None,
                filename=key.rsplit("/", 1)[-1],
            )
        )
    return out
