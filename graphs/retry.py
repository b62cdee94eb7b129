"""When a model-calling node is retried: only for failures that a second try can fix.

A hosted model's rate limit, overload, 5xx or dropped connection is worth a retry with
backoff; a bad input, a disabled agent or a missing model is not (LangGraph's default would
retry any exception it does not know, our domain errors included). A retried agent node
runs its agent again, which records another ``ai_tasks`` row: the failed one stays, as the
account of tokens already spent.
"""

from __future__ import annotations

import httpx
from langgraph.types import RetryPolicy

from persistence.errors import ChorusError

# The transient errors of the OpenAI and Anthropic clients, by class name, so this module
# does not import either SDK (both name them alike).
_TRANSIENT_MODEL_ERRORS = frozenset(
    {
        "APIConnectionError",
        "APITimeoutError",
        "RateLimitError",
        "InternalServerError",
        "OverloadedError",
    }
)


def is_transient(exc: Exception) -> bool:
    """Whether ``exc`` is a passing failure of a model provider or the network."""
    if isinstance(exc, ChorusError):
        return False
    for cls in type(exc).__mro__:
        root = cls.__module__.split(".", 1)[0]
        if root in ("openai", "anthropic") and cls.__name__ in _TRANSIENT_MODEL_ERRORS:
            return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, ConnectionError | TimeoutError | httpx.TransportError)


MODEL_RETRY = RetryPolicy(max_attempts=3, initial_interval=1.0, retry_on=is_transient)
