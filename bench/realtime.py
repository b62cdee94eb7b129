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
                                       [--seconds 20] [--redis redis://127.0.0.1:6379/14]

(Database 14, not the tests' 15: the bench's server counts its hundreds of sign-ups in the
same per-address rate-limit keys a test run would read, and would fail its sign-ups.)

Targets (issue 16): all 10,000 held, p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout, whatever is installed

PASSWORD = "bench passphrase 123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """Seconds the process's main thread has run on a CPU, and waited for one while it was
    ready to run (the kernel's schedstat): on a shared machine the second says how much of a
    delay was the machine's, not the program's."""
    ran, waited, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(ran) / 1e9, int(waited) / 1e9


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the client process ------------------------------------------------------------------
#
# One asyncio protocol per socket that parses the server's frames where they arrive, rather
# than a websockets connection and a reading task per socket: ten thousand readers' task
# switches (and the library's per-frame machinery) made the client, not the server, the
# bottleneck. Latency is still from the publisher's clock to the moment the frame's bytes
# reach this process (every frame of one read is stamped with that read's time).

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class _Socket(asyncio.Protocol):
    """A client WebSocket that records each event's latency and answers the server's pings
    (RFC 6455: server frames are unmasked, the client's own frames are masked)."""

    def __init__(self, host: str, path: str, latencies: list[float], errors: dict[str, int]):
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            # Offered as browsers offer it; the server decides whether frames are compressed.
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        ).encode()
        self._inflate: Any = None  # set when the server accepted permessage-deflate
        self._latencies = latencies
        self._errors = errors
        self._buffer = bytearray()
        self._upgraded = False
        self.transport: asyncio.Transport | None = None
        self.welcomed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self._request)  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.welcomed.done():
            self.welcomed.set_exception(ConnectionError("closed before the welcome"))
        elif not self.closed:
            self._errors["lost"] = self._errors.get("lost", 0) + 1
        self.closed = True

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self._buffer
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.welcomed.set_exception(ConnectionError(bytes(buf[:40]).decode("latin-1")))
                self.transport.close()  # type: ignore[union-attr]
                return
            if b"permessage-deflate" in bytes(buf[:end]).lower():
                self._inflate = zlib.decompressobj(-15)
            del buf[: end + 4]
            self._upgraded = True
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            compressed = buf[pos] & 0x40
            opcode, length = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            if compressed and self._inflate is not None:
                payload = self._inflate.decompress(payload + b"\x00\x00\xff\xff")
            if opcode == 1:
                self._text(payload, now)
            elif opcode == 9:  # ping: answer with a masked pong of the same payload
                self._send(0xA, payload)
            elif opcode == 8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self._errors[f"closed {code}"] = self._errors.get(f"closed {code}", 0) + 1
                self.closed = True
                self._send(0x8, payload[:2])
                self.transport.close()  # type: ignore[union-attr]
                break
        del buf[:pos]

    def _text(self, payload: bytes, now: float) -> None:
        at = payload.find(b'"sentAt":')
        if at >= 0:
            end = payload.find(b"}", at)
            self._latencies.append(now - float(payload[at + 9 : end].split(b",")[0]))
        elif not self.welcomed.done():
            self.welcomed.set_result(None)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)  # type: ignore[union-attr]


async def _client(spec: dict[str, Any]) -> None:
    """Open the sockets, report READY, record latencies until stdin says STOP."""
    base, tokens, n = spec["ws"], spec["tokens"], spec["connections"]
    host, port = base.removeprefix("ws://").split(":")
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    held: list[_Socket] = []
    gate = asyncio.Semaphore(64)

    async def open_one(i: int) -> None:
        path = f"/api/ws/post-status?token={tokens[i % len(tokens)]}"
        async with gate:
            for attempt in range(5):
                try:
                    _, sock = await loop.create_connection(
                        lambda: _Socket(f"{host}:{port}", path, latencies, errors),
                        host,
                        int(port),
                    )
                    await asyncio.wait_for(sock.welcomed, 60)
                    held.append(sock)
                    return
                except Exception as exc:
                    if attempt == 4:
                        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    await asyncio.sleep(0.5 * (attempt + 1))

    started = time.perf_counter()
    await asyncio.gather(*(open_one(i) for i in range(n)))
    connect_seconds = time.perf_counter() - started
    print(f"READY {len(held)} {connect_seconds:.1f}", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # STOP
    # Deliveries still queued on the server: wait until two quiet seconds (at most a minute).
    for _ in range(30):
        seen = len(latencies)
        await asyncio.sleep(2.0)
        if len(latencies) == seen:
            break
    still = sum(not s.closed for s in held)
    print(
        json.dumps({"held": still, "latencies": latencies, "errors": errors}),
        flush=True,
    )


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


_PROFILED = """
import cProfile, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
sys.argv = ["chorus", "serve", "--port", "{port}"]
from chorus.cli import app
profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared
try:
    profiler.run("app()")
except SystemExit:
    pass
profiler.dump_stats({out!r})
"""


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
    serve = ["-m", "chorus.cli", "serve", "--port", str(port)]
    if args.profile:
        # The server under cProfile: SIGTERM (which uvicorn raises again once it has shut
        # down) becomes SystemExit, so the stats are written.
        serve = ["-c", _PROFILED.format(port=port, out=args.profile)]
    server = subprocess.Popen(
        [sys.executable, *serve],
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
        before = _cpu_seconds(server.pid), _cpu_seconds(client.pid)
        sent = asyncio.run(_publish(args.redis, orgs, args.rate, args.seconds))
        after = _cpu_seconds(server.pid), _cpu_seconds(client.pid)
        cpu = [(a[0] - b[0], a[1] - b[1]) for a, b in zip(after, before, strict=True)]
        rss_end = _rss_mb(server.pid)
        client.stdin.write("STOP\n")
        client.stdin.flush()
        result = json.loads(client.stdout.readline())
        # Until the last delivery: what the server and the client spent on all of them.
        drained = _cpu_seconds(server.pid), _cpu_seconds(client.pid)
        total = [(a[0] - b[0], a[1] - b[1]) for a, b in zip(drained, before, strict=True)]
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
    print(
        f"sockets: {held} of {args.connections} held ({connect_s} s to open), {len(orgs)} orgs; "
        f"{result['held']} still open at the end"
    )
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
        f"while publishing ({args.seconds:.0f} s), seconds on a CPU / waiting for one: "
        f"server {cpu[0][0]:.1f} / {cpu[0][1]:.1f}, client {cpu[1][0]:.1f} / {cpu[1][1]:.1f}"
    )
    n = max(len(latencies), 1)
    print(
        f"from the first publish to the last delivery, on a CPU / waiting for one: server "
        f"{total[0][0]:.1f} / {total[0][1]:.1f} s ({total[0][0] / n * 1e6:.1f} us a delivery), "
        f"client {total[1][0]:.1f} / {total[1][1]:.1f} s ({total[1][0] / n * 1e6:.1f} us)"
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
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--profile", help="write the server's cProfile stats to this file")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        import uvloop  # the client's own loop, as uvicorn's server runs on one

        uvloop.run(_client(json.loads(Path(args.client).read_text())))
    else:
        _run(args)


if __name__ == "__main__":
    main()
