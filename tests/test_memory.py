"""Per-tenant memory on Chroma: embedded (PersistentClient) and a real `chroma run` server."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path

import chromadb
import numpy as np
import pytest
from bson import ObjectId
from chroma_server import chroma_executable, running_chroma_server
from langchain_core.embeddings import Embeddings

from memory import (
    InvalidMetadata,
    MemoryKind,
    MemoryNotFound,
    TenantMemory,
    collection_name,
    validate_org_id,
)
from memory.chroma import TOKEN_HEADER, http_client, parse_server_url, persistent_client
from memory.embeddings import (
    LOCAL_EMBEDDING_DIM,
    LocalModelsMissing,
    SentenceTransformerEmbeddings,
    local_embeddings,
)
from memory.store import flatten_metadata

REPO = Path(__file__).resolve().parents[1]

BAD_ORG_IDS = [
    "",
    "abc",
    "0" * 23,
    "0" * 25,
    "g" * 24,
    "../" + "0" * 21,
    "0" * 24 + "\n",
    "t_" + "0" * 22,
    "0" * 12 + "_brand_voice",
    " " + "0" * 23,
    None,
    123,
    b"0" * 24,
]


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def embeddings() -> Embeddings:
    """The real packaged model, loaded once per session."""
    try:
        return local_embeddings()
    except LocalModelsMissing as exc:
        pytest.skip(f"local embedding model unavailable: {exc}")


@pytest.fixture(scope="session")
def chroma_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = chroma_executable()
    if exe is None:
        pytest.skip("the `chroma` CLI (installed by chromadb) is not on this environment's PATH")
    with running_chroma_server(exe, tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(
    params=["persistent", pytest.param("server", marks=pytest.mark.chroma_server)],
)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> chromadb.ClientAPI:
    if request.param == "persistent":
        return persistent_client(tmp_path / "chroma")
    return http_client(request.getfixturevalue("chroma_server_url"))


@pytest.fixture
def store(client: chromadb.ClientAPI, embeddings: Embeddings) -> TenantMemory:
    return TenantMemory(client, embeddings)


# Fresh tenants per test: the server backend is shared by the whole session.
@pytest.fixture
def org_a() -> str:
    return str(ObjectId())


@pytest.fixture
def org_b() -> str:
    return str(ObjectId())


def collection_names(client: chromadb.ClientAPI) -> set[str]:
    return {c.name for c in client.list_collections()}


# --- kinds, ids, metadata (no Chroma) ----------------------------------------------------


def test_seven_kinds_with_descriptions() -> None:
    assert [k.value for k in MemoryKind] == [
        "user_preferences",
        "content_history",
        "engagement_patterns",
        "trend_analysis",
        "competitor_insights",
        "brand_voice",
        "crisis_patterns",
    ]
    assert MemoryKind.BRAND_VOICE.description == "Brand voice patterns and style guidelines"
    assert all(k.description and k.metadata_fields for k in MemoryKind)
    assert MemoryKind.parse("crisis_patterns") is MemoryKind.CRISIS_PATTERNS
    with pytest.raises(ValueError, match=r"unknown memory kind 'brand'.*brand_voice"):
        MemoryKind.parse("brand")


def test_collection_names_are_deterministic_and_normalized() -> None:
    oid = ObjectId()
    name = collection_name(str(oid), MemoryKind.BRAND_VOICE)
    assert name == f"t_{oid}_brand_voice"
    assert collection_name(oid, "brand_voice") == name
    assert collection_name(str(oid).upper(), "brand_voice") == name
    assert validate_org_id(str(oid).upper()) == str(oid)


@pytest.mark.parametrize("bad", BAD_ORG_IDS, ids=repr)
def test_invalid_org_ids_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="24-character hex"):
        validate_org_id(bad)
    with pytest.raises(ValueError, match="24-character hex"):
        collection_name(bad, "brand_voice")


class Tone(StrEnum):
    PLAYFUL = "playful"


def test_flatten_metadata() -> None:
    when = datetime(2025, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    flat = flatten_metadata(
        {
            "platform": "instagram",
            "score": 0.7,
            "count": 3,
            "viral": True,
            "tone": Tone.PLAYFUL,
            "seen_at": when,
            "examples": ("so fun! 🎉", "yay"),
            "mixed_numbers": [1, 2.5],
            "np_float": np.float32(0.5),
            "np_int": np.int64(7),
            "np_bool": np.bool_(True),
            "audience": {"segment": "gen-z", "size": {"min": 18}},
            "dropped": None,
            "empty": [],
        }
    )
    assert flat == {
        "platform": "instagram",
        "score": 0.7,
        "count": 3,
        "viral": True,
        "tone": "playful",
        "seen_at": "2025-03-01T10:00:00+00:00",
        "examples": ["so fun! 🎉", "yay"],
        "mixed_numbers": [1.0, 2.5],
        "np_float": 0.5,
        "np_int": 7,
        "np_bool": True,
        "audience.segment": "gen-z",
        "audience.size.min": 18,
    }
    assert flatten_metadata({"gone": None}, keep_none=True) == {"gone": None}


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"obj": object()}, "'obj': object is not supported"),
        ({"nan": math.nan}, "'nan': nan is not a finite number"),
        ({"mixed": ["a", 1]}, "'mixed': list mixes types"),
        ({"holes": ["a", None]}, "'holes': lists may not contain None"),
        ({"nested": [["a"]]}, "'nested': list is not supported"),
        ({"$where": 1}, "may not start with # or \\$"),
        ({"#document": "x"}, "may not start with #"),
        ({1: "x"}, "keys must be non-empty strings"),
        ("not a mapping", "metadata must be a mapping"),
    ],
)
def test_flatten_metadata_rejects(metadata: object, message: str) -> None:
    with pytest.raises(InvalidMetadata, match=message):
        flatten_metadata(metadata)  # type: ignore[arg-type]


def test_parse_server_url() -> None:
    assert parse_server_url("http://chroma:8000") == ("chroma", 8000, False)
    assert parse_server_url("https://chroma.example.com") == ("chroma.example.com", 443, True)
    assert parse_server_url("http://127.0.0.1/") == ("127.0.0.1", 80, False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("chroma:8000", "must start with http"),
        ("ftp://x", "must start with http"),
        ("http://", "no host"),
        ("http://x/prefix", "without a path"),
        ("http://u:p@x:1", "not as URL credentials"),
        ("http://x:99999", "invalid port"),
    ],
)
def test_parse_server_url_rejects(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_server_url(url)


def test_persistent_client_telemetry_off(tmp_path: Path) -> None:
    client = persistent_client(tmp_path / "nested" / "chroma")
    assert client.get_settings().anonymized_telemetry is False
    assert (tmp_path / "nested" / "chroma").is_dir()


def test_imports_stay_light() -> None:
    """Importing memory must not pull torch or sentence-transformers (lazy, in the function)."""
    code = (
        "import sys, memory, memory.store, memory.embeddings, memory.chroma\n"
        "heavy = {'torch', 'sentence_transformers', 'transformers', 'langchain_huggingface'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- the store, on both backends ---------------------------------------------------------


async def test_add_get_update_delete_count(store: TenantMemory, org_a: str) -> None:
    kind = MemoryKind.CONTENT_HISTORY
    assert await store.count(org_a, kind) == 0
    mid = await store.add(
        org_a,
        kind,
        "Carousel of behind-the-scenes photos got 3x the usual saves",
        metadata={"platform": "instagram", "engagement_score": 0.91, "content_type": "carousel"},
    )
    assert len(mid) == 32
    assert await store.count(org_a, kind) == 1
    assert await store.count(org_a, MemoryKind.BRAND_VOICE) == 0

    hit = await store.get(org_a, kind, mid)
    assert hit is not None
    assert hit.id == mid
    assert hit.kind is kind
    assert hit.text.startswith("Carousel")
    assert hit.metadata["organization_id"] == org_a
    assert hit.metadata["platform"] == "instagram"
    assert hit.metadata["engagement_score"] == pytest.approx(0.91)
    assert hit.metadata["created_at"] == hit.metadata["updated_at"]
    assert hit.score is None
    assert await store.get(org_a, kind, "no-such-id") is None

    updated = await store.update(
        org_a,
        kind,
        mid,
        metadata={"engagement_score": 0.95, "content_type": None, "reviewed": True},
    )
    again = await store.get(org_a, kind, mid)
    assert again is not None
    assert again.text == hit.text
    assert again.metadata == updated.metadata
    assert again.metadata["engagement_score"] == pytest.approx(0.95)
    assert again.metadata["reviewed"] is True
    assert "content_type" not in again.metadata
    assert again.metadata["created_at"] == hit.metadata["created_at"]
    assert again.metadata["updated_at"] >= hit.metadata["updated_at"]
    assert again.metadata["organization_id"] == org_a

    with pytest.raises(MemoryNotFound):
        await store.update(org_a, kind, "no-such-id", text="x")
    with pytest.raises(MemoryNotFound):  # kind never written: no collection at all
        await store.update(org_a, MemoryKind.TREND_ANALYSIS, mid, text="x")

    assert await store.delete(org_a, kind, mid) is True
    assert await store.delete(org_a, kind, mid) is False
    assert await store.get(org_a, kind, mid) is None
    assert await store.count(org_a, kind) == 0


async def test_add_with_explicit_id_replaces(store: TenantMemory, org_a: str) -> None:
    kind = MemoryKind.USER_PREFERENCES
    assert await store.add(org_a, kind, "Prefers morning posts", memory_id="pref-1") == "pref-1"
    await store.add(org_a, kind, "Prefers evening posts", {"confidence": 0.8}, memory_id="pref-1")
    assert await store.count(org_a, kind) == 1
    hit = await store.get(org_a, kind, "pref-1")
    assert hit is not None
    assert hit.text == "Prefers evening posts"
    assert hit.metadata["confidence"] == pytest.approx(0.8)


async def test_semantic_search_ranks_relevant_first(store: TenantMemory, org_a: str) -> None:
    kind = MemoryKind.BRAND_VOICE
    playful = await store.add(
        org_a,
        kind,
        "Our voice is playful, upbeat and emoji-friendly 🎉 — we joke with our followers.",
        {"voice_attribute": "playful", "examples": ["Happy Friyay! 🥳", "Snack o'clock 🍪"]},
    )
    formal = await store.add(
        org_a,
        kind,
        "Formal legal tone: precise, conservative wording reviewed by counsel, no slang.",
        {"voice_attribute": "formal"},
    )
    await store.add(org_a, kind, "Post at 9am on weekdays for the best reach on LinkedIn.")

    hits = await store.search(org_a, kind, "fun, cheerful captions with lots of emojis", k=3)
    assert hits[0].id == playful
    assert hits[0].score > hits[1].score
    assert hits[0].metadata["examples"] == ["Happy Friyay! 🥳", "Snack o'clock 🍪"]
    assert all(0.0 <= h.score <= 1.0 for h in hits if h.score is not None)
    assert hits == sorted(hits, key=lambda h: h.distance or 0.0)
    assert hits[0].score == pytest.approx(1 - hits[0].distance)

    hits = await store.search(org_a, kind, "compliance-approved wording for lawyers", k=1)
    assert [h.id for h in hits] == [formal]

    exact = await store.search(org_a, kind, (await store.get(org_a, kind, formal)).text, k=1)
    assert exact[0].id == formal
    assert exact[0].score == pytest.approx(1.0, abs=1e-3)


async def test_search_with_metadata_filter(store: TenantMemory, org_a: str) -> None:
    kind = MemoryKind.CONTENT_HISTORY
    ig = await store.add(org_a, kind, "Reel about our new sneakers", {"platform": "instagram"})
    tw = await store.add(
        org_a, kind, "Thread about our new sneakers", {"platform": "x", "engagement_score": 0.9}
    )
    low = await store.add(
        org_a, kind, "Poll about sneakers colors", {"platform": "x", "engagement_score": 0.2}
    )

    hits = await store.search(org_a, kind, "sneakers", k=10, where={"platform": "instagram"})
    assert [h.id for h in hits] == [ig]

    hits = await store.search(
        org_a, kind, "sneakers", k=10, where={"engagement_score": {"$gte": 0.5}}
    )
    assert [h.id for h in hits] == [tw]

    hits = await store.search(
        org_a,
        kind,
        "sneakers",
        k=10,
        where={"$or": [{"platform": "instagram"}, {"engagement_score": {"$lt": 0.5}}]},
    )
    assert {h.id for h in hits} == {ig, low}

    hits = await store.search(
        org_a, kind, "sneakers", k=10, where={"platform": "x", "engagement_score": {"$lt": 0.5}}
    )
    assert [h.id for h in hits] == [low]  # several keys: all must hold

    assert await store.search(org_a, kind, "sneakers", where={"platform": "tiktok"}) == []
    with pytest.raises(ValueError, match=r"where operator.*\$bogus"):
        await store.search(org_a, kind, "sneakers", where={"platform": {"$bogus": 1}})
    assert len(await store.search(org_a, kind, "sneakers", k=2, where={})) == 2


async def test_search_unknown_kind_returns_empty_without_creating(
    store: TenantMemory, client: chromadb.ClientAPI, org_a: str
) -> None:
    kind = MemoryKind.COMPETITOR_INSIGHTS
    assert await store.search(org_a, kind, "anything") == []
    assert await store.get(org_a, kind, "x") is None
    assert await store.delete(org_a, kind, "x") is False
    assert await store.count(org_a, kind) == 0
    assert collection_name(org_a, kind) not in collection_names(client)


async def test_tenant_cannot_find_another_tenants_memory(
    store: TenantMemory, client: chromadb.ClientAPI, org_a: str, org_b: str
) -> None:
    kind = MemoryKind.CRISIS_PATTERNS
    secret = "Recall of batch 42 handled by pausing all ads and a CEO video apology"
    a_id = await store.add(org_a, kind, secret, {"crisis_type": "product_recall"})

    # B has no collection of this kind yet: nothing, and nothing created.
    assert await store.search(org_b, kind, secret) == []
    assert collection_name(org_b, kind) not in collection_names(client)

    await store.add(org_b, kind, "Shipping delays: post daily status updates", {"severity": 2})
    for where in (
        None,
        {"organization_id": org_a},
        {"$or": [{"organization_id": org_a}, {"organization_id": org_b}]},
        {"crisis_type": "product_recall"},
    ):
        hits = await store.search(org_b, kind, secret, k=10, where=where)
        assert a_id not in {h.id for h in hits}
        assert secret not in {h.text for h in hits}
        assert all(h.metadata["organization_id"] == org_b for h in hits)

    # A still finds its own memory, first.
    assert (await store.search(org_a, kind, secret, k=1))[0].id == a_id


async def test_tenant_cannot_touch_another_tenants_ids(
    store: TenantMemory, org_a: str, org_b: str
) -> None:
    kind = MemoryKind.ENGAGEMENT_PATTERNS
    a_id = await store.add(org_a, kind, "Tuesday 7pm is peak for the gen-z segment")
    await store.add(org_b, kind, "B's own pattern")

    assert await store.get(org_b, kind, a_id) is None
    with pytest.raises(MemoryNotFound):
        await store.update(org_b, kind, a_id, text="hijacked", metadata={"x": 1})
    assert await store.delete(org_b, kind, a_id) is False

    hit = await store.get(org_a, kind, a_id)
    assert hit is not None
    assert hit.text == "Tuesday 7pm is peak for the gen-z segment"
    assert "x" not in hit.metadata
    assert await store.count(org_a, kind) == 1
    assert await store.count(org_b, kind) == 1


async def test_metadata_tenant_stamp_cannot_be_forged(
    store: TenantMemory, org_a: str, org_b: str
) -> None:
    kind = MemoryKind.USER_PREFERENCES
    with pytest.raises(ValueError, match="does not match the tenant"):
        await store.add(org_a, kind, "x", {"organization_id": org_b})
    with pytest.raises(InvalidMetadata, match="set by the store"):
        await store.add(org_a, kind, "x", {"created_at": "2020-01-01"})
    mid = await store.add(org_a, kind, "Likes short captions", {"organization_id": org_a})
    with pytest.raises(ValueError, match="does not match the tenant"):
        await store.update(org_a, kind, mid, metadata={"organization_id": org_b})
    with pytest.raises(InvalidMetadata):
        await store.add(org_a, kind, "x", {"bad": object()})
    assert await store.count(org_a, kind) == 1  # no partial write


@pytest.mark.parametrize("bad", [b for b in BAD_ORG_IDS if b is not None][:6], ids=repr)
async def test_store_rejects_invalid_org_ids(store: TenantMemory, bad: object) -> None:
    kind = MemoryKind.BRAND_VOICE
    calls = [
        store.add(bad, kind, "x"),
        store.search(bad, kind, "x"),
        store.get(bad, kind, "x"),
        store.update(bad, kind, "x", text="y"),
        store.delete(bad, kind, "x"),
        store.count(bad, kind),
        store.stats(bad),
        store.delete_tenant(bad),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="24-character hex"):
            await call


async def test_bad_arguments(store: TenantMemory, org_a: str) -> None:
    with pytest.raises(ValueError, match="unknown memory kind"):
        await store.add(org_a, "memes", "x")
    with pytest.raises(ValueError, match="non-empty"):
        await store.add(org_a, MemoryKind.BRAND_VOICE, "   ")
    with pytest.raises(ValueError, match="non-empty"):
        await store.search(org_a, MemoryKind.BRAND_VOICE, "")
    with pytest.raises(ValueError, match="positive integer"):
        await store.search(org_a, MemoryKind.BRAND_VOICE, "x", k=0)
    with pytest.raises(ValueError, match="memory id"):
        await store.get(org_a, MemoryKind.BRAND_VOICE, "")


async def test_update_text_reembeds(store: TenantMemory, org_a: str) -> None:
    kind = MemoryKind.TREND_ANALYSIS
    mid = await store.add(org_a, kind, "Cat videos with captions trend on weekends")
    other = await store.add(org_a, kind, "Sourdough baking tutorials are rising")
    query = "rocket launch livestreams"
    assert (await store.search(org_a, kind, query, k=1))[0].score < 0.5

    await store.update(org_a, kind, mid, text="Rocket launch livestreams are going viral")
    hits = await store.search(org_a, kind, query, k=2)
    assert hits[0].id == mid
    assert hits[0].text == "Rocket launch livestreams are going viral"
    assert hits[0].score > 0.7
    assert hits[1].id == other


async def test_stats_and_delete_tenant(
    store: TenantMemory, client: chromadb.ClientAPI, org_a: str, org_b: str
) -> None:
    for i, kind in enumerate(MemoryKind):
        for j in range(i + 1):
            await store.add(org_a, kind, f"A memory {j} of {kind.value}")
    await store.add(org_b, MemoryKind.BRAND_VOICE, "B's brand voice")
    await store.add(org_b, MemoryKind.CRISIS_PATTERNS, "B's crisis playbook")

    stats = await store.stats(org_a)
    assert stats == {kind: i + 1 for i, kind in enumerate(MemoryKind)}
    assert sum(stats.values()) == 28

    assert await store.delete_tenant(org_a) == 28
    assert await store.stats(org_a) == dict.fromkeys(MemoryKind, 0)
    names = collection_names(client)
    assert not any(name.startswith(f"t_{org_a}_") for name in names)
    assert collection_name(org_b, MemoryKind.BRAND_VOICE) in names
    assert await store.search(org_a, MemoryKind.BRAND_VOICE, "A memory 0 of brand_voice") == []

    stats_b = await store.stats(org_b)
    assert stats_b[MemoryKind.BRAND_VOICE] == 1
    assert stats_b[MemoryKind.CRISIS_PATTERNS] == 1
    assert sum(stats_b.values()) == 2
    assert (await store.search(org_b, MemoryKind.BRAND_VOICE, "voice"))[0].text == "B's brand voice"

    assert await store.delete_tenant(org_a) == 0
    # The tenant can start over; the evicted cache entries are recreated.
    await store.add(org_a, MemoryKind.BRAND_VOICE, "Fresh start")
    assert await store.count(org_a, MemoryKind.BRAND_VOICE) == 1


async def test_stale_cache_after_delete_elsewhere(
    client: chromadb.ClientAPI, embeddings: Embeddings, org_a: str
) -> None:
    """Two workers share one Chroma; one erases the tenant while the other holds a cache."""
    worker1 = TenantMemory(client, embeddings)
    worker2 = TenantMemory(client, embeddings)
    kind = MemoryKind.CONTENT_HISTORY
    mid = await worker1.add(org_a, kind, "cached collection")
    assert await worker1.count(org_a, kind) == 1

    assert await worker2.delete_tenant(org_a) == 1

    assert await worker1.count(org_a, kind) == 0
    assert await worker1.get(org_a, kind, mid) is None
    assert await worker1.search(org_a, kind, "cached") == []
    await worker1.add(org_a, kind, "after erase")
    assert await worker2.count(org_a, kind) == 1


async def test_concurrent_adds(store: TenantMemory, org_a: str, org_b: str) -> None:
    kind = MemoryKind.CONTENT_HISTORY
    ids = await asyncio.gather(
        *(store.add(org, kind, f"post {i} of {org}") for i in range(10) for org in (org_a, org_b))
    )
    assert len(set(ids)) == 20
    assert await store.count(org_a, kind) == 10
    assert await store.count(org_b, kind) == 10


@pytest.mark.chroma_server
def test_http_client_sends_token_and_keeps_telemetry_off(chroma_server_url: str) -> None:
    client = http_client(chroma_server_url, token="s3cr3t-token")
    assert client.get_settings().anonymized_telemetry is False
    # The server started by the tests has no auth configured, so it ignores the header; what
    # matters here is that the client puts it on every request.
    assert _request_headers(client)[TOKEN_HEADER.lower()] == "s3cr3t-token"
    assert client.heartbeat() > 0
    assert TOKEN_HEADER.lower() not in _request_headers(http_client(chroma_server_url))


def _request_headers(client: chromadb.ClientAPI) -> dict[str, str]:
    # The HTTP layer's session headers (httpx lower-cases names when they are copied out).
    headers = client._server.get_request_headers()  # type: ignore[attr-defined]
    return {name.lower(): value for name, value in headers.items()}


# --- the local embedding model -----------------------------------------------------------


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.local_models
def test_local_embeddings_offline_normalized_and_semantic(embeddings: Embeddings) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert local_embeddings() is embeddings  # cached per process
    docs = embeddings.embed_documents(
        [
            "The cat sat on the mat.",
            "A kitten is resting on a rug.",
            "Quarterly revenue grew 12% thanks to enterprise sales.",
        ]
    )
    query = embeddings.embed_query("A small cat lying on a carpet")
    for vector in [*docs, query]:
        assert len(vector) == LOCAL_EMBEDDING_DIM
        assert math.sqrt(sum(x * x for x in vector)) == pytest.approx(1.0, abs=1e-4)
    assert _cosine(docs[0], docs[1]) > _cosine(docs[0], docs[2]) + 0.3
    assert _cosine(query, docs[1]) > _cosine(query, docs[2]) + 0.3


@pytest.mark.local_models
def test_local_embeddings_load_without_network(tmp_path: Path, embeddings: Embeddings) -> None:
    """A fresh process, empty HF cache, unreachable proxy: the packaged model still loads."""
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("TRANSFORMERS_OFFLINE", None)
    code = (
        "import os\n"
        "from memory.embeddings import local_embeddings\n"
        "v = local_embeddings().embed_query('hello world')\n"
        "print(len(v), os.environ['HF_HUB_OFFLINE'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [str(LOCAL_EMBEDDING_DIM), "1"]
    assert not (tmp_path / "hf" / "hub").exists()  # nothing was fetched into a cache


@pytest.mark.local_models
def test_fallback_embeddings_match_langchain_huggingface(embeddings: Embeddings) -> None:
    """Without langchain-huggingface the small wrapper gives the same vectors."""
    from memory.embeddings import _model_path

    sentence_transformers = pytest.importorskip("sentence_transformers")
    fallback = SentenceTransformerEmbeddings(
        sentence_transformers.SentenceTransformer(_model_path(), device="cpu")
    )
    text = "Brand voice: warm,\nwitty and concise"
    for got, want in (
        (fallback.embed_query(text), embeddings.embed_query(text)),
        (fallback.embed_documents([text])[0], embeddings.embed_documents([text])[0]),
    ):
        assert len(got) == LOCAL_EMBEDDING_DIM
        assert got == pytest.approx(want, abs=1e-5)
