"""Typed settings, read once from the environment (prefix ``CHORUS_``) and ``.env``.

Every component has a production form, chosen when its URL or key below is set, and an
embedded form that runs in-process under ``data_dir`` when it is not. Only the composition
root (``chorus.runtime``) reads these to decide; nothing else branches on them.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHORUS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # --- embedded state ------------------------------------------------------------------
    data_dir: Path = Field(
        default=Path(".chorus"), description="Where every embedded component keeps its state."
    )
    snapshot_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Embedded document store: how often changed collections are snapshotted "
        "(restarts load the snapshot and replay the journal written since).",
    )
    embedded_fsync: bool = Field(
        default=False,
        description="Embedded document store: fsync the journal on every write, so acknowledged "
        "writes also survive a power loss, not only a killed process; costs a disk flush per "
        "write (about a millisecond on an SSD, more on a VM disk).",
    )

    # --- documents and checkpoints -------------------------------------------------------
    mongodb_uri: SecretStr | None = Field(default=None, description="MongoDB connection URI.")
    mongodb_database: str = Field(default="chorus", description="Database name.")

    # --- Redis: rate limits, stream fan-out, cache, background queue ---------------------
    redis_url: SecretStr | None = Field(default=None, description="redis:// URL.")

    # --- vector memory -------------------------------------------------------------------
    chroma_url: str | None = Field(default=None, description="Chroma server, http://host:port.")
    chroma_token: SecretStr | None = Field(default=None, description="Chroma auth token.")

    # --- models --------------------------------------------------------------------------
    model: str | None = Field(
        default=None,
        description="Chat model as provider:model (openai:gpt-4o-mini, anthropic:..., local).",
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CHORUS_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CHORUS_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    anthropic_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("CHORUS_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
    )
    anthropic_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CHORUS_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL"),
    )
    openai_default_model: str = "gpt-4o-mini"
    image_model: str | None = Field(
        default=None,
        description="Image model as provider:model (openai:gpt-image-1, openai:dall-e-3) for "
        "/api/ai/images/generate, with the OpenAI key and base URL above; unset: images are "
        "composed with Pillow from the brand's colours and logo.",
    )
    anthropic_default_model: str = "claude-3-5-haiku-latest"
    openai_embedding_model: str = "text-embedding-3-small"
    local_model_threads: int = Field(default=2, ge=1)
    local_model_context: int = Field(default=2048, ge=256)

    # --- media and email -----------------------------------------------------------------
    s3_bucket: str | None = Field(default=None, description="S3 bucket for media.")
    ses_sender: str | None = Field(default=None, description="Verified SES sender address.")
    aws_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("CHORUS_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
    )
    aws_endpoint_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CHORUS_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL"),
        description="Override for S3/SES-compatible endpoints (MinIO, LocalStack, moto).",
    )

    # --- tracing -------------------------------------------------------------------------
    langsmith_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")
    )
    langsmith_tracing: bool = Field(
        default=False, validation_alias=AliasChoices("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2")
    )
    langsmith_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT"),
        description="LangSmith API URL; unset: LangSmith's own.",
    )
    langsmith_project: str = Field(
        default="chorus",
        validation_alias=AliasChoices("LANGSMITH_PROJECT", "CHORUS_LANGSMITH_PROJECT"),
    )

    # --- security ------------------------------------------------------------------------
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs tokens. Unset: generated once and kept in the data dir (0600).",
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description="Fernet key that encrypts stored credentials. Unset: kept in the data dir.",
    )

    # --- social networks -----------------------------------------------------------------
    # Each network uses its production API when its app's client id and secret are set
    # (``tools.platforms.is_configured``); otherwise the composition root points it at the
    # sandbox (``sandbox/``: in process, or ``platforms_sandbox_url``). ``*_api_base``
    # overrides the production API host (a proxy, a wire-compatible server).
    x_client_id: str | None = Field(default=None, description="X OAuth 2.0 client id.")
    x_client_secret: SecretStr | None = Field(default=None, description="X OAuth 2.0 secret.")
    x_api_base: str | None = Field(default=None, description="Instead of https://api.x.com.")
    meta_app_id: str | None = Field(
        default=None, description="Meta app id: Facebook Pages and Instagram (Facebook Login)."
    )
    meta_app_secret: SecretStr | None = Field(default=None, description="Meta app secret.")
    meta_graph_version: str = Field(default="v23.0", description="Graph API version.")
    meta_graph_base: str | None = Field(
        default=None, description="Instead of https://graph.facebook.com/<version>."
    )
    linkedin_client_id: str | None = Field(default=None, description="LinkedIn client id.")
    linkedin_client_secret: SecretStr | None = Field(default=None, description="LinkedIn secret.")
    linkedin_version: str = Field(
        default="202505", description="LinkedIn-Version header (YYYYMM) of the REST API."
    )
    linkedin_api_base: str | None = Field(
        default=None, description="Instead of https://api.linkedin.com."
    )
    tiktok_client_key: str | None = Field(default=None, description="TikTok client key.")
    tiktok_client_secret: SecretStr | None = Field(default=None, description="TikTok secret.")
    tiktok_api_base: str | None = Field(
        default=None, description="Instead of https://open.tiktokapis.com."
    )
    google_client_id: str | None = Field(default=None, description="Google OAuth client (YouTube).")
    google_client_secret: SecretStr | None = Field(default=None, description="Google secret.")
    youtube_api_base: str | None = Field(
        default=None, description="Instead of https://www.googleapis.com/youtube/v3."
    )
    bluesky_service_url: str = Field(
        default="https://bsky.social",
        description="Where Bluesky sessions are created (app passwords need no app keys).",
    )
    platforms_sandbox_url: str | None = Field(
        default=None,
        description="A running sandbox (python -m sandbox) for unconfigured networks; "
        "unset: the composition root starts one in process.",
    )
    platform_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Per-request timeout of the network providers."
    )

    # --- publishing (services.publishing) -------------------------------------------------
    publishing_concurrency: int = Field(
        default=16, ge=1, le=256, description="Posts one process publishes at once."
    )
    publishing_lease_seconds: float = Field(
        default=120.0,
        ge=5.0,
        description="How long a silent worker keeps the posts it claimed before another takes "
        "them over (renewed every third of it while it works).",
    )
    publishing_pass_seconds: float = Field(
        default=50.0, ge=1.0, description="How long one publishing tick keeps claiming posts."
    )

    # --- billing: Stripe ------------------------------------------------------------------
    # With a key, plans are sold through Stripe Checkout and kept in step by its webhooks;
    # without one, billing is local: an operator assigns plans (``chorus orgs set-plan``)
    # and the plans' limits apply all the same.
    stripe_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("CHORUS_STRIPE_API_KEY", "STRIPE_API_KEY"),
        description="Stripe secret key (sk_live_..., sk_test_... or a restricted key).",
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("CHORUS_STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET"),
        description="The signing secret (whsec_...) of the endpoint /api/webhooks/stripe.",
    )
    # /api/system/metrics and the status routes answer loopback clients and operators; a
    # scraper elsewhere sends this as "Authorization: Bearer <token>".
    metrics_token: SecretStr | None = Field(
        default=None, description="Token for /api/system/metrics and the status routes."
    )
    stripe_api_base: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="Instead of https://api.stripe.com (a proxy, a local wire-compatible server).",
    )
    stripe_prices: dict[str, str] = Field(
        default_factory=dict,
        description='Stripe Price id per plan sold online, e.g. {"starter": "price_...", '
        '"pro": "price_...", "business": "price_..."}; a plan without one is not for sale.',
    )
    stripe_trial_days: int = Field(
        default=14, ge=0, le=730, description="Trial days of an organization's first paid plan."
    )

    # --- the networks' webhooks (/api/webhooks/<network>) -----------------------------------
    meta_verify_token: SecretStr | None = Field(
        default=None,
        description="The verify token entered in the Meta app's webhook settings (Facebook, "
        "Instagram); their POSTs are checked with meta_app_secret.",
    )
    x_consumer_secret: SecretStr | None = Field(
        default=None,
        description="X app's consumer (API) secret: answers the Account Activity CRC and "
        "checks x-twitter-webhooks-signature.",
    )
    youtube_websub_secret: SecretStr | None = Field(
        default=None,
        description="The hub.secret YouTube WebSub subscriptions are made with (X-Hub-Signature).",
    )

    ws_heartbeat_seconds: float = Field(
        default=20.0,
        gt=0,
        le=3600,
        description="WebSockets: seconds between the server's pings, each followed by a check "
        "that the session (or API key) is still valid; a signed-out socket closes then.",
    )

    # --- outgoing webhooks ------------------------------------------------------------------
    webhooks_allow_private: bool = Field(
        default=False,
        description="Let outgoing webhooks (integrations) reach private, loopback and "
        "link-local addresses. Off: a URL that resolves to one is refused (SSRF); turn on only "
        "for a receiver on your own network.",
    )

    # --- serving -------------------------------------------------------------------------
    rate_limits: dict[str, tuple[int, float]] = Field(
        default_factory=dict,
        description='Per route class, [limit, window seconds], e.g. {"read": [1200, 60]}.',
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="Where people reach this service: the links in invitation, password-reset "
        "and verification emails start with it.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API with credentials, e.g. "
        '["https://app.example.com"]; none by default ("*" is refused).',
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Proxy addresses whose X-Forwarded-For/-Proto are believed (the client IP "
        "of rate limits and audit entries); none by default.",
    )
    max_json_bytes: int = Field(default=1_000_000, ge=1_000, description="JSON body limit.")
    max_upload_bytes: int = Field(
        default=100_000_000, ge=1_000, description="Upload (multipart, CSV) body limit."
    )
    max_json_depth: int = Field(default=64, ge=4, le=512, description="JSON nesting limit.")

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("CHORUS_CORS_ORIGINS may not be '*': the API takes credentials")
        return value

    @field_validator("stripe_prices")
    @classmethod
    def _known_plans(cls, value: dict[str, str]) -> dict[str, str]:
        from persistence.models.organizations import PLANS

        unknown = sorted(set(value) - set(PLANS) | ({"free"} & set(value)))
        if unknown:
            raise ValueError(
                f"CHORUS_STRIPE_PRICES names no paid plan {unknown}; paid plans: "
                + ", ".join(p for p in PLANS if p != "free")
            )
        return value

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @cached_property
    def tracing_enabled(self) -> bool:
        return self.langsmith_tracing and self.langsmith_api_key is not None


def secret(value: SecretStr | None) -> str | None:
    """The plain value of an optional secret."""
    return value.get_secret_value() if value is not None else None
