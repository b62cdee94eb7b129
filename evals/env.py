"""The world an eval runs in: a throwaway embedded runtime, fixture organizations built on
demand, and run configs that pin the model, the clock and the sampling.

Evals never touch the configured database, Redis or Chroma server: fixture data is built by
code into an embedded store under a temporary directory. The chat model (and judge) come from
the caller's settings, so ``--model openai:gpt-4o-mini`` uses the real API key and base URL.
"""

from __future__ import annotations

import asyncio
import importlib
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bson import ObjectId
from langchain_core.language_models import BaseChatModel

from chorus.runtime import Runtime
from chorus.settings import Settings
from evals.cases import Case
from runs.engine import RunEngine
from tools.context import RunContext

# Production forms of the stores; an eval builds its own data, so they stay off.
_STORES_OFF: dict[str, Any] = {
    "mongodb_uri": None,
    "redis_url": None,
    "chroma_url": None,
    "s3_bucket": None,
    "ses_sender": None,
}


@dataclass(frozen=True)
class FixtureOrg:
    """A built fixture organization and the "now" its data was built around."""

    name: str
    org_id: ObjectId
    now: datetime


class GreedyChatModels:
    """The runtime's chat models with sampling pinned to temperature 0, so a rerun of the
    same model on the same cases gives the same answers and the gate compares like with like."""

    def __init__(self, models: Any) -> None:
        self._models = models

    @property
    def default(self) -> str | None:
        return self._models.default

    def get(
        self, spec: str | None = None, *, temperature: float = 0.0, max_tokens: int = 800
    ) -> BaseChatModel:
        return self._models.get(spec, temperature=0.0, max_tokens=max_tokens)


class EvalServices:
    """The runtime as tools and agents see it, with greedy chat models."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.chat_models = GreedyChatModels(runtime.chat_models)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)


class EvalEnv:
    def __init__(self, runtime: Runtime, model: str | None) -> None:
        self.runtime = runtime
        self.services = EvalServices(runtime)
        # Graph runs of the eval (content_creation) see the same greedy services.
        self.engine = RunEngine(self.services)  # type: ignore[arg-type]
        self.model = model or runtime.chat_models.default
        self._fixtures: dict[str, asyncio.Task[FixtureOrg]] = {}

    async def fixture(self, name: str) -> FixtureOrg:
        """The named fixture organization, built once per eval run (concurrent cases wait
        for the one build)."""
        if name not in self._fixtures:
            self._fixtures[name] = asyncio.ensure_future(self._build(name))
        return await self._fixtures[name]

    async def _build(self, name: str) -> FixtureOrg:
        try:
            module = importlib.import_module(f"evals.fixtures.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"evals.fixtures.{name}":
                raise
            raise LookupError(
                f"no fixture organization {name!r} (evals/fixtures/{name}.py)"
            ) from exc
        org_id = await module.build(self.runtime)
        return FixtureOrg(name=name, org_id=org_id, now=module.NOW)

    async def org(self, case: Case) -> FixtureOrg:
        return await self.fixture(case.fixture)

    async def context(
        self, case: Case, *, graph: str = "eval", thread_id: str | None = None
    ) -> RunContext:
        """A run context for ``case``: its fixture's tenant and clock, the eval's model."""
        fixture = await self.org(case)
        return RunContext(
            org_id=fixture.org_id,
            services=self.services,  # type: ignore[arg-type]
            graph=graph,
            thread_id=thread_id or f"eval-{case.id}-{ObjectId()}",
            model=self.model,
            now=fixture.now,
        )


def eval_settings(model: str | None, data_dir: Path, base: Settings | None = None) -> Settings:
    """The caller's settings (model keys, base URLs, LangSmith) with embedded stores in
    ``data_dir``."""
    base = base or Settings()
    overrides: dict[str, Any] = {**_STORES_OFF, "data_dir": data_dir}
    if model:
        overrides["model"] = model
    return base.model_copy(update=overrides)


@asynccontextmanager
async def eval_env(
    model: str | None = None,
    *,
    settings: Settings | None = None,
    data_dir: Path | None = None,
) -> AsyncIterator[EvalEnv]:
    """An ``EvalEnv`` on a fresh embedded runtime, removed afterwards unless ``data_dir``
    was given."""
    with tempfile.TemporaryDirectory(prefix="chorus-eval-") as scratch:
        directory = data_dir or Path(scratch)
        runtime = await Runtime.open(eval_settings(model, directory, settings))
        try:
            yield EvalEnv(runtime, model)
        finally:
            await runtime.close()
