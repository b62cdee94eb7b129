"""The embedded engine's sorted indexes answer exactly what a plain scan answers.

Every query here runs twice: on the embedded engine, whose declared indexes narrow the
candidates and may walk in sort order (persistence/embedded_mongo/ordered.py), and on a
bare mongomock-ng collection with the same documents in the same order, which scans.
Documents include the awkward shapes (arrays, missing and null fields, bools beside
numbers, Decimal128, sub-documents) so the indexes' fallbacks are exercised too.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mongomock_ng
import pytest
from bson import Decimal128, ObjectId
from pymongo.errors import OperationFailure, WriteError

from persistence.embedded_mongo import EmbeddedMongo

UTC = dt.UTC
START = dt.datetime(2025, 1, 1, tzinfo=UTC)
ORGS = [ObjectId() for _ in range(3)]
ACCOUNTS = [ObjectId() for _ in range(5)]
STATUSES = ["draft", "scheduled", "published", "failed"]
TAGS = ["a", "b", "c", "d"]
INDEXES: list[list[tuple[str, int]]] = [
    [("organizationId", 1), ("scheduling.status", 1), ("scheduling.scheduledAt", 1)],
    [("organizationId", 1), ("_id", -1)],
    [("organizationId", 1), ("scheduling.scheduledAt", 1), ("_id", 1)],
    [("organizationId", 1), ("platforms.socialAccountId", 1), ("scheduling.scheduledAt", 1)],
    [("organizationId", 1), ("tags", 1), ("_id", -1)],
    [("organizationId", 1), ("n", 1)],
    [("rank", 1)],
]
SORTS: list[list[tuple[str, int]] | None] = [
    None,
    [("_id", -1)],
    [("_id", 1)],
    [("scheduling.scheduledAt", 1), ("_id", 1)],
    [("scheduling.scheduledAt", -1), ("_id", -1)],
    [("scheduling.scheduledAt", 1)],
    [("scheduling.scheduledAt", -1)],
    [("n", 1)],
    [("n", -1)],
    [("rank", -1)],
    [("tags", 1)],
]


def when(rng: random.Random) -> dt.datetime:
    # Whole minutes: many documents share a time, so ties are exercised.
    return START + dt.timedelta(minutes=rng.randrange(0, 400) * 30)


def make_doc(rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": ObjectId(),
        "organizationId": rng.choice(ORGS),
        "scheduling": {"status": rng.choice(STATUSES)},
        "platforms": [
            {"socialAccountId": rng.choice(ACCOUNTS), "platform": rng.choice(["x", "y"])}
            for _ in range(rng.choice([0, 1, 1, 2]))
        ],
        "rank": rng.randrange(20),
    }
    shape = rng.random()
    if shape < 0.8:
        doc["scheduling"]["scheduledAt"] = when(rng)
    elif shape < 0.9:
        doc["scheduling"]["scheduledAt"] = None
    tags = rng.random()
    if tags < 0.6:
        doc["tags"] = rng.sample(TAGS, rng.randrange(0, 3))
    elif tags < 0.8:
        doc["tags"] = rng.choice(TAGS)  # a scalar where others hold arrays
    n = rng.random()
    if n < 0.5:
        doc["n"] = rng.randrange(-3, 4)
    elif n < 0.7:
        doc["n"] = rng.choice([0.5, 1.0, 2.5, -1.5])
    elif n < 0.8:
        doc["n"] = rng.choice([True, False])
    elif n < 0.85:
        doc["n"] = Decimal128(str(rng.randrange(-3, 4)))  # not orderable by the index
    elif n < 0.9:
        doc["n"] = {"nested": 1}
    elif n < 0.95:
        doc["n"] = [rng.randrange(-3, 4), rng.randrange(-3, 4)]
    return doc


def bound(rng: random.Random) -> Any:
    return rng.choice([when(rng), when(rng), when(rng), 3, "x"])


def random_condition(rng: random.Random) -> dict[str, Any]:
    """One field condition, of the kinds an index may narrow on and some it may not."""
    kind = rng.randrange(11)
    if kind == 0:
        return {"organizationId": rng.choice(ORGS)}
    if kind == 1:
        return {"organizationId": {"$in": rng.sample(ORGS, 2)}}
    if kind == 2:
        return {"scheduling.status": rng.choice(STATUSES)}
    if kind == 3:
        return {"scheduling.status": {"$in": rng.sample(STATUSES, rng.randrange(1, 3))}}
    if kind == 4:
        ops = rng.sample(["$gt", "$gte", "$lt", "$lte"], rng.randrange(1, 3))
        return {"scheduling.scheduledAt": {op: bound(rng) for op in ops}}
    if kind == 5:
        return {"tags": rng.choice(TAGS)}
    if kind == 6:
        return {"platforms.socialAccountId": rng.choice(ACCOUNTS)}
    if kind == 7:
        ops = rng.sample(["$gt", "$gte", "$lt", "$lte"], rng.randrange(1, 3))
        return {"n": {op: rng.choice([0, 1, 0.5, True, -2]) for op in ops}}
    if kind == 8:
        return {"n": rng.choice([0, 1, True, False, 2.5, 3])}
    if kind == 9:
        return {"scheduling.scheduledAt": {"$ne": None}}
    return {"$or": [{"tags": rng.choice(TAGS)}, {"rank": {"$lt": rng.randrange(20)}}]}


def random_query(rng: random.Random) -> dict[str, Any]:
    query: dict[str, Any] = {"organizationId": rng.choice(ORGS)} if rng.random() < 0.8 else {}
    terms = [random_condition(rng) for _ in range(rng.randrange(0, 4))]
    if terms and rng.random() < 0.4:
        query["$and"] = terms
    else:
        for term in terms:
            query.update(term)
    return query


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[EmbeddedMongo, Any, Any]]:
    """The engine's collection and a plain mongomock one, both filled alike."""
    engine = EmbeddedMongo(tmp_path / "documents", snapshot_interval=0)
    ours = engine.sync_client["t"]["posts"]
    for keys in INDEXES:
        ours.create_index(keys)
    plain = mongomock_ng.MongoClient(tz_aware=True)["t"]["posts"]
    rng = random.Random(13)
    docs = [make_doc(rng) for _ in range(600)]
    ours.insert_many([dict(d) for d in docs])
    plain.insert_many([dict(d) for d in docs])
    yield engine, ours, plain
    engine.close()


