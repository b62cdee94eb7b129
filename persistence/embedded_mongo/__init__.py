"""The embedded document store: PyMongo's API in process, saved under the data dir.

`EmbeddedMongo(path)` loads the last snapshot, replays the journal written since, exposes
a sync client (for langgraph's MongoDBSaver) and an async client (for application code,
same calls as `pymongo.AsyncMongoClient(tz_aware=True)`) over one in-memory engine built
on mongomock-ng, and snapshots changed collections from a daemon thread.

Every write is in the journal before it returns (journal.py), so a killed process loses
nothing it acknowledged; snapshots keep the journal short and restarts fast. One process
at a time may open a data dir.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from pathlib import Path
from types import TracebackType

from .engine import EngineClient, EngineServerStore
from .facade import (
    EmbeddedAsyncClient,
    EmbeddedAsyncCollection,
    EmbeddedAsyncCommandCursor,
    EmbeddedAsyncCursor,
    EmbeddedAsyncDatabase,
)
from .journal import Journal, JournalFormatError, JournalWriteError
from .recovery import Recovery, replay
from .snapshot import SnapshotError, load, save_dirty

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DataDirInUseError",
    "EmbeddedAsyncClient",
    "EmbeddedAsyncCollection",
    "EmbeddedAsyncCommandCursor",
    "EmbeddedAsyncCursor",
    "EmbeddedAsyncDatabase",
    "EmbeddedMongo",
    "EngineClient",
    "JournalFormatError",
    "JournalWriteError",
    "Recovery",
    "SnapshotError",
]

logger = logging.getLogger(__name__)

LOCK_FILE = ".lock"


class DataDirInUseError(RuntimeError):
    """Another EmbeddedMongo (in this or another process) has the directory open."""


class EmbeddedMongo:
    """In-process MongoDB stand-in persisted to `path`.

    With `journal` (the default) every write is appended to the journal before it
    returns, so a crash loses nothing acknowledged; `fsync` also flushes each append to
    the disk, which a power loss needs and which costs a disk flush per write. Without
    `journal`, a crash loses the writes of the last `snapshot_interval` seconds.
    `snapshot_interval <= 0` disables the background thread (flush()/close() only).
    """

    def __init__(
        self,
        path: Path | str,
        snapshot_interval: float = 2.0,
        *,
        journal: bool = True,
        fsync: bool = False,
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.snapshot_interval = snapshot_interval
        # Two writers on one directory would overwrite each other's snapshots.
        self._lock_fd = _lock_directory(self.path)
        self._closed = False
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        try:
            self._store = EngineServerStore()
            started = time.perf_counter()
            snapshot = load(self._store, self.path)
            self.loaded_documents = snapshot.documents
            self.load_seconds = time.perf_counter() - started
            # Replayed even when journaling is now off: those writes were acknowledged.
            self.recovery: Recovery = replay(self._store, self.path, snapshot.journal_seqs)
            # Numbers continue past everything on disk, so no new entry looks covered by
            # a snapshot; a new file is begun rather than appending after a torn frame.
            self._journal = Journal(
                self.path,
                generation=self.recovery.last_generation + 1,
                next_seq=max([self.recovery.last_seq, *snapshot.journal_seqs.values()]) + 1,
                fsync=fsync,
            )
            if journal:
                self._store.journal = self._journal
        except BaseException:
            _unlock_directory(self._lock_fd)
            raise
        logger.info(
            "embedded mongo: loaded %d documents from %s in %.3fs, replayed %d journal "
            "entries in %.3fs",
            self.loaded_documents,
            self.path,
            self.load_seconds,
            self.recovery.applied,
            self.recovery.seconds,
        )
        if self.loaded_documents or self.recovery.applied:
            # What was loaded lives as long as the process: out of the collector's
            # generations, so full collections stop walking every stored document (pauses of
            # 0.6-0.9 s at 50,000 posts, seen as the calendar's p95 in bench/workspace.py).
            gc.collect()
            gc.freeze()
        self.sync_client = EngineClient(self._store, tz_aware=True)
        self.async_client = EmbeddedAsyncClient(self.sync_client)
        self._thread: threading.Thread | None = None
        if snapshot_interval > 0:
            self._thread = threading.Thread(
                target=self._run, name="embedded-mongo-snapshot", daemon=True
            )
            self._thread.start()

    @property
    def journal(self) -> Journal | None:
        """The journal writes are appended to, or None when journaling is off."""
        return self._store.journal

    @property
    def dirty(self) -> bool:
        """Whether something changed since the last snapshot."""
        return any(
            coll.dirty
            for db in self._store.database_stores().values()
            for coll in db.collection_stores().values()
        )

    def flush(self) -> int:
        """Write changed collections now, then drop the journal they cover.

        Returns how many snapshot files changed.
        """
        with self._flush_lock:
            return save_dirty(self._store, self.path, self._journal)

    def close(self) -> None:
        """Stop the snapshot thread, write what is left, release the directory."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        try:
            if self._thread is not None:
                self._thread.join()
            self.flush()
        finally:
            self.sync_client.close()
            try:
                self._close_journal()
            finally:
                _unlock_directory(self._lock_fd)

    def _close_journal(self) -> None:
        with self._store.lock:  # after any write in flight
            self._store.journal = None
            try:
                if self._journal.pending:  # left by a failed append: one more try
                    self._journal.commit()
            finally:
                self._journal.close()

    def _run(self) -> None:
        while not self._stop.wait(self.snapshot_interval):
            try:
                self.flush()
            except Exception:
                # Keep the thread alive: the collections stay dirty and are retried.
                logger.exception("embedded mongo: snapshot to %s failed", self.path)

    def __enter__(self) -> EmbeddedMongo:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddedMongo({str(self.path)!r})"


def _lock_directory(path: Path) -> int | None:
    if fcntl is None:
        return None
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        raise DataDirInUseError(
            f"{path} is already open by another embedded document store "
            "(only one process may use an embedded data dir at a time)"
        ) from exc
    return fd


def _unlock_directory(fd: int | None) -> None:
    if fd is None or fcntl is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
