"""Benchmark: the publishing engine on the sandbox networks, with one worker and with two.

10,000 posts (``--posts``) across 1,000 accounts (``--accounts``, half on X, half on
Bluesky, each connected the way a user connects it) are published through the real
providers to the sandbox, run as its own process (``python -m sandbox``). Each worker ticks
every second as the ``publish_due`` cron does (``services.publishing.Ticker``, 16 posts at
once by default). Two phases per worker count:

* drain: every post due at once; posts published per minute until the last settles.
* steady: posts fall due at ``--rate`` per minute, as a busy queue does; the delay from each
  post's time to its publication (p50, p95) and the rate achieved.

Targets on these machines: >= 1,000 posts/minute with one worker; p95 delay < 5 s.

"Two workers" are two publishers with their own ticks, claims and leases on one event loop,
not two processes, because no second process can reach the store here:

* The embedded document store lives in the memory of the process that opened it
  (``persistence.embedded_mongo``), and its data dir is locked to that process
  (``DataDirInUseError``).
* ``chorus worker`` opens its own runtime, hence its own store: with the embedded form it
  cannot start while ``chorus serve`` holds the data dir. The server client
  (``chorus/server_client.py``, ``/api/operator``) carries operator commands (doctor,
  orgs, seed-demo, run), not document operations.
* Serving the store to a second process over it would mean a remote document API (claims,
  guarded writes, the event outbox, account tokens) whose every operation still runs on
  the owning process's one event loop, plus an HTTP round trip each (five per post). The
  owner's store work, about 40% of a profiled drain, would not move; only the provider
  calls would, onto a second core that this shared 2-core machine does not have to spare.
* Two processes publishing from one store need MongoDB (``CHORUS_MONGODB_URI``), which
  cannot run here; the claims (compare-and-set, leases) are the same code on it, and
  ``tests/test_publishing_crash.py`` already runs a fresh worker process per trial on one
  data dir (one at a time).

So the two-worker figures measure the claims' contention between two publishers, not a
second CPU.

    .venv/bin/python bench/publish.py [--posts 10000] [--accounts 1000] [--rate 1200]
                                      [--workers 1 2] [--concurrency 16] [--phases drain steady]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))  # measure this checkout, whatever is installed

from bson import ObjectId  # noqa: E402

from persistence.embedded_mongo import EmbeddedMongo  # noqa: E402
from persistence.ids import utcnow  # noqa: E402
from persistence.indexes import ensure_indexes  # noqa: E402
from persistence.media import LocalMediaStore  # noqa: E402
from persistence.models import Post, SocialAccount  # noqa: E402
from persistence.models.content import (  # noqa: E402
    AccountInfo,
    PlatformTarget,
    PostContent,
    Scheduling,
)
from persistence.pubsub import InProcessPubSub  # noqa: E402
from persistence.ratelimit import InProcessRateLimiter  # noqa: E402
from sandbox.accounts import SandboxAccountAccess, connect_user  # noqa: E402
from sandbox.client import SandboxControl  # noqa: E402
from sandbox.core import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET  # noqa: E402
from services.events import EventBus  # noqa: E402
from services.publishing import PublishConfig, Publisher, Ticker  # noqa: E402
from tools.platforms import SocialProvider, build_provider  # noqa: E402

NETWORKS = ("twitter", "bluesky")
FINAL = ("published", "partially_published", "failed")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox() -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_sandbox", timeout=1).raise_for_status()
            return url, process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the sandbox did not start")


def providers_for(url: str) -> dict[str, SocialProvider]:
    """One provider per network, each with its own keep-alive connection pool, as the
    runtime builds them (``chorus.platforms``). The bench used to share one pool of up to
    64 connections: httpcore checks every pooled connection on each request, about a tenth
    of a profiled drain's time."""
    return {
        n: build_provider(
            n,
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            base_url=url,
            timeout=30,
        )
        for n in NETWORKS
    }


async def connect_accounts(
    url: str, providers: dict[str, SocialProvider], count: int, org: ObjectId
) -> SandboxAccountAccess:
    control = SandboxControl(url)
    access = SandboxAccountAccess(providers)
    for i in range(count):
        network = NETWORKS[i % len(NETWORKS)]
        tokens = await connect_user(providers[network], control, username=f"bench{i}")
        account = SocialAccount(
            organization_id=org,
            platform=network,  # type: ignore[arg-type]
            account_info=AccountInfo(platform_id=tokens.account_id or "", username=f"bench{i}"),
        )
        access.add(account, tokens)
    control.close()
    return access


