"""Tenant-scoped checkpoints: MongoDBSaver on the embedded engine (or a real MongoDB).

With CHORUS_TEST_MONGODB_URI set, the saver runs on `pymongo.MongoClient(uri)` and a
throwaway database; the restart test is embedded-only.
"""

from __future__ import annotations

import json
import operator
import os
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pymongo
import pytest
from langgraph.checkpoint.mongodb import MongoDBSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from persistence.checkpointer import TenantScopedSaver, build_checkpointer, scoped_thread_id
from persistence.embedded_mongo import EmbeddedMongo

MONGODB_URI = os.environ.get("CHORUS_TEST_MONGODB_URI")
embedded_only = pytest.mark.skipif(
    bool(MONGODB_URI), reason="restarts the embedded engine from its data dir"
)


@pytest.fixture(scope="module")
def sync_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The sync client MongoDBSaver runs on: a real one, or the embedded engine's."""
    if MONGODB_URI:
        client = pymongo.MongoClient(MONGODB_URI)
        yield client
        client.close()
        return
    engine = EmbeddedMongo(tmp_path_factory.mktemp("checkpoints"), snapshot_interval=0.2)
    yield engine.sync_client
    engine.close()


@pytest.fixture
def saver(sync_client: Any) -> Iterator[TenantScopedSaver]:
    db_name = f"chorus_test_{uuid.uuid4().hex[:12]}"
    yield build_checkpointer(sync_client, db_name)
    sync_client.drop_database(db_name)


class Counter(TypedDict):
    count: int
    trail: Annotated[list[str], operator.add]


def _increment(state: Counter) -> dict[str, Any]:
    return {"count": state["count"] + 1, "trail": ["increment"]}


def _double(state: Counter) -> dict[str, Any]:
    return {"count": state["count"] * 2, "trail": ["double"]}


def counter_graph(saver: TenantScopedSaver) -> Any:
    builder = StateGraph(Counter)
    builder.add_node("increment", _increment)
    builder.add_node("double", _double)
    builder.add_edge(START, "increment")
    builder.add_edge("increment", "double")
    builder.add_edge("double", END)
    return builder.compile(checkpointer=saver)


def cfg(org: str | None, thread: str) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread}
    if org is not None:
        configurable["organization_id"] = org
    return {"configurable": configurable}


def test_build_checkpointer_wraps_a_mongodb_saver(saver: TenantScopedSaver) -> None:
    assert isinstance(saver, TenantScopedSaver)
    assert isinstance(saver.inner, MongoDBSaver)
    assert saver.get_next_version(None, None) == saver.inner.get_next_version(None, None)
    assert saver.get_next_version(3, None) == 4


def test_state_is_scoped_by_organization(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    result = graph.invoke({"count": 1, "trail": []}, cfg("orgA", "t1"))
    assert result == {"count": 4, "trail": ["increment", "double"]}

    state_a = graph.get_state(cfg("orgA", "t1"))
    assert state_a.values == {"count": 4, "trail": ["increment", "double"]}
    assert state_a.next == ()
    # configs handed back carry the caller's thread id, and can be passed back in
    assert state_a.config["configurable"]["thread_id"] == "t1"
    assert state_a.config["configurable"]["organization_id"] == "orgA"
    assert state_a.parent_config["configurable"]["thread_id"] == "t1"

    state_b = graph.get_state(cfg("orgB", "t1"))
    assert state_b.values == {}
    assert list(graph.get_state_history(cfg("orgB", "t1"))) == []

    # and the raw rows are keyed by tenant
    stored = saver.inner.checkpoint_collection.distinct("thread_id")
    assert stored == ["orgA:t1"]
    assert set(saver.inner.writes_collection.distinct("thread_id")) <= {"orgA:t1"}


def test_state_history_and_time_travel(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"count": 1, "trail": []}, cfg("orgA", "t1"))
    history = list(graph.get_state_history(cfg("orgA", "t1")))
    assert [s.values.get("count") for s in history] == [4, 2, 1, None]
    assert all(s.config["configurable"]["thread_id"] == "t1" for s in history)
    assert [s.values["count"] for s in graph.get_state_history(cfg("orgA", "t1"), limit=2)] == [
        4,
        2,
    ]

    after_increment = history[1]
    assert after_increment.next == ("double",)
    assert graph.get_state(after_increment.config).values["count"] == 2
    # replaying from a past checkpoint forks the thread from there
    assert graph.invoke(None, after_increment.config)["count"] == 4

    # another tenant cannot reach that checkpoint even with its id
    foreign = {"configurable": {**after_increment.config["configurable"], "organization_id": "x"}}
    assert graph.get_state(foreign).values == {}


