"""A deterministic chat model for tests, benchmarks and evals (``CHORUS_MODEL=scripted``).

It stands in for a paid or slow model behind the same ``BaseChatModel`` interface. Replies
come from ``responses`` (in turn, cycling) or a ``responder`` function of the messages, and
default to a short acknowledgement of the last user message. Streaming yields word chunks and
usage metadata counts whitespace-separated words, so accounting code sees real numbers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

Responder = Callable[[Sequence[BaseMessage]], str]


def _default_reply(messages: Sequence[BaseMessage]) -> str:
    last = next((m for m in reversed(messages) if m.type == "human"), None)
    text = " ".join(str(last.content).split())[:120] if last else ""
    return f"Noted: {text}" if text else "Noted."


def _count(text: str) -> int:
    return len(re.findall(r"\S+", text))


class ScriptedChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    responses: list[str] = Field(default_factory=list)
    responder: Responder | None = None
    model_name: str = "scripted"
    _turns: Iterator[str] | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "chorus-scripted"

    def _reply(self, messages: Sequence[BaseMessage]) -> str:
        if self.responder is not None:
            return self.responder(messages)
        if self.responses:
            if self._turns is None:
                self._turns = itertools.cycle(self.responses)
            return next(self._turns)
        return _default_reply(messages)

    def _usage(self, messages: Sequence[BaseMessage], reply: str) -> dict[str, int]:
        prompt = sum(_count(str(m.content)) for m in messages)
        completion = _count(reply)
        return {
            "input_tokens": prompt,
            "output_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._reply(messages)
        message = AIMessage(
            content=reply,
            usage_metadata=self._usage(messages, reply),  # type: ignore[arg-type]
            response_metadata={"model_name": self.model_name},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages)
        for piece in re.findall(r"\S+\s*|\s+", reply):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=self._usage(messages, reply),  # type: ignore[arg-type]
                response_metadata={"model_name": self.model_name},
            )
        )
