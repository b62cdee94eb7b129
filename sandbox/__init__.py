"""Local servers that speak each social network's wire format, for tests and demos.

The real networks cannot be reached from where Chorus is built and tested, and a test that
posts to them would publish for real. The sandbox answers the same requests the providers
in ``tools.platforms`` send, with the same shapes and errors, holds its state in memory,
and lets a test seed users, add mentions, expire tokens and inject faults (``/_sandbox``).

    base_url, stop = serve_in_thread()          # or: python -m sandbox --port 8900
    provider = build_provider("twitter", base_url=base_url,
                              client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET)
    ...
    stop()

Every network starts with one account to connect (its consent page offers it): X
@chorusbrand; Facebook "Dana Brand" managing the Pages Chorus Coffee (with the Instagram
account chorus.coffee) and Chorus Events; LinkedIn "Lee Brand", administrator of Chorus
Coffee Co; TikTok chorus.coffee; YouTube @chorusbrand; Bluesky chorusbrand.bsky.social
with the app password in ``sandbox.bluesky.APP_PASSWORD``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from sandbox.core import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "serve_app_in_thread", "serve_in_thread"]


def serve_in_thread(host: str = "127.0.0.1", port: int = 0) -> tuple[str, Callable[[], None]]:
    """Start the sandbox with uvicorn in a background thread.

    ``port=0`` picks a free port. Returns the base URL and a ``stop()`` that shuts the
    server down and waits for its thread.
    """
    from sandbox.app import build_app

    app, _ = build_app()
    return serve_app_in_thread(app, host, port)


def serve_app_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, Callable[[], None]]:
    """Serve any ASGI ``app`` with uvicorn in a daemon thread; (base URL, stop)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="chorus-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{bound_port}", stop
