"""What every agent shares: a persona, typed input and output, and an accounted run.

An agent is a persona, a prompt, pydantic input/output schemas and an async ``run``. Its node
function (``Agent.node``) reads the agent's input from graph state, runs it as a named child
run (so LangSmith shows one run per agent with the tenant, agent, workflow and thread in its
metadata), and records one ``ai_tasks`` document per call with tokens and cost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from bson import ObjectId
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from pydantic import BaseModel

from agents.accounting import TaskRecorder, load_agent_config, usage_of
from persistence.models.ai import AgentConfiguration, AgentType
from tools.context import Services, services_of, tenant_of

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


class ChatModelSource(Protocol):
    @property
    def default(self) -> str | None: ...

    def get(
        self, spec: str | None = None, *, temperature: float = 0.7, max_tokens: int = 800
    ) -> BaseChatModel: ...


class AgentServices(Services, Protocol):
    chat_models: ChatModelSource


@dataclass(frozen=True)
class Persona:
    role: str
    goal: str
    backstory: str

    def system_prompt(self, addition: str | None = None) -> str:
        text = f"You are the {self.role}. {self.goal}\n{self.backstory}"
        return f"{text}\n{addition}" if addition else text


@dataclass
class AgentContext:
    """One agent call: the tenant, its services and configuration, and the usage so far."""

    agent: AgentType
    org_id: ObjectId
    services: AgentServices
    config: RunnableConfig
    settings: AgentConfiguration
    model_spec: str | None
    recorder: TaskRecorder
    workflow: str | None = None
    thread_id: str | None = None
    model_calls: int = 0

    @property
    def db(self) -> Any:
        return self.services.db

    def model(self, *, temperature: float | None = None, max_tokens: int | None = None):
        return self.services.chat_models.get(
            self.model_spec,
            temperature=self.settings.temperature if temperature is None else temperature,
            max_tokens=self.settings.max_tokens if max_tokens is None else max_tokens,
        )

    async def chat(
        self,
        system: str,
        user: str,
        *,
        history: Sequence[BaseMessage] = (),
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """Ask the model; usage is added to this call's account. Streams through ``config``."""
        messages: list[BaseMessage] = [SystemMessage(system), *history, HumanMessage(user)]
        reply = await self.model(temperature=temperature, max_tokens=max_tokens).ainvoke(
            messages, config=self.config
        )
        self.model_calls += 1
        # Accounted per call, so tokens spent before a later failure still show on the task.
        self.recorder.add_usage(usage_of(reply, messages, self.model_spec), model=self.model_spec)
        return _text(reply)


def _text(message: AIMessage | BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content.strip()
    parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
    return "".join(parts).strip()


def model_spec_for(
    config: RunnableConfig, settings: AgentConfiguration, models: ChatModelSource
) -> str | None:
    """A model named for this run wins over the tenant's per-agent choice, then the default."""
    override = (config.get("configurable") or {}).get("model")
    return override or settings.model or models.default


class Agent(ABC, Generic[In, Out]):
    """Subclasses set the class attributes and implement ``run``."""

    name: ClassVar[AgentType]
    task_type: ClassVar[str]
    persona: ClassVar[Persona]
    input_model: ClassVar[type[BaseModel]]
    output_model: ClassVar[type[BaseModel]]

    @abstractmethod
    async def run(self, request: In, ctx: AgentContext) -> Out:
        """Do the work: numbers from tools, words from the model."""

    def summarize_input(self, request: In) -> str:
        return request.model_dump_json(exclude_none=True)[:500]

    async def call(self, request: In | dict[str, Any], config: RunnableConfig) -> Out:
        """Run once for the tenant in ``config``, as a named, accounted child run."""
        parsed = self.input_model.model_validate(request)
        configurable = config.get("configurable") or {}
        metadata = {
            "organizationId": str(tenant_of(config)),
            "agent": self.name,
            "workflow": configurable.get("workflow", self.name),
            "thread_id": configurable.get("thread_id"),
        }
        runnable = RunnableLambda(self._accounted, name=self.name).with_config(
            run_name=self.name, tags=[f"agent:{self.name}"], metadata=metadata
        )
        return await runnable.ainvoke(parsed, config)

    async def _accounted(self, request: In, config: RunnableConfig) -> Out:
        org_id = tenant_of(config)
        services: AgentServices = services_of(config)  # type: ignore[assignment]
        settings = await load_agent_config(services.db, org_id, self.name)
        configurable = config.get("configurable") or {}
        spec = model_spec_for(config, settings, services.chat_models)
        async with TaskRecorder(
            services.db,
            org_id,
            agent_type=self.name,
            task_type=self.task_type,
            model=spec,
            input_summary=self.summarize_input(request),
            workflow=configurable.get("workflow"),
            thread_id=configurable.get("thread_id"),
        ) as task:
            ctx = AgentContext(
                agent=self.name,
                org_id=org_id,
                services=services,
                config=config,
                settings=settings,
                model_spec=spec,
                recorder=task,
                workflow=configurable.get("workflow"),
                thread_id=configurable.get("thread_id"),
            )
            result = await self.run(request, ctx)
            task.finish(output=result.model_dump(mode="json"))
        return result