def assert_same_answers(ours: Any, plain: Any, seed: int, queries: int = 300) -> None:
    rng = random.Random(seed)
    answered = failed = 0
    for _ in range(queries):
        query = random_query(rng)
        sort = rng.choice(SORTS)
        skip = rng.choice([0, 0, 0, 3, 40])
        limit = rng.choice([0, 1, 5, 20, 50])
        try:
            expected = list(plain.find(query, sort=sort, skip=skip, limit=limit))
            count = plain.count_documents(query)
        except (AttributeError, TypeError):
            # mongomock itself cannot compare Decimal128 with an int; a server can. Where
            # the scan fails, narrowing may legitimately skip that document.
            failed += 1
            continue
        got = list(ours.find(query, sort=sort, skip=skip, limit=limit))
        assert got == expected, (query, sort, skip, limit)
        assert ours.count_documents(query) == count, query
        answered += 1
    assert answered > queries * 0.7, (answered, failed)


def test_random_queries_answer_exactly_what_a_scan_answers(stores: Any) -> None:
    _, ours, plain = stores
    assert_same_answers(ours, plain, seed=1, queries=600)


def test_the_indexes_narrow_the_workspace_queries(stores: Any) -> None:
    """Not only correct: the queries the workspace makes do use the sorted structures."""
    _, ours, _ = stores
    store = ours._store
    org = ORGS[0]
    spec = {"organizationId": org, "tags": "a"}
    walked = store.ordered_matches(spec, [("_id", -1)], 5)
    assert walked is not None
    assert len(walked) == 5
    ranged = {
        "organizationId": org,
        "scheduling.scheduledAt": {
            "$gte": START.replace(tzinfo=None),
            "$lt": START.replace(tzinfo=None) + dt.timedelta(days=1),
        },
    }
    candidates = store.candidates(ranged)
    assert candidates is not None
    assert len(candidates) < len(list(ours.find({"organizationId": org})))


