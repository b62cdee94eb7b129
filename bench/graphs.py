"""Benchmark: each workflow on the demo organization with the scripted model.

Prints, per workflow, the time of a run excluding model time (p50, p95), the process's CPU time
per run (p50, p95: steadier than wall time on a machine that other work loads) and the
process's peak memory. Target: content_creation and performance_analysis p95 under 300 ms on the
embedded profile.

    .venv/bin/python bench/graphs.py [--runs 20] [--warmup 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bson import ObjectId
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import HumanMessage

ROOT = Path(__file__).resolve().parent.parent
# This file's own folder comes first on sys.path, and its name would shadow the graphs package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "tests"))

from support import DEMO_NOW, make_settings  # noqa: E402

from chorus.runtime import Runtime  # noqa: E402
from services.demo import seed_demo  # noqa: E402

# Each workflow's steps: its input, then the answers to its interrupts.
WORKLOADS: dict[str, list[tuple[str, Any]]] = {
    "content_creation": [
        (
            "input",
            {"brief": "Announce our Ethiopia single-origin cold brew", "platform": "instagram"},
        ),
        ("resume", {"action": "approve"}),
    ],
    "trend_analysis": [("input", {"input": {"days": 14}})],
    "performance_analysis": [("input", {"input": {"days": 30}})],
    "competitor_analysis": [("input", {"input": {"competitors": ["Northside Coffee"]}})],
    "crisis_response": [
        (
            "input",
            {
                "input": {
                    "brand": "Lumen Coffee Roasters",
                    "mentions": [{"text": "Late delivery again, not happy", "reach": 500}],
                }
            },
        )
    ],
    "console": [("input", {"messages": [HumanMessage("When should we post on Instagram?")]})],
}


class ModelClock(AsyncCallbackHandler):
    """Adds up the wall time spent inside chat model calls."""

    def __init__(self) -> None:
        self.started: dict[Any, float] = {}
        self.seconds = 0.0

    async def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: Any, **_: Any):
        self.started[run_id] = time.perf_counter()

    async def on_llm_end(self, response: Any, *, run_id: Any, **_: Any) -> None:
        if run_id in self.started:
            self.seconds += time.perf_counter() - self.started.pop(run_id)


async def one_run(runtime: Runtime, org: str, name: str) -> tuple[float, float]:
    """Wall time without model time, and the process's CPU time (the scripted model's share
    of it is negligible)."""
    clock = ModelClock()
    ctx = runtime.engine.context(ObjectId(org), graph=name, now=DEMO_NOW)
    started, cpu = time.perf_counter(), time.process_time()
    for kind, value in WORKLOADS[name]:
        await runtime.engine.run(ctx, callbacks=[clock], **{kind: value})
    return time.perf_counter() - started - clock.seconds, time.process_time() - cpu


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(runs: int, warmup: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # The default snapshot interval, not the tests' short one.
        runtime = await Runtime.open(
            make_settings(Path(tmp) / "data", snapshot_interval_seconds=2.0)
        )
        try:
            demo = await seed_demo(runtime, now=DEMO_NOW)
            # A server starts on data already saved, which Runtime.open loads and then freezes
            # out of garbage collection; do the same for the data seeded just now.
            gc.collect()
            gc.freeze()
            print(f"{'workflow':22} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'cpu p95':>8} runs")
            for name in WORKLOADS:
                for _ in range(warmup):
                    await one_run(runtime, demo.organization_id, name)
                measured = [await one_run(runtime, demo.organization_id, name) for _ in range(runs)]
                row = []
                for values in ([w for w, _ in measured], [c for _, c in measured]):
                    row += [statistics.median(values) * 1000, percentile(values, 0.95) * 1000]
                print(f"{name:22} " + " ".join(f"{v:8.1f}" for v in row) + f" {runs:4d}")
        finally:
            await runtime.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.warmup))
