"""The scheduler dataset and suite: the dataset is valid and is its builder's output, and
every case runs through the suite with the scripted model. Slots are tool-computed, so the
constraint metrics are the real ones: they must hold on every case."""

from __future__ import annotations

import importlib

from evals.cases import load_dataset
from evals.datasets import build_scheduler as builder
from evals.env import eval_env
from evals.suite import CaseResult, load_suite, mean_scores

NAME = "scheduler"
HARD_TAGS = {"dst", "thin_history", "other_timezone", "existing_posts", "over_capacity"}
PLATFORMS = {"instagram", "tiktok", "linkedin", "facebook", "twitter"}
CONSTRAINTS = ("gap_kept", "offset_ok", "in_window", "count_ok")


def test_dataset_is_valid() -> None:
    ds = load_dataset(NAME)
    assert len(ds.cases) >= 30
    assert len({c.id for c in ds.cases}) == len(ds.cases)
    for case in ds.cases:
        module = importlib.import_module(f"evals.fixtures.{case.fixture}")
        assert callable(module.build)
        assert module.NOW.tzinfo is not None
        for key in ("timezone", "start", "end", "count", "minGapHours", "existing"):
            assert key in case.expect, (case.id, key)
    for split in ("dev", "test"):
        cases = ds.split(split)
        assert len(cases) >= 15
        tags = {t for c in cases for t in c.tags}
        assert tags >= HARD_TAGS, f"{split} lacks {HARD_TAGS - tags}"
        assert {c.inputs["platform"] for c in cases} == PLATFORMS
        assert any(c.expect["window"] for c in cases)
        assert any(c.expect["existing"] for c in cases)


async def test_dataset_is_the_builders_output() -> None:
    assert builder.render(await builder.build()) == builder.OUT.read_text(encoding="utf-8")


async def test_all_cases_through_the_suite() -> None:
    ds = load_dataset(NAME)
    suite = load_suite(NAME)
    assert set(suite.metrics) >= {"window_hit_rate", *CONSTRAINTS}
    results = []
    async with eval_env("scripted") as env:
        for case in ds.cases:
            output = await suite.run(case, env)
            results.append(CaseResult(case, output, suite.score(case, output)))
    by_id = {r.case.id: r for r in results}
    # Hard constraints hold on every case, DST and half-hour offsets included.
    for r in results:
        for metric in CONSTRAINTS:
            assert r.scores[metric] == 1.0, (r.case.id, metric, r.output)
    # Offsets on both sides of the changes.
    ny = {s["at"][-6:] for s in by_id["sched-dstny-tw-weekend"].output["slots"]}
    assert ny == {"-04:00", "-05:00"}
    berlin = {s["at"][-6:] for s in by_id["sched-dstber-fb-weekend"].output["slots"]}
    assert berlin == {"+01:00", "+02:00"}
    assert len(by_id["sched-dstber-tw-24"].output["slots"]) == 23  # the 23-hour day
    assert all(s["at"].endswith("+05:30") for s in by_id["sched-thin-ig-3"].output["slots"])
    # The planted peaks are found when asked in the audience's own timezone...
    for case_id in ("sched-ig-ny", "sched-li-3", "sched-dstny-ig-3", "sched-dstber-li-3"):
        assert by_id[case_id].scores["window_hit_rate"] == 1.0, case_id
    # ...and no metric applies a window where no peak was planted.
    assert by_id["sched-empty-tw-3"].scores["window_hit_rate"] is None
    means = mean_scores(results)
    assert means["window_hit_rate"] >= 0.9
