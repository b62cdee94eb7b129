"""The content_creation eval: its dataset is well formed (every run ends in approve or reject,
revisions before it, hard cases in both splits), and a few cases run end to end through the
suite with the scripted model: the approved post is stored once with the approved text at the
first proposed slot, a rejected one is not stored, and the stored post meets the rules."""

from __future__ import annotations

import importlib

import pytest

from evals.cases import load_dataset
from evals.env import eval_env
from evals.suite import load_suite
from tools.platform_rules import RULES

NAME = "content_creation"
HARD_TAGS = {"over_long", "banned_terms", "other_language", "mixed_language", "revision", "cta"}
# One of each decision path, several platforms and fixtures, two slot counts, a timezone.
SAMPLE = (
    "cx-ig-coldbrew",
    "cx-li-hiring-cta",
    "cx-ig-rev-twice",
    "cx-li-rev-reject",
    "cx-ig-reject",
    "cx-fb-one-slot",
    "cx-ig-berlin-tz",
    "cx-bk-german-stollen",
    "cx-empty-li",
)


def test_the_dataset_is_well_formed_and_covers_the_hard_cases() -> None:
    dataset = load_dataset(NAME)
    cases = dataset.cases
    assert len(cases) >= 30
    for split in ("dev", "test"):
        part = dataset.split(split)
        assert len(part) >= 15, split
        tags = {t for c in part for t in c.tags}
        assert tags >= HARD_TAGS, (split, HARD_TAGS - tags)
        assert {"approve", "reject"} <= {c.inputs["resume"][-1]["action"] for c in part}
    for case in cases:
        importlib.import_module(f"evals.fixtures.{case.fixture}")
        graph_input, resume = case.inputs["input"], case.inputs["resume"]
        assert graph_input["platform"] in RULES
        *revisions, last = resume
        assert last["action"] in ("approve", "reject"), case.id
        assert all(r["action"] == "revise" and r["feedback"] for r in revisions), case.id
        assert ("revision" in case.tags) == bool(revisions), case.id
        expected = "scheduled" if last["action"] == "approve" else "rejected"
        assert case.expect["status"] == expected, case.id
        assert case.expect.get("facts"), case.id
    assert {c.inputs["input"]["platform"] for c in cases} == set(RULES), "every platform"


@pytest.mark.asyncio
async def test_sampled_cases_run_end_to_end_with_the_scripted_model() -> None:
    suite = load_suite(NAME)
    cases = {c.id: c for c in load_dataset(NAME).cases}
    async with eval_env("scripted") as env:
        for case_id in SAMPLE:
            case = cases[case_id]
            output = await suite.run(case, env)
            scores = suite.score(case, output)
            # Storing, scheduling at the first slot and the statuses are code.
            assert scores["outcome"] == 1.0, (case_id, output)
            assert len(output["approvals"]) == len(case.inputs["resume"])
            assert len(output["stored"]) == (1 if case.expect["status"] == "scheduled" else 0)
            assert output["next"] == []
            assert scores["constraints"] == 1.0, case_id
            assert scores["hashtags"] == 1.0, case_id
            assert scores["cta"] in (None, 1.0), case_id
            assert scores["facts"] is not None, case_id
            assert scores["facts"] > 0, case_id
