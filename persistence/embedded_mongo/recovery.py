"""Replaying the journal over a loaded snapshot, when a data dir is opened.

The snapshot gives each collection's state as of the journal entry its file records;
every later entry is applied in the order it was written, generation by generation.
Entries a collection's file already holds are skipped rather than applied twice, which
matters when a crash came between writing a snapshot and deleting the generations it
covers. A torn or damaged frame ends its file (journal.read_batches); later generations
still apply, as they were written after a restart or after a failed append.
"""

from __future__ import annotations

import collections
import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .codec import store_key
from .engine import EngineCollectionStore, EngineServerStore
from .journal import (
    DELETE,
    META,
    RESET,
    SET,
    GenerationScan,
    JournalFormatError,
    generations,
    read_batches,
)


@dataclass
class Recovery:
    """What opening a data dir replayed."""

    applied: int = 0  # entries applied over the snapshot
    skipped: int = 0  # entries the snapshot already held
    last_seq: int = 0  # highest sequence number seen
    last_generation: int = 0  # highest generation found
    seconds: float = 0.0
    files: list[GenerationScan] = field(default_factory=list)

    @property
    def ignored_bytes(self) -> int:
        """Bytes of torn or damaged frames that were not applied."""
        return sum(scan.ignored_bytes for scan in self.files)


def replay(
    store: EngineServerStore, root: Path, snapshot_seqs: dict[tuple[str, str], int]
) -> Recovery:
    """Apply the journal under `root` to `store`, which holds the loaded snapshot.

    The store must not be journaling: replayed changes are already in the journal.
    """
    assert store.journal is None, "replaying into a journaling store would record it again"
    started = time.perf_counter()
    result = Recovery()
    replayed: dict[tuple[str, str], _Replayed] = {}
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as in snapshot loading: many fresh dicts, nothing to free
    try:
        for generation, path in generations(root):
            scan = GenerationScan(generation, path)
            result.files.append(scan)
            result.last_generation = generation
            for batch in read_batches(scan):
                for entry in batch:
                    seq = entry["s"]
                    if seq > result.last_seq:
                        result.last_seq = seq
                    namespace = (entry["d"], entry["c"])
                    if seq <= snapshot_seqs.get(namespace, 0):
                        result.skipped += 1
                        continue
                    target = replayed.get(namespace)
                    if target is None:
                        target = replayed[namespace] = _Replayed(store[entry["d"]][entry["c"]])
                    target.apply(entry)
                    result.applied += 1
        for target in replayed.values():
            target.install()
    finally:
        if gc_was_enabled:
            gc.enable()
    result.seconds = time.perf_counter() - started
    return result


class _Replayed:
    """One collection's contents while entries apply; installed in its store once at the end.

    Plain dict operations per entry, and the hash indexes built once, make replay several
    times faster than going through the store's write path for every entry. The
    OrderedDict keeps natural order as the store's own writes would: a rewritten document
    keeps its place, a deleted and reinserted one moves to the end.
    """

    def __init__(self, coll: EngineCollectionStore) -> None:
        self.coll = coll
        self.documents, self.encoded = coll.contents()
        self.header = coll.header()

    def apply(self, entry: dict[str, Any]) -> None:
        kind = entry["o"]
        if kind == SET:
            document = entry["v"]
            key = store_key(document["_id"])
            self.documents[key] = document
            self.encoded.pop(key, None)
        elif kind == DELETE:
            key = store_key(entry["k"])
            self.documents.pop(key, None)
            self.encoded.pop(key, None)
        elif kind == RESET:
            # What mongomock's drop() does: options stay, all else goes.
            self.documents = collections.OrderedDict()
            self.encoded = {}
            self.header = {"options": self.header["options"], "forceCreated": False, "indexes": []}
        elif kind == META:
            self.header = entry["h"]
        else:
            raise JournalFormatError(
                f"journal entry {entry['s']} has kind {kind!r}, unknown to this version; "
                "open the data dir with the version that wrote it"
            )

    def install(self) -> None:
        self.coll.load(self.documents, self.header, self.encoded)
        self.coll.dirty = True  # not in any snapshot yet
