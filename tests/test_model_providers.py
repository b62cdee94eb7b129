"""The OpenAI and Anthropic forms: the real clients, at a configured base URL, against local
servers that speak those APIs' wire formats."""

from __future__ import annotations

from pathlib import Path

from fake_model_apis import serve
from support import make_settings

from chorus.chat_models import ChatModels
from memory.embeddings import openai_embeddings


async def test_openai_chat_model_answers_and_streams_with_usage(tmp_path: Path) -> None:
    with serve("Cold brew season is here.") as (base, requests):
        models = ChatModels(
            make_settings(
                tmp_path, model=None, openai_api_key="sk-test", openai_base_url=f"{base}/v1"
            )
        )
        assert models.default == "openai:gpt-4o-mini"
        model = models.get(temperature=0.2, max_tokens=50)
        reply = await model.ainvoke("Write a teaser")
        assert reply.content == "Cold brew season is here."
        assert reply.usage_metadata is not None
        assert reply.usage_metadata["input_tokens"] == 11
        assert requests[0]["model"] == "gpt-4o-mini"
        assert requests[0]["auth"] == "Bearer sk-test"
        assert requests[0]["temperature"] == 0.2

        chunks = [c async for c in model.astream("Again")]
        assert "".join(str(c.content) for c in chunks) == "Cold brew season is here."
        total = chunks[0]
        for chunk in chunks[1:]:
            total = total + chunk
        assert total.usage_metadata is not None
        assert total.usage_metadata["output_tokens"] == 5


async def test_anthropic_chat_model_answers_with_usage(tmp_path: Path) -> None:
    with serve("Hello from Claude.") as (base, requests):
        models = ChatModels(
            make_settings(
                tmp_path, model=None, anthropic_api_key="ak-test", anthropic_base_url=base
            )
        )
        assert models.default is not None
        assert models.default.startswith("anthropic:")
        reply = await models.get(max_tokens=64).ainvoke("Say hello")
        assert reply.content == "Hello from Claude."
        assert reply.usage_metadata is not None
        assert reply.usage_metadata["input_tokens"] == 13
        # The SDK sends the key as x-api-key or as a bearer token, depending on its version.
        assert "ak-test" in (
            requests[0]["key"],
            (requests[0]["auth"] or "").removeprefix("Bearer "),
        )
        assert requests[0]["max_tokens"] == 64


def test_openai_embeddings_through_the_real_client() -> None:
    with serve() as (base, requests):
        embeddings = openai_embeddings("sk-test", "text-embedding-3-small", f"{base}/v1")
        vectors = embeddings.embed_documents(["one", "two"])
        assert len(vectors) == 2
        assert vectors[0] != vectors[1]
        assert requests[-1]["model"] == "text-embedding-3-small"
