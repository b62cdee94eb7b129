"""With OpenAI or Anthropic, the content creator asks for its words in a pydantic contract
(``with_structured_output``) through the real clients, against local servers that speak their
wire formats; the local model keeps the text path. Either way the quality gate judges them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from agent_support import World, agent_world, config
from fake_model_apis import serve
from support import make_settings

from agents.content_creator import content_creator
from chorus.chat_models import ChatModels

pytestmark = pytest.mark.asyncio(loop_scope="module")

BRIEF = "Announce our Ethiopia cold brew"
WORDS = {
    "text": "Our Ethiopia cold brew is here: bright, fruity and smooth.",
    "hashtags": ["#EthiopiaColdBrew"],
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with agent_world(tmp_path_factory.mktemp("structured") / "data") as w:
        yield w


def _models(monkeypatch: pytest.MonkeyPatch, world: World, tmp: Any, **settings: Any) -> None:
    models = ChatModels(make_settings(tmp, model=None, **settings))
    monkeypatch.setattr(world.runtime.chat_models, "get", lambda *a, **kw: models.get(**kw))


async def test_openai_answers_in_the_contract(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    with serve("Unused text reply.", structured=WORDS) as (base, requests):
        _models(
            monkeypatch, world, tmp_path, openai_api_key="sk-test", openai_base_url=f"{base}/v1"
        )
        draft = await content_creator.call(
            {"brief": BRIEF, "platform": "instagram"},
            config(world, world.b, model="openai:gpt-4o-mini"),
        )
    chat = [r for r in requests if r["path"] == "chat"]
    assert len(chat) == 1
    # The contract went out as a JSON schema or a forced tool, and its answer was used.
    assert chat[0].get("response_format") or chat[0].get("tools")
    assert draft.text.startswith(WORDS["text"])
    assert "#EthiopiaColdBrew" in draft.hashtags
    assert draft.source == "model"


async def test_anthropic_answers_in_the_contract(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    with serve("Unused text reply.", structured=WORDS) as (base, requests):
        _models(monkeypatch, world, tmp_path, anthropic_api_key="ak-test", anthropic_base_url=base)
        draft = await content_creator.call(
            {"brief": BRIEF, "platform": "instagram"},
            config(world, world.b, model="anthropic:claude-3-5-haiku-latest"),
        )
    [sent] = [r for r in requests if r["path"] == "messages"]
    assert sent["tools"][0]["name"] == "PostWords"
    assert draft.text.startswith(WORDS["text"])
    assert draft.source == "model"


async def test_a_contract_answer_still_meets_the_quality_gate(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    bad = {"text": "Dear friends, I am writing to tell you about a culinary dream.", "hashtags": []}
    with serve("Unused.", structured=bad) as (base, requests):
        _models(
            monkeypatch, world, tmp_path, openai_api_key="sk-test", openai_base_url=f"{base}/v1"
        )
        draft = await content_creator.call(
            {"brief": BRIEF, "platform": "instagram"},
            config(world, world.b, model="openai:gpt-4o-mini"),
        )
    assert len([r for r in requests if r["path"] == "chat"]) == 2  # regenerated once
    assert draft.source == "composed"
    assert "Dear friends" not in draft.text
