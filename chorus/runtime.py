"""The composition root: builds every component in its production or embedded form.

This is the only module that looks at which settings are present to choose a form. Everything
else receives the built components and cannot tell which form it got.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from langgraph.checkpoint.base import BaseCheckpointSaver

from chorus import server_file
from chorus.chat_models import ChatModels
from chorus.cron_ticker import CronTicker
from chorus.jobs import CRONS, JOBS
from chorus.platforms import PlatformRegistry
from chorus.settings import Settings, secret
from memory.chroma import http_client, persistent_client
from memory.embeddings import local_embeddings, openai_embeddings
from memory.store import TenantMemory
from persistence.cache import Cache, InProcessCache, RedisCache
from persistence.checkpointer import build_checkpointer
from persistence.crypto import CredentialCipher, load_or_create_key, load_or_create_secret
from persistence.eventlog import EventLog, InProcessEventLog, RedisEventLog
from persistence.indexes import ensure_indexes
from persistence.keyspace import InProcessKeyspace, Keyspace, RedisKeyspace
from persistence.mailer import Mailer, OutboxMailer, SesMailer
from persistence.media import LocalMediaStore, MediaStore, S3MediaStore
from persistence.pubsub import InProcessPubSub, PubSub, RedisPubSub
from persistence.queue import ArqJobQueue, InProcessJobQueue, JobQueue
from persistence.ratelimit import InProcessRateLimiter, RateLimiter, RedisRateLimiter
from runs.engine import RunEngine
from services.billing.gateway import Billing, LocalBilling
from services.events import EventBus
from services.integrations.delivery import WebhookDispatcher
from services.media_generation.generate import ImageModel
from services.media_generation.openai_images import OpenAIImages
from services.network_webhooks.verify import Secrets as WebhookSecrets
from services.notifications.notifier import Notifier
from services.publishing import PublishConfig, Publisher, Ticker
from services.social_accounts.access import StoredAccountAccess
from services.social_accounts.access_port import AccountAccess

log = logging.getLogger(__name__)

Form = Literal["production", "embedded", "off"]


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    form: Form
    backend: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0


class LazyEmbeddings(Embeddings):
    """Loads the embedding model on first use: starting the service must not pay for it."""

    def __init__(self, factory: Callable[[], Embeddings]) -> None:
        self._factory = factory
        self._model: Embeddings | None = None

    @property
    def model(self) -> Embeddings:
        if self._model is None:
            self._model = self._factory()
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)


@dataclass
class Runtime:
    """Every component of one process, built for the active settings."""

    settings: Settings
    db: Any  # PyMongo AsyncDatabase, or the embedded engine's equivalent
    checkpointer: BaseCheckpointSaver
    rate_limiter: RateLimiter
    pubsub: PubSub
    event_log: EventLog
    cache: Cache
    jobs: JobQueue
    memory: TenantMemory
    embeddings: Embeddings
    chat_models: ChatModels
    media: MediaStore
    mailer: Mailer
    cipher: CredentialCipher
    signing_secret: str
    billing: Billing
    # The social networks' providers (production or the sandbox), built on first use.
    platforms: PlatformRegistry
    # Every Redis key (or in-process equivalent) at once, searched by id (GDPR erasure).
    keyspace: Keyspace
    forms: dict[str, tuple[Form, str]] = field(default_factory=dict)
    # Set by ``announce`` in a serving process: the secret operator routes ask for.
    operator_token: str | None = field(default=None, repr=False)
    # The image model of /api/ai/images/generate (None: images are composed with Pillow).
    image_model: ImageModel | None = field(default=None, repr=False)
    # The process's one run engine (graphs compiled once on this runtime's checkpointer).
    engine: RunEngine = field(init=False, repr=False)
    # Domain events: the outbox, the organizations' pub/sub channels, this process's handlers.
    events: EventBus = field(init=False, repr=False)
    # Outgoing webhooks: the integrations' deliveries, started from this process's events.
    webhooks: WebhookDispatcher = field(init=False, repr=False)
    # What the networks sign their webhooks with (from settings).
    network_webhook_secrets: WebhookSecrets = field(init=False, repr=False)
    # The publishing tick of this process (the ``publish_due`` job), acting for the stored
    # accounts (``enable_publishing`` at open; tests may give another account access).
    publishing: Ticker | None = field(default=None, repr=False)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)

    # --- lifecycle -----------------------------------------------------------------------

    @classmethod
    async def open(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or Settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # A misconfigured image model stops the start before anything is opened.
        image_model = _image_model(settings)
        forms: dict[str, tuple[Form, str]] = {}
        closers: list[Callable[[], Awaitable[None]]] = []

        db, sync_client, documents_form = _documents(settings, closers)
        forms["documents"] = documents_form
        checkpointer = build_checkpointer(sync_client, settings.mongodb_database)
        forms["checkpoints"] = (documents_form[0], "MongoDBSaver on " + documents_form[1])

        redis_url = secret(settings.redis_url)
        redis = None
        if redis_url:
            from redis.asyncio import Redis

            redis = Redis.from_url(redis_url)
            closers.append(redis.aclose)
            rate_limiter: RateLimiter = RedisRateLimiter(redis)
            pubsub: PubSub = RedisPubSub(redis)
            event_log: EventLog = RedisEventLog(redis)
            cache: Cache = RedisCache(redis)
            keyspace: Keyspace = RedisKeyspace(redis)
            forms["redis"] = ("production", "Redis " + _redacted(redis_url))
        else:
            pubsub = InProcessPubSub()
            local_events, local_cache, local_limits = (
                InProcessEventLog(),
                InProcessCache(),
                InProcessRateLimiter(),
            )
            rate_limiter, event_log, cache = local_limits, local_events, local_cache
            keyspace = InProcessKeyspace([local_cache, local_limits, local_events])
            forms["redis"] = ("embedded", "in-process rate limiter, pub/sub, event log, cache")

        if settings.chroma_url:
            chroma = http_client(settings.chroma_url, secret(settings.chroma_token))
            forms["vector_memory"] = ("production", f"Chroma server {settings.chroma_url}")
        else:
            chroma_dir = settings.data_dir / "chroma"
            chroma = persistent_client(chroma_dir)
            forms["vector_memory"] = ("embedded", f"Chroma PersistentClient {chroma_dir}")

        openai_key = secret(settings.openai_api_key)
        if openai_key:
            embeddings: Embeddings = LazyEmbeddings(
                lambda: openai_embeddings(
                    openai_key, settings.openai_embedding_model, settings.openai_base_url
                )
            )
            forms["embeddings"] = ("production", f"OpenAI {settings.openai_embedding_model}")
        else:
            embeddings = LazyEmbeddings(local_embeddings)
            forms["embeddings"] = ("embedded", "local all-MiniLM-L6-v2 (sentence-transformers)")

        chat_models = ChatModels(settings)
        spec = chat_models.default
        forms["chat_model"] = (
            ("embedded" if spec in ("local", "scripted") else "production") if spec else "off",
            spec or "not configured",
        )

        forms["image_model"] = (
            ("production", image_model.name)
            if image_model is not None
            else ("embedded", "graphics composed with Pillow (no image model)")
        )

        if settings.s3_bucket:
            media: MediaStore = S3MediaStore(
                settings.s3_bucket, settings.aws_region, settings.aws_endpoint_url
            )
            forms["media"] = ("production", f"S3 bucket {settings.s3_bucket}")
        else:
            media = LocalMediaStore(settings.data_dir / "media")
            forms["media"] = ("embedded", f"directory {settings.data_dir / 'media'}")

        if settings.ses_sender:
            mailer: Mailer = SesMailer(
                settings.ses_sender, settings.aws_region, settings.aws_endpoint_url
            )
            forms["email"] = ("production", f"SES as {settings.ses_sender}")
        else:
            mailer = OutboxMailer(settings.data_dir / "outbox", "chorus@localhost")
            forms["email"] = ("embedded", f"outbox {settings.data_dir / 'outbox'}")

        _configure_tracing(settings)
        forms["tracing"] = (
            ("production", f"LangSmith project {settings.langsmith_project}")
            if settings.tracing_enabled
            else ("off", "LangSmith not configured")
        )

        billing = _billing(settings)
        forms["billing"] = (
            ("production", "Stripe " + (settings.stripe_api_base or "https://api.stripe.com"))
            if billing.gateway.mode == "stripe"
            else ("embedded", "local: plans assigned by the operator (chorus orgs set-plan)")
        )

        platforms = PlatformRegistry(settings)
        closers.append(platforms.aclose)
        sandboxed = any(platforms.form(n) == "sandbox" for n in platforms.networks)
        forms["platforms"] = ("embedded" if sandboxed else "production", platforms.describe())

        key = secret(settings.encryption_key) or load_or_create_key(settings.data_dir)
        signing = secret(settings.secret_key) or load_or_create_secret(settings.data_dir, "signing")

        runtime = cls(
            settings=settings,
            db=db,
            checkpointer=checkpointer,
            rate_limiter=rate_limiter,
            pubsub=pubsub,
            event_log=event_log,
            cache=cache,
            jobs=None,  # type: ignore[arg-type]  # set below: jobs receive the engine
            memory=TenantMemory(chroma, embeddings),
            embeddings=embeddings,
            chat_models=chat_models,
            media=media,
            mailer=mailer,
            cipher=CredentialCipher([k.strip() for k in key.split(",") if k.strip()]),
            signing_secret=signing,
            billing=billing,
            platforms=platforms,
            keyspace=keyspace,
            forms=forms,
            _closers=closers,
        )
        runtime.image_model = image_model
        runtime.engine = RunEngine(runtime)
        runtime.events = EventBus(db, pubsub)
        # Whoever emits (an API process, a worker) tells the people concerned.
        runtime.events.subscribe("*", Notifier(db, pubsub).handle)
        runtime.webhooks = WebhookDispatcher(
            db, runtime.cipher, allow_private=settings.webhooks_allow_private
        )
        runtime.events.subscribe("*", runtime.webhooks.handle)
        runtime.network_webhook_secrets = WebhookSecrets(
            meta_app_secret=secret(settings.meta_app_secret),
            meta_verify_token=secret(settings.meta_verify_token),
            x_consumer_secret=secret(settings.x_consumer_secret),
            linkedin_client_secret=secret(settings.linkedin_client_secret),
            tiktok_client_secret=secret(settings.tiktok_client_secret),
            youtube_hub_secret=secret(settings.youtube_websub_secret),
        )
        closers.insert(0, runtime.webhooks.drain)
        # Due posts go out on this process's publishing ticks, for the stored accounts.
        runtime.enable_publishing(StoredAccountAccess(runtime))
        if redis_url:
            runtime.jobs = ArqJobQueue(redis_url)
            forms["jobs"] = ("production", "arq workers on Redis (`chorus worker`)")
        else:
            runtime.jobs = InProcessJobQueue(JOBS, {"engine": runtime.engine, "runtime": runtime})
            forms["jobs"] = ("embedded", "in-process runner")
        closers.insert(0, runtime.jobs.close)
        await ensure_indexes(db)
        tune_gc()
        return runtime

    def enable_publishing(
        self, access: AccountAccess, *, config: PublishConfig | None = None
    ) -> Ticker:
        """Publish due posts on this process's ticks, acting for accounts through ``access``
        (the stored access, ``services.social_accounts.access``, in the service)."""
        settings = self.settings
        publisher = Publisher(
            self.db,
            self.media,
            access,
            self.events,
            self.rate_limiter,
            config=config or PublishConfig(lease_seconds=settings.publishing_lease_seconds),
        )
        self.publishing = Ticker(
            publisher,
            concurrency=settings.publishing_concurrency,
            max_seconds=settings.publishing_pass_seconds,
        )
        return self.publishing

    def start_crons(self) -> None:
        """Run ``chorus.jobs.CRONS`` on schedule here if jobs run in this process (embedded);
        with Redis, ``chorus worker`` runs them. For long-lived hosts such as the API server,
        not for one-off commands. Stopped by ``close``."""
        if isinstance(self.jobs, InProcessJobQueue):
            ticker = CronTicker(self.jobs, CRONS)
            ticker.start()
            self._closers.insert(0, ticker.stop)  # before the job queue closes

    def announce(self, url: str) -> None:
        """Leave the server note (``chorus.server_file``) in the data dir so the CLI can
        send its commands here while this process holds the data dir. Removed by ``close``."""
        token = server_file.new_token()
        server_file.write(self.settings.data_dir, url, token)
        self.operator_token = token

        async def forget() -> None:
            server_file.remove(self.settings.data_dir, token)

        # Last to run: the note goes once the data dir is released (closers run in order).
        self._closers.append(forget)

    async def close(self) -> None:
        """Release everything, newest first; embedded documents are flushed to disk."""
        for closer in self._closers:
            try:
                await closer()
            except Exception:  # closing must go on for the rest
                log.exception("closing a component failed")
        self._closers.clear()

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def metrics_token(self) -> str | None:
        """The token a scraper off this host presents for /api/system/metrics."""
        return secret(self.settings.metrics_token)

    @property
    def public_base_url(self) -> str:
        """The address mailed links start with (no trailing slash)."""
        return self.settings.public_base_url.rstrip("/")

    # --- health --------------------------------------------------------------------------

    async def check(self, *, deep: bool = True, public: bool = False) -> list[ComponentStatus]:
        """Each component, its form, and whether it answers. ``deep`` also loads and asks the
        models (otherwise they are reported as configured, to be loaded on first use).
        ``public`` is for the unauthenticated health endpoint: no filesystem paths and no
        error texts (which may name hosts or paths), only the error's type."""
        probes: dict[str, Callable[[], Awaitable[str]]] = {
            "documents": self._probe_documents,
            "checkpoints": self._probe_checkpoints,
            "redis": self._probe_redis,
            "jobs": self._probe_jobs,
            "vector_memory": self._probe_memory,
            "media": self._probe_media,
            "email": self._probe_email,
            "tracing": self._probe_tracing,
            "platforms": self._probe_platforms,
            "billing": self._probe_billing if deep else self._configured_billing,
            "embeddings": self._probe_embeddings if deep else self._configured_embeddings,
            "chat_model": self._probe_chat_model if deep else self._configured_chat_model,
        }
        results = []
        for name, probe in probes.items():
            form, backend = self.forms[name]
            started = time.perf_counter()
            try:
                detail, ok = await asyncio.wait_for(probe(), timeout=120), True
            except Exception as exc:
                detail = type(exc).__name__ if public else f"{type(exc).__name__}: {exc}"
                ok = False
            if public:
                backend, detail = self._without_paths(backend), self._without_paths(detail)
            results.append(
                ComponentStatus(name, form, backend, ok, detail, time.perf_counter() - started)
            )
        return results

    def _without_paths(self, text: str) -> str:
        data_dir = str(self.settings.data_dir)
        resolved = str(self.settings.data_dir.resolve())
        return text.replace(resolved, "<data dir>").replace(data_dir, "<data dir>")

    async def _configured_embeddings(self) -> str:
        return "configured; loaded on first use (`chorus doctor` loads it)"

    async def _configured_chat_model(self) -> str:
        if self.chat_models.default is None:
            self.chat_models.get()  # raises ModelNotConfigured, naming the ways to configure one
        return "configured; loaded on first use (`chorus doctor` asks it)"

    async def _probe_documents(self) -> str:
        await self.db.command("ping")
        return f"{len(await self.db.list_collection_names())} collections"

    async def _probe_checkpoints(self) -> str:
        config = {"configurable": {"thread_id": "doctor", "organization_id": "0" * 24}}
        await self.checkpointer.aget_tuple(config)  # type: ignore[arg-type]
        return "read ok"

    async def _probe_redis(self) -> str:
        key = f"doctor:{os.getpid()}:{time.time_ns()}"
        await self.cache.set(key, b"1", ttl_seconds=5)
        if await self.cache.get(key) != b"1":
            raise RuntimeError("cache did not return what was written")
        await self.cache.delete(key)
        return "cache round trip ok"

    async def _probe_jobs(self) -> str:
        return type(self.jobs).__name__

    async def _probe_memory(self) -> str:
        return f"{await asyncio.to_thread(self.memory.heartbeat)} collections"

    async def _probe_media(self) -> str:
        return await self.media.check()

    async def _probe_email(self) -> str:
        return await self.mailer.check()

    async def _probe_tracing(self) -> str:
        return "on" if self.settings.tracing_enabled else "off"

    async def _probe_platforms(self) -> str:
        return self.platforms.describe()

    async def _configured_billing(self) -> str:
        gateway = self.billing.gateway
        if gateway.mode == "local":
            return "local billing: plans assigned by the operator"
        return f"{len(gateway.prices)} plan(s) priced; `chorus doctor` asks Stripe"

    async def _probe_billing(self) -> str:
        """Stripe: each configured price is read back (the key works, the prices exist)."""
        gateway = self.billing.gateway
        if gateway.mode == "local":
            return await self._configured_billing()
        for plan, price_id in gateway.prices.items():
            if await gateway.price(price_id) is None:
                raise RuntimeError(f"no price {price_id} for plan {plan}")
        return f"{len(gateway.prices)} plan price(s) read from Stripe"

    async def _probe_embeddings(self) -> str:
        vector = await asyncio.to_thread(self.embeddings.embed_query, "doctor")
        return f"{len(vector)}-dim vectors"

    async def _probe_chat_model(self) -> str:
        model = self.chat_models.get(temperature=0.0, max_tokens=4)
        reply = await model.ainvoke("Reply with: ok")
        return f"answered {len(str(reply.content))} chars"


