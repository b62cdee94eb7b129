"""Fan-out inside one API process: the hub's one subscription, its filters, the frames it
encodes once, and each socket's outlet (order kept, a slow socket cut off alone)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from api.realtime_hub import Hub
from api.socket_outlet import FellBehind, Outlet
from persistence.pubsub import InProcessPubSub, SubscriptionLost


class Wire:
    """A socket's send: records frames; with ``gate`` cleared, a send waits (a full buffer)."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, text: str) -> None:
        await self.gate.wait()
        self.frames.append(text)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_frames_go_out_in_order_even_when_a_send_has_to_wait() -> None:
    wire = Wire()
    outlet = Outlet(wire.send, "u1", {"events"})
    outlet.push("1", "one")
    assert wire.frames == ["one"]  # sent at once: no task, no waiting
    wire.gate.clear()
    outlet.push("2", "two")
    outlet.push("3", "three")
    await _settle()
    assert wire.frames == ["one"]
    wire.gate.set()
    await _settle()
    assert wire.frames == ["one", "two", "three"]
    outlet.push("4", "four")
    assert wire.frames[-1] == "four"
    await outlet.close()


async def test_a_socket_that_falls_behind_is_ended_and_the_others_are_not_held_up() -> None:
    slow, fast = Wire(), Wire()
    slow.gate.clear()
    lagging = Outlet(slow.send, "u1", {"events"}, max_pending=3)
    keeping_up = Outlet(fast.send, "u2", {"events"}, max_pending=3)
    for i in range(6):
        lagging.push(str(i), f"m{i}")
        keeping_up.push(str(i), f"m{i}")
    assert fast.frames == [f"m{i}" for i in range(6)]
    assert lagging.ended.done()
    with pytest.raises(FellBehind):
        lagging.ended.result()
    assert not keeping_up.ended.done()
    await lagging.close()
    await keeping_up.close()


async def test_a_held_outlet_sends_the_live_frames_after_the_replay_without_repeats() -> None:
    wire = Wire()
    outlet = Outlet(wire.send, "u1", {"events"})
    outlet.hold()
    outlet.push("2", "live 2")  # arrived while the replay was being read
    outlet.push("3", "live 3")
    await wire.send("replayed 1")
    await wire.send("replayed 2")
    outlet.sent |= {"1", "2"}
    await _settle()
    assert wire.frames == ["replayed 1", "replayed 2"]
    outlet.release()
    await _settle()
    assert wire.frames == ["replayed 1", "replayed 2", "live 3"]
    outlet.push("2", "live 2 again")  # a copy of a replayed message is not sent
    assert wire.frames[-1] == "live 3"
    await outlet.close()


async def test_a_failing_send_ends_the_outlet_with_its_error() -> None:
    async def broken(text: str) -> None:
        raise ConnectionResetError("gone")

    outlet = Outlet(broken, "u1", {"events"})
    outlet.push("1", "x")
    with pytest.raises(ConnectionResetError):
        outlet.ended.result()
    outlet.push("2", "y")  # ignored once ended
    await outlet.close()


def _event(org: str, kind: str, **extra: object) -> str:
    return json.dumps({"id": f"{kind}-{time.monotonic_ns()}", "type": kind, "orgId": org, **extra})


async def test_the_hub_tells_each_socket_its_organizations_messages_by_topic_and_person() -> None:
    pubsub = InProcessPubSub()
    hub = Hub(pubsub)
    wires = {name: Wire() for name in ("a_posts", "a_events", "a_both", "a_notes", "b_posts")}
    outlets = {
        "a_posts": Outlet(wires["a_posts"].send, "ann", {"post-status"}),
        "a_events": Outlet(wires["a_events"].send, "ann", {"events"}),
        "a_both": Outlet(wires["a_both"].send, "al", {"events", "post-status"}),
        "a_notes": Outlet(wires["a_notes"].send, "al", {"notifications"}),
        "b_posts": Outlet(wires["b_posts"].send, "bo", {"post-status"}),
    }
    channel = {"a": "events:a", "b": "events:b"}
    try:
        async with (
            hub.attach(channel["a"], outlets["a_posts"]),
            hub.attach(channel["a"], outlets["a_events"]),
            hub.attach(channel["a"], outlets["a_both"]),
            hub.attach(channel["a"], outlets["a_notes"]),
            hub.attach(channel["b"], outlets["b_posts"]),
        ):
            assert hub.channels == 2
            await pubsub.publish(channel["a"], _event("a", "post.published"))
            await pubsub.publish(channel["a"], _event("a", "report.ready"))
            note = {"type": "notification.created", "id": "n1", "userId": "al", "data": {}}
            await pubsub.publish(channel["a"], json.dumps(note))
            await pubsub.publish(channel["a"], json.dumps({**note, "id": "n2", "userId": "ann"}))
            await pubsub.publish(channel["a"], b"not json")
            await asyncio.sleep(0.05)

            def told(name: str) -> list[tuple[str, str]]:
                frames = [json.loads(f) for f in wires[name].frames]
                return [(f["topic"], f["message"]["type"]) for f in frames]

            assert told("a_posts") == [("post-status", "post.published")]
            assert told("a_events") == [("events", "post.published"), ("events", "report.ready")]
            # On both topics, a post's status is told as the specific one.
            assert told("a_both") == [
                ("post-status", "post.published"),
                ("events", "report.ready"),
            ]
            assert told("a_notes") == [("notifications", "notification.created")]
            assert json.loads(wires["a_notes"].frames[0])["cursor"] == "n1"  # al's, not ann's
            assert told("b_posts") == []  # another organization hears nothing of a's
            # One frame per topic a message is told as, shared by the sockets told it.
            assert wires["a_posts"].frames[0] is wires["a_both"].frames[0]
        # The last socket of an organization gone: its channel is left.
        assert hub.channels == 0
        assert await pubsub.publish(channel["a"], _event("a", "post.published")) == 0
    finally:
        await hub.close()


async def test_losing_the_subscription_ends_every_socket_and_the_next_one_subscribes_again() -> (
    None
):
    pubsub = InProcessPubSub()
    hub = Hub(pubsub, max_pending=1)
    wire = Wire()
    outlet = Outlet(wire.send, "ann", {"events"})
    try:
        async with hub.attach("events:a", outlet):
            # Two messages before the hub's reader runs: its buffer of one overflows.
            await pubsub.publish("events:a", _event("a", "post.published"))
            await pubsub.publish("events:a", _event("a", "post.published"))
            await asyncio.wait({outlet.ended}, timeout=2)
            # Its client is told to resume from its cursor (the route closes it with 4408).
            assert isinstance(outlet.ended.exception(), SubscriptionLost)
        again = Outlet(Wire().send, "ann", {"events"})
        async with hub.attach("events:a", again):
            assert await pubsub.publish("events:a", _event("a", "post.published")) == 1
        await again.close()
    finally:
        await outlet.close()
        await hub.close()
