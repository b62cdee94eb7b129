"""What every agent shares: a persona, typed input and output, and an accounted run.

An agent is a persona, a prompt, pydantic input/output schemas and an async ``run``. A graph
node calls ``agent.call(request, runtime.context, config)``: the request is validated, the run
becomes a named child run (so LangSmith shows one run per agent with the tenant, agent,
workflow and thread in its metadata), and one ``ai_tasks`` document records it with the
tokens and cost that a usage callback counted over every model call inside it.

Before any model work starts, ``admit_model_work`` asks billing whether the organization has
AI credits left and a subscription that allows new work. Every model call of the product is
made here (``Agent.call``) or by a graph node that calls ``chat_model`` after admitting the
run the same way (the console's direct answer), and every graph, however it is started
(LangServe, the /lg runs API, /api/ai, saved workflows, crons, the CLI), reaches its models
only through these; so this one check covers them all, and a refused call records no task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from bson import ObjectId
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.runnables.config import ensure_config, patch_config
from pydantic import BaseModel

from agents.accounting import TaskRecorder, UsageCallback
from agents.models import TOOL_CALLING_PROVIDERS, ChatModelSource
from persistence.models.ai import AgentConfiguration, AgentType
from persistence.models.organizations import OrganizationSettings
from services import organizations
from services.agents import load_configuration
from services.billing import limits
from tools.context import RunContext, Services, memoized

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)
S = TypeVar("S", bound=BaseModel)


class AgentServices(Services, Protocol):
    """What agents use of the process: the stores tools use, and the chat models."""

    @property
    def chat_models(self) -> ChatModelSource: ...


def agent_services(run: RunContext) -> AgentServices:
    """The run's services as agents see them. The run engine builds every context from the
    process's runtime, which has the chat models; tools only need the narrower slice."""
    return cast(AgentServices, run.services)


def chat_model(
    run: RunContext, *, temperature: float = 0.7, max_tokens: int = 800
) -> BaseChatModel:
    """The run's chat model (the one named for the run, else the configured default)."""
    return agent_services(run).chat_models.get(
        run.model, temperature=temperature, max_tokens=max_tokens
    )


async def org_settings(run: RunContext) -> OrganizationSettings:
    """The tenant's settings, read once per run."""
    return await memoized(
        run, ("org_settings",), lambda: organizations.settings(run.services.db, run.org_id)
    )


async def admit_model_work(run: RunContext) -> None:
    """PaymentRequired (402) unless the run's organization may spend AI credits now: at
    least one credit left this month, and a subscription that allows new work. Checked once
    per run: a workflow's later agents belong to work already admitted."""
    await memoized(
        run,
        ("ai_credits_admitted",),
        lambda: limits.check(run.services.db, run.org_id, "ai_credits", adding=1),
    )


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
    """One agent call: its run, the tenant's configuration of the agent, and its task row."""

    agent: AgentType
    run: RunContext
    config: RunnableConfig
    settings: AgentConfiguration
    model_spec: str | None
    recorder: TaskRecorder
    model_calls: int = 0

    @property
    def org_id(self) -> ObjectId:
        return self.run.org_id

    @property
    def db(self) -> Any:
        return self.run.services.db

    @property
    def services(self) -> AgentServices:
        return agent_services(self.run)

    @property
    def workflow(self) -> str | None:
        return self.run.graph

    @property
    def thread_id(self) -> str | None:
        return self.run.thread_id

    def clock(self) -> datetime:
        return self.run.clock()

    async def org_settings(self) -> OrganizationSettings:
        return await org_settings(self.run)

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
        """Ask the model; the usage callback on ``config`` accounts it. Streams through it."""
        messages: list[BaseMessage] = [SystemMessage(system), *history, HumanMessage(user)]
        reply = await self.model(temperature=temperature, max_tokens=max_tokens).ainvoke(
            messages, config=self.config
        )
        self.model_calls += 1
        return _text(reply)

    @property
    def structured_output(self) -> bool:
        """Whether the run's model answers in a pydantic contract natively (OpenAI and
        Anthropic, through tool calling or JSON schema). The local 135M model cannot: it keeps
        the text-and-template path."""
        provider = (self.model_spec or "").partition(":")[0].strip().lower()
        return provider in TOOL_CALLING_PROVIDERS

    async def structured(
        self,
        system: str,
        user: str,
        schema: type[S],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> S:
        """Ask the model for an answer in ``schema`` (``with_structured_output``); accounted
        like :meth:`chat`. Raises what the client raises when the answer does not parse."""
        model = self.model(temperature=temperature, max_tokens=max_tokens)
        runnable = model.with_structured_output(schema)
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(user)]
        answer = await runnable.ainvoke(messages, config=self.config)
        self.model_calls += 1
        return schema.model_validate(answer)


def _text(message: AIMessage | BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content.strip()
    parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
    return "".join(parts).strip()


def model_spec_for(
    run: RunContext, settings: AgentConfiguration, default: str | None
) -> str | None:
    """A model named for this run wins over the tenant's per-agent choice, then the default."""
    return run.model or settings.model or default


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

    async def call(
        self,
        request: In | dict[str, Any],
        run: RunContext,
        config: RunnableConfig | None = None,
    ) -> Out:
        """Run once for the run's tenant, as a named, accounted child run of ``config``."""
        parsed = self.input_model.model_validate(request)
        metadata = {
            "organizationId": str(run.org_id),
            "agent": self.name,
            "workflow": run.graph or self.name,
            "thread_id": run.thread_id,
        }

        async def accounted(request: In, config: RunnableConfig) -> Out:
            return await self._accounted(request, run, config)

        runnable = RunnableLambda(accounted, name=self.name).with_config(
            run_name=self.name, tags=[f"agent:{self.name}"], metadata=metadata
        )
        return await runnable.ainvoke(parsed, ensure_config(config))

    async def _accounted(self, request: In, run: RunContext, config: RunnableConfig) -> Out:
        services = agent_services(run)
        settings = await load_configuration(services.db, run.org_id, self.name)
        if run.system_prompt:
            settings = settings.model_copy(update={"system_prompt": run.system_prompt})
        spec = model_spec_for(run, settings, services.chat_models.default)
        await admit_model_work(run)
        async with TaskRecorder(
            services.db,
            run.org_id,
            agent_type=self.name,
            task_type=self.task_type,
            model=spec,
            input_summary=self.summarize_input(request),
            workflow=run.graph,
            thread_id=run.thread_id,
        ) as task:
            usage = UsageCallback(task, spec)
            callbacks = config.get("callbacks")
            if hasattr(callbacks, "add_handler"):
                callbacks = callbacks.copy()  # type: ignore[union-attr]
                callbacks.add_handler(usage, inherit=True)  # type: ignore[union-attr]
            else:
                callbacks = [*(callbacks or []), usage]
            ctx = AgentContext(
                agent=self.name,
                run=run,
                config=patch_config(config, callbacks=callbacks),
                settings=settings,
                model_spec=spec,
                recorder=task,
            )
            result = await self.run(request, ctx)
            task.finish(output=result.model_dump(mode="json"))
        return result
