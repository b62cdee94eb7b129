"""ai_agents, ai_tasks, workflows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document, Model

AgentType = Literal[
    "content_creator",
    "trend_analyzer",
    "engagement_optimizer",
    "scheduler",
    "performance_tracker",
    "competitor_monitor",
    "crisis_manager",
]
AGENT_TYPES: tuple[str, ...] = AgentType.__args__  # type: ignore[attr-defined]
TaskStatus = Literal["pending", "running", "completed", "failed"]


class AgentMemoryConfig(Model):
    enabled: bool = True
    max_memories: int = 1000
    retention_days: int = 365


class AgentConfiguration(Model):
    model: str | None = None
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_tokens: int = Field(default=800, ge=1, le=32000)
    system_prompt: str | None = None
    tools: list[str] = Field(default_factory=list)
    memory: AgentMemoryConfig = Field(default_factory=AgentMemoryConfig)


class AgentStatus(Model):
    is_active: bool = True
    is_training: bool = False
    last_execution: UTCDateTime | None = None
    next_scheduled_run: UTCDateTime | None = None


class AgentPerformance(Model):
    tasks_completed: int = 0
    success_rate: float = 0.0
    avg_execution_time: float = 0.0
    user_satisfaction: float | None = None
    cost_per_task: float = 0.0


class AgentLearning(Model):
    training_data: list[PyObjectId] = Field(default_factory=list)
    model_version: str | None = None
    last_training: UTCDateTime | None = None
    improvements: list[dict[str, Any]] = Field(default_factory=list)


class AiAgent(Document):
    collection = "ai_agents"

    agent_type: AgentType
    name: str
    description: str | None = None
    configuration: AgentConfiguration = Field(default_factory=AgentConfiguration)
    capabilities: list[str] = Field(default_factory=list)
    status: AgentStatus = Field(default_factory=AgentStatus)
    performance: AgentPerformance = Field(default_factory=AgentPerformance)
    learning: AgentLearning = Field(default_factory=AgentLearning)


class TaskInput(Model):
    prompt: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    attachments: list[str] = Field(default_factory=list)


class TaskOutput(Model):
    result: Any = None
    confidence: float | None = None
    alternatives: list[dict[str, Any]] = Field(default_factory=list)
    reasoning: str | None = None


class TaskExecution(Model):
    status: TaskStatus = "pending"
    started_at: UTCDateTime | None = None
    completed_at: UTCDateTime | None = None
    execution_time: float | None = Field(default=None, description="seconds")
    retry_count: int = 0
    error_message: str | None = None


class TaskResources(Model):
    model_used: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_used: int = 0
    cost_usd: float | None = Field(default=0.0, description="None: the model has no price")
    memory_used: int | None = None


class TaskFeedback(Model):
    user_rating: int | None = Field(default=None, ge=1, le=5)
    user_comments: str | None = None
    was_used: bool | None = None
    improvements: str | None = None


class AiTask(Document):
    collection = "ai_tasks"

    agent_id: PyObjectId | None = None
    agent_type: AgentType
    task_type: str
    workflow: str | None = None
    thread_id: str | None = None
    input: TaskInput = Field(default_factory=TaskInput)
    output: TaskOutput = Field(default_factory=TaskOutput)
    execution: TaskExecution = Field(default_factory=TaskExecution)
    resources: TaskResources = Field(default_factory=TaskResources)
    feedback: TaskFeedback = Field(default_factory=TaskFeedback)


class WorkflowTrigger(Model):
    """How a workflow starts. A ``schedule`` trigger's configuration holds ``cron`` (5 fields)
    and ``timezone`` (IANA, default UTC); the API checks both before storing them."""

    type: Literal["schedule", "event", "manual"] = "manual"
    configuration: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True


class WorkflowStep(Model):
    step_id: str
    agent_id: PyObjectId | None = None
    action: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    conditions: dict[str, Any] = Field(default_factory=dict)
    on_success: str | None = None
    on_failure: str | None = None


class WorkflowExecution(Model):
    last_run: UTCDateTime | None = None
    # The next fire of an active schedule trigger, None otherwise; the schedule tick claims a
    # workflow by moving this forward (compare-and-set), so each fire happens once.
    next_run: UTCDateTime | None = None
    run_count: int = 0
    success_count: int = 0
    failure_count: int = 0


class WorkflowSettings(Model):
    max_retries: int = 2
    timeout: int = 600
    notifications: dict[str, Any] = Field(default_factory=dict)


class Workflow(Document):
    """A saved graph input with a manual or scheduled trigger."""

    collection = "workflows"

    user_id: PyObjectId | None = None
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    graph: str = Field(description="Name of the graph this workflow runs.")
    input: dict[str, Any] = Field(default_factory=dict)
    trigger: WorkflowTrigger = Field(default_factory=WorkflowTrigger)
    steps: list[WorkflowStep] = Field(default_factory=list)
    execution: WorkflowExecution = Field(default_factory=WorkflowExecution)
    settings: WorkflowSettings = Field(default_factory=WorkflowSettings)


class WorkflowRun(Document):
    """One execution of a saved workflow: its thread, and how it ended."""

    collection = "workflow_runs"

    workflow_id: PyObjectId
    graph: str
    thread_id: str
    # What started it: POST .../execute, or the workflow's schedule trigger.
    trigger: Literal["manual", "schedule"] = "manual"
    status: Literal["running", "completed", "interrupted", "failed"] = "running"
    started_at: UTCDateTime
    finished_at: UTCDateTime | None = None
    result: dict[str, Any] | None = None
    interrupts: list[Any] = Field(default_factory=list)
    error: str | None = None
