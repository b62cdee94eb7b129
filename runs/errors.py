"""What can go wrong starting or steering a run, as domain errors (``api.errors`` maps them)."""

from __future__ import annotations

from graphs.registry import UnknownGraph
from persistence.errors import Conflict, InvalidInput

__all__ = [
    "AlreadyExists",
    "InvalidRunInput",
    "NothingToResume",
    "RunFinished",
    "ThreadBusy",
    "ThreadNotStarted",
    "UnknownGraph",
]


class InvalidRunInput(InvalidInput):
    """The input does not fit the graph; ``fields`` say where."""

    def __init__(self, message: str, field: str = "body.input") -> None:
        super().__init__(message, fields=[{"field": field, "message": message}])

    @classmethod
    def fields_of(cls, message: str, fields: list[dict[str, str]]) -> InvalidRunInput:
        error = cls(message)
        error.fields = fields
        return error


class ThreadBusy(Conflict):
    """The thread has a run in progress and the request did not ask to queue behind it."""

    default_code = "thread_busy"


class NothingToResume(Conflict):
    """A resume for a thread that is not waiting at an interrupt."""

    default_code = "no_pending_interrupt"


class AlreadyExists(Conflict):
    default_code = "already_exists"


class RunFinished(Conflict):
    """The run has ended; it cannot be cancelled or resumed."""

    default_code = "run_finished"


class ThreadNotStarted(Conflict):
    """The thread has not run a graph yet, so it has no state to change."""

    default_code = "thread_not_started"