def _documents(
    settings: Settings, closers: list[Callable[[], Awaitable[None]]]
) -> tuple[Any, Any, tuple[Form, str]]:
    """The async database for the app and the sync client for the checkpointer."""
    uri = secret(settings.mongodb_uri)
    if uri:
        from pymongo import AsyncMongoClient, MongoClient

        async_client: Any = AsyncMongoClient(uri, tz_aware=True, appname="chorus")
        sync_client: Any = MongoClient(uri, tz_aware=True, appname="chorus-checkpoints")

        async def close_mongo() -> None:
            await async_client.close()
            sync_client.close()

        closers.append(close_mongo)
        return (
            async_client[settings.mongodb_database],
            sync_client,
            ("production", "MongoDB " + _redacted(uri)),
        )
    from persistence.embedded_mongo import EmbeddedMongo

    path = settings.data_dir / "documents"
    engine = EmbeddedMongo(
        path, snapshot_interval=settings.snapshot_interval_seconds, fsync=settings.embedded_fsync
    )

    async def close_engine() -> None:
        await asyncio.to_thread(engine.close)

    closers.append(close_engine)
    return (
        engine.async_client[settings.mongodb_database],
        engine.sync_client,
        (
            "embedded",
            f"in-process engine saved under {path}, journaled"
            + (", fsync per write" if settings.embedded_fsync else ""),
        ),
    )


