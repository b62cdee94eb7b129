"""WebSockets: an organization's live events and a person's notifications.

``/api/ws/connect`` takes topics (``?topics=post-status,notifications`` at connect, then
``{"type": "subscribe" | "unsubscribe", "topics": [...]}`` messages); ``/api/ws/notifications``,
``/analytics``, ``/ai-tasks`` and ``/post-status`` are one topic each. Authentication at
connect: ``Authorization: Bearer <access token>``, a ``token`` query parameter (browsers
cannot set headers on a WebSocket) or an ``x-api-key`` header; a failure closes with 4401.

Every message is ``{"topic", "cursor", "message"}``; reconnect with ``?cursor=<the last
cursor>`` to receive what was missed first (from the outbox), then live messages. The server
sends ``{"type": "ping"}`` every heartbeat and then checks the credentials again: a session
that was signed out (or a revoked key, a removed member) is closed with 4401. A socket that
falls behind is closed with 4408 (resume with the cursor).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.deps import authenticate, still_valid
from api.errors import ApiError
from api.principal import Principal
from api.realtime_hub import Hub
from api.socket_outlet import FellBehind, Outlet
from persistence.pubsub import SubscriptionLost
from services import realtime
from services.events import org_channel

router = APIRouter(prefix="/api/ws", tags=["realtime"])

HEARTBEAT_SECONDS = 20.0
UNAUTHORIZED, BAD_REQUEST, FELL_BEHIND = 4401, 4400, 4408


def _credentials(ws: WebSocket) -> tuple[str | None, str | None]:
    header = ws.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else None
    return token or ws.query_params.get("token"), ws.headers.get("x-api-key")


def _parse_topics(raw: Any) -> set[str] | None:
    names = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(names, list):
        return None
    topics = {str(n).strip() for n in names if str(n).strip()}
    return topics if topics <= set(realtime.TOPICS) else None


class _Socket:
    def __init__(self, ws: WebSocket, principal: Principal, topics: set[str]) -> None:
        self.ws = ws
        self.principal = principal
        # What fan-out sends through (the hub filters by its topics and person).
        self.outlet = Outlet(ws.send_text, str(principal.user_id), topics)

    @property
    def topics(self) -> set[str]:
        return self.outlet.topics

    @topics.setter
    def topics(self, value: set[str]) -> None:
        self.outlet.topics = value

    async def replay(self, messages: list[dict[str, Any]]) -> None:
        """Send what the client missed (before any live frame: the outlet is held)."""
        user = self.principal.user_id
        for message in messages:
            order = [
                t for t in realtime.topic_order(str(message.get("type", ""))) if t in self.topics
            ]
            if not order or not realtime.visible_to(message, user):
                continue
            cursor = str(message.get("id", ""))
            await self.ws.send_text(realtime.frame(order[0], cursor, json.dumps(message)))
            self.outlet.sent.add(cursor)

    async def receive(self) -> None:
        while True:
            try:
                data = json.loads(await self.ws.receive_text())
            except ValueError:
                await self.ws.send_json({"type": "error", "message": "send JSON messages"})
                continue
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "ping":
                await self.ws.send_json({"type": "pong"})
            elif kind in ("subscribe", "unsubscribe"):
                topics = _parse_topics(data.get("topics"))
                if topics is None:
                    await self.ws.send_json(
                        {"type": "error", "message": f"topics: one of {list(realtime.TOPICS)}"}
                    )
                    continue
                self.topics = self.topics | topics if kind == "subscribe" else self.topics - topics
                await self.ws.send_json({"type": "subscribed", "topics": sorted(self.topics)})
            else:
                await self.ws.send_json(
                    {"type": "error", "message": "type: ping, subscribe or unsubscribe"}
                )

    async def heartbeat(self, seconds: float) -> None:
        runtime = self.ws.app.state.runtime
        checks = _checks(self.ws)
        while True:
            await asyncio.sleep(seconds)
            if not await checks.valid(runtime, self.principal, seconds / 2):
                await self.ws.close(UNAUTHORIZED, "the session has ended; sign in again")
                return
            await self.ws.send_json({"type": "ping"})


class _Checks:
    """The last answer of ``still_valid`` per credential, shared by its sockets: a person's
    tabs (or a script's many sockets) cost one check per interval, not one each."""

    def __init__(self) -> None:
        self._last: dict[tuple[object, ...], tuple[bool, float]] = {}

    async def valid(self, runtime: Any, principal: Principal, max_age: float) -> bool:
        key = (principal.via, principal.session_id, principal.api_key_id, principal.user_id)
        known = self._last.get(key)
        now = time.monotonic()
        if known is not None and now - known[1] < max_age:
            return known[0]
        result = await still_valid(runtime, principal)
        if len(self._last) > 100_000:  # forget old answers rather than grow without bound
            self._last.clear()
        self._last[key] = (result, now)
        return result


def _checks(ws: WebSocket) -> _Checks:
    state = ws.app.state
    if not hasattr(state, "ws_checks"):
        state.ws_checks = _Checks()
    return state.ws_checks


async def _serve(ws: WebSocket, fixed: set[str] | None) -> None:
    await ws.accept()
    runtime = ws.app.state.runtime
    token, api_key = _credentials(ws)
    try:
        principal = await authenticate(runtime, token=token, api_key=api_key)
    except ApiError as exc:
        await ws.close(UNAUTHORIZED, str(exc.detail)[:120])
        return
    topics = fixed if fixed is not None else _parse_topics(ws.query_params.get("topics", ""))
    if topics is None:
        await ws.close(BAD_REQUEST, f"topics: a comma-separated subset of {realtime.TOPICS}")
        return
    cursor: ObjectId | None = None
    if raw := ws.query_params.get("cursor"):
        try:
            cursor = ObjectId(raw)
        except (InvalidId, TypeError):
            await ws.close(BAD_REQUEST, "cursor: a cursor this server sent")
            return
    socket = _Socket(ws, principal, set(topics))
    hub: Hub = ws.app.state.realtime
    seconds = float(getattr(ws.app.state, "ws_heartbeat_seconds", HEARTBEAT_SECONDS))
    # Listening before the replay, so nothing published meanwhile falls in a gap; what
    # arrives during the replay waits in the outlet and follows it.
    socket.outlet.hold()
    async with hub.attach(org_channel(principal.org_id), socket.outlet):
        await ws.send_json(
            {"type": "welcome", "topics": sorted(socket.topics), "heartbeatSeconds": seconds}
        )
        if cursor is not None:
            await socket.replay(
                await realtime.replay(
                    runtime.db, principal.org_id, principal.user_id, cursor, socket.topics
                )
            )
        socket.outlet.release()
        tasks = [
            asyncio.create_task(socket.receive()),
            asyncio.create_task(socket.heartbeat(seconds)),
        ]
        try:
            ended = socket.outlet.ended
            await asyncio.wait([*tasks, ended], return_when=asyncio.FIRST_COMPLETED)
            # Messages were lost for this socket: its client resumes from its cursor.
            if ended.done() and isinstance(ended.exception(), FellBehind | SubscriptionLost):
                await ws.close(FELL_BEHIND, "fell behind; reconnect with your cursor")
        finally:
            await socket.outlet.close()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                    await task


@router.websocket("/connect")
async def connect(websocket: WebSocket) -> None:
    await _serve(websocket, None)


@router.websocket("/notifications")
async def notifications(websocket: WebSocket) -> None:
    await _serve(websocket, {"notifications"})


@router.websocket("/analytics")
async def analytics(websocket: WebSocket) -> None:
    await _serve(websocket, {"analytics"})


@router.websocket("/ai-tasks")
async def ai_tasks(websocket: WebSocket) -> None:
    await _serve(websocket, {"ai-tasks"})


@router.websocket("/post-status")
async def post_status(websocket: WebSocket) -> None:
    await _serve(websocket, {"post-status"})
