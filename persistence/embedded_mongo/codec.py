"""How the embedded engine turns documents into bytes, shared by snapshots and the journal.

Both write BSON with the same options, so the bytes the journal encodes when a document
is written are exactly what a snapshot would encode; the engine caches them and a
snapshot copies them instead of encoding the document again.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Any

import bson
from bson.errors import BSONError
from mongomock_ng import helpers

logger = logging.getLogger(__name__)

# Encoding accepts uuid.UUID (only reachable through writes mongomock doesn't check);
# decoding keeps binary subtype 4 as Binary, as PyMongo's default options do.
ENCODE_OPTIONS = bson.CodecOptions(uuid_representation=bson.binary.UuidRepresentation.STANDARD)
DECODE_OPTIONS = bson.CodecOptions()


def encode_document(collection: str, doc: dict[str, Any]) -> bytes | None:
    """The document as BSON, or None (logged) when it cannot be encoded."""
    try:
        return bson.encode(doc, codec_options=ENCODE_OPTIONS)
    except (BSONError, OverflowError, TypeError, ValueError):
        # Only reachable through writes mongomock does not BSON-check (bulk updates);
        # a server would have refused them. Keep the rest of the collection.
        logger.error(
            "embedded mongo: document %r in %s is not BSON-encodable; not saved",
            doc.get("_id"),
            collection,
        )
        return None


def store_key(doc_id: Any) -> Hashable:
    """The key a collection store files a document under: its _id, hashable."""
    return helpers.hashdict(doc_id) if isinstance(doc_id, dict) else doc_id
