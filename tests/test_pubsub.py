"""Pub/sub fan-out and the replayable event log, in process and on Redis."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING

import pytest

from persistence.eventlog import EventLog, InProcessEventLog, RedisEventLog
from persistence.pubsub import (
    InProcessPubSub,
    Multiplex,
    PubSub,
    RedisPubSub,
    Subscription,
    SubscriptionLost,
)

if TYPE_CHECKING:
    from fixtures_services import RedisTarget
    from redis.asyncio import Redis

pytest_plugins = ("fixtures_services",)


@pytest.fixture
def pubsub(backend: RedisTarget | None) -> PubSub:
    if backend is None:
        return InProcessPubSub()
    # A short poll so close() from another task is seen quickly in the tests.
    return RedisPubSub(backend.client, prefix=backend.prefix, poll_seconds=0.1)


@pytest.fixture
def log(backend: RedisTarget | None) -> EventLog:
    if backend is None:
        return InProcessEventLog(maxlen=5)
    return RedisEventLog(backend.client, prefix=backend.prefix, maxlen=5)


async def _take(sub: Subscription, n: int) -> list[bytes]:
    """The next ``n`` messages, failing the test if they take over 5 s."""

    async def take() -> list[bytes]:
        got = []
        async for message in sub:
            got.append(message)
            if len(got) == n:
                break
        return got

    return await asyncio.wait_for(take(), 5)


# --- pub/sub -----------------------------------------------------------------------------


async def test_fan_out_to_two_subscribers(pubsub: PubSub) -> None:
    async with pubsub.subscribe("run:1") as first, pubsub.subscribe("run:1") as second:
        assert await pubsub.publish("run:1", b"one") == 2
        assert await pubsub.publish("run:1", "two") == 2  # str is sent as UTF-8

        assert await _take(first, 2) == [b"one", b"two"]
        assert await _take(second, 2) == [b"one", b"two"]


async def test_channels_are_separate(pubsub: PubSub) -> None:
    async with pubsub.subscribe("a") as sub_a:
        assert await pubsub.publish("b", b"for b") == 0
        assert await pubsub.publish("a", b"for a") == 1
        assert await _take(sub_a, 1) == [b"for a"]


async def test_publish_without_subscribers_reaches_nobody(pubsub: PubSub) -> None:
    assert await pubsub.publish("empty", b"x") == 0


async def test_close_from_another_task_ends_iteration(pubsub: PubSub) -> None:
    received: list[bytes] = []

    async with pubsub.subscribe("c") as sub:

        async def consume() -> None:
            async for message in sub:
                received.append(message)

        consumer = asyncio.create_task(consume())
        await pubsub.publish("c", b"before close")
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.02)
        await sub.close()
        await asyncio.wait_for(consumer, 3)  # iteration ended on its own

    assert received == [b"before close"]


async def test_leaving_the_block_unsubscribes(pubsub: PubSub) -> None:
    async with pubsub.subscribe("d"):
        assert await pubsub.publish("d", b"x") == 1
    # Redis drops the subscription when the connection closes; allow it a moment.
    deadline = time.monotonic() + 3
    while await pubsub.publish("d", b"y") != 0:
        assert time.monotonic() < deadline, "still subscribed after leaving the block"
        await asyncio.sleep(0.05)


async def test_iterating_without_entering_is_an_error(pubsub: PubSub) -> None:
    sub = pubsub.subscribe("e")
    with pytest.raises(RuntimeError, match="async with"):
        await sub.__anext__()


async def test_slow_subscriber_is_cut_off_without_blocking_publishers() -> None:
    pubsub = InProcessPubSub(max_pending=3)
    async with pubsub.subscribe("f") as slow, pubsub.subscribe("f") as fast:
        delivered = []
        for i in range(5):
            delivered.append(await asyncio.wait_for(pubsub.publish("f", f"m{i}"), 1))
            assert await _take(fast, 1) == [f"m{i}".encode()]
        # The slow one took 3, was dropped on the 4th; the fast one got all.
        assert delivered == [2, 2, 2, 1, 1]
        assert await _take(slow, 3) == [b"m0", b"m1", b"m2"]
        with pytest.raises(SubscriptionLost, match="behind"):
            await slow.__anext__()


# --- one subscription for many channels ------------------------------------------------


async def _read(mux: Multiplex, n: int) -> list[tuple[str, bytes]]:
    """The next ``n`` messages of a multiplex (its reader keeps running meanwhile)."""

    async def take() -> list[tuple[str, bytes]]:
        got = []
        async for item in mux:
            got.append(item)
            if len(got) == n:
                break
        return got

    return await asyncio.wait_for(take(), 5)


async def test_one_multiplex_hears_the_channels_added_and_stops_hearing_removed_ones(
    pubsub: PubSub,
) -> None:
    async with pubsub.multiplex() as mux:
        # Its owner reads all along: the confirmation of each added channel arrives there.
        reader = asyncio.ensure_future(_read(mux, 3))
        await mux.add("org:a")
        await mux.add("org:b")
        # Live once add() returned: nothing published right after is missed.
        assert await pubsub.publish("org:a", b"1") == 1
        assert await pubsub.publish("org:b", b"2") == 1
        assert await pubsub.publish("org:c", b"not added") == 0
        await mux.remove("org:a")
        deadline = time.monotonic() + 3
        while await pubsub.publish("org:a", b"gone") != 0:
            assert time.monotonic() < deadline, "still subscribed after remove()"
            await asyncio.sleep(0.05)
        await mux.add("org:a")  # added again after a removal: heard again
        assert await pubsub.publish("org:a", b"3") == 1
        got = await reader
        assert got == [("org:a", b"1"), ("org:b", b"2"), ("org:a", b"3")]


async def test_closing_a_multiplex_ends_its_iteration(pubsub: PubSub) -> None:
    mux = pubsub.multiplex()
    async with mux:
        reader = asyncio.ensure_future(_read(mux, 1))
        await mux.add("org:z")
        await mux.close()
        assert await reader == []
        with pytest.raises(SubscriptionLost):
            await mux.add("org:y")


async def test_a_multiplex_that_falls_behind_is_cut_off() -> None:
    pubsub = InProcessPubSub()
    async with pubsub.multiplex(max_pending=2) as mux:
        await mux.add("a")
        await mux.add("b")
        assert [await pubsub.publish(c, b"x") for c in ("a", "b", "a")] == [1, 1, 0]
        assert await _read(mux, 2) == [("a", b"x"), ("b", b"x")]
        with pytest.raises(SubscriptionLost, match="behind"):
            await mux.__anext__()
        assert await pubsub.publish("b", b"y") == 0  # it left every channel


# --- event log ---------------------------------------------------------------------------


async def test_append_and_replay_everything(log: EventLog) -> None:
    events = [{"type": "token", "n": i, "data": {"text": f"t{i}", "tags": ["x"]}} for i in range(3)]
    ids = [await log.append("run-1", e) for e in events]

    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    assert len(set(ids)) == 3
    assert await log.read("run-1") == list(zip(ids, events, strict=True))


async def test_replay_after_an_id(log: EventLog) -> None:
    ids = [await log.append("run-2", {"n": i}) for i in range(4)]

    assert await log.read("run-2", after=ids[1]) == [(ids[2], {"n": 2}), (ids[3], {"n": 3})]
    assert await log.read("run-2", after=ids[3]) == []
    assert await log.read("run-2", after=ids[0], count=2) == [
        (ids[1], {"n": 1}),
        (ids[2], {"n": 2}),
    ]


async def test_read_of_a_missing_stream_is_empty(log: EventLog) -> None:
    assert await log.read("nothing-here") == []


async def test_blocking_read_wakes_on_append(log: EventLog) -> None:
    last = await log.append("run-3", {"n": 0})

    async def append_later() -> str:
        await asyncio.sleep(0.2)
        return await log.append("run-3", {"n": 1})

    started = time.monotonic()
    appender = asyncio.create_task(append_later())
    got = await log.read("run-3", after=last, block_ms=5000)
    new_id = await appender
    assert got == [(new_id, {"n": 1})]
    assert time.monotonic() - started < 3


async def test_blocking_read_times_out_empty(log: EventLog) -> None:
    last = await log.append("run-4", {"n": 0})
    started = time.monotonic()
    assert await log.read("run-4", after=last, block_ms=200) == []
    assert 0.15 < time.monotonic() - started < 2


async def test_zero_block_never_waits(log: EventLog) -> None:
    last = await log.append("run-5", {"n": 0})
    started = time.monotonic()
    assert await log.read("run-5", after=last, block_ms=0) == []
    assert time.monotonic() - started < 0.5


async def test_stream_keeps_only_the_newest(log: EventLog) -> None:
    for i in range(8):
        await log.append("run-6", {"n": i})
    assert [e["n"] for _, e in await log.read("run-6")] == [3, 4, 5, 6, 7]


async def test_expire_removes_the_stream(log: EventLog) -> None:
    await log.append("run-7", {"n": 0})
    await log.expire("run-7", 0.2)
    assert len(await log.read("run-7")) == 1
    await asyncio.sleep(0.35)
    assert await log.read("run-7") == []


async def test_expire_of_a_missing_stream_is_a_no_op(log: EventLog) -> None:
    await log.expire("never-written", 10)
    assert await log.read("never-written") == []


async def test_events_are_copies(log: EventLog) -> None:
    event = {"items": [1]}
    await log.append("run-8", event)
    event["items"].append(2)
    [(_, stored)] = await log.read("run-8")
    stored["items"].append(3)
    assert (await log.read("run-8"))[0][1] == {"items": [1]}


async def test_bad_input_is_refused(log: EventLog) -> None:
    for bad in ("not-an-id", "1-0\n", "$", "1"):
        with pytest.raises(ValueError, match="invalid event id"):
            await log.read("run-9", after=bad)
    with pytest.raises(TypeError):
        await log.append("run-9", {"when": object()})
    with pytest.raises(TypeError, match="must be a dict"):
        await log.append("run-9", ["not", "a", "dict"])  # type: ignore[arg-type]
    assert await log.read("run-9") == []


@pytest.mark.redis
async def test_redis_events_are_json_in_one_field(redis_client: Redis, redis_prefix: str) -> None:
    log = RedisEventLog(redis_client, prefix=redis_prefix)
    event_id = await log.append("s", {"a": 1})
    [(raw_id, fields)] = await redis_client.xrange(redis_prefix + "s")
    assert raw_id.decode() == event_id
    assert json.loads(fields[b"e"]) == {"a": 1}


async def test_in_process_ids_are_monotonic_within_one_millisecond() -> None:
    log = InProcessEventLog(wall_ms=lambda: 1_700_000_000_000)
    ids = [await log.append("s", {"n": i}) for i in range(3)]
    assert ids == ["1700000000000-0", "1700000000000-1", "1700000000000-2"]


async def test_in_process_waiting_reads_leave_nothing_behind() -> None:
    log = InProcessEventLog()
    assert await log.read("ghost", block_ms=10) == []
    assert len(log) == 0
