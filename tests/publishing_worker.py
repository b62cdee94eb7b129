"""The publishing worker the kill -9 test kills: one process, its own embedded store.

``run`` opens the embedded document store on the test's data dir (the previous worker's
lock died with it), the accounts connected on the sandbox (a JSON file the test wrote) and
publishes due posts until every post has settled, telling the test through ``conn`` when
it is ready and when it is done. The test kills it with SIGKILL at a random moment in
between; the next worker takes over the dead one's claims once their lease ends.

Started through a forkserver that has imported this module, so a worker starts in
milliseconds instead of paying the imports fifty times.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from persistence.embedded_mongo import EmbeddedMongo
from persistence.media import LocalMediaStore
from persistence.pubsub import InProcessPubSub
from persistence.ratelimit import InProcessRateLimiter
from sandbox.accounts import SandboxAccountAccess
from sandbox.core import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from services.events import EventBus
from services.publishing import PublishConfig, Publisher, RetryPolicy, run_due
from tools.platforms import build_provider

FINAL = ("published", "partially_published", "failed")
DATABASE = "chorus"


def run(data_dir: str, accounts: str, sandbox_url: str, lease: float, conn: Any) -> None:
    asyncio.run(_run(Path(data_dir), Path(accounts), sandbox_url, lease, conn))


async def _run(data_dir: Path, accounts: Path, sandbox_url: str, lease: float, conn: Any) -> None:
    engine = EmbeddedMongo(data_dir / "documents", snapshot_interval=0.5)
    db = engine.async_client[DATABASE]
    providers = {
        network: build_provider(
            network,
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            base_url=sandbox_url,
            timeout=5.0,
        )
        for network in ("twitter", "bluesky")
    }
    publisher = Publisher(
        db,
        LocalMediaStore(data_dir / "media"),
        SandboxAccountAccess.load(accounts, providers),
        EventBus(db, InProcessPubSub()),
        InProcessRateLimiter(),
        config=PublishConfig(
            lease_seconds=lease, policy=RetryPolicy(base_seconds=0.05, cap_seconds=0.2)
        ),
    )
    conn.send("ready")
    posts = db["posts"]
    while await posts.count_documents({"scheduling.status": {"$nin": list(FINAL)}}):
        outcome = await run_due(publisher, concurrency=2, max_seconds=5)
        if not outcome:  # nothing due yet: a dead worker's lease, or a retry's wait
            await asyncio.sleep(0.05)
    for provider in providers.values():
        await provider.aclose()
    await asyncio.to_thread(engine.close)
    conn.send("done")
