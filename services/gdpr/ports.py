"""What GDPR erasure and export need of the process: every store that can hold a tenant's
data. The composition root's ``Runtime`` satisfies it."""

from __future__ import annotations

from typing import Any, Protocol

from memory.store import TenantMemory
from persistence.checkpointer import TenantScopedSaver
from persistence.keyspace import Keyspace
from persistence.media import MediaStore
from persistence.queue import JobQueue


class GdprServices(Protocol):
    @property
    def db(self) -> Any: ...

    @property
    def checkpointer(self) -> TenantScopedSaver: ...

    @property
    def memory(self) -> TenantMemory: ...

    @property
    def media(self) -> MediaStore: ...

    @property
    def jobs(self) -> JobQueue: ...

    @property
    def keyspace(self) -> Keyspace: ...
