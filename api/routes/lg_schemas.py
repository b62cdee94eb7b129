"""The ``/lg`` wire format: request and response bodies as the LangGraph SDK sends and reads
them (snake_case, as the SDK's ``schema.py``).

Requests are typed, so a wrong type is a 422 naming the field before anything runs. Fields
the SDK may send that Chorus does not use (``interrupt_before``, ``webhook``...) are
accepted and ignored, so newer SDKs keep working; a value Chorus cannot honour (a multitask
strategy other than reject/enqueue, a command other than resume) is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from langgraph.types import StateSnapshot
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
)

from persistence.ids import IsoDateTime
from persistence.models.crons import LgCron
from persistence.models.runs import LgAssistant, LgRun, LgThread, RunStatus, ThreadStatus
from runs.crons import SortBy
from runs.output import to_json
from runs.sdk import StreamMode

Offset = Annotated[StrictInt, Field(ge=0, le=1_000_000)]
Limit = Annotated[StrictInt, Field(ge=1, le=1000)]
ThreadId = Annotated[str, Field(min_length=1, max_length=200)]
JsonObject = dict[str, Any]

# Thread, run and cron metadata as clients send it: plain names (they become document paths,
# so no "$", "." or NUL) to JSON scalars or short lists of them. That is what search matches
# on, and all of it can be stored and sent back exactly.
MetaKey = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^$.\x00][^.\x00]*$")
]


def _not_an_int(value: Any) -> Any:
    # An int out of the 64-bit range must be refused, not turned into an inexact float.
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("integers must fit in 64 bits")
    return value


MetaScalar = (
    Annotated[str, StringConstraints(max_length=2000)]
    | Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
    | Annotated[StrictFloat, BeforeValidator(_not_an_int), Field(allow_inf_nan=False)]
    | StrictBool
    | None
)
Metadata = Annotated[
    dict[MetaKey, MetaScalar | Annotated[list[MetaScalar], Field(max_length=100)]],
    Field(max_length=100),
]


class SdkBody(BaseModel):
    """Unknown fields are ignored: the SDK sends options Chorus does not use. Known ones are
    strict, as ``api.routes.schemas.StrictIn`` explains: ``0`` is not a boolean, a number
    not a string, ``"5"`` not an integer."""

    model_config = ConfigDict(extra="ignore", strict=True)


class Configurable(SdkBody):
    model: str | None = Field(default=None, max_length=200, description="provider:model")


class RunConfig(SdkBody):
    configurable: Configurable = Field(default_factory=Configurable)


class CommandBody(SdkBody):
    # What an interrupt asks for, e.g. {"action": "revise", "feedback": "shorter"}.
    resume: MetaScalar | dict[MetaKey, MetaScalar | list[MetaScalar]] = None
    goto: Any = None
    update: Any = None

    @field_validator("goto", "update")
    @classmethod
    def _unsupported(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("only command.resume is supported")
        return value


class RunCreate(SdkBody):
    assistant_id: str = Field(min_length=1, max_length=200, description="a graph name or id")
    input: JsonObject | None = None
    command: CommandBody | None = None
    stream_mode: StreamMode | list[StreamMode] | None = None
    config: RunConfig | None = None
    metadata: Metadata | None = None
    multitask_strategy: Literal["reject", "enqueue"] | None = None
    if_not_exists: Literal["create", "reject"] | None = None


class ThreadCreate(SdkBody):
    thread_id: ThreadId | None = None
    metadata: Metadata | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None


class ThreadPatch(SdkBody):
    metadata: Metadata | None = None


class ThreadSearch(SdkBody):
    metadata: Metadata | None = None
    status: ThreadStatus | None = None
    ids: list[ThreadId] | None = Field(default=None, max_length=1000)
    offset: Offset = 0
    limit: Limit = 10


class CheckpointRef(SdkBody):
    checkpoint_id: str | None = Field(default=None, max_length=200)


class StateUpdate(SdkBody):
    values: JsonObject | list[JsonObject] | None = None
    as_node: str | None = Field(default=None, max_length=200)
    checkpoint_id: str | None = Field(default=None, max_length=200)
    checkpoint: CheckpointRef | None = None


class HistoryQuery(SdkBody):
    limit: Limit = 10
    before: CheckpointRef | str | None = None
    checkpoint: CheckpointRef | None = None

    @property
    def before_id(self) -> str | None:
        if isinstance(self.before, CheckpointRef):
            return self.before.checkpoint_id
        return self.before


class AssistantSearch(SdkBody):
    graph_id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    metadata: Metadata | None = None
    offset: Offset = 0
    limit: Limit = 10


class AssistantConfigurableIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    model: str | None = Field(
        default=None, min_length=1, max_length=200, description="provider:model its runs use"
    )
    system_prompt: str | None = Field(
        default=None,
        min_length=1,
        max_length=4000,
        description="Instructions every agent of its runs follows (in place of the "
        "organization's own per-agent addition)",
    )


class AssistantConfigIn(BaseModel):
    """What a variant configures; any other key is refused (422), not silently ignored."""

    model_config = ConfigDict(extra="forbid", strict=True)

    configurable: AssistantConfigurableIn = Field(default_factory=AssistantConfigurableIn)


class AssistantCreate(SdkBody):
    graph_id: str = Field(min_length=1, max_length=200, description="the graph it runs")
    config: AssistantConfigIn | None = None
    metadata: Metadata | None = None
    assistant_id: str | None = Field(default=None, min_length=1, max_length=200)
    if_exists: Literal["raise", "do_nothing"] | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class AssistantPatch(SdkBody):
    graph_id: str | None = Field(default=None, min_length=1, max_length=200)
    config: AssistantConfigIn | None = None
    metadata: Metadata | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class GraphNode(BaseModel):
    id: str | int
    type: str | None = None
    data: Any = None
    metadata: JsonObject | None = None


class GraphEdge(BaseModel):
    source: str | int
    target: str | int
    data: Any = None
    conditional: bool = False


class AssistantGraph(BaseModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]


class AssistantSchemas(BaseModel):
    graph_id: str
    input_schema: JsonObject
    output_schema: JsonObject
    state_schema: JsonObject
    config_schema: JsonObject
    context_schema: JsonObject | None = None


class CronCreate(SdkBody):
    assistant_id: str = Field(min_length=1, max_length=200)
    schedule: str = Field(min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=100)
    input: JsonObject | None = None
    config: RunConfig | None = None
    metadata: Metadata | None = None
    stream_mode: StreamMode | list[StreamMode] | None = None
    multitask_strategy: Literal["reject", "enqueue"] | None = None
    end_time: IsoDateTime | None = None
    enabled: StrictBool | None = None
    on_run_completed: Literal["keep"] | None = Field(
        default=None, description="each run's thread is kept ('delete' is not supported)"
    )


class CronPatch(SdkBody):
    schedule: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=100)
    input: JsonObject | None = None
    config: RunConfig | None = None
    metadata: Metadata | None = None
    stream_mode: StreamMode | list[StreamMode] | None = None
    multitask_strategy: Literal["reject", "enqueue"] | None = None
    end_time: IsoDateTime | None = None
    enabled: StrictBool | None = None
    on_run_completed: Literal["keep"] | None = None


class CronSearch(SdkBody):
    assistant_id: str | None = Field(default=None, max_length=200)
    thread_id: ThreadId | None = None
    enabled: StrictBool | None = None
    metadata: Metadata | None = None
    sort_by: SortBy = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"
    select: list[str] | None = Field(default=None, max_length=20)
    offset: Offset = 0
    limit: Limit = 10


class CountBody(SdkBody):
    metadata: Metadata | None = None
    status: ThreadStatus | None = None
    ids: list[ThreadId] | None = Field(default=None, max_length=1000)
    assistant_id: str | None = Field(default=None, max_length=200)
    thread_id: ThreadId | None = None
    enabled: StrictBool | None = None
    graph_id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)


# --- responses --------------------------------------------------------------------------------


class Checkpoint(BaseModel):
    thread_id: str | None
    checkpoint_ns: str = ""
    checkpoint_id: str | None
    checkpoint_map: JsonObject | None = None

    @classmethod
    def of(cls, config: Any) -> Checkpoint | None:
        if not config:
            return None
        c = config.get("configurable") or {}
        return cls(
            thread_id=str.__str__(c["thread_id"]) if c.get("thread_id") else None,
            checkpoint_ns=c.get("checkpoint_ns", ""),
            checkpoint_id=c.get("checkpoint_id"),
            checkpoint_map=c.get("checkpoint_map"),
        )


class ThreadTask(BaseModel):
    id: str
    name: str
    error: str | None = None
    interrupts: list[JsonObject] = Field(default_factory=list)
    checkpoint: Checkpoint | None = None
    state: JsonObject | None = None
    result: Any = None


class ThreadState(BaseModel):
    values: JsonObject | list[Any]
    next: list[str]
    tasks: list[ThreadTask]
    checkpoint: Checkpoint
    parent_checkpoint: Checkpoint | None
    metadata: JsonObject
    created_at: str | None
    interrupts: list[JsonObject]

    @classmethod
    def of(cls, snap: StateSnapshot) -> ThreadState:
        return cls(
            values=to_json(snap.values),
            next=list(snap.next),
            tasks=[
                ThreadTask(
                    id=t.id,
                    name=t.name,
                    error=str(t.error) if t.error else None,
                    interrupts=[to_json(i) for i in t.interrupts],
                    result=to_json(t.result) if t.result is not None else None,
                )
                for t in snap.tasks
            ],
            checkpoint=Checkpoint.of(snap.config) or Checkpoint(thread_id=None, checkpoint_id=None),
            parent_checkpoint=Checkpoint.of(snap.parent_config),
            metadata=to_json(snap.metadata or {}),
            created_at=snap.created_at,
            interrupts=[to_json(i) for i in snap.interrupts],
        )

    @classmethod
    def empty(cls, thread_id: str) -> ThreadState:
        return cls(
            values={},
            next=[],
            tasks=[],
            checkpoint=Checkpoint(thread_id=thread_id, checkpoint_id=None),
            parent_checkpoint=None,
            metadata={},
            created_at=None,
            interrupts=[],
        )


class ThreadOut(BaseModel):
    thread_id: str
    created_at: datetime
    updated_at: datetime
    metadata: JsonObject
    status: ThreadStatus
    values: JsonObject | list[Any] = Field(default_factory=dict)
    interrupts: dict[str, list[JsonObject]] = Field(default_factory=dict)

    @classmethod
    def of(cls, t: LgThread, state: ThreadState | None = None) -> ThreadOut:
        interrupts = (
            {task.id: task.interrupts for task in state.tasks if task.interrupts} if state else {}
        )
        return cls(
            thread_id=t.thread_id,
            created_at=t.created_at,
            updated_at=t.updated_at or t.created_at,
            metadata={**t.metadata, **({"graph_id": t.graph_id} if t.graph_id else {})},
            status=t.status,
            values=state.values if state else {},
            interrupts=interrupts,
        )


class RunOut(BaseModel):
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: datetime
    updated_at: datetime
    status: RunStatus
    metadata: JsonObject
    multitask_strategy: str
    kwargs: JsonObject

    @classmethod
    def of(cls, r: LgRun) -> RunOut:
        return cls(
            run_id=r.run_id,
            thread_id=r.thread_id,
            assistant_id=r.assistant_id,
            created_at=r.created_at,
            updated_at=r.updated_at or r.created_at,
            status=r.status,
            metadata=r.metadata,
            multitask_strategy=r.multitask_strategy,
            kwargs={k: r.kwargs.get(k) for k in ("input", "command", "stream_mode")},
        )


class UpdateStateOut(BaseModel):
    checkpoint: Checkpoint | None


class AssistantOut(BaseModel):
    assistant_id: str
    graph_id: str
    name: str
    description: str | None
    config: JsonObject = Field(default_factory=dict)
    context: JsonObject = Field(default_factory=dict)
    metadata: JsonObject = Field(default_factory=dict)
    version: int = 1
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, doc: LgAssistant) -> AssistantOut:
        return cls(
            assistant_id=doc.assistant_id,
            graph_id=doc.graph_id,
            name=doc.name,
            description=doc.description,
            config=doc.config,
            metadata=doc.metadata,
            version=doc.version,
            created_at=doc.created_at,
            updated_at=doc.updated_at or doc.created_at,
        )


class CronOut(BaseModel):
    cron_id: str
    assistant_id: str
    thread_id: str | None
    on_run_completed: str | None
    end_time: datetime | None
    schedule: str
    timezone: str | None
    created_at: datetime
    updated_at: datetime
    payload: JsonObject
    user_id: str
    next_run_date: datetime | None
    metadata: JsonObject
    enabled: bool

    @classmethod
    def of(cls, c: LgCron, assistant_id: str) -> CronOut:
        return cls(
            cron_id=c.cron_id,
            assistant_id=assistant_id,
            thread_id=c.thread_id,
            on_run_completed=c.on_run_completed,
            end_time=c.end_time,
            schedule=c.schedule,
            timezone=c.timezone,
            created_at=c.created_at,
            updated_at=c.updated_at or c.created_at,
            payload={**c.payload, "assistant_id": c.assistant_id, "schedule": c.schedule},
            user_id=str(c.user_id),
            next_run_date=c.next_run_date,
            metadata=c.metadata,
            enabled=c.enabled,
        )
