"""Kill -9 of a publishing worker at random points, 50 times: nothing lost, nothing twice.

The sandbox runs in this process, so its count of what each account posted survives every
kill. 240 posts, due at once, go to three X and three Bluesky accounts. The sandbox makes
every publish slow: X applies the post and then holds its answer back, Bluesky waits and
then applies it, so a kill lands before a call, while a call is in flight before or after
the network applied it, or between the answer and the engine's record of it. Each trial
starts a worker (a fresh process on the same embedded data dir), lets it publish for a
random moment and SIGKILLs it; the next takes over the dead one's claims once their lease
ends. A last worker runs to the end. Then every post must be published on its network
exactly once, and recorded with the network's id.
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
from sandbox_support import make_provider, sandbox_fixture, sandbox_url  # noqa: F401 - a fixture

from persistence.embedded_mongo import EmbeddedMongo
from persistence.ids import utcnow
from persistence.models import Post, SocialAccount
from persistence.models.content import AccountInfo, PlatformTarget, PostContent, Scheduling
from sandbox.accounts import SandboxAccountAccess, connect_user
from sandbox.client import SandboxControl

TRIALS = 50
POSTS = 240
LEASE = 0.4
KILL_WITHIN = 0.25  # seconds after a worker says it is ready
NETWORKS = {"twitter": "x", "bluesky": "bluesky"}


async def _accounts(sandbox: SandboxControl, org: ObjectId, path: Path) -> list[SocialAccount]:
    providers = {n: make_provider(n) for n in NETWORKS}
    access = SandboxAccountAccess(providers)
    accounts = []
    for network, provider in providers.items():
        for i in range(3):
            tokens = await connect_user(provider, sandbox, username=f"crash{i}")
            account = SocialAccount(
                organization_id=org,
                platform=network,  # type: ignore[arg-type]
                account_info=AccountInfo(platform_id=tokens.account_id or "", username=f"c{i}"),
            )
            access.add(account, tokens)
            accounts.append(account)
        await provider.aclose()
    access.dump(path)
    return accounts


def _seed(data_dir: Path, accounts: list[SocialAccount], org: ObjectId) -> list[Post]:
    posts = [
        Post(
            organization_id=org,
            content=PostContent(text=f"Crash test post {i}: beans of the day"),
            scheduling=Scheduling(status="scheduled", scheduled_at=utcnow()),
            platforms=[
                PlatformTarget(
                    social_account_id=accounts[i % len(accounts)].id,
                    platform=accounts[i % len(accounts)].platform,
                )
            ],
        )
        for i in range(POSTS)
    ]
    engine = EmbeddedMongo(data_dir / "documents")
    try:
        engine.sync_client[publishing_worker.DATABASE]["posts"].insert_many(
            [p.to_mongo() for p in posts]
        )
    finally:
        engine.close()
    return posts


def _stored(data_dir: Path) -> list[Post]:
    engine = EmbeddedMongo(data_dir / "documents")
    try:
        raws = list(engine.sync_client[publishing_worker.DATABASE]["posts"].find())
    finally:
        engine.close()
    return [Post.from_mongo(raw) for raw in raws]


def test_killing_workers_at_random_loses_nothing_and_posts_nothing_twice(
    sandbox: SandboxControl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = ObjectId()
    accounts_file = tmp_path / "accounts.json"
    accounts = asyncio.run(_accounts(sandbox, org, accounts_file))
    posts = _seed(tmp_path, accounts, org)
    # Every publish is slow: X applies, then answers late; Bluesky waits, then applies.
    sandbox.fault("x", "timeout", method="POST", path="^/2/tweets$", delay=0.06, count=10**6)
    sandbox.fault("bluesky", "slow", method="POST", path="createRecord", delay=0.06, count=10**6)

    # The forkserver imports the worker once (it must find it: the tests directory is on
    # pytest's path, not on a new interpreter's); each worker is then a fork of it.
    tests_dir = str(Path(publishing_worker.__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests_dir, *sys.path]))
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["publishing_worker"])
    rng = random.Random(12)
    args = (str(tmp_path), str(accounts_file), sandbox_url(), LEASE)
    killed_mid_run = 0
    started = time.monotonic()
    for _ in range(TRIALS):
        ours, theirs = context.Pipe()
        worker = context.Process(target=publishing_worker.run, args=(*args, theirs))
        worker.start()
        assert ours.poll(30), "the worker did not start"
        assert ours.recv() == "ready"
        time.sleep(rng.uniform(0, KILL_WITHIN))
        finished = ours.poll(0)
        with contextlib.suppress(ProcessLookupError):  # it may have just finished
            os.kill(worker.pid, signal.SIGKILL)  # type: ignore[arg-type]
        worker.join(10)
        killed_mid_run += not finished
    _, last_end = context.Pipe()
    last = context.Process(target=publishing_worker.run, args=(*args, last_end))
    last.start()
    last.join(120)
    assert last.exitcode == 0, "the last worker did not finish"
    elapsed = time.monotonic() - started

    stored = _stored(tmp_path)
    assert len(stored) == POSTS
    made: Counter[str] = Counter()
    ids: dict[str, set[str]] = {}
    for prefix in NETWORKS.values():
        for item in sandbox.posts(prefix):
            made[item["text"]] += 1
            ids.setdefault(item["text"], set()).add(item["id"])
    lost = [p.content.text for p in posts if made[p.content.text] == 0]
    twice = [text for text, count in made.items() if count > 1]
    assert lost == []
    assert twice == []
    for post in stored:
        [target] = post.platforms
        assert post.scheduling.status == "published", (post.content.text, target.error_message)
        assert target.platform_post_id in ids[post.content.text]
    # The kills landed while there was work to do, not after it.
    assert killed_mid_run >= TRIALS * 0.8
    print(f"{TRIALS} kills, {POSTS} posts, {elapsed:.1f} s: 0 lost, 0 posted twice")
