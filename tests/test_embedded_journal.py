"""The embedded engine's journal: nothing acknowledged is lost when the process dies.

The central test SIGKILLs a writing child process at a random point and checks the data
dir against the same writes replayed on a fresh engine. The others take a "crash image"
in process: the data dir's files copied while the engine is still open, which is what a
kill -9 leaves on disk (the OS keeps what was written), and open the copy.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from crash_writer import dump, operations
from pymongo.errors import BulkWriteError, DuplicateKeyError
from support import TEST_MONGODB_URI, make_settings, opened_runtime

from persistence.embedded_mongo import EmbeddedMongo, JournalWriteError
from persistence.embedded_mongo.journal import FILE_PREFIX, MAGIC, generations
from persistence.embedded_mongo.snapshot import collection_file, read_collection_file

WRITER = Path(__file__).with_name("crash_writer.py")


def crash_image(data_dir: Path, image: Path) -> Path:
    """The files of an open engine's data dir, as a kill -9 at this moment leaves them."""
    shutil.copytree(data_dir, image, ignore=shutil.ignore_patterns(".lock"))
    return image


def journal_generations(data_dir: Path) -> list[int]:
    return [number for number, _ in generations(data_dir)]


def last_journal(data_dir: Path) -> Path:
    return generations(data_dir)[-1][1]


# -- kill -9 ---------------------------------------------------------------------------


def reference_states(directory: Path, acknowledged: int) -> list[dict[str, Any]]:
    """What the writer's first `acknowledged` writes leave, and that plus the one in flight."""
    with EmbeddedMongo(directory, snapshot_interval=0, journal=False) as reference:
        client = reference.sync_client
        ops = operations()
        for operation in itertools.islice(ops, acknowledged):
            operation(client)
        before = dump(client)
        next(ops)(client)
        return [before, dump(client)]


