"""The ``chorus`` command as a script would use it: exit codes and JSON on the last line."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chorus.cli import app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("CHORUS_DATA_DIR", str(path))
    monkeypatch.setenv("CHORUS_MODEL", "scripted")
    return path


def last_json(output: str) -> Any:
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "command",
    [[], ["serve"], ["worker"], ["seed-demo"], ["orgs", "create"], ["orgs", "list"], ["doctor"]],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_orgs_create_then_list(data_dir: Path) -> None:
    created = runner.invoke(app, ["orgs", "create", "Acme Bakery"])
    assert created.exit_code == 0, created.output
    org = last_json(created.stdout)
    assert org["name"] == "Acme Bakery"
    assert org["slug"] == "acme-bakery"
    assert org["_id"] == org["organizationId"]

    again = last_json(runner.invoke(app, ["orgs", "create", "Acme Bakery"]).stdout)
    assert again["slug"] == "acme-bakery-2"

    listed = runner.invoke(app, ["orgs", "list"])
    assert listed.exit_code == 0, listed.output
    assert [o["slug"] for o in last_json(listed.stdout)] == ["acme-bakery", "acme-bakery-2"]


def test_orgs_create_rejects_an_empty_name(data_dir: Path) -> None:
    result = runner.invoke(app, ["orgs", "create", "   "])
    assert result.exit_code == 2
    assert "must not be empty" in result.output


def test_doctor_quick_passes_on_a_fresh_data_dir(data_dir: Path) -> None:
    result = runner.invoke(app, ["doctor", "--quick"])
    assert result.exit_code == 0, result.output
    report = last_json(result.stdout)
    assert report["ok"] is True
    forms = {c["name"]: c["form"] for c in report["components"]}
    assert forms["documents"] == "embedded"
    assert forms["redis"] == "embedded"


@pytest.mark.local_models
def test_doctor_loads_the_local_models_and_passes(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHORUS_MODEL")  # the default: the packaged local model
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    report = last_json(result.stdout)
    components = {c["name"]: c for c in report["components"]}
    assert components["chat_model"]["backend"] == "local"
    assert components["embeddings"]["ok"] is True


def test_doctor_fails_when_a_component_does_not_answer(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 9 of loopback, so the Redis form cannot answer.
    monkeypatch.setenv("CHORUS_REDIS_URL", "redis://127.0.0.1:9/0")
    result = runner.invoke(app, ["doctor", "--quick"])
    assert result.exit_code != 0


def test_seed_demo_is_idempotent(data_dir: Path) -> None:
    first = runner.invoke(app, ["seed-demo"])
    assert first.exit_code == 0, first.output
    summary = last_json(first.stdout)
    assert summary["created"] is True
    assert summary["admin_email"]
    assert summary["admin_password"]
    second = runner.invoke(app, ["seed-demo"])
    assert second.exit_code == 0, second.output
    again = last_json(second.stdout)
    assert again["created"] is False
    assert again["organization_id"] == summary["organization_id"]
    assert again["admin_password"] == summary["admin_password"]
    assert again["posts"] == summary["posts"]
    assert again["analytics"] == summary["analytics"]


def test_worker_without_redis_explains_itself(data_dir: Path) -> None:
    # ``worker`` configures the process's logging onto the stderr CliRunner lends it and then
    # closes; later commands in this process would log into that closed stream.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        result = runner.invoke(app, ["worker", "--burst"])
    finally:
        root.handlers[:], root.level = handlers, level
    assert result.exit_code == 2
    assert "CHORUS_REDIS_URL" in result.output


@pytest.fixture
def demo_org(data_dir: Path) -> str:
    result = runner.invoke(app, ["seed-demo"])
    assert result.exit_code == 0, result.output
    return last_json(result.stdout)["organization_id"]


def test_run_streams_updates_then_the_interrupt_and_resumes(demo_org: str) -> None:
    body = json.dumps({"brief": "Announce the winter cold brew", "platform": "linkedin"})
    first = runner.invoke(
        app, ["run", "content_creation", "--org", demo_org, "--input", body, "--thread", "cli-1"]
    )
    assert first.exit_code == 0, first.output
    lines = [json.loads(line) for line in first.stdout.strip().splitlines()]
    assert {next(iter(u)) for u in lines[:-1]} >= {"trends", "draft", "optimize", "schedule"}
    final = lines[-1]
    assert final["next"] == ["approval"]
    assert final["interrupts"][0]["kind"] == "approval"

    resumed = runner.invoke(
        app,
        [
            "run",
            "content_creation",
            "--org",
            demo_org,
            "--thread",
            "cli-1",
            "--resume",
            '{"action": "approve"}',
        ],
    )
    assert resumed.exit_code == 0, resumed.output
    assert last_json(resumed.stdout)["values"]["postId"]


def test_every_line_run_prints_is_json_the_interrupt_and_a_failure_included(
    demo_org: str,
) -> None:
    body = json.dumps({"brief": "Announce the winter cold brew", "platform": "instagram"})
    first = runner.invoke(
        app, ["run", "content_creation", "--org", demo_org, "--input", body, "--thread", "j-1"]
    )
    assert first.exit_code == 0, first.output
    lines = [json.loads(line) for line in first.stdout.strip().splitlines()]
    assert "Interrupt(" not in first.stdout
    (pause,) = [u["__interrupt__"] for u in lines if "__interrupt__" in u]
    assert pause[0]["value"]["kind"] == "approval"
    assert isinstance(pause[0]["id"], str)

    # An answer the approval step refuses ends the run with an error, as a JSON line too.
    resume = ["--thread", "j-1", "--resume", '{"action": "bogus"}']
    bad = runner.invoke(app, ["run", "content_creation", "--org", demo_org, *resume])
    assert bad.exit_code == 1
    printed = [json.loads(line) for line in bad.stdout.strip().splitlines()]
    assert "approve" in printed[-1]["message"]
    assert printed[-1]["error"]


def test_run_rejects_bad_arguments_with_a_clear_message(demo_org: str) -> None:
    unknown = runner.invoke(app, ["run", "nope", "--org", demo_org, "--input", "{}"])
    assert unknown.exit_code == 2
    assert "content_creation" in unknown.output
    bad_json = runner.invoke(app, ["run", "scheduler", "--org", demo_org, "--input", "{oops"])
    assert bad_json.exit_code == 2
    assert "not valid JSON" in bad_json.output
    misfit = runner.invoke(app, ["run", "content_creation", "--org", demo_org, "--input", "{}"])
    assert misfit.exit_code == 2
    assert "brief" in misfit.output
    no_org = runner.invoke(
        app, ["run", "scheduler", "--org", "0" * 24, "--input", '{"input": {"platform": "x"}}']
    )
    assert no_org.exit_code == 2
    assert "no organization" in no_org.output


def test_import_analytics_is_idempotent_and_reports_bad_rows(demo_org: str, tmp_path: Path) -> None:
    rows = [
        "platform,platformPostId,publishedAt,text,hashtags,mediaType,likes,comments,shares,"
        "saves,clicks,impressions,reach",
        "instagram,cli-1,2026-11-01T18:30:00Z,Fresh roast,#coffee #roast,image,120,8,4,9,3,"
        "4000,3100",
        "linkedin,cli-2,2026-11-02T08:15:00Z,Hiring baristas,#hiring,text,40,5,2,0,11,1500,1200",
        "myspace,cli-3,2026-11-02T08:15:00Z,Bad platform,,text,1,1,1,1,1,10,10",
    ]
    source = tmp_path / "metrics.csv"
    source.write_text("\n".join(rows) + "\n")
    first = runner.invoke(app, ["import-analytics", str(source), "--org", demo_org])
    assert first.exit_code == 0, first.output
    report = last_json(first.stdout)
    assert (report["imported"], report["rejected"]) == (2, 1)
    assert report["errors"][0]["line"] == 4
    again = last_json(
        runner.invoke(app, ["import-analytics", str(source), "--org", demo_org]).stdout
    )
    assert (again["imported"], again["unchanged"], again["rejected"]) == (0, 2, 1)
