"""The CLI's client for a running server: ``chorus`` commands sent to ``/api/operator``.

Used when ``chorus serve`` holds the embedded data dir (``chorus.server_file``). The answers
are what the same commands compute in process, so the CLI prints the same lines either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from api.routes.operator import OPERATOR_HEADER
from chorus.server_file import ServerNote


class ServerRefused(Exception):
    """The server answered with an error, or did not answer; the message says which."""


class ServerClient:
    def __init__(self, note: ServerNote) -> None:
        self.note = note
        # No read timeout: a deep doctor loads the models, a run waits on the model.
        self._http = httpx.Client(
            base_url=note.url,
            headers={OPERATOR_HEADER: note.token},
            timeout=httpx.Timeout(10.0, read=None),
        )

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def components(self, *, deep: bool) -> dict[str, Any]:
        return self._json("GET", "/api/operator/components", params={"deep": deep})

    def organizations(self) -> list[dict[str, Any]]:
        return self._json("GET", "/api/operator/organizations")["organizations"]

    def seed_demo(self) -> dict[str, Any]:
        return self._json("POST", "/api/operator/demo")

    def run(self, body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """The run's lines as ``(kind, data)``: updates, then the outcome or an error."""
        try:
            with self._http.stream("POST", "/api/operator/runs", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    raise ServerRefused(_problem(response))
                for line in response.iter_lines():
                    if line:
                        item = json.loads(line)
                        yield item["kind"], item["data"]
        except httpx.TransportError as exc:
            raise ServerRefused(self._unreachable(exc)) from exc

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerRefused(self._unreachable(exc)) from exc
        if response.status_code >= 400:
            raise ServerRefused(_problem(response))
        return response.json()

    def _unreachable(self, exc: Exception) -> str:
        return (
            f"the server holding the data dir (pid {self.note.pid}) does not answer at "
            f"{self.note.url}: {type(exc).__name__}"
        )


def _problem(response: httpx.Response) -> str:
    """The error's message and the fields it names, as one line."""
    try:
        error = response.json()["error"]
        fields = "; ".join(f"{f['field']}: {f['message']}" for f in error.get("fields") or [])
        return error["message"] + (f" ({fields})" if fields else "")
    except (ValueError, KeyError, TypeError):
        return f"the server answered {response.status_code}"