@pytest.mark.parametrize("trial", range(4))
def test_every_acknowledged_write_survives_a_kill_9_at_a_random_point(
    tmp_path: Path, trial: int
) -> None:
    rng = random.Random(trial)  # the kill point varies by trial; a failure names its seed
    kill_after = rng.randint(150, 900)
    data_dir = tmp_path / "data"
    errors_file = tmp_path / "stderr.txt"
    with open(errors_file, "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(WRITER), str(data_dir), "0.05"],  # snapshots during the writes
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert child.stdout is not None
    numbers: list[int] = []
    try:
        for line in child.stdout:
            numbers.append(int(line))
            if len(numbers) >= kill_after:
                break
    finally:
        child.kill()  # SIGKILL: no close(), no flush, no atexit
        # What it printed before the kill landed, buffered here or still in the pipe.
        rest = child.stdout.read()
        child.wait(timeout=60)
        child.stdout.close()
    numbers.extend(int(n) for n in rest.split())
    errors = errors_file.read_text()
    assert child.returncode == -signal.SIGKILL, errors
    assert numbers == list(range(len(numbers))), "the writer skipped a number"
    assert len(numbers) >= kill_after, errors

    with EmbeddedMongo(data_dir, snapshot_interval=0) as reopened:
        recovered = dump(reopened.sync_client)
        replayed = reopened.recovery.applied
    # The write in flight at the kill may or may not have landed; nothing else differs.
    before, after = reference_states(tmp_path / "reference", len(numbers))
    assert recovered in (before, after), (
        f"trial {trial}: {len(numbers)} writes acknowledged, {replayed} entries replayed"
    )


# -- crash images ----------------------------------------------------------------------


def every_kind_of_change(engine: EmbeddedMongo) -> None:
    """Writes touching everything the journal records, after a snapshot of some of it."""
    client = engine.sync_client
    db = client.chorus
    db.posts.create_index([("organizationId", 1), ("slug", 1)], unique=True)
    db.posts.insert_many([{"organizationId": "o", "slug": f"s{i}", "n": i} for i in range(20)])
    db.create_collection("validated", validator={"n": {"$gte": 0}})
    db.tokens.create_index("hash", unique=True)
    client.other.stuff.insert_one({"x": 1})
    db.expiring.create_index("at", expireAfterSeconds=0)
    engine.flush()  # what follows is in the journal only

    db.posts.update_many({"n": {"$lt": 5}}, {"$inc": {"n": 100}, "$currentDate": {"seen": True}})
    db.posts.update_one({"slug": "new"}, {"$set": {"organizationId": "o"}}, upsert=True)
    db.posts.replace_one({"slug": "s7"}, {"organizationId": "o", "slug": "s7", "replaced": True})
    db.posts.delete_many({"n": {"$gte": 15}})
    db.posts.find_one_and_update({"slug": "s8"}, {"$push": {"tags": "a"}})
    with pytest.raises(DuplicateKeyError):  # written, then rolled back by the unique check
        db.posts.insert_one({"organizationId": "o", "slug": "s10"})
    with pytest.raises(BulkWriteError):
        db.posts.insert_many(
            [{"organizationId": "p", "slug": "a"}, {"organizationId": "o", "slug": "s11"}],
            ordered=True,
        )
    db.posts.create_index("n")
    db.posts.drop_index("n_1")
    db.posts.create_index("slug")
    db.command({"collMod": "validated", "validator": {"n": {"$gte": 1}}})
    db.validated.insert_one({"n": 5})
    db.tokens.rename("api_tokens")
    db.api_tokens.insert_one({"hash": "h1"})
    db.scratch.insert_one({"y": 1})
    db.drop_collection("scratch")
    client.drop_database("other")
    db.bare.insert_one({"z": 1})
    db.bare.drop_indexes()
    db.expiring.insert_one({"at": dt.datetime(2000, 1, 1)})
    db.expiring.insert_one({"at": dt.datetime(2999, 1, 1)})
    db.expiring.find_one({})  # a read runs the TTL sweep, which deletes the expired one
    with client.start_session() as session:
        session.start_transaction()
        db.posts.insert_one({"organizationId": "t", "slug": "aborted"}, session=session)
        session.abort_transaction()
    with client.start_session() as session:
        session.start_transaction()
        db.posts.insert_one({"organizationId": "t", "slug": "committed"}, session=session)
        db.validated.delete_many({}, session=session)
        session.commit_transaction()


def test_a_crash_image_replays_to_exactly_the_live_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("persistence.embedded_mongo.engine.TTL_SWEEP_SECONDS", 0)
    with EmbeddedMongo(tmp_path / "live", snapshot_interval=0) as engine:
        every_kind_of_change(engine)
        live = dump(engine.sync_client)
        image = crash_image(tmp_path / "live", tmp_path / "image")
        expiring = engine.sync_client.chorus.expiring.find()
        assert [d["at"].year for d in expiring] == [2999]  # the TTL sweep deleted the other
    with EmbeddedMongo(image, snapshot_interval=0) as recovered:
        assert recovered.recovery.applied > 0
        assert recovered.recovery.ignored_bytes == 0
        assert dump(recovered.sync_client) == live
        assert recovered.dirty  # replayed, not yet in a snapshot
    with EmbeddedMongo(image, snapshot_interval=0) as again:  # now from its snapshot
        assert again.recovery.applied == 0
        assert dump(again.sync_client) == live


def test_a_torn_last_record_is_ignored(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path / "live", snapshot_interval=0) as engine:
        posts = engine.sync_client.chorus.posts
        for i in range(10):
            posts.insert_one({"_id": i})
        before_last = last_journal(tmp_path / "live").stat().st_size
        posts.update_one({"_id": 3}, {"$set": {"last": True}})
        image = crash_image(tmp_path / "live", tmp_path / "image")
    journal = last_journal(image)
    size = journal.stat().st_size
    for cut in (1, (size - before_last) // 2, size - before_last - 1):
        torn = tmp_path / f"torn-{cut}"
        shutil.copytree(image, torn)
        with open(last_journal(torn), "r+b") as f:
            f.truncate(size - cut)  # the last append, cut short by the kill
        with EmbeddedMongo(torn, snapshot_interval=0) as recovered:
            posts = recovered.sync_client.chorus.posts
            assert sorted(d["_id"] for d in posts.find()) == list(range(10))
            assert posts.find_one({"_id": 3}) == {"_id": 3}  # the torn update is not applied
            assert recovered.recovery.ignored_bytes == size - cut - before_last
            assert not recovered.recovery.files[-1].damaged
            # Appends go to a new file, never after the torn frame.
            posts.insert_one({"_id": "after"})
            assert len(journal_generations(torn)) == 2
            second_image = crash_image(torn, tmp_path / f"again-{cut}")
        with EmbeddedMongo(second_image, snapshot_interval=0) as recovered:
            assert recovered.sync_client.chorus.posts.count_documents({}) == 11


def test_a_zero_filled_tail_and_a_damaged_frame_are_told_apart(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path / "live", snapshot_interval=0) as engine:
        posts = engine.sync_client.chorus.posts
        sizes = []
        for i in range(5):
            posts.insert_one({"_id": i, "text": "x" * 50})
            sizes.append(last_journal(tmp_path / "live").stat().st_size)
        image = crash_image(tmp_path / "live", tmp_path / "image")

    zeros = shutil.copytree(image, tmp_path / "zeros")
    with open(last_journal(zeros), "ab") as f:
        f.write(b"\x00" * 4096)  # a page the file system extended but never wrote
    with EmbeddedMongo(zeros, snapshot_interval=0) as recovered:
        assert recovered.sync_client.chorus.posts.count_documents({}) == 5
        assert recovered.recovery.ignored_bytes == 4096
        assert not recovered.recovery.files[0].damaged

    damaged = shutil.copytree(image, tmp_path / "damaged")
    data = bytearray(last_journal(damaged).read_bytes())
    data[sizes[1] + 20] ^= 0xFF  # inside the third frame; two intact frames follow it
    last_journal(damaged).write_bytes(bytes(data))
    with EmbeddedMongo(damaged, snapshot_interval=0) as recovered:
        assert sorted(d["_id"] for d in recovered.sync_client.chorus.posts.find()) == [0, 1]
        assert recovered.recovery.files[0].damaged
        assert recovered.recovery.ignored_bytes == sizes[-1] - sizes[1]


def test_a_snapshot_rotates_the_journal(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path, snapshot_interval=0) as engine:
        assert journal_generations(tmp_path) == []  # nothing written, no file
        posts = engine.sync_client.chorus.posts
        posts.insert_one({"_id": 1})
        first = journal_generations(tmp_path)
        assert len(first) == 1
        assert engine.flush() == 1
        assert journal_generations(tmp_path) == []  # covered by the snapshot, deleted
        assert read_collection_file(collection_file(tmp_path, "chorus", "posts")).journal_seq
        posts.insert_one({"_id": 2})
        second = journal_generations(tmp_path)
        assert len(second) == 1
        assert second[0] > first[0]
        assert engine.flush() == 1
        assert engine.flush() == 0  # nothing changed: no rotation, no file
        assert journal_generations(tmp_path) == []
        posts.insert_one({"_id": 3})
    # A clean close snapshots and leaves no journal behind.
    assert journal_generations(tmp_path) == []
    assert not any(p.name.startswith(FILE_PREFIX) for p in tmp_path.iterdir())


def test_replay_skips_entries_a_snapshot_already_holds(tmp_path: Path) -> None:
    """A crash between writing a snapshot and deleting the journal it covers."""
    live = tmp_path / "live"
    with EmbeddedMongo(live, snapshot_interval=0) as engine:
        posts = engine.sync_client.chorus.posts
        posts.insert_many([{"_id": i, "n": 0} for i in range(5)])
        for _ in range(3):
            posts.update_one({"_id": 0}, {"$inc": {"n": 1}})
        old_generation = last_journal(live)
        kept = old_generation.read_bytes()
        engine.flush()
        assert not old_generation.exists()
        posts.update_one({"_id": 0}, {"$inc": {"n": 10}})
        posts.delete_one({"_id": 4})
        image = crash_image(live, tmp_path / "image")
    (image / old_generation.name).write_bytes(kept)  # as if the delete never happened

    with EmbeddedMongo(image, snapshot_interval=0) as recovered:
        # 5 inserts and 3 updates are in the snapshot; the update and delete after it apply.
        assert recovered.recovery.skipped == 8
        assert recovered.recovery.applied == 2
        posts = recovered.sync_client.chorus.posts
        assert posts.find_one({"_id": 0}) == {"_id": 0, "n": 13}
        assert posts.count_documents({}) == 4
        # New entries number after everything on disk, so none looks already held.
        posts.insert_one({"_id": "new"})
        assert recovered.journal is not None
        assert recovered.journal.last_seq > recovered.recovery.last_seq
        third = crash_image(image, tmp_path / "third")
    with EmbeddedMongo(third, snapshot_interval=0) as recovered:
        assert recovered.sync_client.chorus.posts.find_one({"_id": "new"}) == {"_id": "new"}


def test_one_write_per_call_and_a_rolled_back_insert_leaves_nothing(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path / "live", snapshot_interval=0) as engine:
        journal = engine.journal
        assert journal is not None
        posts = engine.sync_client.chorus.posts
        posts.create_index("slug", unique=True)
        commits = journal.commits
        posts.insert_many([{"slug": f"s{i}"} for i in range(100)])
        assert journal.commits == commits + 1
        posts.update_many({}, {"$set": {"seen": True}})
        assert journal.commits == commits + 2
        posts.find_one({"slug": "s1"})
        assert journal.commits == commits + 2  # a read appends nothing
        with pytest.raises(DuplicateKeyError):
            posts.insert_one({"slug": "s1"})  # its write and its rollback: one frame
        assert journal.commits == commits + 3
        image = crash_image(tmp_path / "live", tmp_path / "image")
    with EmbeddedMongo(image, snapshot_interval=0) as recovered:
        posts = recovered.sync_client.chorus.posts
        assert posts.count_documents({}) == 100
        assert posts.count_documents({"seen": True}) == 100


def test_without_the_journal_writes_wait_for_the_snapshot(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path / "live", snapshot_interval=0, journal=False) as engine:
        assert engine.journal is None
        engine.sync_client.chorus.posts.insert_one({"_id": 1})
        assert journal_generations(tmp_path / "live") == []
        image = crash_image(tmp_path / "live", tmp_path / "image")
    with EmbeddedMongo(image, snapshot_interval=0) as recovered:
        assert recovered.sync_client.chorus.posts.count_documents({}) == 0


def test_fsync_makes_each_write_durable_before_it_returns(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path / "plain", snapshot_interval=0) as engine:
        journal = engine.journal
        assert journal is not None
        engine.sync_client.chorus.posts.insert_one({"_id": 1})
        assert journal.written > 0
        assert journal.syncs == 0  # handed to the OS only

    with EmbeddedMongo(tmp_path / "synced", snapshot_interval=0, fsync=True) as engine:
        journal = engine.journal
        assert journal is not None
        posts = engine.sync_client.chorus.posts
        for i in range(5):
            posts.insert_one({"_id": i})
            assert journal.synced == journal.written  # on the disk when insert_one returned
        assert journal.syncs == 5

        def write(worker: int) -> None:
            for i in range(20):
                posts.insert_one({"_id": f"{worker}-{i}"})

        threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert journal.synced == journal.written
        assert journal.syncs <= journal.commits  # one sync may cover several writers
        assert posts.count_documents({}) == 85
        engine.flush()
        posts.insert_one({"_id": "after-rotation"})
        assert journal.synced == journal.written


def test_a_failed_append_is_reported_and_its_entries_go_out_with_the_next(
    tmp_path: Path,
) -> None:
    with EmbeddedMongo(tmp_path / "live", snapshot_interval=0) as engine:
        journal = engine.journal
        assert journal is not None
        posts = engine.sync_client.chorus.posts
        posts.insert_one({"_id": 1})
        os.close(journal._fd)  # type: ignore[arg-type]  # the disk refuses the next append
        with pytest.raises(JournalWriteError) as raised:
            posts.insert_one({"_id": 2})
        assert raised.value.code == 64  # a write concern error: applied, not durable
        assert journal.pending
        posts.insert_one({"_id": 3})  # appended to a new file, with the queued entry
        assert not journal.pending
        assert len(journal_generations(tmp_path / "live")) == 2
        image = crash_image(tmp_path / "live", tmp_path / "image")
    with EmbeddedMongo(image, snapshot_interval=0) as recovered:
        assert sorted(d["_id"] for d in recovered.sync_client.chorus.posts.find()) == [1, 2, 3]


def test_a_journal_file_starts_with_its_magic(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path, snapshot_interval=0) as engine:
        engine.sync_client.chorus.posts.insert_one({"_id": 1})
        assert last_journal(tmp_path).read_bytes().startswith(MAGIC)


@pytest.mark.skipif(bool(TEST_MONGODB_URI), reason="the embedded engine's setting")
async def test_the_fsync_setting_reaches_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_EMBEDDED_FSYNC", "true")
    async with opened_runtime(make_settings(tmp_path)) as runtime:
        assert "fsync per write" in runtime.forms["documents"][1]
        journal = runtime.db.client.sync_client.journal
        assert journal is not None
        assert journal.fsync
        await runtime.db.notes.insert_one({"text": "kept"})
        assert journal.synced == journal.written > 0
