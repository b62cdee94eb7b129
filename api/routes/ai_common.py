"""What the AI routers share: agent lookup and one agent call through the run engine."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from agents.base import Agent
from agents.registry import AGENTS
from api.deps import rate_limited
from api.principal import Principal
from persistence.errors import InvalidInput, NotFound
from runs.engine import RunEngine

# The AI routes are one rate-limit class: each call may spend model tokens.
AI_RATE = Depends(rate_limited("ai", 60, 60))


class Body(BaseModel):
    """A request or answer of the AI routes: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class BodyIn(Body):
    """A request of the AI routes, validated as its JSON Schema reads (no coercion of
    ``0`` to a boolean or ``false`` to a number; see ``api.routes.schemas.StrictIn``)."""

    model_config = ConfigDict(strict=True)


def agent_named(name: str) -> Agent:
    """The agent called ``name``; NotFound listing the valid names otherwise."""
    agent = AGENTS.get(name)
    if agent is None:
        raise NotFound(f"no agent {name!r}; the agents are: {', '.join(AGENTS)}")
    return agent


async def call_agent(
    name: str, request: BaseModel | dict[str, Any], principal: Principal, engine: RunEngine
) -> Any:
    """Run agent ``name`` for the principal's tenant through the run engine (its one-node
    graph: checkpointed, traced and accounted like every other run); its output model.

    The tenant comes from the principal only, never the body."""
    agent = agent_named(name)
    payload = request.model_dump(by_alias=True) if isinstance(request, BaseModel) else request
    try:
        agent.input_model.model_validate(payload)
    except ValidationError as exc:
        # Bodies are validated by FastAPI already; this catches an input a route built from
        # its body, reported with pydantic's locations under "body".
        raise _input_error(exc) from exc
    ctx = engine.context(principal.org_id, graph=name, user_id=principal.user_id)
    output = await engine.run_agent(ctx, payload)
    return agent.output_model.model_validate(output)


def _input_error(exc: ValidationError) -> InvalidInput:
    fields = [
        {
            "field": ".".join(["body", *(str(p) for p in err["loc"])]),
            "message": str(err["msg"]).removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]
    names = ", ".join(dict.fromkeys(f["field"] for f in fields))
    return InvalidInput(f"invalid input: {names}", fields=fields)
