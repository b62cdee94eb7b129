"""The embedded engine's write-ahead journal: a change is on disk before its call returns.

Snapshots alone lose what changed since the last one when the process dies (kill -9,
OOM). So every change to a collection store is also appended to a journal file in the
data dir, and a reopen loads the last snapshot and replays the journal over it.

What is recorded are resulting states, not operations: a document's new BSON, a delete
marker, a collection reset (drop) or a collection's new header (options and indexes).
Replay is then deterministic (upserts, generated ids and $currentDate replay as what
they produced) and idempotent: replaying an entry over a state that already holds it
changes nothing.

Entries a write call makes are gathered under the engine lock and appended when the
outermost lock hold ends, as one frame with one ``write()``: ``[u32 length][u32 crc32]
[payload]``, the payload being the entries as consecutive BSON documents. A write that
fails atomically (an insert rolled back by its unique check) lands whole or not at all,
and a frame cut short by a kill, or damaged, fails its checksum and is ignored with all
that follows it in the file. A frame is appended before the write returns, so a torn
frame is a write that was never acknowledged and dropping it is correct.

``write()`` hands the bytes to the OS: a killed process keeps them (the page cache
survives), a power loss may not. ``fsync=True`` adds an ``fdatasync`` per write, after
the engine lock is released so writers in other threads proceed and one sync can cover
several of them; it costs what the disk's flush costs (milliseconds on most disks),
during which the calling coroutine blocks its event loop.

Files are ``journal-<generation>.log`` beside the snapshot directories. A snapshot starts
a new generation and, once every changed collection is written, deletes the older ones.
Each entry carries a sequence number and each snapshot file the last sequence number it
holds, so replay skips what a snapshot already has even when an old generation survives a
crash in the middle of a snapshot.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bson
from bson.errors import BSONError
from pymongo.errors import WriteConcernError

from .codec import DECODE_OPTIONS, ENCODE_OPTIONS

logger = logging.getLogger(__name__)

MAGIC = b"CHJRNL01"
FILE_PREFIX = "journal-"
FILE_SUFFIX = ".log"

# Entry kinds (the "o" field).
SET = 1  # "v": the document as it now is
DELETE = 2  # "k": the _id of a document that is gone
RESET = 3  # the collection dropped: no documents, no indexes, not created
META = 4  # "h": the collection's new header (options, forceCreated, indexes)

_FRAME = struct.Struct("<II")
_INT32 = struct.Struct("<i")
_INT64 = struct.Struct("<q")
_WRITE_CONCERN_FAILED = 64  # MongoDB's code when a write is applied but not made durable


class JournalWriteError(WriteConcernError):
    """A write was applied in memory but could not be appended to the journal.

    As with a server's write concern error, the change happened but is not durable; its
    entries stay queued and go out with the next write, or the next snapshot covers them.
    """


class JournalFormatError(RuntimeError):
    """The journal holds an entry this version cannot apply."""


def generation_file(root: Path, generation: int) -> Path:
    return root / f"{FILE_PREFIX}{generation:010d}{FILE_SUFFIX}"


def generations(root: Path) -> list[tuple[int, Path]]:
    """The journal files under `root`, oldest first."""
    found = []
    for path in root.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"):
        number = path.name[len(FILE_PREFIX) : -len(FILE_SUFFIX)]
        if number.isdigit():
            found.append((int(number), path))
    return sorted(found)


class Journal:
    """Appends entries for one data dir; the engine calls it under its lock.

    `record_*` queue an entry and `commit()` appends what is queued; both run under the
    engine lock, so the journal's order is the order changes were made. `sync()` runs
    after the lock is released. Counters (`commits`, `syncs`) are for tests and benchmarks.
    """

    def __init__(self, root: Path, generation: int, next_seq: int, fsync: bool = False) -> None:
        self.root = root
        self.fsync = fsync
        self.commits = 0
        self.syncs = 0
        self._generation = generation
        self._next_seq = next_seq
        self._pending: list[bytes] = []
        self._namespaces: dict[tuple[str, str], bytes] = {}
        # The current generation's file, opened by its first commit, so a snapshot
        # that finds nothing written since leaves no empty file behind.
        self._fd: int | None = None
        self._size = 0
        # Bytes committed and bytes known synced, counted across generations.
        self._written = 0
        self._synced = 0
        self._sync_lock = threading.Lock()

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def last_seq(self) -> int:
        """Sequence number of the last entry recorded (0 before any)."""
        return self._next_seq - 1

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    @property
    def written(self) -> int:
        return self._written

    @property
    def synced(self) -> int:
        return self._synced

    # -- recording (under the engine lock) ---------------------------------------------
    def record_set(self, db: str, collection: str, document: bytes) -> None:
        """A document now holds `document` (its BSON)."""
        self._add(SET, db, collection, b"\x03v\x00" + document)

    def record_delete(self, db: str, collection: str, key: Hashable) -> None:
        body = _element("k", key)
        if body is None:
            logger.error("embedded mongo: cannot journal the delete of %r in %s", key, collection)
            return
        self._add(DELETE, db, collection, body)

    def record_reset(self, db: str, collection: str) -> None:
        self._add(RESET, db, collection, b"")

    def record_meta(self, db: str, collection: str, header: Mapping[str, Any]) -> None:
        body = _element("h", header)
        if body is None:  # pragma: no cover - options and index specs come from BSON commands
            logger.error("embedded mongo: cannot journal the header of %s", collection)
            return
        self._add(META, db, collection, body)

    def _add(self, kind: int, db: str, collection: str, body: bytes) -> None:
        # BSON built by hand around already-encoded parts: the document's bytes are
        # copied, not encoded a second time.
        namespace = self._namespaces.get((db, collection))
        if namespace is None:
            namespace = _string_element("d", db) + _string_element("c", collection)
            self._namespaces[(db, collection)] = namespace
        seq = self._next_seq
        self._next_seq = seq + 1
        inner = b"".join(
            (b"\x12s\x00", _INT64.pack(seq), b"\x10o\x00", _INT32.pack(kind), namespace, body)
        )
        self._pending.append(_INT32.pack(len(inner) + 5) + inner + b"\x00")

    # -- writing -----------------------------------------------------------------------
    def commit(self) -> int:
        """Append the queued entries as one frame with one write; returns the end position.

        Under the engine lock. On failure the entries stay queued, the file is left to
        end in a torn frame (ignored by replay) and the next commit starts a new file.
        """
        pending = self._pending
        payload = pending[0] if len(pending) == 1 else b"".join(pending)
        data = _FRAME.pack(len(payload), zlib.crc32(payload)) + payload
        try:
            if self._fd is None:
                self._open()
            if self._size == 0:
                data = MAGIC + data
            _write_all(self._fd, data)  # type: ignore[arg-type]
        except OSError as exc:
            self._abandon_file()
            raise JournalWriteError(
                f"embedded mongo: the write was applied but not journaled: {exc}",
                _WRITE_CONCERN_FAILED,
                {"code": _WRITE_CONCERN_FAILED, "errmsg": str(exc)},
            ) from exc
        self._pending.clear()
        self._size += len(data)
        self._written += len(data)
        self.commits += 1
        return self._written

    def sync(self, position: int) -> None:
        """Make everything up to `position` durable; outside the engine lock.

        One fdatasync covers every commit before it, so threads that committed while
        another was syncing find their position already covered.
        """
        with self._sync_lock:
            if self._synced >= position:
                return
            target = self._written
            if self._fd is not None:
                try:
                    _fdatasync(self._fd)
                except OSError as exc:
                    raise JournalWriteError(
                        f"embedded mongo: the journal could not be synced: {exc}",
                        _WRITE_CONCERN_FAILED,
                        {"code": _WRITE_CONCERN_FAILED, "errmsg": str(exc)},
                    ) from exc
            self._synced = target
            self.syncs += 1

    def rotate(self) -> int:
        """Start a new generation (under the engine lock); returns its number.

        Entries recorded from here on go to the new file; the snapshot that rotates
        covers everything before, so the older files can go once it is written.
        """
        with self._sync_lock:
            self._close_file()
            self._generation += 1
        return self._generation

    def discard_before(self, generation: int) -> int:
        """Delete the files of generations older than `generation`; returns how many."""
        removed = 0
        for number, path in generations(self.root):
            if number < generation:
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            # Else after a power loss an old file could come back beside snapshots that
            # no longer hold the collections it recreates.
            _fsync_dir(self.root)
        return removed

    def close(self) -> None:
        with self._sync_lock:
            self._close_file()

    def _open(self) -> None:
        path = generation_file(self.root, self._generation)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self._size = 0
        if self.fsync:
            _fsync_dir(self.root)  # the new file's name must survive a power loss too

    def _close_file(self) -> None:
        if self._fd is None:
            return
        try:
            if self.fsync:
                _fdatasync(self._fd)
                self._synced = self._written
        finally:
            os.close(self._fd)
            self._fd = None
            self._size = 0

    def _abandon_file(self) -> None:
        # After a failed write the file may end in a partial frame; nothing may follow it.
        with self._sync_lock:
            try:
                self._close_file()
            except OSError:
                logger.exception("embedded mongo: closing journal %s failed", self._generation)
                self._fd = None
                self._size = 0
            self._generation += 1


@dataclass
class GenerationScan:
    """What reading one journal file found."""

    generation: int
    path: Path
    valid_bytes: int = 0
    ignored_bytes: int = 0
    damaged: bool = False  # something other than a torn last frame was ignored


def read_batches(scan: GenerationScan) -> Iterator[list[dict[str, Any]]]:
    """The file's frames, each a list of entries, up to the first torn or damaged frame."""
    data = scan.path.read_bytes()
    if data[: len(MAGIC)] != MAGIC:
        # A file cut short before its first frame completed holds no acknowledged write.
        scan.ignored_bytes = len(data)
        scan.damaged = not MAGIC.startswith(data)
        _report(scan, 0)
        return
    pos = len(MAGIC)
    end_of_file = len(data)
    while pos < end_of_file:
        if pos + _FRAME.size > end_of_file:
            break
        length, checksum = _FRAME.unpack_from(data, pos)
        end = pos + _FRAME.size + length
        if length == 0 or end > end_of_file:
            break  # cut short, or a zero-filled tail left by a lost page
        payload = data[pos + _FRAME.size : end]
        if zlib.crc32(payload) != checksum:
            scan.damaged = end < end_of_file  # a bad frame with frames after it
            break
        try:
            batch = bson.decode_all(payload, DECODE_OPTIONS)
        except BSONError:
            scan.damaged = True
            break
        pos = end
        scan.valid_bytes = pos
        yield batch
    scan.valid_bytes = pos
    scan.ignored_bytes = end_of_file - pos
    _report(scan, pos)


