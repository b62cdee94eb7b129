"""A stateful stand-in for LangSmith's REST API: datasets, examples, projects (experiments),
runs and feedback, as the ``langsmith`` client calls them, each request recorded.

It keeps what it was sent, so a second sync sees the first one's datasets and examples.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fake_model_apis import serve_app
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

TENANT = "00000000-0000-4000-8000-000000000001"


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class LangSmithState:
    requests: list[dict[str, Any]] = field(default_factory=list)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    feedback: list[dict[str, Any]] = field(default_factory=list)

    def calls(self, method: str, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]


def build_app(state: LangSmithState) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        body = await request.body()
        state.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "api_key": request.headers.get("x-api-key"),
                "body": body,
            }
        )
        return await call_next(request)

    @app.get("/info")
    async def info() -> dict[str, Any]:
        # No multipart flags: the client then uses the JSON endpoints below.
        return {"version": "0.10.0", "instance_flags": {}, "batch_ingest_config": {}}

    @app.get("/datasets")
    async def list_datasets(request: Request) -> list[dict[str, Any]]:
        name = request.query_params.get("name")
        return [d for d in state.datasets.values() if name in (None, d["name"])]

    @app.post("/datasets")
    async def create_dataset(request: Request) -> Any:
        body = await request.json()
        if any(d["name"] == body["name"] for d in state.datasets.values()):
            return JSONResponse({"detail": "Dataset already exists"}, status_code=409)
        dataset = {
            "id": str(uuid.uuid4()),
            "name": body["name"],
            "description": body.get("description"),
            "data_type": body.get("data_type", "kv"),
            "created_at": _now(),
            "metadata": (body.get("extra") or {}).get("metadata"),
            "tenant_id": TENANT,
        }
        state.datasets[dataset["id"]] = dataset
        return dataset

    @app.get("/examples")
    async def list_examples(request: Request) -> list[dict[str, Any]]:
        dataset = request.query_params.get("dataset")
        offset = int(request.query_params.get("offset", 0))
        limit = int(request.query_params.get("limit", 100))
        found = [e for e in state.examples.values() if e["dataset_id"] == dataset]
        return found[offset : offset + limit]

    def _store_example(item: dict[str, Any]) -> dict[str, Any]:
        example_id = str(item.get("id") or uuid.uuid4())
        example = {
            "id": example_id,
            "dataset_id": str(item["dataset_id"]),
            "inputs": item.get("inputs"),
            "outputs": item.get("outputs"),
            "metadata": {**(item.get("metadata") or {}), "dataset_split": item.get("split")},
            "created_at": _now(),
        }
        state.examples[example_id] = example
        return example

    @app.post("/examples/bulk")
    async def create_examples(request: Request) -> Any:
        return [_store_example(item) for item in await request.json()]

    @app.patch("/examples/bulk")
    async def update_examples(request: Request) -> Any:
        items = await request.json()
        for item in items:
            current = state.examples[str(item["id"])]
            _store_example({"dataset_id": current["dataset_id"], **item})
        return {"count": len(items)}

    @app.post("/sessions")
    async def create_project(request: Request) -> Any:
        body = await request.json()
        project = {
            "id": body.get("id") or str(uuid.uuid4()),
            "name": body["name"],
            "description": body.get("description"),
            "extra": body.get("extra"),
            "reference_dataset_id": body.get("reference_dataset_id"),
            "start_time": _now(),
            "tenant_id": TENANT,
        }
        state.projects[project["id"]] = project
        return project

    @app.patch("/sessions/{project_id}")
    async def update_project(project_id: str, request: Request) -> Any:
        changes = {k: v for k, v in (await request.json()).items() if v is not None}
        state.projects[project_id].update(changes)
        return state.projects[project_id]

    @app.post("/runs")
    async def create_run(request: Request) -> Any:
        body = await request.json()
        state.runs[str(body["id"])] = body
        return JSONResponse({}, status_code=202)

    @app.post("/feedback")
    async def create_feedback(request: Request) -> Any:
        body = await request.json()
        state.feedback.append(body)
        return {**body, "id": body.get("id") or str(uuid.uuid4())}

    return app


@contextmanager
def serve_langsmith() -> Iterator[tuple[str, LangSmithState]]:
    """A running fake LangSmith on loopback: (API URL, its state)."""
    state = LangSmithState()
    with serve_app(build_app(state)) as url:
        yield url, state