def test_same_thread_id_in_two_organizations_is_independent(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"count": 1, "trail": []}, cfg("orgA", "shared"))
    graph.invoke({"count": 10, "trail": []}, cfg("orgB", "shared"))
    graph.invoke({"count": 4, "trail": []}, cfg("orgA", "shared"))  # continues orgA's thread
    assert graph.get_state(cfg("orgA", "shared")).values["count"] == 10
    assert graph.get_state(cfg("orgA", "shared")).values["trail"] == ["increment", "double"] * 2
    assert graph.get_state(cfg("orgB", "shared")).values["count"] == 22


async def test_async_invoke_and_state(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    result = await graph.ainvoke({"count": 2, "trail": []}, cfg("orgA", "async"))
    assert result["count"] == 6
    state = await graph.aget_state(cfg("orgA", "async"))
    assert state.values["count"] == 6
    assert state.config["configurable"]["thread_id"] == "async"
    assert (await graph.aget_state(cfg("orgB", "async"))).values == {}
    history = [s async for s in graph.aget_state_history(cfg("orgA", "async"))]
    assert [s.values.get("count") for s in history] == [6, 3, 2, None]
    assert [s async for s in graph.aget_state_history(cfg("orgB", "async"))] == []


def test_interrupt_and_resume_per_tenant(saver: TenantScopedSaver) -> None:
    def approve(state: Counter) -> dict[str, Any]:
        answer = interrupt({"question": "publish?", "count": state["count"]})
        return {"trail": [f"approved:{answer}"]}

    builder = StateGraph(Counter)
    builder.add_node("increment", _increment)
    builder.add_node("approve", approve)
    builder.add_edge(START, "increment")
    builder.add_edge("increment", "approve")
    builder.add_edge("approve", END)
    graph = builder.compile(checkpointer=saver)

    first = graph.invoke({"count": 1, "trail": []}, cfg("orgA", "review"))
    assert first["__interrupt__"][0].value == {"question": "publish?", "count": 2}
    paused = graph.get_state(cfg("orgA", "review"))
    assert paused.next == ("approve",)
    assert paused.tasks[0].interrupts[0].value["count"] == 2
    assert graph.get_state(cfg("orgB", "review")).next == ()

    done = graph.invoke(Command(resume="yes"), cfg("orgA", "review"))
    assert done["trail"] == ["increment", "approved:yes"]
    assert graph.get_state(cfg("orgA", "review")).next == ()


def test_subgraph_state_stays_in_the_tenant(saver: TenantScopedSaver) -> None:
    """LangGraph rebuilds subgraph configs from thread_id alone; the tenant must survive."""

    def ask(state: Counter) -> dict[str, Any]:
        return {"count": state["count"] + int(interrupt("how many?")), "trail": ["asked"]}

    inner = StateGraph(Counter)
    inner.add_node("ask", ask)
    inner.add_edge(START, "ask")
    inner.add_edge("ask", END)
    outer = StateGraph(Counter)
    outer.add_node("increment", _increment)
    outer.add_node("child", inner.compile())
    outer.add_edge(START, "increment")
    outer.add_edge("increment", "child")
    outer.add_edge("child", END)
    graph = outer.compile(checkpointer=saver)

    graph.invoke({"count": 1, "trail": []}, cfg("orgA", "nested"))
    state = graph.get_state(cfg("orgA", "nested"), subgraphs=True)
    assert state.next == ("child",)
    child = state.tasks[0].state
    assert child.values["count"] == 2
    assert child.next == ("ask",)
    assert child.config["configurable"]["thread_id"] == "nested"

    shallow = graph.get_state(cfg("orgA", "nested")).tasks[0].state  # a bare config
    assert graph.get_state(shallow).values["count"] == 2
    assert graph.get_state(cfg("orgB", "nested"), subgraphs=True).tasks == ()

    done = graph.invoke(Command(resume="5"), cfg("orgA", "nested"))
    assert done["count"] == 7
    assert done["trail"][-1] == "asked"
    # every namespace's rows carry the tenant key
    assert saver.inner.checkpoint_collection.distinct("thread_id") == ["orgA:nested"]
    assert len(saver.inner.checkpoint_collection.distinct("checkpoint_ns")) == 2


def test_returned_thread_ids_are_plain_strings_outside(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"count": 1, "trail": []}, cfg("orgA", "t1"))
    thread_id = graph.get_state(cfg("orgA", "t1")).config["configurable"]["thread_id"]
    assert thread_id == "t1"
    assert json.dumps(thread_id) == '"t1"'
    assert pickle.loads(pickle.dumps(thread_id)).organization_id == "orgA"
    # an explicit organization always wins over the one a returned id remembers
    foreign = {"configurable": {"thread_id": thread_id, "organization_id": "orgB"}}
    assert graph.get_state(foreign).values == {}


