"""What agents need of chat models: a source of them, the spec format, and the one error.

The composition root (``chorus.chat_models``) decides which providers exist and builds the
models; everything above it (agents, graphs, runs, the API) only sees a ``ChatModelSource``
and catches ``ModelNotConfigured``. The spec format lives here, below all of them, so the API
can check a spec a client sends without importing the composition root.
"""

from __future__ import annotations

from typing import Protocol

from langchain_core.language_models import BaseChatModel

from persistence.errors import Unavailable

PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "local", "scripted")
# Providers whose models take tool calls and structured output natively.
TOOL_CALLING_PROVIDERS: frozenset[str] = frozenset({"openai", "anthropic"})


class ModelNotConfigured(Unavailable, RuntimeError):
    """No chat model can be built for the spec asked for (or none is configured at all)."""

    default_code = "model_not_configured"


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``provider:model`` as (provider, model or None); an unknown provider names the valid."""
    provider, _, name = spec.partition(":")
    provider = provider.strip().lower()
    if provider not in PROVIDERS:
        raise ModelNotConfigured(
            f"unknown model provider {provider!r} in {spec!r}; use one of "
            + ", ".join(f"{p}:<model>" if p in TOOL_CALLING_PROVIDERS else p for p in PROVIDERS)
        )
    return provider, (name.strip() or None)


class ChatModelSource(Protocol):
    """Builds the chat model for a spec (None: the configured default)."""

    @property
    def default(self) -> str | None: ...

    def get(
        self, spec: str | None = None, *, temperature: float = 0.7, max_tokens: int = 800
    ) -> BaseChatModel: ...
