"""The embedded engine's compiled aggregation answers exactly what mongomock answers.

Every pipeline here runs twice on the same engine collection: through the compiled path
(persistence/embedded_mongo/fast_match.py, fast_pipeline.py and the code fast_expr.py
generates) and with it switched off, which is mongomock-ng's own evaluation on copies of
the matched documents. The answers
are compared by ``repr``, so key order, int against float and NaN count too. Documents
include the awkward shapes (missing, null, bool, float, NaN, Decimal128 and array values,
a platform held in an array, dates that are not dates) so the fallbacks are exercised; the
analytics queries' own pipelines are also checked to take the compiled path on clean data.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bson import Decimal128, ObjectId

from persistence.embedded_mongo import EmbeddedMongo
from persistence.embedded_mongo.engine import EngineCollection
from tools.analytics._common import ENGAGEMENTS, HAS_REACH, RATE, REACH, field

UTC = dt.UTC
START = dt.datetime(2026, 1, 1, tzinfo=UTC)
ORGS = [ObjectId() for _ in range(3)]
ACCOUNTS = [ObjectId() for _ in range(6)]
POSTS = [ObjectId() for _ in range(150)]
PLATFORMS = ["instagram", "twitter", "linkedin"]
ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


def count(rng: random.Random, clean: bool) -> Any:
    if clean:
        return rng.randrange(0, 500)
    return rng.choice(
        [rng.randrange(0, 500)] * 8
        + [None, 2.5, True, Decimal128("3"), math.nan, [1, 2], "7", rng.randrange(0, 500)]
    )


def make_doc(rng: random.Random, clean: bool) -> dict[str, Any]:
    at: Any = START + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
    metrics: dict[str, Any] = {}
    for name in ("likes", "comments", "shares", "saves", "reach", "impressions", "clicks"):
        if clean or rng.random() < 0.9:
            metrics[name] = count(rng, clean)
    if rng.random() < 0.6:
        metrics["sentimentScore"] = rng.choice([-0.5, 0.0, 0.25, 0.8])
    elif not clean and rng.random() < 0.2:
        metrics["sentimentScore"] = None
    if not clean and rng.random() < 0.05:
        at = rng.choice([None, "2026-01-02", at.replace(tzinfo=None)])
    doc: dict[str, Any] = {
        "_id": ObjectId(),
        "organizationId": rng.choice(ORGS),
        "postId": rng.choice(POSTS),
        "socialAccountId": rng.choice(ACCOUNTS),
        "platform": rng.choice(PLATFORMS),
        "metrics": metrics,
        "timeData": {"recordedAt": at},
    }
    if not clean and rng.random() < 0.05:
        doc["platform"] = rng.sample(PLATFORMS, 2)  # an array where others hold a string
    if not clean and rng.random() < 0.03:
        del doc["timeData"]
    return doc


# The analytics queries' own expressions, so the shapes tested are the ones served.
PROJECT = {
    "postId": 1,
    "platform": 1,
    "socialAccountId": 1,
    "metrics": 1,
    "publishedAt": "$timeData.recordedAt",
    "engagements": ENGAGEMENTS,
    "reach": REACH,
    "rate": RATE,
}


def summary(boundary: dt.datetime) -> list[dict[str, Any]]:
    is_current = {"$gte": ["$timeData.recordedAt", boundary]}
    sums = {k: {"$sum": field(f"metrics.{k}")} for k in ("reach", "likes", "impressions")}
    return [
        {
            "$facet": {
                "byPlatform": [
                    {
                        "$group": {
                            "_id": {"platform": "$platform", "current": is_current},
                            "posts": {"$sum": 1},
                            **sums,
                            "engagements": {"$sum": ENGAGEMENTS},
                            "rated": {"$sum": {"$cond": [HAS_REACH, ENGAGEMENTS, 0]}},
                        }
                    }
                ],
                "distinctPosts": [
                    {"$group": {"_id": {"post": "$postId", "current": is_current}}},
                    {"$group": {"_id": "$_id.current", "posts": {"$sum": 1}}},
                ],
            }
        }
    ]


def daily(zone: str) -> list[dict[str, Any]]:
    local = {"date": "$timeData.recordedAt", "timezone": zone}
    return [
        {
            "$group": {
                "_id": {"y": {"$year": local}, "m": {"$month": local}, "d": {"$dayOfMonth": local}},
                "posts": {"$sum": 1},
                "reach": {"$sum": REACH},
                "engagements": {"$sum": ENGAGEMENTS},
                "comments": {"$sum": field("metrics.comments")},
                "sentiment": {"$avg": "$metrics.sentimentScore"},
            }
        }
    ]


def by_hour(zone: str) -> list[dict[str, Any]]:
    local = {"date": "$timeData.recordedAt", "timezone": zone}
    return [
        {
            "$group": {
                "_id": {"weekday": {"$dayOfWeek": local}, "hour": {"$hour": local}},
                "n": {"$sum": 1},
                "rate": {"$avg": RATE},
                "best": {"$max": ENGAGEMENTS},
                "worst": {"$min": "$metrics.likes"},
                "first": {"$first": "$metrics"},
                "last": {"$last": "$timeData.recordedAt"},
            }
        },
        {"$sort": {"_id.weekday": 1, "_id.hour": 1}},
    ]


def top(rank: str, direction: int, n: int) -> list[dict[str, Any]]:
    return [{"$project": PROJECT}, {"$sort": {rank: direction, "_id": 1}}, {"$limit": n}]


def page(rank: str, skip: int) -> list[dict[str, Any]]:
    return [
        {
            "$facet": {
                "total": [{"$group": {"_id": None, "n": {"$sum": 1}}}],
                "items": [
                    {"$project": PROJECT},
                    {"$sort": {rank: -1, "_id": 1}},
                    {"$skip": skip},
                    {"$limit": 7},
                ],
            }
        }
    ]


def pipelines(rng: random.Random) -> list[list[dict[str, Any]]]:
    boundary = START + dt.timedelta(days=rng.randrange(10, 50))
    rank = rng.choice(["rate", "engagements", "reach", "publishedAt"])
    return [
        summary(boundary),
        daily(rng.choice(ZONES)),
        by_hour(rng.choice(ZONES)),
        top(rank, rng.choice([1, -1]), rng.choice([1, 5, 30])),
        page(rank, rng.choice([0, 5])),
        [{"$group": {"_id": "$platform", "n": {"$sum": 1}, "avg": {"$avg": "$metrics.reach"}}}],
        [{"$group": {"_id": None, "n": {"$sum": 1}, "last": {"$max": "$timeData.recordedAt"}}}],
        [{"$project": {"publishedAt": "$timeData.recordedAt", "engagements": ENGAGEMENTS}}],
        [{"$project": {"_id": 0, "platform": 1, "e": ENGAGEMENTS}}, {"$sort": {"e": -1}}],
    ]


def match(rng: random.Random) -> list[dict[str, Any]]:
    """One or two leading $match stages, as TenantRepository.aggregate and the queries
    write them (the tenant first), sometimes with conditions the matcher must defer."""
    tenant = {"$match": {"organizationId": rng.choice(ORGS)}}
    start = START + dt.timedelta(days=rng.randrange(0, 30))
    query: dict[str, Any] = {
        "timeData.recordedAt": {"$gte": start, "$lt": start + dt.timedelta(days=30)}
    }
    kind = rng.randrange(6)
    if kind == 1:
        query["platform"] = rng.choice(PLATFORMS)
    elif kind == 2:
        query["platform"] = {"$in": rng.sample(PLATFORMS, 2)}
    elif kind == 3:
        query["socialAccountId"] = {"$in": rng.sample(ACCOUNTS, 3)}
    elif kind == 4:
        query["metrics.reach"] = {"$gt": 0}
    elif kind == 5:
        query["$or"] = [{"platform": "twitter"}, {"metrics.likes": {"$gte": 100}}]
    return [tenant, {"$match": query}] if rng.random() < 0.8 else [{"$match": query}]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EmbeddedMongo]:
    store = EmbeddedMongo(tmp_path / "documents", snapshot_interval=0)
    yield store
    store.close()


def fill(engine: EmbeddedMongo, *, clean: bool, seed: int) -> Any:
    collection = engine.sync_client["t"]["analytics"]
    collection.create_index([("organizationId", 1), ("timeData.recordedAt", 1)])
    rng = random.Random(seed)
    collection.insert_many([make_doc(rng, clean) for _ in range(1500)])
    return collection


def answer(collection: Any, pipeline: list[dict[str, Any]]) -> tuple[str, str]:
    try:
        return "ok", repr(list(collection.aggregate(pipeline)))
    except Exception as exc:  # the same error is part of the same answer
        return "error", type(exc).__name__


def assert_same(
    collection: Any, monkeypatch: pytest.MonkeyPatch, seed: int, rounds: int
) -> tuple[int, int]:
    rng = random.Random(seed)
    fast_calls = fast_answers = 0
    original = EngineCollection._fast_aggregate
    for _ in range(rounds):
        for stages in pipelines(rng):
            pipeline = match(rng) + stages
            got = answer(collection, pipeline)
            with monkeypatch.context() as m:
                m.setattr(EngineCollection, "_fast_aggregate", lambda *a, **k: None)
                expected = answer(collection, pipeline)
            assert got == expected, pipeline
            fast_calls += 1
            spec = {"$and": [s["$match"] for s in pipeline if "$match" in s]}
            rest = [s for s in pipeline if "$match" not in s]
            if original(collection, spec, rest, None) is not None:
                fast_answers += 1
    return fast_calls, fast_answers


def test_clean_analytics_pipelines_take_the_compiled_path_and_answer_alike(
    engine: EmbeddedMongo, monkeypatch: pytest.MonkeyPatch
) -> None:
    collection = fill(engine, clean=True, seed=3)
    calls, fast = assert_same(collection, monkeypatch, seed=5, rounds=12)
    # Only the $or filters go through mongomock's matcher, and they still compile.
    assert fast == calls


def test_awkward_documents_answer_alike_through_the_fallbacks(
    engine: EmbeddedMongo, monkeypatch: pytest.MonkeyPatch
) -> None:
    collection = fill(engine, clean=False, seed=11)
    calls, fast = assert_same(collection, monkeypatch, seed=7, rounds=25)
    assert 0 < fast < calls  # some answered compiled, some handed back to mongomock


def test_a_pipeline_the_compiler_does_not_know_runs_through_mongomock(
    engine: EmbeddedMongo,
) -> None:
    collection = fill(engine, clean=True, seed=3)
    spec = {"organizationId": ORGS[0]}
    unknown = [{"$group": {"_id": {"$toLower": "$platform"}, "n": {"$sum": 1}}}]
    assert collection._fast_aggregate(spec, unknown, None) is None
    rows = list(collection.aggregate([{"$match": spec}, *unknown]))
    assert sorted(r["_id"] for r in rows) == sorted(PLATFORMS)


# Ten zones with daylight-saving transitions (both hemispheres, half-hour and 45-minute
# offsets, a zone whose rules changed) and fixed ones: the generated code adds the offset
# found by bisecting pytz's transition table, where mongomock converts each date.
TRANSITION_ZONES = [
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "Asia/Tehran",
    "America/St_Johns",
    "Etc/GMT+5",
]


def transition_docs(rng: random.Random) -> list[dict[str, Any]]:
    """Documents recorded within hours of each zone's transitions in 2024-2026, and on
    either side of midnight local time, so a wrong offset moves a day, hour or weekday."""
    import pytz

    instants: list[dt.datetime] = []
    for name in TRANSITION_ZONES:
        zone = pytz.timezone(name)
        for at in getattr(zone, "_utc_transition_times", []):
            if dt.datetime(2024, 1, 1) <= at <= dt.datetime(2026, 12, 31):
                for minutes in (-61, -1, 0, 1, 29, 59, 60, 61, 119):
                    instants.append(at + dt.timedelta(minutes=minutes))
    instants += [dt.datetime(2025, 12, 31, 23, 59) + dt.timedelta(hours=h) for h in range(-14, 15)]
    docs = []
    for at in instants:
        doc = make_doc(rng, clean=True)
        doc["organizationId"] = ORGS[0]
        doc["timeData"] = {"recordedAt": at.replace(tzinfo=UTC)}
        docs.append(doc)
    return docs


def test_date_parts_across_timezone_transitions_answer_as_mongomock(
    engine: EmbeddedMongo, monkeypatch: pytest.MonkeyPatch
) -> None:
    collection = engine.sync_client["t"]["transitions"]
    collection.insert_many(transition_docs(random.Random(13)))
    tenant = [{"$match": {"organizationId": ORGS[0]}}]
    checked = 0
    for zone in TRANSITION_ZONES:
        local = {"date": "$timeData.recordedAt", "timezone": zone}
        parts = {
            op[1:]: {op: local}
            for op in ("$year", "$month", "$dayOfMonth", "$hour", "$minute", "$dayOfWeek")
        }
        for pipeline in (
            daily(zone),
            by_hour(zone),
            [{"$group": {"_id": parts, "n": {"$sum": 1}}}],
        ):
            pipeline = tenant + pipeline
            got = answer(collection, pipeline)
            with monkeypatch.context() as m:
                m.setattr(EngineCollection, "_fast_aggregate", lambda *a, **k: None)
                expected = answer(collection, pipeline)
            assert got == expected, (zone, pipeline)
            assert collection._fast_aggregate(tenant[0]["$match"], pipeline[1:], None) is not None
            checked += 1
    assert checked == 3 * len(TRANSITION_ZONES)


def test_top_k_and_fused_counts_answer_as_the_full_sort_and_both_groups(
    engine: EmbeddedMongo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many ties on the first sort key (reach from a small range), windows at every depth,
    and a counted part holding numbers (1 and 1.0 group together: the fused count must
    give way to both stages run as they are)."""
    collection = engine.sync_client["t"]["ties"]
    rng = random.Random(17)
    docs = []
    for _ in range(600):
        doc = make_doc(rng, clean=True)
        doc["metrics"]["reach"] = rng.choice([0, 1, 2, 3])
        # (No bools beside the numbers: mongomock groups True with 1 after sorting, which
        # MongoDB and the compiled path do not.)
        doc["kind"] = rng.choice(["a", "b", 1, 1.0, None, 2.5])
        docs.append(doc)
    for doc in rng.sample(docs, 40):
        del doc["kind"]
    collection.insert_many(docs)
    spec = {"organizationId": {"$in": ORGS}}
    pipelines = []
    for rank in ("reach", "engagements", "rate", "_id", "publishedAt", "absent"):
        for direction in (1, -1):
            for skip, limit in ((0, 1), (0, 5), (3, 7), (0, 600), (590, 20)):
                pipelines.append(top(rank, direction, limit))
                pipelines.append(
                    [
                        {"$project": PROJECT},
                        {"$sort": {rank: direction, "_id": 1}},
                        {"$skip": skip},
                        {"$limit": limit},
                    ]
                )
    for part in ("kind", "platform"):
        pipelines.append(
            [
                {"$group": {"_id": {"post": "$postId", part: f"${part}"}}},
                {"$group": {"_id": f"$_id.{part}", "n": {"$sum": 1}, "m": {"$sum": 2}}},
            ]
        )
    for stages in pipelines:
        pipeline = [{"$match": spec}, *stages]
        got = answer(collection, pipeline)
        with monkeypatch.context() as m:
            m.setattr(EngineCollection, "_fast_aggregate", lambda *a, **k: None)
            expected = answer(collection, pipeline)
        assert got == expected, pipeline
        assert collection._fast_aggregate(spec, stages, None) is not None, stages
