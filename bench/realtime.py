"""Benchmark: many authenticated WebSockets held by one API process, events fanned out to them.

Starts ``chorus serve`` (Redis pub/sub, the embedded document store) in its own process,
registers ``--orgs`` organizations, then a second process opens ``--connections``
authenticated sockets on loopback (``/api/ws/post-status?token=...``, spread evenly over the
organizations) and holds them. This process then publishes ``--rate`` events a second for
``--seconds`` to the organizations' Redis channels, as a worker's EventBus does (the
outbox write a real emit also makes is left out: it is the emitter's cost, not fan-out's),
round-robin over the organizations; each socket gets its organization's events. Delivery
latency is from publish to receipt by the client (one clock: same machine). Prints the
sockets held, deliveries expected and received, latency p50/p95/p99, and the server's
resident memory before and after the sockets and at the end.

    .venv/bin/python bench/realtime.py [--connections 10000] [--orgs 500] [--rate 1000]
                                       [--seconds 20] [--redis redis://127.0.0.1:6379/15]

Targets (issue 16): all 10,000 held, p95 < 100 ms.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout, whatever is installed

PASSWORD = "bench passphrase 123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the client process ------------------------------------------------------------------


async def _client(spec: dict[str, Any]) -> None:
    """Open the sockets, report READY, record latencies until stdin says STOP."""
    from websockets.asyncio.client import connect

    base, tokens, n = spec["ws"], spec["tokens"], spec["connections"]
    latencies: list[float] = []
    closed: dict[str, int] = {}
    held: list[Any] = []
    gate = asyncio.Semaphore(64)

    async def open_one(i: int) -> None:
        token = tokens[i % len(tokens)]
        async with gate:
            for attempt in range(5):
                try:
                    ws = await connect(
                        f"{base}/api/ws/post-status?token={token}",
                        open_timeout=60,
                        ping_interval=None,
                        max_queue=None,
                    )
                    await asyncio.wait_for(ws.recv(), 60)  # the welcome
                    held.append(ws)
                    return
                except Exception as exc:
                    if attempt == 4:
                        closed[type(exc).__name__] = closed.get(type(exc).__name__, 0) + 1
                    await asyncio.sleep(0.5 * (attempt + 1))

    async def read(ws: Any) -> None:
        try:
            async for raw in ws:
                at = raw.find('"sentAt":')
                if at >= 0:
                    end = raw.find("}", at)
                    sent = float(raw[at + 9 : end].split(",")[0])
                    latencies.append(time.time() - sent)
        except Exception as exc:
            closed[type(exc).__name__] = closed.get(type(exc).__name__, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(open_one(i) for i in range(n)))
    connect_seconds = time.perf_counter() - started
    readers = [asyncio.create_task(read(ws)) for ws in held]
    print(f"READY {len(held)} {connect_seconds:.1f}", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # STOP
    # Deliveries still queued on the server: wait until two quiet seconds (at most a minute).
    for _ in range(30):
        seen = len(latencies)
        await asyncio.sleep(2.0)
        if len(latencies) == seen:
            break
    for task in readers:
        task.cancel()
    print(json.dumps({"held": len(held), "latencies": latencies, "errors": closed}), flush=True)


# --- the driver --------------------------------------------------------------------------


async def _register(base: str, orgs: int) -> list[tuple[str, str]]:
    import httpx

    out: list[tuple[str, str]] = []
    gate = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:

        async def one(i: int) -> None:
            async with gate:
                r = await client.post(
                    "/api/auth/register",
                    json={
                        "email": f"bench{i}@example.com",
                        "password": PASSWORD,
                        "organizationName": f"Bench {i}",
                    },
                )
                r.raise_for_status()
                body = r.json()
                out.append((body["user"]["organizationId"], body["accessToken"]))

        await asyncio.gather(*(one(i) for i in range(orgs)))
    return out


async def _publish(redis_url: str, orgs: list[str], rate: int, seconds: float) -> int:
    from bson import ObjectId
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    sent = 0
    tick = 0.01
    start = time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - start) < seconds:
            budget = rate * elapsed - sent
            async with redis.pipeline(transaction=False) as pipe:
                for _ in range(int(budget)):
                    org = orgs[sent % len(orgs)]
                    message = {
                        "_": "bench",
                        "id": str(ObjectId()),
                        "organizationId": org,
                        "type": "post.published",
                        "data": {"sentAt": time.time()},
                    }
                    pipe.publish(f"chorus:ps:events:{org}", json.dumps(message))
                    sent += 1
                await pipe.execute()
            await asyncio.sleep(max(0.0, tick - (time.perf_counter() - start - elapsed)))
    finally:
        await redis.aclose()
    return sent


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _run(args: argparse.Namespace) -> None:
    import httpx

    data = Path(tempfile.mkdtemp(prefix="chorus-bench-rt-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
    env.update(
        CHORUS_DATA_DIR=str(data / "data"),
        CHORUS_MODEL="scripted",
        CHORUS_REDIS_URL=args.redis,
        CHORUS_WS_HEARTBEAT_SECONDS=str(args.heartbeat),
        CHORUS_RATE_LIMITS='{"auth": [1000000, 60], "read": [1000000, 60]}',
        PYTHONPATH=str(ROOT),
    )
    log = (data / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "chorus.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    client = None
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/api/system/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        rss_start = _rss_mb(server.pid)
        accounts = asyncio.run(_register(base, args.orgs))
        spec = data / "spec.json"
        spec.write_text(
            json.dumps(
                {
                    "ws": base.replace("http://", "ws://"),
                    "tokens": [t for _, t in accounts],
                    "connections": args.connections,
                }
            )
        )
        client = subprocess.Popen(
            [sys.executable, __file__, "--client", str(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        if client.stdout is None or client.stdin is None:
            raise RuntimeError("the client process has no pipes")
        ready = client.stdout.readline()
        _, held_s, connect_s = ready.split()
        held = int(held_s)
        rss_held = _rss_mb(server.pid)
        time.sleep(2)
        orgs = [o for o, _ in accounts]
        sent = asyncio.run(_publish(args.redis, orgs, args.rate, args.seconds))
        rss_end = _rss_mb(server.pid)
        client.stdin.write("STOP\n")
        client.stdin.flush()
        result = json.loads(client.stdout.readline())
    finally:
        if client is not None:
            client.kill()
        server.terminate()
        server.wait(30)
        log.close()
    latencies = [x * 1000 for x in result["latencies"]]
    per_org = held / len(orgs)
    expected = round(sent * per_org)
    print(f"machine: {os.cpu_count()} cores; server and client each one Python process")
    print(f"sockets: {held} of {args.connections} held ({connect_s} s to open), {len(orgs)} orgs")
    print(f"events: {sent} published in {args.seconds:.0f} s ({sent / args.seconds:.0f}/s)")
    print(
        f"deliveries: {len(latencies)} of ~{expected} expected "
        f"({expected / args.seconds:.0f}/s offered); client-side errors {result['errors']}"
    )
    if latencies:
        print(
            f"latency ms: p50 {_pct(latencies, 0.5):.1f}  p95 {_pct(latencies, 0.95):.1f}  "
            f"p99 {_pct(latencies, 0.99):.1f}  max {max(latencies):.1f}  "
            f"mean {statistics.fmean(latencies):.1f}"
        )
    print(
        f"server RSS MB: {rss_start:.0f} at start, {rss_held:.0f} with the sockets held "
        f"({(rss_held - rss_start) * 1024 / max(held, 1):.1f} KB/socket), {rss_end:.0f} at the end"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--orgs", type=int, default=500)
    parser.add_argument("--rate", type=int, default=1000, help="events per second, in total")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--heartbeat", type=float, default=20, help="server ping seconds")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(_client(json.loads(Path(args.client).read_text())))
    else:
        _run(args)


if __name__ == "__main__":
    main()