def test_a_limited_walk_over_ties_stops_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Posts all due the same second (a drain) come out in natural order, and a batch of
    five tests five documents, not every tie."""
    import persistence.embedded_mongo.engine as engine_module

    engine = EmbeddedMongo(tmp_path / "documents", snapshot_interval=0)
    ours = engine.sync_client["t"]["posts"]
    ours.create_index([("scheduling.status", 1), ("scheduling.scheduledAt", 1)])
    plain = mongomock_ng.MongoClient(tz_aware=True)["t"]["posts"]
    due = START.replace(tzinfo=None)
    docs = [
        {"_id": ObjectId(), "scheduling": {"status": "scheduled", "scheduledAt": due}}
        for _ in range(300)
    ]
    for collection in (ours, plain):
        collection.insert_many([dict(d) for d in docs])
        collection.update_one({"_id": docs[3]["_id"]}, {"$set": {"scheduling.status": "draft"}})
    matched = []
    real = engine_module.filter_applies
    monkeypatch.setattr(
        engine_module, "filter_applies", lambda spec, doc: matched.append(1) or real(spec, doc)
    )
    # A condition outside the index keeps the matcher in play (a filter the index covers
    # whole is answered without it): what is counted is how many ties are tested.
    query = {
        "scheduling.status": "scheduled",
        "scheduling.scheduledAt": {"$lte": due},
        "version": {"$ne": 99},
    }
    sort = [("scheduling.scheduledAt", 1)]
    found = list(ours.find(query, sort=sort, limit=5))
    assert [d["_id"] for d in found] == [d["_id"] for d in plain.find(query, sort=sort, limit=5)]
    assert len(matched) == 5
    engine.close()


def test_updates_that_move_documents_between_ranges_are_seen(stores: Any) -> None:
    _, ours, plain = stores
    rng = random.Random(5)
    for _ in range(40):
        query = {"organizationId": rng.choice(ORGS), "tags": rng.choice(TAGS)}
        change = {
            "$set": {
                "scheduling.scheduledAt": when(rng),
                "scheduling.status": rng.choice(STATUSES),
                "tags": rng.sample(TAGS, 2),
                "n": rng.randrange(-3, 4),
            }
        }
        ours.update_many(query, change)
        plain.update_many(query, change)
        replacement = make_doc(rng)
        target = {"organizationId": rng.choice(ORGS), "rank": rng.randrange(20)}
        del replacement["_id"]
        ours.replace_one(target, replacement)
        plain.replace_one(target, replacement)
    assert_same_answers(ours, plain, seed=2)


def test_updates_that_keep_or_only_reshape_indexed_fields_are_seen(stores: Any) -> None:
    """An update re-indexes a document only where its keys changed: an unindexed field
    moves no entry, and a value turned into a one-element array (the same entries, now
    multikey) still stops ordered walks on that field, as a scan sorts arrays apart."""
    _, ours, plain = stores
    index = ours._store._sorted[("organizationId", "tags", "_id")]
    entries = list(index.entries)
    for collection in (ours, plain):
        collection.update_many({"organizationId": ORGS[0]}, {"$set": {"note": "seen"}})
    assert list(index.entries) == entries
    by_n = ours._store._sorted[("organizationId", "n")]
    multikey = by_n.multi[1]
    scalars = [d for d in plain.find({"organizationId": ORGS[1]}) if type(d.get("n")) is int]
    assert scalars
    for doc in scalars:
        for collection in (ours, plain):
            collection.update_one({"_id": doc["_id"]}, {"$set": {"n": [doc["n"]]}})
    assert by_n.multi[1] == multikey + len(scalars)
    assert_same_answers(ours, plain, seed=6)
    for doc in scalars:
        for collection in (ours, plain):
            collection.update_one({"_id": doc["_id"]}, {"$set": {"n": doc["n"]}})
    assert by_n.multi[1] == multikey
    assert_same_answers(ours, plain, seed=7)


def test_deletes_leave_no_stale_entries(stores: Any) -> None:
    _, ours, plain = stores
    for query in ({"tags": "a"}, {"scheduling.status": "draft", "organizationId": ORGS[1]}):
        ours.delete_many(query)
        plain.delete_many(query)
    first = plain.find_one({"organizationId": ORGS[2]}, sort=[("_id", -1)])
    ours.delete_one({"_id": first["_id"]})
    plain.delete_one({"_id": first["_id"]})
    assert_same_answers(ours, plain, seed=3)


def test_a_failed_update_leaves_the_indexes_as_the_document(stores: Any) -> None:
    _, ours, plain = stores
    target = plain.find_one({"organizationId": ORGS[0], "tags": "b"})
    with pytest.raises(WriteError):
        # $set applies first, then $inc fails on a string: the whole update is undone.
        ours.update_one(
            {"_id": target["_id"]},
            {
                "$set": {"tags": ["z"], "scheduling.scheduledAt": START},
                "$inc": {"scheduling.status": 1},
            },
        )
    assert ours.find_one({"_id": target["_id"]}) == target
    assert list(ours.find({"tags": "z"})) == []
    assert_same_answers(ours, plain, seed=4)


def test_restart_from_snapshot_and_journal_rebuilds_the_indexes(tmp_path: Path) -> None:
    rng = random.Random(21)
    plain = mongomock_ng.MongoClient(tz_aware=True)["t"]["posts"]
    engine = EmbeddedMongo(tmp_path / "documents", snapshot_interval=0)
    ours = engine.sync_client["t"]["posts"]
    for keys in INDEXES:
        ours.create_index(keys)
    first = [make_doc(rng) for _ in range(300)]
    ours.insert_many([dict(d) for d in first])
    plain.insert_many([dict(d) for d in first])
    engine.flush()  # a snapshot holds these; what follows is only in the journal
    later = [make_doc(rng) for _ in range(200)]
    ours.insert_many([dict(d) for d in later])
    plain.insert_many([dict(d) for d in later])
    change = {"$set": {"scheduling.scheduledAt": when(rng), "tags": ["b"]}}
    ours.update_many({"organizationId": ORGS[0], "rank": {"$lt": 8}}, change)
    plain.update_many({"organizationId": ORGS[0], "rank": {"$lt": 8}}, change)
    ours.delete_many({"scheduling.status": "failed", "organizationId": ORGS[1]})
    plain.delete_many({"scheduling.status": "failed", "organizationId": ORGS[1]})
    # The files as a kill -9 now leaves them: a snapshot, then the journal since.
    image = tmp_path / "image"
    shutil.copytree(tmp_path / "documents", image, ignore=shutil.ignore_patterns(".lock"))
    engine.close()
    with EmbeddedMongo(image, snapshot_interval=0) as reopened:
        assert reopened.recovery.applied > 0
        assert_same_answers(reopened.sync_client["t"]["posts"], plain, seed=6)


def test_a_walk_bounded_by_the_whole_filter_skips_the_matcher_and_answers_the_same(
    stores: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The calendar's query (a tenant and a time range, by time) walks its index without
    testing each document; a filter the walk does not bound whole is still tested."""
    from persistence.embedded_mongo import engine as engine_module

    calls = 0
    real = engine_module.filter_applies

    def counted(spec: Any, doc: Any) -> bool:
        nonlocal calls
        calls += 1
        return real(spec, doc)

    monkeypatch.setattr(engine_module, "filter_applies", counted)
    _, ours, plain = stores
    rng = random.Random(8)
    exact_queries = 0
    for _ in range(60):
        low, high = sorted([when(rng), when(rng)])
        ops = rng.choice([("$gte", "$lt"), ("$gt", "$lte"), ("$gte",), ("$lt",)])
        values = (low, high) if len(ops) == 2 else (rng.choice([low, high]),)
        bounds = dict(zip(ops, values, strict=True))
        query = {"organizationId": rng.choice(ORGS), "scheduling.scheduledAt": bounds}
        direction = rng.choice([1, -1])
        sort = [("scheduling.scheduledAt", direction), ("_id", direction)]
        limit = rng.choice([0, 0, 7])
        calls = 0
        got = list(ours.find(query, sort=sort, limit=limit))
        assert calls == 0, query
        assert got == list(plain.find(query, sort=sort, limit=limit)), query
        exact_queries += len(got) > 0
    assert exact_queries > 40
    org = ORGS[0]
    day = START.replace(tzinfo=None)
    nearly = [
        {"organizationId": org, "scheduling.scheduledAt": {"$gte": day, "$lt": "x"}},
        {"organizationId": org, "scheduling.scheduledAt": {"$gte": day, "$ne": None}},
        {"organizationId": org, "scheduling.scheduledAt": {"$gte": day}, "rank": 3},
        {"$and": [{"organizationId": org}, {"scheduling.scheduledAt": {"$gte": day}}]},
    ]
    for query in nearly:
        calls = 0
        sort = [("scheduling.scheduledAt", 1), ("_id", 1)]
        got = list(ours.find(query, sort=sort))
        assert calls > 0, query
        assert got == list(plain.find(query, sort=sort)), query


