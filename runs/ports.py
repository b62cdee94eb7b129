"""What the run engine needs of the process: the workflows' services (the agents' and the
event bus) plus checkpoints, the job queue and the two fan-out channels. The composition
root's ``Runtime`` satisfies it."""

from __future__ import annotations

from typing import Protocol

from graphs.ports import WorkflowServices
from persistence.checkpointer import TenantScopedSaver
from persistence.eventlog import EventLog
from persistence.pubsub import PubSub
from persistence.queue import JobQueue


class RunServices(WorkflowServices, Protocol):
    @property
    def checkpointer(self) -> TenantScopedSaver: ...

    @property
    def jobs(self) -> JobQueue: ...

    @property
    def event_log(self) -> EventLog: ...

    @property
    def pubsub(self) -> PubSub: ...
