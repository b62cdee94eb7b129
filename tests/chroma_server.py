"""Start a real Chroma server (``chroma run``) for tests, on a free local port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HEARTBEAT = "/api/v2/heartbeat"


def chroma_executable() -> Path | None:
    """The ``chroma`` CLI of this interpreter's environment (chromadb installs it), or on PATH."""
    beside = Path(sys.executable).with_name("chroma")
    if beside.is_file():
        return beside
    found = shutil.which("chroma")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma exited with {proc.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(url + HEARTBEAT, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"chroma did not answer {HEARTBEAT} within {timeout}s:\n{_tail(log)}")


@contextmanager
def running_chroma_server(
    executable: Path, data_dir: Path, *, timeout: float = 30.0, attempts: int = 3
) -> Iterator[str]:
    """Run ``chroma run --path data_dir`` on 127.0.0.1 and yield its ``http://`` URL.

    Retries on a fresh port if the server dies at start (another process may take the port
    between choosing it and binding it). The server is terminated on exit.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = data_dir / f"server-{port}.log"
        cmd = [str(executable), "run", "--path", str(data_dir / "db")]
        cmd += ["--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            try:
                _wait_ready(proc, url, log, timeout)
            except RuntimeError:
                if attempt == attempts:
                    raise
                continue
            yield url
            return
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
