"""Memory tools: the tenant comes from the run config, never from what the model writes."""

from __future__ import annotations

import json

import pytest
from bson import ObjectId
from langchain_core.messages import ToolMessage
from support import run_context, with_runtime

from chorus.runtime import Runtime
from memory.kinds import MemoryKind
from tools.memory_tools import MEMORY_TOOLS, remember, search_memory

ORG_A = ObjectId()
ORG_B = ObjectId()


def test_the_tools_hide_the_config_from_the_model() -> None:
    assert [t.name for t in MEMORY_TOOLS] == ["search_memory", "remember"]
    for t in MEMORY_TOOLS:
        schema = t.tool_call_schema.model_json_schema()
        assert "config" not in schema["properties"]
        assert "organization_id" not in json.dumps(schema["properties"])
    kinds = search_memory.tool_call_schema.model_json_schema()["$defs"]["MemoryKind"]["enum"]
    assert kinds == [k.value for k in MemoryKind]


async def test_remember_then_search(runtime: Runtime) -> None:
    config = run_context(ORG_A, runtime)
    stored = await remember.ainvoke(
        with_runtime(
            {
                "kind": "brand_voice",
                "text": "Our voice is warm, witty and never uses exclamation marks.",
                "metadata": {"voice_attribute": "tone", "strength": 0.9},
            },
            config,
        )
    )
    assert stored["stored"] is True
    assert stored["kind"] == "brand_voice"
    await remember.ainvoke(
        with_runtime(
            {"kind": "brand_voice", "text": "Posts about pricing go out on Tuesdays."}, config
        )
    )

    found = await search_memory.ainvoke(
        with_runtime({"kind": "brand_voice", "query": "what tone do we write in?", "k": 2}, config)
    )
    json.dumps(found)  # plain JSON values all the way down
    assert found["kind"] == "brand_voice"
    top = found["results"][0]
    assert top["id"] == stored["id"]
    assert top["text"].startswith("Our voice is warm")
    assert 0 <= top["score"] <= 1
    assert top["metadata"]["voice_attribute"] == "tone"
    assert "organization_id" not in top["metadata"]  # the model never sees a tenant id

    narrowed = await search_memory.ainvoke(
        with_runtime(
            {"kind": "brand_voice", "query": "tone", "filters": {"voice_attribute": "tone"}}, config
        )
    )
    assert [r["id"] for r in narrowed["results"]] == [stored["id"]]


async def test_a_tool_call_answers_with_json_content(runtime: Runtime) -> None:
    config = run_context(ORG_A, runtime)
    await remember.ainvoke(
        with_runtime({"kind": "trend_analysis", "text": "Short videos lead."}, config)
    )
    call = {
        "type": "tool_call",
        "id": "call-1",
        "name": "search_memory",
        "args": {"kind": "trend_analysis", "query": "video"},
    }
    message = await search_memory.ainvoke(with_runtime(call, config))
    assert isinstance(message, ToolMessage)
    assert json.loads(message.content)["results"][0]["text"] == "Short videos lead."


async def test_an_unknown_kind_is_answered_with_the_valid_kinds(runtime: Runtime) -> None:
    config = run_context(ORG_A, runtime)
    answer = await search_memory.ainvoke(with_runtime({"kind": "secrets", "query": "x"}, config))
    assert isinstance(answer, str)
    assert "unknown memory kind 'secrets'" in answer
    for kind in MemoryKind:
        assert kind.value in answer
    answer = await remember.ainvoke(with_runtime({"kind": "nope", "text": "x"}, config))
    assert "expected one of: user_preferences, content_history" in answer
    answer = await search_memory.ainvoke(
        with_runtime({"kind": "brand_voice", "query": "x", "k": 500}, config)
    )
    assert answer.startswith("Invalid arguments: k:")


async def test_bad_metadata_is_answered_not_raised(runtime: Runtime) -> None:
    config = run_context(ORG_A, runtime)
    answer = await remember.ainvoke(
        with_runtime({"kind": "content_history", "text": "x", "metadata": {"$where": "1"}}, config)
    )
    assert answer.startswith("not stored:")
    assert "may not start with # or $" in answer


async def test_a_model_cannot_reach_another_organization(runtime: Runtime) -> None:
    a, b = run_context(ORG_A, runtime), run_context(ORG_B, runtime)
    secret = "Crisis plan: the recall of batch 42 is announced on Friday."
    await remember.ainvoke(with_runtime({"kind": "crisis_patterns", "text": secret}, a))

    # B searches for A's memory, even naming A in the filter: nothing comes back.
    for filters in (
        None,
        {"organization_id": str(ORG_A)},
        {"$or": [{"organization_id": str(ORG_A)}]},
    ):
        found = await search_memory.ainvoke(
            with_runtime(
                {"kind": "crisis_patterns", "query": "recall of batch 42", "filters": filters}, b
            )
        )
        assert found == {"kind": "crisis_patterns", "query": "recall of batch 42", "results": []}

    # B tries to write into A by naming A in the metadata: refused, nothing lands in A.
    answer = await remember.ainvoke(
        with_runtime(
            {
                "kind": "crisis_patterns",
                "text": "planted by B",
                "metadata": {"organization_id": str(ORG_A)},
            },
            b,
        )
    )
    assert answer.startswith("not stored:")
    assert await runtime.memory.count(ORG_A, "crisis_patterns") == 1
    assert await runtime.memory.count(ORG_B, "crisis_patterns") == 0

    # A still finds its own memory.
    found = await search_memory.ainvoke(
        with_runtime({"kind": "crisis_patterns", "query": "recall"}, a)
    )
    assert [r["text"] for r in found["results"]] == [secret]


async def test_without_the_runs_context_the_tool_refuses(runtime: Runtime) -> None:
    # The tenant only ever comes from the injected run context, never from arguments.
    with pytest.raises(TypeError, match="runtime"):
        await search_memory.ainvoke({"kind": "brand_voice", "query": "x"})
    with pytest.raises(TypeError, match="runtime"):
        await remember.ainvoke({"kind": "brand_voice", "text": "x", "organization_id": str(ORG_A)})
