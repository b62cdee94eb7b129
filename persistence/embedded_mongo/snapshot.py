"""Snapshots of an engine store: one BSON file per collection.

Layout: `<root>/<quoted db name>/<quoted collection name>.bson`. A file is a header
document (name, options, indexes) followed by the collection's documents, each BSON
encoded, so ObjectId, datetime, bytes and Decimal128 come back exactly. Files are
written to a temp name, fsynced and renamed over the old one, so a crash leaves either
the old snapshot or the new one, never a torn file.
"""

from __future__ import annotations

import collections
import gc
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import bson
from bson.errors import BSONError
from mongomock_ng import helpers

from .engine import EngineCollectionStore, EngineServerStore

logger = logging.getLogger(__name__)

# Encoding accepts uuid.UUID (only reachable through writes mongomock doesn't check);
# decoding keeps binary subtype 4 as Binary, as PyMongo's default options do.
ENCODE_OPTIONS = bson.CodecOptions(uuid_representation=bson.binary.UuidRepresentation.STANDARD)
DECODE_OPTIONS = bson.CodecOptions()

FORMAT = 1
SUFFIX = ".bson"
TMP_SUFFIX = ".tmp"


class SnapshotError(RuntimeError):
    """A snapshot file could not be read."""


def collection_file(root: Path, db_name: str, coll_name: str) -> Path:
    return root / quote(db_name, safe="") / (quote(coll_name, safe="") + SUFFIX)


def encode_collection(store: EngineCollectionStore) -> bytes:
    """Serialize one collection; call under the engine lock."""
    header = {
        "format": FORMAT,
        "name": store.name,
        "options": store.options,
        "forceCreated": store.force_created,
        "indexes": [{"name": name, "spec": spec} for name, spec in store.indexes.items()],
    }
    parts = [bson.encode(header, codec_options=ENCODE_OPTIONS)]
    parts.extend(store.encoded_documents(lambda doc: _encode_document(store.name, doc)))
    return b"".join(parts)


def _encode_document(collection: str, doc: dict[str, Any]) -> bytes | None:
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


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_dirty(store: EngineServerStore, root: Path) -> int:
    """Write every changed collection; returns how many files were written or removed."""
    changed = 0
    for db_name, db_store in store.database_stores().items():
        for coll_name, coll_store in db_store.collection_stores().items():
            if not coll_store.dirty:
                continue
            with store.lock:
                coll_store.dirty = False
                data = encode_collection(coll_store) if coll_store.is_created else None
            path = collection_file(root, db_name, coll_name)
            try:
                if data is None:
                    path.unlink(missing_ok=True)
                else:
                    write_atomic(path, data)
            except BaseException:
                coll_store.dirty = True  # try again next time
                raise
            changed += 1
    if changed:
        _remove_stale_files(store, root)
    return changed


def _remove_stale_files(store: EngineServerStore, root: Path) -> None:
    """Delete files of collections that were dropped or renamed away."""
    with store.lock:
        live = {
            collection_file(root, db_name, coll_name)
            for db_name, db_store in store.database_stores().items()
            for coll_name, coll_store in db_store.collection_stores().items()
            if coll_store.is_created or coll_store.dirty
        }
    for path in root.glob(f"*/*{SUFFIX}"):
        if path not in live:
            path.unlink(missing_ok=True)


def load(store: EngineServerStore, root: Path) -> int:
    """Fill an empty store from the snapshot under `root`; returns the document count."""
    if not root.is_dir():
        return 0
    # Tens of thousands of fresh dicts trigger repeated full GC passes that find
    # nothing to free; pausing the collector halves the load time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(store, root)
    finally:
        if gc_was_enabled:
            gc.enable()


def _load(store: EngineServerStore, root: Path) -> int:
    total = 0
    for db_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for leftover in db_dir.glob(f"*{TMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)  # an interrupted write; the old file stands
        db_store = store[unquote(db_dir.name)]
        for path in sorted(db_dir.glob(f"*{SUFFIX}")):
            loaded = read_collection_file(path)
            coll_store = db_store[loaded.name]
            coll_store.load(loaded.documents, loaded.indexes, loaded.options, loaded.encoded)
            if loaded.force_created:
                coll_store._is_force_created = True
            total += len(loaded.documents)
    return total


@dataclass
class LoadedCollection:
    name: str
    documents: collections.OrderedDict  # store key -> document
    indexes: dict[str, dict[str, Any]]
    options: dict[str, Any]
    force_created: bool
    encoded: dict[Any, bytes]  # store key -> the document's bytes in the file


def read_collection_file(path: Path) -> LoadedCollection:
    try:
        data = path.read_bytes()
        docs = bson.decode_all(data, DECODE_OPTIONS)
    except (BSONError, OSError) as exc:
        raise SnapshotError(f"cannot read embedded mongo snapshot {path}: {exc}") from exc
    if not docs or docs[0].get("format") != FORMAT:
        raise SnapshotError(f"{path} is not an embedded mongo snapshot (format {FORMAT})")
    header = docs[0]
    indexes = {}
    for entry in header["indexes"]:
        spec = dict(entry["spec"])
        # BSON has no tuples; mongomock compares index keys as lists of tuples.
        spec["key"] = [tuple(k) for k in spec["key"]]
        indexes[entry["name"]] = spec
    documents: collections.OrderedDict = collections.OrderedDict()
    encoded: dict[Any, bytes] = {}
    # Each BSON document starts with its int32 length; the file's bytes are what
    # encoding the decoded document gives again, so they prime the snapshot cache.
    pos = int.from_bytes(data[0:4], "little")
    for doc in docs[1:]:
        size = int.from_bytes(data[pos : pos + 4], "little")
        key = doc["_id"]
        key = helpers.hashdict(key) if isinstance(key, dict) else key
        documents[key] = doc
        encoded[key] = data[pos : pos + size]
        pos += size
    return LoadedCollection(
        name=header["name"],
        documents=documents,
        indexes=indexes,
        options=header["options"],
        force_created=bool(header["forceCreated"]),
        encoded=encoded,
    )
