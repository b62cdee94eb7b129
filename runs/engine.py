"""The one executor: every graph run of the product goes through a ``RunEngine``.

It compiles each graph once on the process's checkpointer, builds the run's context (tenant,
services, clock: LangGraph's ``context_schema``) and its config (thread and tenant for the
tenant-scoped checkpointer, tracing metadata, recursion limit) in one place, checks inputs
and resumes before anything runs, and owns the single loop over ``astream``. The LangServe
routes, the /lg runs API, saved workflows, crons, ``chorus run`` and the AI endpoints are all
thin callers of it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot
from pydantic import ValidationError

from graphs.inputs import INPUT_MODELS, state_input
from graphs.registry import AGENT_GRAPHS, GRAPH_NAMES, UnknownGraph, build_graph
from persistence import metrics
from runs.errors import InvalidRunInput, NothingToResume
from runs.output import to_json
from runs.ports import RunServices
from tools.context import RunContext

RECURSION_LIMIT = 50


@dataclass(frozen=True)
class Outcome:
    """Where a run stopped: at its end, or waiting at an interrupt for a person."""

    graph: str
    thread_id: str
    values: dict[str, Any]
    next: list[str] = field(default_factory=list)
    interrupts: list[Any] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        return bool(self.interrupts)

    def json(self) -> dict[str, Any]:
        return {
            "graph": self.graph,
            "thread_id": self.thread_id,
            "values": to_json(self.values),
            "next": self.next,
            "interrupts": to_json(self.interrupts),
        }


def check_graph(name: str) -> str:
    if name not in GRAPH_NAMES:
        raise UnknownGraph(f"no graph named {name!r}; choose one of: {', '.join(GRAPH_NAMES)}")
    return name


def validate_input(name: str, payload: Any) -> dict[str, Any]:
    """``payload`` checked against graph ``name``'s input contract (``graphs.inputs``), as the
    graph's state takes it; InvalidRunInput names the fields to fix."""
    if not isinstance(payload, dict):
        raise InvalidRunInput("the input must be a JSON object")
    try:
        checked = INPUT_MODELS[check_graph(name)].model_validate(payload)
    except ValidationError as exc:
        problems = [
            {
                "field": ".".join(["body.input", *(str(p) for p in err["loc"])]),
                "message": str(err["msg"]).removeprefix("Value error, "),
            }
            for err in exc.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise InvalidRunInput.fields_of(
            f"input does not fit graph {name!r}: {summary}", problems
        ) from exc
    return state_input(checked)


class RunEngine:
    """Runs graphs for tenants on one process's services."""

    def __init__(self, services: RunServices) -> None:
        self.services = services
        self._graphs: dict[str, CompiledStateGraph] = {}

    # --- building -------------------------------------------------------------------------

    def graph(self, name: str) -> CompiledStateGraph:
        """The graph compiled on this process's checkpointer (compiled once, then reused:
        a compiled graph holds no run state)."""
        compiled = self._graphs.get(name)
        if compiled is None:
            compiled = self._graphs[name] = build_graph(
                check_graph(name), self.services.checkpointer
            )
        return compiled

    def context(
        self,
        org_id: ObjectId,
        *,
        graph: str,
        thread_id: str | None = None,
        user_id: ObjectId | str | None = None,
        model: str | None = None,
        now: datetime | None = None,
        system_prompt: str | None = None,
    ) -> RunContext:
        """A run's context: the tenant from the caller's principal, never from input."""
        return RunContext(
            org_id=org_id,
            services=self.services,
            graph=check_graph(graph),
            thread_id=thread_id or uuid.uuid4().hex,
            user_id=str(user_id) if user_id is not None else None,
            model=model,
            now=now,
            system_prompt=system_prompt,
        )

    def config(
        self, ctx: RunContext, *, checkpoint_id: str | None = None, run_id: str | None = None
    ) -> RunnableConfig:
        """The run config: thread and tenant for the tenant-scoped checkpointer, and the
        tracing metadata every LangSmith run of it carries."""
        configurable: dict[str, Any] = {
            "thread_id": ctx.thread_id,
            "organization_id": str(ctx.org_id),
        }
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        metadata: dict[str, Any] = {"organizationId": str(ctx.org_id), "workflow": ctx.graph}
        if ctx.user_id:
            metadata["userId"] = ctx.user_id
        if run_id:
            # LangGraph copies config metadata into each checkpoint: a checkpoint records
            # which run wrote it, so a retried background run never sends its input twice.
            metadata["chorus_run_id"] = run_id
        return {
            "configurable": configurable,
            "metadata": metadata,
            "recursion_limit": RECURSION_LIMIT,
            "run_name": ctx.graph or "graph",
        }

    # --- checking -------------------------------------------------------------------------

    def check_input(self, name: str, payload: Any) -> dict[str, Any]:
        return validate_input(name, payload)

    async def check_resume(self, ctx: RunContext) -> None:
        """NothingToResume unless the thread waits at an interrupt."""
        if not (await self.state(ctx)).interrupts:
            raise NothingToResume(
                f"thread {ctx.thread_id!r} has no pending interrupt to resume",
            )

    # --- running --------------------------------------------------------------------------

    async def stream(
        self,
        ctx: RunContext,
        payload: Any,
        *,
        modes: Sequence[str] = ("updates",),
        run_id: str | None = None,
        callbacks: list[BaseCallbackHandler] | None = None,
    ) -> AsyncIterator[tuple[str, Any]]:
        """Run ``ctx.graph`` on ``payload`` (an input, a ``Command`` or None to continue from
        the last checkpoint) and yield ``(mode, chunk)`` as LangGraph streams them."""
        graph = self.graph(ctx.graph or "")
        config = self.config(ctx, run_id=run_id)
        if callbacks:
            config["callbacks"] = callbacks
        started, outcome = time.perf_counter(), "error"
        try:
            async for mode, chunk in graph.astream(
                payload, config, context=ctx, stream_mode=list(modes)
            ):
                yield mode, chunk
            outcome = "finished"  # to the end, or to an interrupt that waits for a person
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "cancelled"
            raise
        finally:
            metrics.RUN_SECONDS.labels(ctx.graph or "unknown", outcome).observe(
                time.perf_counter() - started
            )

    async def run(
        self,
        ctx: RunContext,
        *,
        input: Any = None,
        resume: Any = None,
        callbacks: list[BaseCallbackHandler] | None = None,
    ) -> Outcome:
        """Run to the end or to an interrupt; ``resume`` answers a pending interrupt."""
        payload = await self.payload(ctx, input=input, resume=resume)
        async for _ in self.stream(ctx, payload, callbacks=callbacks):
            pass
        return await self.outcome(ctx)

    async def payload(self, ctx: RunContext, *, input: Any = None, resume: Any = None) -> Any:
        """What to send a graph: the checked input, or the resume of a pending interrupt."""
        if resume is not None:
            await self.check_resume(ctx)
            return Command(resume=resume)
        return self.check_input(ctx.graph or "", input)

    async def run_agent(self, ctx: RunContext, request: dict[str, Any]) -> dict[str, Any]:
        """One agent's answer (``ctx.graph`` is the agent's own graph), run like any other
        graph and then forgotten: its throwaway thread's checkpoints are deleted."""
        if ctx.graph not in AGENT_GRAPHS:
            raise UnknownGraph(f"{ctx.graph!r} is not an agent")
        try:
            outcome = await self.run(ctx, input={"input": request})
        finally:
            await self.delete_thread(ctx)
        return outcome.values["output"]

    # --- state ----------------------------------------------------------------------------

    async def state(self, ctx: RunContext, checkpoint_id: str | None = None) -> StateSnapshot:
        return await self.graph(ctx.graph or "").aget_state(
            self.config(ctx, checkpoint_id=checkpoint_id)
        )

    async def outcome(self, ctx: RunContext) -> Outcome:
        snapshot = await self.state(ctx)
        return Outcome(
            graph=ctx.graph or "",
            thread_id=ctx.thread_id or "",
            values=dict(snapshot.values or {}),
            next=list(snapshot.next),
            interrupts=[i.value for i in snapshot.interrupts],
        )

    async def history(
        self, ctx: RunContext, *, limit: int, before: str | None = None
    ) -> list[StateSnapshot]:
        before_config = {"configurable": {"checkpoint_id": before}} if before else None
        return [
            snap
            async for snap in self.graph(ctx.graph or "").aget_state_history(
                self.config(ctx), limit=limit, before=before_config
            )
        ]

    async def update_state(
        self,
        ctx: RunContext,
        values: Any,
        *,
        as_node: str | None = None,
        checkpoint_id: str | None = None,
    ) -> RunnableConfig:
        """Write ``values`` as if ``as_node`` had returned them; the new checkpoint's config."""
        graph = self.graph(ctx.graph or "")
        if as_node is not None and as_node not in graph.nodes:
            raise InvalidRunInput(
                f"graph {ctx.graph!r} has no node {as_node!r}; its nodes: "
                + ", ".join(n for n in graph.nodes if not n.startswith("__")),
                field="body.as_node",
            )
        try:
            return await graph.aupdate_state(
                self.config(ctx, checkpoint_id=checkpoint_id), values, as_node=as_node
            )
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise InvalidRunInput(f"cannot update the state: {exc}", field="body.values") from exc

    async def delete_thread(self, ctx: RunContext) -> None:
        """Every checkpoint of the run's thread."""
        await self.services.checkpointer.adelete_thread(
            ctx.thread_id or "", organization_id=str(ctx.org_id)
        )
