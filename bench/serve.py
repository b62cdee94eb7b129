"""Benchmark: the service over HTTP on loopback, embedded profile, scripted model.

Prints the time to the first SSE event and the end-to-end time of a streamed run through the
runs API, the same graph invoked in process, and authenticated GET throughput and p95 latency
under concurrent load from a second process. Targets: first event p95 < 100 ms; HTTP adds
< 20 ms per run; >= 500 requests/s with p95 < 50 ms on a light read route.

    .venv/bin/python bench/serve.py [--runs 20] [--requests 3000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "tests"))

GRAPH = "trend_analyzer"
INPUT = {"input": {"days": 7}}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def streamed_run(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[float, float]:
    """(seconds to the first SSE event, seconds to the end) of one streamed run."""
    thread = (await client.post("/lg/threads", json={}, headers=headers)).json()["thread_id"]
    body = {"assistant_id": GRAPH, "input": INPUT, "stream_mode": ["values"]}
    started = time.perf_counter()
    first = None
    async with client.stream(
        "POST", f"/lg/threads/{thread}/runs/stream", json=body, headers=headers
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("event:") and first is None:
                first = time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started


async def in_process_runs(runs: int) -> list[float]:
    from support import make_settings

    from chorus.runtime import Runtime
    from persistence.admin import OrganizationAdmin

    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp) / "data", snapshot_interval_seconds=2.0)
        async with await Runtime.open(settings) as runtime:
            org = await OrganizationAdmin(runtime.db).create("Bench")
            times = []
            for _ in range(runs + 2):
                ctx = runtime.engine.context(org.id, graph=GRAPH)
                started = time.perf_counter()
                await runtime.engine.run(ctx, input=INPUT)
                times.append(time.perf_counter() - started)
            return times[2:]


LOAD = """
import asyncio, sys, time, httpx
base, key, total, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
async def main():
    latencies = []
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        queue = iter(range(total))
        async def worker():
            for _ in queue:
                t = time.perf_counter()
                r = await client.get("/api/users/me", headers={"x-api-key": key})
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    print(total / elapsed, latencies[int(0.95 * (len(latencies) - 1))])
asyncio.run(main())
"""


async def main(runs: int, requests: int, concurrency: int) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "CHORUS_DATA_DIR": str(Path(tmp) / "data"),
            "CHORUS_MODEL": "scripted",
            "CHORUS_PORT": str(port),
            # The limiter still runs on every request; its limit is raised above the load.
            "CHORUS_RATE_LIMITS": json.dumps({"read": [10_000_000, 60], "runs": [100_000, 60]}),
        }
        server = subprocess.Popen(  # noqa: ASYNC220 - a benchmark's own server process
            [sys.executable, "-m", "chorus.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        try:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                for _ in range(300):
                    try:
                        if (await client.get("/api/system/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                body = {
                    "email": "bench@example.com",
                    "password": "a long bench password",
                    "organizationName": "Bench",
                }
                session = (await client.post("/api/auth/register", json=body)).json()
                headers = {"Authorization": f"Bearer {session['accessToken']}"}
                key = (
                    await client.post("/api/api-keys", json={"name": "bench"}, headers=headers)
                ).json()["key"]
                client_runs = [await streamed_run(client, headers) for _ in range(runs + 2)][2:]
            firsts = [f for f, _ in client_runs]
            totals = [t for _, t in client_runs]
            load = subprocess.run(  # noqa: ASYNC221 - the load runs while we wait
                [sys.executable, "-c", LOAD, base, key, str(requests), str(concurrency)],
                capture_output=True,
                text=True,
                check=True,
            )
            rps, load_p95 = (float(x) for x in load.stdout.split())
        finally:
            server.terminate()
            server.wait(timeout=30)
    local = await in_process_runs(runs)
    overhead = statistics.median(totals) - statistics.median(local)
    print(json.dumps({"graph": GRAPH, "runs": runs}))
    print(
        f"first SSE event      p50 {statistics.median(firsts) * 1000:7.1f} ms"
        f"   p95 {p95(firsts) * 1000:7.1f} ms"
    )
    print(
        f"run over HTTP        p50 {statistics.median(totals) * 1000:7.1f} ms"
        f"   p95 {p95(totals) * 1000:7.1f} ms"
    )
    print(
        f"run in process       p50 {statistics.median(local) * 1000:7.1f} ms"
        f"   p95 {p95(local) * 1000:7.1f} ms"
    )
    print(f"HTTP overhead (p50)      {overhead * 1000:7.1f} ms")
    print(
        f"GET /api/users/me    {rps:7.0f} req/s   p95 {load_p95 * 1000:7.1f} ms"
        f"   ({requests} requests, {concurrency} concurrent, second process)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.requests, args.concurrency))
