"""Snapshots of an engine store: one BSON file per collection.

Layout: `<root>/<quoted db name>/<quoted collection name>.bson`. A file is a header
document (name, options, indexes, the journal sequence number it holds up to) followed
by the collection's documents, each BSON encoded, so ObjectId, datetime, bytes and
Decimal128 come back exactly. Files are written to a temp name, fsynced and renamed over
the old one, so a crash leaves either the old snapshot or the new one, never a torn file.

Snapshots make a restart fast; the journal (journal.py) holds what changed since. A
snapshot starts a new journal generation, writes each changed collection, and then
deletes the generations it covers. Collections are encoded one at a time, each under
the engine lock, so writers wait for one collection, never for the whole snapshot; the
sequence number in each file tells replay which entries that file already holds.
"""

from __future__ import annotations

import collections
import gc
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import bson
from bson.errors import BSONError

from .codec import DECODE_OPTIONS, ENCODE_OPTIONS, encode_document, store_key
from .engine import EngineCollectionStore, EngineServerStore
from .journal import Journal

__all__ = [
    "DECODE_OPTIONS",
    "ENCODE_OPTIONS",
    "LoadedCollection",
    "SnapshotError",
    "SnapshotLoad",
    "collection_file",
    "encode_collection",
    "load",
    "read_collection_file",
    "save_dirty",
    "write_atomic",
]

logger = logging.getLogger(__name__)

FORMAT = 1
SUFFIX = ".bson"
TMP_SUFFIX = ".tmp"


class SnapshotError(RuntimeError):
    """A snapshot file could not be read."""


def collection_file(root: Path, db_name: str, coll_name: str) -> Path:
    return root / quote(db_name, safe="") / (quote(coll_name, safe="") + SUFFIX)


def encode_collection(store: EngineCollectionStore, journal_seq: int = 0) -> bytes:
    """Serialize one collection; call under the engine lock.

    `journal_seq` is the last journal entry recorded, all of which the encoding holds.
    """
    header = {"format": FORMAT, "name": store.name, **store.header(), "journalSeq": journal_seq}
    parts = [bson.encode(header, codec_options=ENCODE_OPTIONS)]
    parts.extend(store.encoded_documents(lambda doc: encode_document(store.name, doc)))
    return b"".join(parts)


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


def save_dirty(store: EngineServerStore, root: Path, journal: Journal | None = None) -> int:
    """Write every changed collection; returns how many files were written or removed.

    With a journal, the collections changed so far are listed and a new generation
    started in one step under the lock; once all of them are written, every older
    generation is covered and deleted. A failure leaves them for the next snapshot.
    """
    with store.lock:
        changed_stores = [
            (db_store, coll_store)
            for db_store in store.database_stores().values()
            for coll_store in db_store.collection_stores().values()
            if coll_store.dirty
        ]
        if not changed_stores:
            return 0
        generation = journal.rotate() if journal is not None else None
    changed = 0
    for db_store, coll_store in changed_stores:
        with store.lock:
            # Renamed since it was listed: its file is its new name's. Replaced by a
            # rename onto its name: skipped; the rename journaled the new holder whole
            # (after the rotation) and the next snapshot writes it.
            if not coll_store.dirty or not db_store.holds(coll_store):
                continue
            coll_store.dirty = False
            path = collection_file(root, db_store.name, coll_store.name)
            seq = journal.last_seq if journal is not None else 0
            data = encode_collection(coll_store, seq) if coll_store.is_created else None
        try:
            if data is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, data)
        except BaseException:
            coll_store.dirty = True  # try again next time
            raise
        changed += 1
    _remove_stale_files(store, root)
    if journal is not None and generation is not None:
        journal.discard_before(generation)
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


@dataclass
class SnapshotLoad:
    documents: int = 0
    # (database, collection) -> the last journal entry its file holds
    journal_seqs: dict[tuple[str, str], int] = field(default_factory=dict)


def load(store: EngineServerStore, root: Path) -> SnapshotLoad:
    """Fill an empty store from the snapshot under `root`."""
    if not root.is_dir():
        return SnapshotLoad()
    # Tens of thousands of fresh dicts trigger repeated full GC passes that find
    # nothing to free; pausing the collector halves the load time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(store, root)
    finally:
        if gc_was_enabled:
            gc.enable()


def _load(store: EngineServerStore, root: Path) -> SnapshotLoad:
    result = SnapshotLoad()
    for db_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for leftover in db_dir.glob(f"*{TMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)  # an interrupted write; the old file stands
        db_name = unquote(db_dir.name)
        db_store = store[db_name]
        for path in sorted(db_dir.glob(f"*{SUFFIX}")):
            loaded = read_collection_file(path)
            db_store[loaded.name].load(loaded.documents, loaded.header, loaded.encoded)
            result.documents += len(loaded.documents)
            result.journal_seqs[(db_name, loaded.name)] = loaded.journal_seq
    return result


@dataclass
class LoadedCollection:
    name: str
    documents: collections.OrderedDict  # store key -> document
    header: dict[str, Any]  # options, forceCreated, indexes
    encoded: dict[Any, bytes]  # store key -> the document's bytes in the file
    journal_seq: int  # 0 in files written before the journal


def read_collection_file(path: Path) -> LoadedCollection:
    try:
        data = path.read_bytes()
        docs = bson.decode_all(data, DECODE_OPTIONS)
    except (BSONError, OSError) as exc:
        raise SnapshotError(f"cannot read embedded mongo snapshot {path}: {exc}") from exc
    if not docs or docs[0].get("format") != FORMAT:
        raise SnapshotError(f"{path} is not an embedded mongo snapshot (format {FORMAT})")
    header = docs[0]
    documents: collections.OrderedDict = collections.OrderedDict()
    encoded: dict[Any, bytes] = {}
    # Each BSON document starts with its int32 length; the file's bytes are what
    # encoding the decoded document gives again, so they prime the snapshot cache.
    pos = int.from_bytes(data[0:4], "little")
    for doc in docs[1:]:
        size = int.from_bytes(data[pos : pos + 4], "little")
        key = store_key(doc["_id"])
        documents[key] = doc
        encoded[key] = data[pos : pos + size]
        pos += size
    return LoadedCollection(
        name=header["name"],
        documents=documents,
        header=header,
        encoded=encoded,
        journal_seq=int(header.get("journalSeq", 0)),
    )