def _image_model(settings: Settings) -> ImageModel | None:
    """The configured image model (``CHORUS_IMAGE_MODEL=openai:gpt-image-1``), or None."""
    spec = (settings.image_model or "").strip()
    if not spec:
        return None
    provider, _, model = spec.partition(":")
    if provider != "openai" or not model:
        raise ValueError(
            f"CHORUS_IMAGE_MODEL={spec!r}: expected openai:<model>, e.g. openai:gpt-image-1"
        )
    key = secret(settings.openai_api_key)
    if not key:
        raise ValueError("CHORUS_IMAGE_MODEL needs CHORUS_OPENAI_API_KEY (or OPENAI_API_KEY)")
    return OpenAIImages(model, key, settings.openai_base_url)


def _billing(settings: Settings) -> Billing:
    """Stripe when its key is set; otherwise local billing (the operator assigns plans)."""
    api_key = secret(settings.stripe_api_key)
    if api_key:
        from services.billing.stripe_gateway import StripeGateway

        gateway: Any = StripeGateway(
            api_key,
            webhook_secret=secret(settings.stripe_webhook_secret),
            prices=settings.stripe_prices,
            api_base=settings.stripe_api_base,
        )
    else:
        gateway = LocalBilling()
    return Billing(
        gateway=gateway,
        trial_days=settings.stripe_trial_days,
        return_origins=tuple(settings.cors_origins),
        home=settings.public_base_url,
    )


def tune_gc() -> None:
    """Keep full garbage collections rare and short in a long-lived process.

    The embedded engine and the models hold millions of long-lived objects; a full collection
    scans them all and took up to 360 ms mid-run (bench/graphs.py). Freezing what exists after
    start-up takes it out of every later scan, and higher thresholds make full scans rarer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)


def _redacted(url: str) -> str:
    """A URL without its credentials, for logs and health output."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _configure_tracing(settings: Settings) -> None:
    # LangChain reads tracing configuration from the environment.
    if settings.tracing_enabled:
        os.environ["LANGSMITH_TRACING"] = "true"
        os.environ["LANGSMITH_API_KEY"] = secret(settings.langsmith_api_key) or ""
        os.environ.setdefault("LANGSMITH_PROJECT", settings.langsmith_project)
        if settings.langsmith_endpoint:
            os.environ["LANGSMITH_ENDPOINT"] = settings.langsmith_endpoint
    else:
        os.environ["LANGSMITH_TRACING"] = "false"
