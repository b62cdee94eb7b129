"""Kill -9 of a publishing worker in the middle of threads: no part lost, no part made twice.

The same harness as ``test_publishing_crash`` (worker processes on one embedded data dir, the
sandbox in this process counting what each account made), with posts that are threads: a
root, two replies and a first comment (a self-reply), so a kill lands between parts as
often as before or during one. Every call is slow (X applies a post and holds its answer
back; Bluesky waits, then applies), so kills also land while a part's outcome is unknown.
At the end every part must exist exactly once, as a reply to the part before it, and the
target must record every part's id.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import publishing_worker
import pytest
from bson import ObjectId
from sandbox_support import sandbox_fixture, sandbox_url  # noqa: F401 - a fixture
from test_publishing_crash import NETWORKS, _accounts, _stored

from persistence.embedded_mongo import EmbeddedMongo
from persistence.ids import utcnow
from persistence.models import Post, SocialAccount
from persistence.models.content import PlatformTarget, PostContent, Scheduling, ThreadPart
from sandbox.client import SandboxControl

TRIALS = 20
POSTS = 36
LEASE = 0.4
KILL_WITHIN = 0.4


def _texts(i: int) -> tuple[str, list[str], str]:
    return (
        f"Thread {i} 1/ beans of the day",
        [f"Thread {i} 2/ roasted at dawn", f"Thread {i} 3/ ground to order"],
        f"Thread {i}: questions welcome",
    )


def _seed(data_dir: Path, accounts: list[SocialAccount], org: ObjectId) -> list[Post]:
    posts = []
    for i in range(POSTS):
        root, parts, comment = _texts(i)
        account = accounts[i % len(accounts)]
        posts.append(
            Post(
                organization_id=org,
                content=PostContent(
                    text=root,
                    thread=[ThreadPart(text=p) for p in parts],
                    first_comment=comment,
                ),
                scheduling=Scheduling(status="scheduled", scheduled_at=utcnow()),
                platforms=[PlatformTarget(social_account_id=account.id, platform=account.platform)],
            )
        )
    engine = EmbeddedMongo(data_dir / "documents")
    try:
        engine.sync_client[publishing_worker.DATABASE]["posts"].insert_many(
            [p.to_mongo() for p in posts]
        )
    finally:
        engine.close()
    return posts


def test_killing_workers_mid_thread_loses_no_part_and_makes_none_twice(
    sandbox: SandboxControl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = ObjectId()
    accounts_file = tmp_path / "accounts.json"
    accounts = asyncio.run(_accounts(sandbox, org, accounts_file))
    _seed(tmp_path, accounts, org)
    sandbox.fault("x", "timeout", method="POST", path="^/2/tweets$", delay=0.06, count=10**6)
    sandbox.fault("bluesky", "slow", method="POST", path="createRecord", delay=0.06, count=10**6)

    tests_dir = str(Path(publishing_worker.__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests_dir, *sys.path]))
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["publishing_worker"])
    rng = random.Random(7)
    args = (str(tmp_path), str(accounts_file), sandbox_url(), LEASE)
    killed_mid_run = 0
    for _ in range(TRIALS):
        ours, theirs = context.Pipe()
        worker = context.Process(target=publishing_worker.run, args=(*args, theirs))
        worker.start()
        assert ours.poll(30), "the worker did not start"
        assert ours.recv() == "ready"
        time.sleep(rng.uniform(0, KILL_WITHIN))
        finished = ours.poll(0)
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)  # type: ignore[arg-type]
        worker.join(10)
        killed_mid_run += not finished
    _, last_end = context.Pipe()
    last = context.Process(target=publishing_worker.run, args=(*args, last_end))
    last.start()
    last.join(180)
    assert last.exitcode == 0, "the last worker did not finish"

    made: Counter[str] = Counter()
    by_id: dict[str, dict] = {}
    for prefix in NETWORKS.values():
        for item in sandbox.posts(prefix):
            made[item["text"]] += 1
            by_id[item["id"]] = item
    expected = Counter()
    for i in range(POSTS):
        root, parts, comment = _texts(i)
        expected.update([root, *parts, comment])
    assert made == expected  # every part once: none lost, none twice
    for post in _stored(tmp_path):
        [target] = post.platforms
        assert post.scheduling.status == "published", (post.content.text, target.error_message)
        part_ids = target.platform_data["partIds"]
        parent = target.platform_post_id
        for part_id, part in zip(part_ids, post.content.thread, strict=True):
            assert by_id[part_id]["text"] == part.text
            assert _parent(by_id[part_id]) == parent
            parent = part_id
        comment = by_id[target.platform_data["firstCommentId"]]
        assert comment["text"] == post.content.first_comment
        assert _parent(comment) == target.platform_post_id
    assert killed_mid_run >= TRIALS * 0.7


def _parent(item: dict) -> str | None:
    """The post an item replies to, as the sandbox of its network records it."""
    parent = item.get("parent")
    if isinstance(parent, dict):  # Bluesky's reply refs
        return parent.get("uri")
    return parent