def _report(scan: GenerationScan, offset: int) -> None:
    if not scan.ignored_bytes:
        return
    if scan.damaged:
        logger.error(
            "embedded mongo: journal %s is damaged at byte %d; %d bytes after it ignored",
            scan.path,
            offset,
            scan.ignored_bytes,
        )
    else:
        logger.warning(
            "embedded mongo: journal %s ends in a write cut short (%d bytes, unacknowledged);"
            " ignored",
            scan.path,
            scan.ignored_bytes,
        )


def _string_element(name: str, value: str) -> bytes:
    encoded = value.encode("utf-8")
    return b"\x02" + name.encode() + b"\x00" + _INT32.pack(len(encoded) + 1) + encoded + b"\x00"


def _element(name: str, value: Any) -> bytes | None:
    """One BSON element `name: value`, cut out of an encoded one-field document."""
    try:
        encoded = bson.encode({name: value}, codec_options=ENCODE_OPTIONS)
    except (BSONError, OverflowError, TypeError, ValueError):
        return None
    return encoded[4:-1]


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written == len(data):  # always, short of a full disk or a signal mid-write
        return
    view = memoryview(data)[written:]
    while view:
        view = view[os.write(fd, view) :]


def _fdatasync(fd: int) -> None:
    sync = getattr(os, "fdatasync", os.fsync)  # fdatasync skips metadata a read never needs
    sync(fd)


def _fsync_dir(directory: Path) -> None:
    # Makes a file's creation or removal itself durable; not possible on every platform.
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
