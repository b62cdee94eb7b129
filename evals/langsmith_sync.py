"""Datasets and runs to LangSmith, so prompt engineers compare experiments there.

When a LangSmith API key is configured, each dataset that ran is upserted as the LangSmith
dataset ``chorus/<name>@v<version>`` (one example per case, with a stable id derived from the
case id, the case id and tags in metadata, the split as LangSmith's split), and each suite's
run becomes an experiment: a project linked to that dataset, one run per case linked to its
example, one feedback per case per metric, and the aggregate metrics as project feedback.
Offline (no key) nothing is sent. A LangSmith failure is reported, never fails the eval.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from langsmith import Client
from langsmith.utils import LangSmithNotFoundError

from chorus.settings import Settings, secret
from evals.cases import Case, Dataset
from evals.runner import EvalRun, SuiteRun

# Example ids are derived from the dataset and case, so a re-sync updates rather than duplicates.
_NAMESPACE = uuid.UUID("6f1c3c1e-4d0b-4c43-9a55-0c6b7f3d2e11")


def dataset_name(dataset: Dataset) -> str:
    return f"chorus/{dataset.name}@v{dataset.version}"


def example_id(dataset: Dataset, case: Case) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{dataset_name(dataset)}/{case.id}")


def client_for(settings: Settings) -> Client | None:
    """A LangSmith client for the settings, or ``None`` when no key is configured."""
    key = secret(settings.langsmith_api_key)
    if not key:
        return None
    # Runs are sent one request each, not through the background batcher, so every request
    # has been answered when the sync returns.
    return Client(api_url=settings.langsmith_endpoint, api_key=key, auto_batch_tracing=False)


@dataclass(frozen=True)
class SyncedDataset:
    id: uuid.UUID
    name: str
    created: int
    updated: int


def _example(dataset: Dataset, case: Case) -> dict[str, Any]:
    return {
        "id": example_id(dataset, case),
        "inputs": case.inputs,
        "reference_outputs": {"expect": case.expect},
        "metadata": {
            "case_id": case.id,
            "fixture": case.fixture,
            "tags": case.tags,
            "data": case.data,
            "note": case.note,
            "chorus_dataset": dataset.name,
            "dataset_version": dataset.version,
        },
        "split": case.split,
    }


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def sync_dataset(client: Client, dataset: Dataset) -> SyncedDataset:
    """Creates the LangSmith dataset if missing and upserts one example per case."""
    name = dataset_name(dataset)
    try:
        remote = client.read_dataset(dataset_name=name)
    except LangSmithNotFoundError:
        remote = client.create_dataset(
            name,
            description=f"Chorus eval dataset {dataset.name}, version {dataset.version}",
            metadata={"chorus_dataset": dataset.name, "version": dataset.version},
        )
    existing = {str(e.id): e for e in client.list_examples(dataset_id=remote.id)}
    wanted = [_example(dataset, case) for case in dataset.cases]
    creates = [w for w in wanted if str(w["id"]) not in existing]
    updates = []
    for w in wanted:
        current = existing.get(str(w["id"]))
        if current is None:
            continue
        # LangSmith keeps the split in metadata (``dataset_split``, a list); compare only
        # what we send.
        metadata = current.metadata or {}
        current_meta = {k: metadata.get(k) for k in w["metadata"]}
        split = metadata.get("dataset_split")
        current_split = [split] if isinstance(split, str) else split
        if _canonical((current.inputs, current.outputs, current_meta, current_split)) != _canonical(
            (w["inputs"], w["reference_outputs"], w["metadata"], [w["split"]])
        ):
            updates.append(
                {
                    "id": w["id"],
                    "inputs": w["inputs"],
                    "outputs": w["reference_outputs"],
                    "metadata": w["metadata"],
                    "split": w["split"],
                }
            )
    if creates:
        client.create_examples(dataset_id=remote.id, examples=creates)
    if updates:
        client.update_examples(dataset_id=remote.id, updates=updates)
    return SyncedDataset(id=remote.id, name=name, created=len(creates), updated=len(updates))


def record_experiment(
    client: Client, run: EvalRun, suite_run: SuiteRun, synced: SyncedDataset
) -> str:
    """One experiment (project) for one suite's run; returns the project's name."""
    stamp = run.started_at.strftime("%Y%m%dT%H%M%SZ")
    project = client.create_project(
        f"{synced.name} {run.model} {stamp}-{uuid.uuid4().hex[:6]}",
        reference_dataset_id=synced.id,
        description=f"chorus eval of {suite_run.name} on the {run.split or 'all'} split",
        metadata={
            "model": run.model,
            "judge": run.judge,
            "split": run.split,
            "limit": run.limit,
            "dataset_version": suite_run.dataset.version,
            "dataset_sha256": suite_run.dataset.sha256,
        },
    )
    clock = run.started_at
    for result in suite_run.results:
        run_id = uuid.uuid4()
        start = clock
        end = start + timedelta(seconds=result.seconds)
        client.create_run(
            id=run_id,
            name=suite_run.name,
            run_type="chain",
            inputs=result.case.inputs,
            outputs=result.output if result.ok else None,
            error=result.error,
            reference_example_id=example_id(suite_run.dataset, result.case),
            session_name=project.name,
            start_time=start,
            end_time=end,
            extra={"metadata": {"case_id": result.case.id, "tags": result.case.tags}},
        )
        for metric, value in result.scores.items():
            if value is None:
                continue
            client.create_feedback(
                run_id=run_id,
                key=metric,
                score=float(value),
                comment=result.judge_comments.get(metric),
                session_id=project.id,
            )
    for metric, value in suite_run.metrics.items():
        if value is not None:
            client.create_feedback(
                project_id=project.id, key=f"{metric} (aggregate)", score=float(value)
            )
    client.update_project(project.id, end_time=datetime.now(UTC))
    return str(project.name)


def sync_run(client: Client, run: EvalRun) -> list[str]:
    """Every suite's dataset and experiment; returns one line per suite for the report."""
    lines = []
    for suite_run in run.suites:
        synced = sync_dataset(client, suite_run.dataset)
        project = record_experiment(client, run, suite_run, synced)
        lines.append(
            f"{suite_run.name}: dataset {synced.name} ({synced.created} examples added, "
            f"{synced.updated} updated), experiment {project!r}"
        )
    return lines
