"""What each graph accepts, as pydantic contracts checked before any run starts.

A graph's state schema says what it holds, not what a client may send: an agent graph's
``input`` is any object to its state, but only the agent's own request fits. These contracts
are the agents' request models (``agents/schemas.py``) wrapped the way each graph takes them,
so every way in (LangServe's routes and their published schemas, the /lg runs API, saved
workflows, crons, ``chorus run``) refuses a bad input with the fields to fix, and the graph
receives plain JSON values (its checkpoints hold no pydantic objects).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langchain_core.messages import AnyMessage, BaseMessage
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    WithJsonSchema,
    create_model,
    field_validator,
)

from agents.registry import AGENTS
from agents.schemas import (
    CompetitorRequest,
    CrisisRequest,
    PerformanceRequest,
    Request,
    ShortText,
    TrendRequest,
)
from persistence.models.content import Platform


class ContentCreationInput(Request):
    brief: str = Field(min_length=3, max_length=4000, description="What the post should say.")
    platform: Platform
    industry: ShortText | None = None
    audience: ShortText | None = None
    tone: ShortText | None = None
    call_to_action: str | None = Field(default=None, max_length=500)
    timezone: str | None = Field(default=None, description="IANA zone of the slots shown")
    slot_count: StrictInt = Field(default=3, ge=1, le=10, description="Slots to propose")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}, e.g. Europe/Paris") from exc
        return value


class RoleMessage(BaseModel):
    """A chat message as the LangGraph SDK and agent-chat-ui send it."""

    model_config = ConfigDict(extra="allow", strict=True)

    role: Literal["user", "human", "assistant", "ai", "system"]
    content: str = Field(max_length=20000)


_MESSAGES: TypeAdapter[Any] = TypeAdapter(AnyMessage)


def _message(value: Any) -> Any:
    """A LangChain message (or its dict with a ``type``), or a ``{role, content}`` dict."""
    if isinstance(value, BaseMessage | RoleMessage):
        return value
    if isinstance(value, dict) and "type" in value:
        try:
            return _MESSAGES.validate_python(value)
        except TypeError as exc:  # LangChain's discriminator raises TypeError for bad types
            raise ValueError(f"not a chat message: {exc}") from exc
    if isinstance(value, dict) and "role" in value:
        return RoleMessage.model_validate(value)
    raise ValueError('a message is {"role": "user", "content": "..."} or a LangChain message')


ChatMessage = Annotated[
    Any,
    BeforeValidator(_message),
    WithJsonSchema(
        {
            "type": "object",
            "description": 'A message: {"role": "user", "content": "..."} or a LangChain '
            'message {"type": "human", "content": "..."}',
            "properties": {
                "role": {"type": "string", "enum": ["user", "human", "assistant", "ai", "system"]},
                "type": {"type": "string"},
                "content": {"type": "string", "maxLength": 20000},
            },
            "required": ["content"],
        }
    ),
]


class ConsoleInput(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    messages: list[ChatMessage] = Field(
        min_length=1, max_length=50, description="The new turn(s), usually one user message"
    )


def _wrapped(name: str, request: type[BaseModel]) -> type[BaseModel]:
    """``{"input": <request>}``, as the agent and analysis graphs take it."""
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{name.title().replace('_', '')}Input",
        __config__=ConfigDict(extra="forbid", strict=True),
        input=(request, ...),
    )


INPUT_MODELS: dict[str, type[BaseModel]] = {
    "content_creation": ContentCreationInput,
    "trend_analysis": _wrapped("trend_analysis", TrendRequest),
    "performance_analysis": _wrapped("performance_analysis", PerformanceRequest),
    "competitor_analysis": _wrapped("competitor_analysis", CompetitorRequest),
    "crisis_response": _wrapped("crisis_response", CrisisRequest),
    "console": ConsoleInput,
    **{name: _wrapped(name, agent.input_model) for name, agent in AGENTS.items()},
}


def state_input(model: BaseModel) -> dict[str, Any]:
    """A validated input as the graph's state takes it: JSON values under the wire's names,
    only what was given; chat messages stay messages."""
    out: dict[str, Any] = {}
    for name in model.model_fields_set:
        field = type(model).model_fields[name]
        key = field.alias or name
        value = getattr(model, name)
        if name == "messages":
            out[key] = [m if isinstance(m, BaseMessage) else m.model_dump() for m in value]
        elif isinstance(value, BaseModel):
            out[key] = value.model_dump(mode="json", by_alias=True, exclude_unset=True)
        else:
            out[key] = value
    return out