def make_posts(
    access: SandboxAccountAccess, org: ObjectId, count: int, tag: str, spread: float
) -> list[Post]:
    """``count`` posts round-robin over the accounts, due from now over ``spread`` seconds."""
    accounts = [a for a, _ in access.accounts.values()]
    start = utcnow()
    return [
        Post(
            organization_id=org,
            content=PostContent(text=f"Bench {tag} post {i}: today's roast"),
            scheduling=Scheduling(
                status="scheduled",
                scheduled_at=start + timedelta(seconds=spread * i / max(1, count)),
            ),
            platforms=[
                PlatformTarget(
                    social_account_id=accounts[i % len(accounts)].id,
                    platform=accounts[i % len(accounts)].platform,
                )
            ],
        )
        for i in range(count)
    ]


async def run_phase(
    db: object,
    media: LocalMediaStore,
    access: SandboxAccountAccess,
    posts: list[Post],
    workers: int,
    concurrency: int,
) -> dict[str, float]:
    collection = db["posts"]  # type: ignore[index]
    await collection.delete_many({})  # the last phase's posts
    await collection.insert_many([p.to_mongo() for p in posts])
    total = len(posts)
    tickers = [
        Ticker(
            Publisher(
                db,
                media,
                access,
                EventBus(db, InProcessPubSub()),
                InProcessRateLimiter(),
                config=PublishConfig(),
                worker=f"bench-{w}",
            ),
            concurrency=concurrency,
        )
        for w in range(workers)
    ]
    started = time.monotonic()
    running: set[asyncio.Task[dict[str, int]]] = set()
    # Progress is read from the passes' own outcomes: each post settles once, in one pass.
    # Counting unsettled posts in the store each second would be a scan ($nin uses no
    # index) on the workers' own event loop, measured as if it were theirs.
    settled = 0
    failures: list[BaseException] = []

    def count(task: asyncio.Task[dict[str, int]]) -> None:
        nonlocal settled
        running.discard(task)
        if task.cancelled() or task.exception() is not None:
            failures.append(task.exception() or asyncio.CancelledError())
            return
        settled += sum(n for outcome, n in task.result().items() if outcome in FINAL)

    while settled < total:
        if failures:
            raise failures[0]
        for ticker in tickers:  # the cron: every worker ticks every second
            task = asyncio.create_task(ticker.tick())
            running.add(task)
            task.add_done_callback(count)
        await asyncio.sleep(1.0)
    await asyncio.gather(*running)
    elapsed = time.monotonic() - started
    delays, published_at = [], []
    failed = 0
    for raw in await collection.find({}).to_list(None):
        post = Post.from_mongo(raw)
        [target] = post.platforms
        if target.status != "published" or target.published_at is None:
            failed += 1
            continue
        assert post.scheduling.scheduled_at is not None
        delays.append((target.published_at - post.scheduling.scheduled_at).total_seconds())
        published_at.append(target.published_at)
    span = (max(published_at) - min(p.scheduling.scheduled_at for p in posts)).total_seconds()  # type: ignore[type-var, operator]
    return {
        "published": len(delays),
        "failed": failed,
        "seconds": elapsed,
        "per_minute": len(delays) / max(span, 1e-9) * 60,
        "p50": statistics.median(delays),
        "p95": pct(delays, 0.95),
    }


async def main(args: argparse.Namespace) -> None:
    url, sandbox = start_sandbox()
    data_dir = Path(tempfile.mkdtemp(prefix="chorus-bench-publish-"))
    engine = EmbeddedMongo(data_dir / "documents", snapshot_interval=2.0)
    db = engine.async_client["chorus"]
    await ensure_indexes(db)  # as the runtime does at start: the due queries walk them
    media = LocalMediaStore(data_dir / "media")
    providers = providers_for(url)
    try:
        org = ObjectId()
        began = time.monotonic()
        access = await connect_accounts(url, providers, args.accounts, org)
        print(
            f"{args.accounts} accounts connected on the sandbox "
            f"({', '.join(NETWORKS)}) in {time.monotonic() - began:.0f} s"
        )
        print(f"{args.posts} posts per phase, {args.concurrency} posts at once per worker")
        for workers in args.workers:
            for phase in args.phases:
                spread = 0.0 if phase == "drain" else args.posts / args.rate * 60
                posts = make_posts(access, org, args.posts, f"{phase}{workers}", spread)
                figures = await run_phase(db, media, access, posts, workers, args.concurrency)
                print(
                    f"{workers} worker{'s' if workers > 1 else ''}, {phase:6}"
                    + (f" (due at {args.rate}/min)" if phase == "steady" else " (all due at once)")
                    + f": {figures['published']:.0f} published, {figures['failed']:.0f} failed"
                    f" in {figures['seconds']:.0f} s; {figures['per_minute']:.0f} posts/min;"
                    f" due-to-published p50 {figures['p50']:.2f} s, p95 {figures['p95']:.2f} s",
                    flush=True,
                )
    finally:
        for provider in providers.values():
            await provider.aclose()
        engine.close()
        sandbox.terminate()
        sandbox.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=1_200.0, help="steady phase: due per minute")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--phases", nargs="+", choices=("drain", "steady"), default=["drain", "steady"]
    )
    asyncio.run(main(parser.parse_args()))
