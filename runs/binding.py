"""A graph as a LangChain ``Runnable`` whose every call carries its run context, for LangServe.

LangServe hands a runnable nothing but the input and a config. The serving layer builds the
run's context from the authenticated principal with the engine and puts it into the config
under one private key (``with_context``); this binding takes it out again and gives it to the
graph as LangGraph's ``context``, so the graph runs exactly as the engine runs it elsewhere.
The key starts with ``__`` so LangGraph never copies it into checkpoint metadata.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableBinding, RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel

from graphs.inputs import INPUT_MODELS
from runs.engine import RunEngine, validate_input
from tools.context import RunContext

CONTEXT_KEY = "__chorus_context"


class MissingRunContext(RuntimeError):
    """A bound graph was called without the context the serving layer must put in."""


def with_context(engine: RunEngine, ctx: RunContext) -> RunnableConfig:
    """The engine's config for ``ctx``, carrying ``ctx`` for a ``ContextBoundGraph``."""
    config = engine.config(ctx)
    config["configurable"][CONTEXT_KEY] = ctx
    return config


class ContextBoundGraph(RunnableBinding):
    """``bound`` is a compiled graph; each call runs it with the context found in its config.

    Its published input schema is the graph's input contract (``graphs.inputs``), so LangServe
    refuses a bad input with a 422 before running anything; what LangServe hands on (the
    contract's model objects) is turned back into the plain values the graph's state holds."""

    def get_input_schema(self, config: RunnableConfig | None = None) -> type[BaseModel]:
        return INPUT_MODELS[self.bound.get_name()]

    def _input(self, input: Any) -> Any:
        if isinstance(input, BaseModel):
            input = input.model_dump(by_alias=True, exclude_unset=True)
        elif isinstance(input, dict):
            input = {
                k: v.model_dump(by_alias=True, exclude_unset=True)
                if isinstance(v, BaseModel) and not isinstance(v, BaseMessage)
                else v
                for k, v in input.items()
            }
        return validate_input(self.bound.get_name(), input)

    def _split(self, config: RunnableConfig | None, kwargs: dict[str, Any]) -> tuple[Any, Any]:
        merged = self._merge_configs(config)
        configurable = dict(merged.get("configurable") or {})
        ctx = configurable.pop(CONTEXT_KEY, None)
        if not isinstance(ctx, RunContext):
            raise MissingRunContext("a bound graph needs the run context in its config")
        return {**merged, "configurable": configurable}, {**self.kwargs, **kwargs, "context": ctx}

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        config, kwargs = self._split(config, kwargs)
        return await self.bound.ainvoke(self._input(input), config, **kwargs)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        config, kwargs = self._split(config, kwargs)
        async for chunk in self.bound.astream(self._input(input), config, **kwargs):
            yield chunk

    def astream_events(  # type: ignore[override]
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        config, kwargs = self._split(config, kwargs)
        return self.bound.astream_events(self._input(input), config, **kwargs)

    async def abatch(  # type: ignore[override]
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        # One context per input (each has its own thread), so each input is its own call.
        configs = config if isinstance(config, list) else [config] * len(inputs)
        return await asyncio.gather(
            *(self.ainvoke(i, c, **kwargs) for i, c in zip(inputs, configs, strict=True)),
            return_exceptions=return_exceptions,
        )


def bind(graph: CompiledStateGraph) -> ContextBoundGraph:
    return ContextBoundGraph(bound=graph, kwargs={}, config={})
