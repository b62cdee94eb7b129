"""LangServe's request bodies checked against the schemas it publishes for them.

LangServe documents each route's body with a full model (the graph's input contract, the
config it accepts, ``kwargs`` as an object) but, at run time, reads only a shallow
``{input, config}`` and validates the input leniently: ``"kwargs": [null]``, ``false`` for an
integer in ``config`` or ``0`` for a string in the input passed. This validates the raw
body against the published model in pydantic's strict JSON mode, which takes JSON exactly as
the JSON Schema reads it (ISO text for dates, no coercion between types), before LangServe
runs anything, and before the AI-credit check (a malformed request is told what to fix,
whatever the allowance); what it refuses is a 422 naming the fields.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

# The POST endpoints whose body LangServe documents, by the last segment of their path.
ENDPOINTS = ("invoke", "batch", "stream", "stream_log", "stream_events")


class PublishedBodies:
    """Per LangServe endpoint of one graph: the model its documentation route publishes."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.adapters: dict[str, TypeAdapter[object]] = {}

    def collect(self, app: FastAPI) -> None:
        """Read the models off the documentation routes ``add_routes`` just added."""
        for route in app.router.routes:
            if (
                isinstance(route, APIRoute)
                and route.include_in_schema
                and route.path.startswith(self.prefix + "/")
                and route.body_field is not None
            ):
                endpoint = route.path.rsplit("/", 1)[1]
                if endpoint in ENDPOINTS:
                    model = route.body_field.field_info.annotation
                    self.adapters[endpoint] = TypeAdapter(model)
        missing = set(ENDPOINTS) - set(self.adapters)
        if missing:  # a LangServe upgrade that renamed them must not switch the check off
            raise RuntimeError(f"{self.prefix}: no published body for {sorted(missing)}")

    def dependency(self) -> Callable[[Request], Awaitable[None]]:
        async def check(request: Request) -> None:
            if request.method != "POST":
                return
            adapter = self.adapters.get(request.url.path.rsplit("/", 1)[1])
            if adapter is None:
                return
            try:
                adapter.validate_json(await request.body(), strict=True)
            except ValidationError as exc:
                # An empty or unreadable body is refused here too ("Invalid JSON: EOF..."),
                # so it is a 422 before the credit check, as any other malformed body.
                errors = exc.errors(include_url=False)
                raise RequestValidationError(
                    [{**e, "loc": ("body", *e["loc"])} for e in errors]
                ) from exc

        return check