def test_missing_or_malformed_organization_raises(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    with pytest.raises(ValueError, match="organization_id"):
        graph.invoke({"count": 1, "trail": []}, cfg(None, "t1"))
    with pytest.raises(ValueError, match="organization_id"):
        graph.get_state(cfg(None, "t1"))
    with pytest.raises(ValueError, match="organization_id"):
        saver.get_tuple(cfg("", "t1"))
    with pytest.raises(ValueError, match="must not contain"):
        saver.get_tuple(cfg("a:b", "t1"))  # would collide with org "a", thread "b:t1"
    with pytest.raises(ValueError, match="organization_id"):
        list(saver.list(None))
    with pytest.raises(ValueError, match="organization_id"):
        list(saver.list({"configurable": {"thread_id": "t1"}}))
    with pytest.raises(ValueError, match="organization_id"):
        saver.delete_thread("t1")
    with pytest.raises(ValueError, match="thread_id"):
        saver.get_tuple({"configurable": {"organization_id": "orgA"}})
    assert scoped_thread_id("orgA", "a:b") == "orgA:a:b"  # colons in thread ids are fine


async def test_async_missing_organization_raises(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    with pytest.raises(ValueError, match="organization_id"):
        await graph.ainvoke({"count": 1, "trail": []}, cfg(None, "t1"))
    with pytest.raises(ValueError, match="organization_id"):
        await saver.aget_tuple(cfg(None, "t1"))
    with pytest.raises(ValueError, match="organization_id"):
        await saver.adelete_thread("t1")


def test_listing_without_thread_stays_in_the_tenant(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    for org, thread in [("orgA", "t1"), ("orgA", "t2"), ("orgB", "t1")]:
        graph.invoke({"count": 1, "trail": []}, cfg(org, thread))
    tuples = list(saver.list({"configurable": {"organization_id": "orgA"}}))
    assert {t.config["configurable"]["thread_id"] for t in tuples} == {"t1", "t2"}
    assert len(tuples) == 8  # 4 checkpoints per run
    assert all(t.config["configurable"]["organization_id"] == "orgA" for t in tuples)
    assert len(list(saver.list({"configurable": {"organization_id": "orgA"}}, limit=3))) == 3
    only_b = list(saver.list({"configurable": {"organization_id": "orgB"}}))
    assert {t.config["configurable"]["thread_id"] for t in only_b} == {"t1"}
    # metadata filters still work, and carry the organization recorded at put time
    inputs = list(saver.list(cfg("orgA", "t2"), filter={"source": "input"}))
    assert len(inputs) == 1
    assert inputs[0].metadata["organization_id"] == "orgA"


async def test_async_listing_without_thread_stays_in_the_tenant(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    await graph.ainvoke({"count": 1, "trail": []}, cfg("orgA", "t1"))
    await graph.ainvoke({"count": 1, "trail": []}, cfg("orgB", "t9"))
    found = [t async for t in saver.alist({"configurable": {"organization_id": "orgB"}})]
    assert {t.config["configurable"]["thread_id"] for t in found} == {"t9"}
    limited = [t async for t in saver.alist(cfg("orgA", "t1"), limit=1)]
    assert len(limited) == 1
    assert limited[0].checkpoint["channel_values"]["count"] == 4


def test_delete_thread_only_touches_the_tenant(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"count": 1, "trail": []}, cfg("orgA", "t1"))
    graph.invoke({"count": 1, "trail": []}, cfg("orgB", "t1"))
    saver.delete_thread("t1", organization_id="orgA")
    assert graph.get_state(cfg("orgA", "t1")).values == {}
    assert graph.get_state(cfg("orgB", "t1")).values["count"] == 4


async def test_adelete_thread_only_touches_the_tenant(saver: TenantScopedSaver) -> None:
    graph = counter_graph(saver)
    await graph.ainvoke({"count": 1, "trail": []}, cfg("orgA", "t1"))
    await graph.ainvoke({"count": 1, "trail": []}, cfg("orgB", "t1"))
    await saver.adelete_thread("t1", organization_id="orgB")
    assert (await graph.aget_state(cfg("orgB", "t1"))).values == {}
    assert (await graph.aget_state(cfg("orgA", "t1"))).values["count"] == 4


@embedded_only
def test_checkpoints_survive_an_engine_restart(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path, snapshot_interval=0) as engine:
        graph = counter_graph(build_checkpointer(engine.sync_client, "chorus"))
        graph.invoke({"count": 5, "trail": []}, cfg("orgA", "t1"))
    with EmbeddedMongo(tmp_path, snapshot_interval=0) as engine:
        # MongoDBSaver re-declares its unique indexes on the restored collections
        graph = counter_graph(build_checkpointer(engine.sync_client, "chorus"))
        assert graph.get_state(cfg("orgA", "t1")).values["count"] == 12
        assert graph.invoke({"count": 0, "trail": []}, cfg("orgA", "t1"))["count"] == 2
        assert len(list(graph.get_state_history(cfg("orgA", "t1")))) == 8