@pytest.mark.parametrize(
    "projection",
    [
        {"scheduling": 1, "tags": 1},
        {"scheduling": True, "platforms": 1, "_id": 0},
        {"_id": 1, "rank": 1, "missing": 1},
        {"platforms": 0, "n": 0},
        {"tags": False, "_id": 0},
        {"scheduling": 1, "rank": 0},  # a mix mongomock refuses
        # Nested paths, through sub-documents and arrays of them (the engine's own).
        {"scheduling.status": 1, "tags": 1},
        {"scheduling.scheduledAt": 1, "platforms.platform": 1, "_id": 0},
        {"platforms.socialAccountId": 1, "platforms.missing": 1, "rank": True},
        {"scheduling.nothing.deeper": 1, "scheduling.status": 1, "_id": 1},
        {"missing.path": 1, "platforms.platform": 1, "platforms.socialAccountId": 1},
        # What the engine leaves to mongomock: a path and a path inside it, an exclusion.
        {"scheduling": 1, "scheduling.status": 1},
        {"scheduling.status": 0, "rank": 0},
    ],
)
def test_projections_answer_what_mongomock_answers(stores: Any, projection: dict[str, Any]) -> None:
    _, ours, plain = stores
    query = {"organizationId": ORGS[1]}
    sort = [("scheduling.scheduledAt", 1), ("_id", 1)]
    try:
        expected = list(plain.find(query, projection, sort=sort, limit=30))
    except (ValueError, OperationFailure) as refused:  # a mix, a path collision
        with pytest.raises(type(refused), match=re.escape(str(refused))):
            list(ours.find(query, projection, sort=sort, limit=30))
        return
    got = list(ours.find(query, projection, sort=sort, limit=30))
    assert got == expected
    assert len(got) == 30
    # Copies: changing what a find returned leaves the store as it was.
    for doc in got:
        for value in doc.values():
            if isinstance(value, (list, dict)):
                value.clear()
    assert list(ours.find(query, projection, sort=sort, limit=30)) == expected


