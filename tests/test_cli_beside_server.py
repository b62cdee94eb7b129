"""The CLI while ``chorus serve`` holds the embedded data dir: commands are sent to the server.

A real server in its own process (it holds the data dir's lock), the CLI in this one: the
lock refuses the CLI the data dir, so every command here either reached the server through
its operator routes or printed one line saying why it cannot.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import PASSWORD
from typer.testing import CliRunner

from chorus import server_file
from chorus.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
RUN = ["run", "content_creation", "--org"]
APPROVE = '{"action": "approve"}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def last_json(output: str) -> Any:
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """A seeded ``chorus serve`` on a fresh data dir: its URL, data dir and demo summary."""
    port = _free_port()
    data = tmp_path_factory.mktemp("beside") / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CHORUS_", "OPENAI", "ANTHROPIC", "LANGSMITH", "LANGCHAIN"))
    }
    env.update(CHORUS_DATA_DIR=str(data), CHORUS_MODEL="scripted")
    log_path = tmp_path_factory.mktemp("beside-log") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "chorus.cli", "serve", "--port", str(port), "--seed-demo"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/system/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
            if process.poll() is not None:
                pytest.fail(f"chorus serve exited: {log_path.read_text()[-3000:]}")
        else:
            pytest.fail("chorus serve did not start")
        printed = log_path.read_text()
        # The seed summary: the JSON line naming the organization (the logs are JSON too).
        seeded = next(
            json.loads(ln)
            for ln in printed.splitlines()
            if ln.startswith("{") and '"organization_id"' in ln
        )
        # make run's first screen: where the console is and the demo admin's credentials.
        welcome = f"open {base}/console and sign in as {seeded['admin_email']}"
        assert f"{welcome} with password {seeded['admin_password']}" in printed
        yield base, data, seeded
    finally:
        process.terminate()
        process.wait(timeout=60)
    # A stopped server leaves no note behind (a stale one would only confuse a reader).
    assert server_file.read(data) is None


@pytest.fixture
def cli_env(served: tuple[str, Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_DATA_DIR", str(served[1]))
    monkeypatch.setenv("CHORUS_MODEL", "scripted")


def _login(base: str, email: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['accessToken']}"}


def test_the_server_leaves_an_owner_only_note_with_its_address(
    served: tuple[str, Path, dict[str, Any]],
) -> None:
    base, data, _ = served
    note = server_file.read(data)
    assert note is not None
    assert note.url == base
    assert stat.S_IMODE((data / server_file.SERVER_FILE).stat().st_mode) == 0o600


def test_doctor_orgs_list_and_seed_demo_answer_from_the_running_server(
    served: tuple[str, Path, dict[str, Any]], cli_env: None
) -> None:
    _, _, demo = served
    doctor = runner.invoke(app, ["doctor", "--quick"])
    assert doctor.exit_code == 0, doctor.output
    report = last_json(doctor.stdout)
    assert report["ok"] is True
    assert {c["name"] for c in report["components"]} >= {"documents", "checkpoints"}

    listed = runner.invoke(app, ["orgs", "list"])
    assert listed.exit_code == 0, listed.output
    assert demo["organization_id"] in [o["_id"] for o in last_json(listed.stdout)]

    seeded = runner.invoke(app, ["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    again = last_json(seeded.stdout)
    assert again["created"] is False
    assert again["organization_id"] == demo["organization_id"]


def test_a_run_from_the_cli_is_an_api_thread_of_its_organization_only(
    served: tuple[str, Path, dict[str, Any]], cli_env: None
) -> None:
    base, _, demo = served
    body = json.dumps({"brief": "Announce the winter cold brew", "platform": "linkedin"})
    first = runner.invoke(
        app,
        [*RUN, demo["organization_id"], "--input", body, "--thread", "cli-beside-1"],
    )
    assert first.exit_code == 0, first.output
    lines = [json.loads(line) for line in first.stdout.strip().splitlines()]
    assert lines[-1]["next"] == ["approval"]
    assert lines[-1]["interrupts"][0]["kind"] == "approval"

    admin = _login(base, demo["admin_email"], demo["admin_password"])
    thread = httpx.get(f"{base}/lg/threads/cli-beside-1", headers=admin)
    assert thread.status_code == 200, thread.text
    assert thread.json()["status"] == "interrupted"

    # Another organization does not see it.
    other = httpx.post(
        f"{base}/api/auth/register",
        json={"email": "other@example.com", "password": PASSWORD, "organizationName": "Other"},
    )
    assert other.status_code == 201, other.text
    stranger = {"Authorization": f"Bearer {other.json()['accessToken']}"}
    assert httpx.get(f"{base}/lg/threads/cli-beside-1", headers=stranger).status_code == 404

    resumed = runner.invoke(
        app,
        [*RUN, demo["organization_id"], "--thread", "cli-beside-1", "--resume", APPROVE],
    )
    assert resumed.exit_code == 0, resumed.output
    assert last_json(resumed.stdout)["values"]["postId"]


def test_cli_errors_beside_the_server_are_one_clear_line(
    served: tuple[str, Path, dict[str, Any]], cli_env: None, tmp_path: Path
) -> None:
    _, _, demo = served
    misfit = runner.invoke(
        app, ["run", "content_creation", "--org", demo["organization_id"], "--input", "{}"]
    )
    assert misfit.exit_code == 2
    assert "brief" in misfit.output
    assert "Traceback" not in misfit.output

    no_org = runner.invoke(app, ["run", "scheduler", "--org", "0" * 24, "--input", "{}"])
    assert no_org.exit_code == 2
    assert "no organization" in no_org.output

    source = tmp_path / "m.csv"
    source.write_text("platform,platformPostId\n")
    refused = runner.invoke(
        app, ["import-analytics", str(source), "--org", demo["organization_id"]]
    )
    assert refused.exit_code == 2
    assert "stop the server first" in refused.output
    assert "Traceback" not in refused.output


def test_operator_routes_need_the_servers_secret(
    served: tuple[str, Path, dict[str, Any]],
) -> None:
    base, data, demo = served
    for headers in ({}, {"X-Chorus-Operator": "chop_guess"}):
        response = httpx.get(f"{base}/api/operator/organizations", headers=headers)
        assert response.status_code == 401, response.text
    # A user's own token is not the operator's either.
    admin = _login(base, demo["admin_email"], demo["admin_password"])
    assert httpx.get(f"{base}/api/operator/organizations", headers=admin).status_code == 401
    note = server_file.read(data)
    assert note is not None
    bad = httpx.post(
        f"{base}/api/operator/runs",
        json={"graph": "scheduler", "org": "not-an-id"},
        headers={"X-Chorus-Operator": note.token},
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["fields"][0]["field"] == "body.org"
