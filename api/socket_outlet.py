"""A socket's outgoing side: pre-encoded frames sent in order, without a task per frame.

Fan-out sends one organization's message to each of its sockets. Awaiting each send in turn
would let one slow socket hold up the rest; a queue and a pump task per socket (as before)
cost a task switch per frame, which at ten thousand sockets was most of the server's work.
Here ``push`` starts the send at once and steps it by hand: a send to a socket whose buffer
has room completes without suspending (uvicorn writes the frame to the transport and only
waits when the transport asks it to pause), so nothing else is scheduled. Only a send that
does suspend is finished by a task, and frames pushed meanwhile wait behind it in a bounded
backlog; a socket whose backlog overflows has fallen behind and is ended (``FellBehind``),
to resume from its cursor, rather than slowing the others or growing without bound.

While the socket replays what its client missed, the outlet is ``hold()``-ed: live frames
wait in the backlog and go out after the replay, skipping the ones the replay sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import types
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any


class FellBehind(Exception):
    """More frames waited for the socket than its backlog holds."""


@types.coroutine
def _resume(coro: Coroutine[Any, Any, None], pending: Any) -> Generator[Any, Any, None]:
    """Finish ``coro``, which was stepped once by hand and yielded ``pending`` (what it
    waits for): hand ``pending`` to the task driving this, then let the coroutine go on."""
    try:
        yield pending
    except BaseException:
        coro.close()
        raise
    yield from coro  # type: ignore[misc]


class Outlet:
    """Sends text frames through ``send`` in the order they are pushed."""

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        user: str,
        topics: set[str],
        *,
        max_pending: int = 1000,
    ) -> None:
        self.user = user
        self.topics = topics
        self.sent: set[str] = set()  # cursors the replay sent: live copies are skipped
        self._send = send
        self._max = max_pending
        self._backlog: deque[tuple[str, str]] = deque()
        self._busy = False  # a send is under way (or the outlet is held): frames queue
        self._task: asyncio.Task[None] | None = None
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def push(self, cursor: str, text: str) -> None:
        """Send ``text`` (the frame of the message ``cursor``) after those pushed before."""
        if self.ended.done():
            return
        if self._busy:
            if len(self._backlog) >= self._max:
                self._end(FellBehind(f"more than {self._max} frames waiting"))
                return
            self._backlog.append((cursor, text))
            return
        if self.sent and cursor in self.sent:
            return
        coro = self._send(text)
        try:
            pending = coro.send(None)  # type: ignore[attr-defined]
        except StopIteration:
            return  # sent without waiting: the usual case
        except Exception as exc:
            self._end(exc)
            return
        self._busy = True
        self._task = asyncio.ensure_future(self._finish(_resume(coro, pending)))  # type: ignore[arg-type]

    def hold(self) -> None:
        """Queue what is pushed until ``release`` (the replay is being sent meanwhile)."""
        self._busy = True

    def release(self) -> None:
        """Send what was queued while held, then send as frames come."""
        self._task = asyncio.ensure_future(self._finish(None))

    async def _finish(self, started: Awaitable[None] | None) -> None:
        try:
            if started is not None:
                await started
            while self._backlog:
                cursor, text = self._backlog.popleft()
                if not (self.sent and cursor in self.sent):
                    await self._send(text)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._end(exc)
        finally:
            self._busy = False

    def lose(self, reason: BaseException) -> None:
        """End the outlet: its messages can no longer come (the subscription was lost)."""
        self._end(reason)

    def _end(self, reason: BaseException) -> None:
        self._backlog.clear()
        if not self.ended.done():
            self.ended.set_exception(reason)

    async def close(self) -> None:
        """Stop sending (the socket is going away)."""
        if not self.ended.done():
            self.ended.set_result(None)
        self._backlog.clear()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        # Nobody awaits a failure of a socket that is closing anyway.
        if self.ended.done() and not self.ended.cancelled():
            self.ended.exception()