@pytest.mark.parametrize(
    "projection",
    [
        {"scheduling.status": 1, "scheduling.scheduledAt": 1, "tags": 1},
        {"platforms.platform": 1, "platforms.socialAccountId": 1, "_id": 0},
    ],
)
def test_nested_inclusions_are_applied_by_the_engine_itself(
    stores: Any, projection: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """mongomock's projection is not called for them (it copies the whole document)."""
    from persistence.embedded_mongo.engine import EngineCollection

    _, ours, plain = stores
    query = {"organizationId": ORGS[2]}
    sort = [("scheduling.scheduledAt", 1), ("_id", 1)]
    expected = list(plain.find(query, projection, sort=sort))

    def refused(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("mongomock's projection was used")

    monkeypatch.setattr(EngineCollection, "_copy_only_fields", refused)
    got = list(ours.find(query, projection, sort=sort))
    assert got == expected
    assert len(got) > 100
    times = [d.get("scheduling", {}).get("scheduledAt") for d in got]
    assert all(t.tzinfo is not None for t in times if isinstance(t, dt.datetime))


def test_a_nested_inclusion_through_arrays_keeps_sub_documents_only_as_mongodb_does(
    stores: Any,
) -> None:
    """Elements of an array that are not sub-documents are left out and nested arrays are
    walked (MongoDB 4.4 on); mongomock fails on those shapes, so the answer is written out."""
    engine, _, _ = stores
    posts = engine.sync_client["t"]["shapes"]
    at = dt.datetime(2026, 3, 29, 1, 2, 3, tzinfo=UTC)
    posts.insert_one(
        {
            "_id": 1,
            "a": [1, {"b": 2, "c": 3}, [{"b": [4, {"x": 5}]}, "s"], {"c": 6}, None],
            "s": 5,
            "d": {"b": {"x": at, "y": 1}, "c": 2},
            "e": [],
        }
    )
    got = posts.find_one({}, {"a.b": 1, "s.b": 1, "d.b.x": 1, "e.b": 1, "f.b": 1})
    assert got == {
        "_id": 1,
        "a": [{"b": 2}, [{"b": [4, {"x": 5}]}], {}],
        "d": {"b": {"x": at}},
        "e": [],
    }
    assert list(got) == ["_id", "a", "d", "e"]  # the stored document's order
    got["a"][0]["b"] = 0
    got["a"][1][0]["b"].clear()
    assert posts.find_one({}, {"a.b": 1})["a"] == [{"b": 2}, [{"b": [4, {"x": 5}]}], {}]


def test_read_each_hands_over_the_stored_documents_in_the_order_a_find_answers(
    stores: Any,
) -> None:
    """``read_each`` (the calendar's one pass) sees what a find returns, in the same order,
    but the stored documents themselves: no copy is made for it."""
    _, ours, plain = stores
    rng = random.Random(21)
    answered = 0
    for _ in range(300):
        query = random_query(rng)
        sort = rng.choice(SORTS)
        try:
            expected = [d["_id"] for d in plain.find(query, sort=sort)]
        except (AttributeError, TypeError):
            continue  # mongomock cannot compare these (see assert_same_answers)
        assert ours.read_each(query, sort, lambda d: d["_id"]) == expected, (query, sort)
        answered += 1
    assert answered > 200
    # Aware bounds are compared with the stored (naive UTC) dates, as in a find.
    bounds = {"$gte": START, "$lt": START + dt.timedelta(days=3)}
    query = {"organizationId": ORGS[0], "scheduling.scheduledAt": bounds}
    sort = [("scheduling.scheduledAt", 1), ("_id", 1)]
    expected = [d["_id"] for d in plain.find(query, sort=sort)]
    assert expected
    assert ours.read_each(query, sort, lambda d: d["_id"]) == expected
    stored = {id(d) for d in ours._store._documents.values()}
    assert {id(d) for d in ours.read_each({}, None, lambda d: d)} == stored
