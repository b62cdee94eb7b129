"""Tenant-scoped LangGraph checkpoints.

Graph runs carry `configurable.organization_id` and `configurable.thread_id`. The
wrapped saver stores the thread under `f"{organization_id}:{thread_id}"`, so two
tenants using the same thread id never see each other's state, and every config handed
back (checkpoint config, parent config, put's result) carries the caller's plain
thread_id plus organization_id, so it can be passed straight back in. The returned
thread_id is a `TenantThreadId`: a str that also remembers its organization, for the
configs LangGraph rebuilds from the thread id alone (subgraph state).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.mongodb import MongoDBSaver

ORG_KEY = "organization_id"
THREAD_KEY = "thread_id"
SEPARATOR = ":"


class TenantThreadId(str):
    """A thread id handed back by the saver that remembers its organization.

    LangGraph rebuilds some configs from `thread_id` alone, dropping organization_id
    (subgraph state in `get_state(subgraphs=True)`, the task configs of a snapshot);
    this keeps those calls in the tenant. It equals, hashes and serializes as the plain
    thread id. Only the saver creates one, from the tenant's own stored row, so it
    cannot arrive through an API; an explicit organization_id always wins over it.
    """

    organization_id: str

    def __new__(cls, value: str, organization_id: str) -> TenantThreadId:
        obj = super().__new__(cls, value)
        obj.organization_id = organization_id
        return obj

    def __str__(self) -> str:
        return self  # LangGraph str()s thread ids; keep the tenant through that

    def __reduce__(self) -> tuple[Any, ...]:
        return (TenantThreadId, (str.__str__(self), self.organization_id))


def scoped_thread_id(organization_id: Any, thread_id: Any) -> str:
    """The stored thread key; raises ValueError for a missing or malformed tenant or thread."""
    org = _check_org(organization_id)
    if thread_id is None or isinstance(thread_id, (bool, Mapping, list, tuple, set)):
        raise ValueError(f"configurable.{THREAD_KEY} must be a string, got {thread_id!r}")
    # langgraph itself stringifies non-str ids (UUIDs, ints).
    thread = str.__str__(thread_id) if isinstance(thread_id, str) else str(thread_id)
    if not thread:
        raise ValueError(f"configurable.{THREAD_KEY} must not be empty")
    return f"{org}{SEPARATOR}{thread}"


def _check_org(organization_id: Any) -> str:
    if organization_id is None or organization_id == "":
        raise ValueError(
            f"configurable.{ORG_KEY} is required: checkpoint threads are tenant-scoped"
        )
    if not isinstance(organization_id, str):
        # An ObjectId is fine; a dict or list would be an injection attempt or a bug.
        if isinstance(organization_id, (bool, int, float, Mapping, list, tuple)):
            raise ValueError(f"configurable.{ORG_KEY} must be a string, got {organization_id!r}")
        organization_id = str(organization_id)
    if SEPARATOR in organization_id:
        # "a:b" + "c" and "a" + "b:c" would share a key.
        raise ValueError(f"configurable.{ORG_KEY} must not contain {SEPARATOR!r}")
    return organization_id


class TenantScopedSaver(BaseCheckpointSaver):
    """Wraps any checkpoint saver, keying threads by organization."""

    def __init__(self, inner: BaseCheckpointSaver) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner

    def bind(self, inner: BaseCheckpointSaver) -> None:
        """Delegate to ``inner`` from now on: an app compiles its graphs when it is created,
        before its runtime (and so the real saver) is open."""
        self.inner = inner
        self.serde = inner.serde

    # -- config translation ---------------------------------------------------------
    @staticmethod
    def _org(config: RunnableConfig | None) -> str:
        configurable = (config or {}).get("configurable") or {}
        org = configurable.get(ORG_KEY)
        thread = configurable.get(THREAD_KEY)
        if org is None and isinstance(thread, TenantThreadId):
            org = thread.organization_id
        return _check_org(org)

    def _scope(self, config: RunnableConfig) -> RunnableConfig:
        """The config as the inner saver sees it (thread_id replaced by the scoped key)."""
        configurable = config.get("configurable") or {}
        org = self._org(config)
        if THREAD_KEY not in configurable:
            raise ValueError(f"configurable.{THREAD_KEY} is required")
        scoped = scoped_thread_id(org, configurable[THREAD_KEY])
        return {**config, "configurable": {**configurable, THREAD_KEY: scoped, ORG_KEY: org}}

    @staticmethod
    def _unscope(config: RunnableConfig | None, org: str) -> RunnableConfig | None:
        """The inner saver's config with the caller's plain thread_id restored."""
        if config is None:
            return None
        configurable = dict(config.get("configurable") or {})
        stored = configurable.get(THREAD_KEY)
        prefix = f"{org}{SEPARATOR}"
        if not isinstance(stored, str) or not stored.startswith(prefix):
            # The inner saver returned another tenant's row: never hand it out.
            raise RuntimeError("checkpoint saver returned a thread outside the tenant")
        configurable[THREAD_KEY] = TenantThreadId(stored[len(prefix) :], org)
        configurable[ORG_KEY] = org
        return {**config, "configurable": configurable}

    def _unscope_tuple(self, saved: CheckpointTuple | None, org: str) -> CheckpointTuple | None:
        if saved is None:
            return None
        return saved._replace(
            config=self._unscope(saved.config, org),
            parent_config=self._unscope(saved.parent_config, org),
        )

    def _list_args(self, config: RunnableConfig | None) -> tuple[str, RunnableConfig, bool]:
        """(org, config for the inner saver, whether results need filtering by tenant)."""
        org = self._org(config)
        config = config or {}
        configurable = config.get("configurable") or {}
        if THREAD_KEY in configurable:
            return org, self._scope(config), False
        # No thread: list the tenant's threads. The inner saver can't filter by key
        # prefix, so rows are filtered here.
        rest = {k: v for k, v in configurable.items() if k != ORG_KEY}
        return org, {**config, "configurable": rest}, True

    def _in_tenant(self, saved: CheckpointTuple, org: str) -> bool:
        stored = (saved.config.get("configurable") or {}).get(THREAD_KEY)
        return isinstance(stored, str) and stored.startswith(f"{org}{SEPARATOR}")

    # -- sync API ---------------------------------------------------------------------
    @property
    def config_specs(self) -> list:
        return self.inner.config_specs

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        org = self._org(config)
        return self._unscope_tuple(self.inner.get_tuple(self._scope(config)), org)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        org, inner_config, needs_filter = self._list_args(config)
        results = self.inner.list(
            inner_config, filter=filter, before=before, limit=None if needs_filter else limit
        )
        yielded = 0
        for saved in results:
            if needs_filter and not self._in_tenant(saved, org):
                continue
            if limit is not None and yielded >= limit:
                return
            yielded += 1
            yield self._unscope_tuple(saved, org)  # type: ignore[misc]

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        org = self._org(config)
        saved = self.inner.put(self._scope(config), checkpoint, metadata, new_versions)
        return self._unscope(saved, org)  # type: ignore[return-value]

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.inner.put_writes(self._scope(config), writes, task_id, task_path)

    def delete_thread(self, thread_id: str, *, organization_id: str | None = None) -> None:
        """Delete one tenant's thread; `organization_id` is required."""
        self.inner.delete_thread(scoped_thread_id(organization_id, thread_id))

    def copy_thread(
        self, source_thread_id: str, target_thread_id: str, *, organization_id: str | None = None
    ) -> None:
        """Copy a thread within one tenant (if the inner saver supports it)."""
        self.inner.copy_thread(
            scoped_thread_id(organization_id, source_thread_id),
            scoped_thread_id(organization_id, target_thread_id),
        )

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: str = "keep_latest",
        organization_id: str | None = None,
    ) -> None:
        """Prune a tenant's threads (if the inner saver supports it)."""
        scoped = [scoped_thread_id(organization_id, t) for t in thread_ids]
        self.inner.prune(scoped, strategy=strategy)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self.inner.get_delta_channel_history(config=self._scope(config), channels=channels)

    # -- a whole tenant (GDPR) ------------------------------------------------------------
    def _stored_collections(self) -> list[Any]:
        # The MongoDB saver's two collections; a saver without them stores nothing here.
        names = ("checkpoint_collection", "writes_collection")
        return [getattr(self.inner, n) for n in names if hasattr(self.inner, n)]

    def tenant_threads(self, organization_id: str) -> list[str]:
        """Every thread id (plain, as the tenant knows it) with checkpoints or writes stored
        for the tenant, sorted."""
        prefix = f"{_check_org(organization_id)}{SEPARATOR}"
        # Anchored and escaped: a prefix match that an index on thread_id can serve.
        query = {"thread_id": {"$regex": "^" + re.escape(prefix)}}
        stored: set[str] = set()
        for collection in self._stored_collections():
            stored.update(collection.distinct("thread_id", query))
        return sorted(t[len(prefix) :] for t in stored if t.startswith(prefix))

    def delete_tenant(self, organization_id: str) -> int:
        """Delete every checkpoint and write of the tenant's threads; how many threads."""
        threads = self.tenant_threads(organization_id)
        for thread in threads:
            self.delete_thread(thread, organization_id=organization_id)
        return len(threads)

    async def atenant_threads(self, organization_id: str) -> list[str]:
        return await asyncio.to_thread(self.tenant_threads, organization_id)

    async def adelete_tenant(self, organization_id: str) -> int:
        return await asyncio.to_thread(self.delete_tenant, organization_id)

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.inner.get_next_version(current, channel)

    def with_allowlist(self, extra_allowlist: Collection[tuple[str, ...]]) -> TenantScopedSaver:
        # The inner saver does the (de)serializing, so it is the one to restrict.
        inner = self.inner.with_allowlist(extra_allowlist)
        return self if inner is self.inner else TenantScopedSaver(inner)

    # -- async API ----------------------------------------------------------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        org = self._org(config)
        return self._unscope_tuple(await self.inner.aget_tuple(self._scope(config)), org)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        org, inner_config, needs_filter = self._list_args(config)
        yielded = 0
        async for saved in self.inner.alist(
            inner_config, filter=filter, before=before, limit=None if needs_filter else limit
        ):
            if needs_filter and not self._in_tenant(saved, org):
                continue
            if limit is not None and yielded >= limit:
                return
            yielded += 1
            yield self._unscope_tuple(saved, org)  # type: ignore[misc]

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        org = self._org(config)
        saved = await self.inner.aput(self._scope(config), checkpoint, metadata, new_versions)
        return self._unscope(saved, org)  # type: ignore[return-value]

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self.inner.aput_writes(self._scope(config), writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str, *, organization_id: str | None = None) -> None:
        """Delete one tenant's thread; `organization_id` is required."""
        await self.inner.adelete_thread(scoped_thread_id(organization_id, thread_id))

    async def acopy_thread(
        self, source_thread_id: str, target_thread_id: str, *, organization_id: str | None = None
    ) -> None:
        await self.inner.acopy_thread(
            scoped_thread_id(organization_id, source_thread_id),
            scoped_thread_id(organization_id, target_thread_id),
        )

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: str = "keep_latest",
        organization_id: str | None = None,
    ) -> None:
        scoped = [scoped_thread_id(organization_id, t) for t in thread_ids]
        await self.inner.aprune(scoped, strategy=strategy)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self.inner.aget_delta_channel_history(
            config=self._scope(config), channels=channels
        )


def build_checkpointer(sync_client: Any, db_name: str) -> TenantScopedSaver:
    """A tenant-scoped MongoDBSaver on `sync_client` (pymongo.MongoClient or the embedded one)."""
    return TenantScopedSaver(MongoDBSaver(sync_client, db_name=db_name))
