"""``chorus orgs set-plan``: the operator's way to assign plans in local billing."""

from __future__ import annotations

import json
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


def test_set_plan_assigns_a_plan_and_state_by_id_or_slug(data_dir: Path) -> None:
    created = last_json(runner.invoke(app, ["orgs", "create", "Plan Bakery"]).stdout)
    by_slug = runner.invoke(app, ["orgs", "set-plan", "plan-bakery", "business"])
    assert by_slug.exit_code == 0, by_slug.output
    out = last_json(by_slug.stdout)
    assert (out["organizationId"], out["plan"], out["status"]) == (
        created["_id"],
        "business",
        "active",
    )

    by_id = runner.invoke(
        app, ["orgs", "set-plan", created["_id"], "starter", "--status", "past_due"]
    )
    assert by_id.exit_code == 0, by_id.output
    out = last_json(by_id.stdout)
    assert (out["plan"], out["status"]) == ("starter", "past_due")
    assert out["pastDueSince"]

    listed = last_json(runner.invoke(app, ["orgs", "list"]).stdout)
    assert listed[0]["subscription"]["plan"] == "starter"


def test_set_plan_refuses_what_it_cannot_do(data_dir: Path) -> None:
    runner.invoke(app, ["orgs", "create", "Strict Bakery"])
    unknown_plan = runner.invoke(app, ["orgs", "set-plan", "strict-bakery", "platinum"])
    assert unknown_plan.exit_code == 2
    assert "free, starter, pro, business, enterprise" in unknown_plan.output
    bad_status = runner.invoke(
        app, ["orgs", "set-plan", "strict-bakery", "pro", "--status", "sleeping"]
    )
    assert bad_status.exit_code == 2
    assert "trialing" in bad_status.output
    nobody = runner.invoke(app, ["orgs", "set-plan", "no-such-org", "pro"])
    assert nobody.exit_code == 2
    assert "no organization" in nobody.output
    assert runner.invoke(app, ["orgs", "set-plan", "--help"]).exit_code == 0
