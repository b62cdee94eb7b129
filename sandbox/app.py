"""The sandbox server: every network's app under its own path prefix, and the control API.

``/x/...`` X, ``/meta/...`` Facebook Pages and Instagram (the Graph API, its login dialog
and its upload host), ``/linkedin/...``, ``/tiktok/...``, ``/google/...`` (Google OAuth and
YouTube) and ``/bluesky/...`` (AT Protocol XRPC). Each network's state lives in memory on
this server instance; ``/_sandbox/...`` (see ``sandbox.control``) seeds and inspects it and
injects faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from starlette.applications import Starlette
from starlette.routing import Mount

from sandbox import bluesky, google, linkedin, meta, tiktok, x
from sandbox.core import FaultBook, FaultMiddleware, NetworkState

__all__ = ["NETWORKS", "Sandbox", "build_app"]

#: Path prefix -> the module speaking that network's wire format.
NETWORKS: dict[str, ModuleType] = {
    "x": x,
    "meta": meta,
    "linkedin": linkedin,
    "tiktok": tiktok,
    "google": google,
    "bluesky": bluesky,
}


@dataclass
class _Mounted:
    module: ModuleType
    app: Starlette


class Sandbox:
    """The live state of every network, reachable by prefix; ``reset`` starts afresh."""

    def __init__(self) -> None:
        self.faults = FaultBook()
        self.files: dict[str, tuple[bytes, str]] = {}
        self.mounted: dict[str, _Mounted] = {}
        for name, module in NETWORKS.items():
            sub = Starlette(routes=module.routes())
            sub.state.network = module.State()
            sub.state.sandbox = self
            self.mounted[name] = _Mounted(module, sub)

    def state(self, network: str) -> NetworkState:
        return self.mounted[network].app.state.network

    def module(self, network: str) -> ModuleType:
        return self.mounted[network].module

    def reset(self) -> None:
        self.faults.clear()
        self.files.clear()
        for mounted in self.mounted.values():
            mounted.app.state.network = mounted.module.State()

    def mounts(self) -> list[Mount]:
        return [
            Mount(
                f"/{name}",
                app=FaultMiddleware(m.app, name, self.faults, m.module.ERRORS),
            )
            for name, m in self.mounted.items()
        ]


def build_app() -> tuple[Starlette, Sandbox]:
    """The whole sandbox as one ASGI app, and its :class:`Sandbox` state."""
    from sandbox import control

    sandbox = Sandbox()
    app = Starlette(routes=[*control.routes(sandbox), *sandbox.mounts()])
    app.state.sandbox = sandbox
    return app, sandbox
