"""The writer the kill -9 test kills: numbered writes, each announced once acknowledged.

Run as a script, it opens an EmbeddedMongo on the given data dir and performs the writes
of `operations()` without end, printing each one's number after its call returns; the
test SIGKILLs it at a random point. The test then performs the same writes, up to the
last number printed, on a fresh engine to know what the data dir must hold (`dump`).

The writes mix what the journal records: inserts with given and generated ids, updates,
upserts with $currentDate, replaces, deletes, an index created and dropped, collections
created, renamed and dropped, an unordered insert_many with a duplicate, a transaction
aborted.

    python tests/crash_writer.py DATA_DIR [SNAPSHOT_INTERVAL]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError

Operation = Callable[[Any], object]  # given a sync client


def operations() -> Iterator[Operation]:
    """The writes, in order; the same every time."""
    for i in itertools.count():
        yield lambda c, i=i: c.chorus.posts.insert_one({"_id": i, "slug": f"p{i}", "n": 0})
        if i % 3 == 0 and i:
            yield lambda c, i=i: c.chorus.posts.update_one(
                {"_id": i - 1}, {"$inc": {"n": 1}, "$set": {"by": i}}
            )
        if i % 5 == 0 and i >= 2:
            yield lambda c, i=i: c.chorus.posts.delete_one({"_id": i - 2})
        if i % 4 == 0:
            yield lambda c, i=i: c.chorus.counters.update_one(
                {"_id": f"c{i % 7}"},
                {"$inc": {"count": 1}, "$currentDate": {"at": True}, "$setOnInsert": {"first": i}},
                upsert=True,
            )
        if i % 6 == 0 and i >= 3:
            yield lambda c, i=i: c.chorus.posts.replace_one(
                {"_id": i - 3}, {"slug": f"p{i - 3}", "replaced": i}
            )
        if i % 9 == 0:
            yield lambda c, i=i: c.chorus.events.insert_one({"step": i})  # a generated _id
        if i == 20:
            yield lambda c: c.chorus.posts.create_index("slug", unique=True)
        if i % 40 == 10:
            yield lambda c, i=i: c.chorus.create_collection(f"scratch{i}")
            yield lambda c, i=i: c.chorus[f"scratch{i}"].insert_many([{"k": k} for k in range(3)])
        if i % 40 == 20:
            yield lambda c, i=i: c.chorus[f"scratch{i - 10}"].rename(f"moved{i - 10}")
        if i % 40 == 30:
            yield lambda c, i=i: c.chorus.drop_collection(f"moved{i - 20}")
        if i % 25 == 24 and i > 20:
            yield lambda c, i=i: _insert_with_duplicate(c, i)
            yield lambda c, i=i: _insert_duplicate_slug(c, i)
            yield lambda c, i=i: _transaction(c, i, commit=False)
            yield lambda c, i=i: _transaction(c, i, commit=True)
        if i % 50 == 45:
            yield lambda c: c.chorus.batches.create_index("tag")
            yield lambda c: c.chorus.batches.drop_index("tag_1")


# Each operation is one call whose effect the journal holds entirely or not at all (a
# transaction's writes reach it only at the commit), so a kill during one leaves the
# state before it or after it.


def _insert_with_duplicate(client: Any, i: int) -> None:
    """An unordered insert_many that keeps all but its duplicate, as a server does."""
    with contextlib.suppress(BulkWriteError):
        client.chorus.batches.insert_many(
            [{"_id": f"b{i}-1"}, {"_id": f"b{i}-1"}, {"_id": f"b{i}-2", "at": i}], ordered=False
        )


def _insert_duplicate_slug(client: Any, i: int) -> None:
    with contextlib.suppress(DuplicateKeyError):
        client.chorus.posts.insert_one({"slug": f"p{i}"})  # unique slug: rolled back


def _transaction(client: Any, i: int, commit: bool) -> None:
    with client.start_session() as session:
        session.start_transaction()
        client.chorus.batches.insert_one({"_id": f"t{i}-{commit}"}, session=session)
        client.chorus.counters.update_one(
            {"_id": "transactions"}, {"$inc": {"count": 1}}, upsert=True, session=session
        )
        if commit:
            session.commit_transaction()
        else:
            session.abort_transaction()


def dump(client: Any) -> dict[str, Any]:
    """Every collection's options, indexes and documents, comparable across runs.

    Generated ids and dates differ between the killed run and the replayed one, so
    they compare by type.
    """
    state: dict[str, Any] = {}
    for db_name in sorted(client.list_database_names()):
        db = client[db_name]
        for name in sorted(db.list_collection_names()):
            coll = db[name]
            # A stored document's _id comes first, as on a server; a live insert that
            # generated it has it last. Order of the top-level fields is not compared.
            documents = sorted(repr(sorted(_shape(doc).items())) for doc in coll.find())
            state[f"{db_name}.{name}"] = {
                "options": coll.options(),
                "indexes": coll.index_information(),
                "documents": documents,
            }
    return state


def _shape(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return "<ObjectId>"
    if isinstance(value, dt.datetime):
        return "<datetime>"
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return value


def main(argv: list[str]) -> None:
    from persistence.embedded_mongo import EmbeddedMongo

    interval = float(argv[1]) if len(argv) > 1 else 0.05
    engine = EmbeddedMongo(argv[0], snapshot_interval=interval)
    client = engine.sync_client
    for number, operation in enumerate(operations()):
        operation(client)
        print(number, flush=True)  # acknowledged


if __name__ == "__main__":
    # The checkout this file is in, not whatever copy of it is installed.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main(sys.argv[1:])
