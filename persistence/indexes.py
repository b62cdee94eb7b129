"""The indexes of the data model, created at start. ``create_index`` is idempotent on both forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ASC, DESC, TEXT = 1, -1, "text"


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    keys: list[tuple[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)


INDEXES: tuple[IndexSpec, ...] = (
    # The specification's performance-critical indexes.
    IndexSpec("users", [("organizationId", ASC), ("email", ASC)], {"unique": True}),
    IndexSpec(
        "posts",
        [("organizationId", ASC), ("scheduling.status", ASC), ("scheduling.scheduledAt", ASC)],
    ),
    IndexSpec(
        "analytics", [("organizationId", ASC), ("postId", ASC), ("timeData.dateBucket", ASC)]
    ),
    IndexSpec(
        "social_accounts", [("organizationId", ASC), ("platform", ASC), ("status.isActive", ASC)]
    ),
    IndexSpec("ai_tasks", [("organizationId", ASC), ("agentId", ASC), ("execution.status", ASC)]),
    # Connecting: one document per network identity in an organization (a reconnect updates
    # it); a consent's state is looked up by its hash within the organization it names.
    IndexSpec(
        "social_accounts",
        [("organizationId", ASC), ("platform", ASC), ("accountInfo.platformId", ASC)],
    ),
    IndexSpec("oauth_states", [("organizationId", ASC), ("stateHash", ASC)], {"unique": True}),
    IndexSpec("audit_logs", [("organizationId", ASC), ("timestamp", DESC)]),
    # Text search.
    IndexSpec("posts", [("content.text", TEXT), ("content.title", TEXT)]),
    IndexSpec("content_templates", [("name", TEXT), ("description", TEXT)]),
    # The specification's 2dsphere index on analytics.demographics.locations is left out on
    # purpose: that field holds a breakdown object, not GeoJSON, and MongoDB rejects inserts
    # whose indexed field is not valid GeoJSON.
    #
    # Identity: an email signs in to exactly one account, an organization slug is unique.
    IndexSpec("users", [("email", ASC)], {"unique": True}),
    IndexSpec("organizations", [("slug", ASC)], {"unique": True}),
    IndexSpec("user_sessions", [("tokenHash", ASC)], {"unique": True}),
    IndexSpec("user_sessions", [("organizationId", ASC), ("userId", ASC), ("familyId", ASC)]),
    IndexSpec("api_keys", [("keyHash", ASC)], {"unique": True}),
    # What the agents' analytics queries and the importer look up.
    IndexSpec("analytics", [("organizationId", ASC), ("timeData.recordedAt", ASC)]),
    IndexSpec(
        "posts",
        [("organizationId", ASC), ("platforms.platform", ASC), ("platforms.platformPostId", ASC)],
    ),
    IndexSpec("ai_tasks", [("organizationId", ASC), ("createdAt", DESC)]),
    # The publishing tick looks for due posts of every tenant (persistence.publish_claims).
    IndexSpec("posts", [("scheduling.status", ASC), ("scheduling.scheduledAt", ASC)]),
    IndexSpec("posts", [("scheduling.status", ASC), ("publishing.leaseUntil", ASC)]),
    IndexSpec("ai_agents", [("organizationId", ASC), ("agentType", ASC)], {"unique": True}),
    IndexSpec("webhook_events", [("source", ASC), ("eventId", ASC)], {"unique": True}),
    # Billing: a Stripe event names a customer; which organization is it?
    IndexSpec("organizations", [("subscription.stripeCustomerId", ASC)]),
    IndexSpec("workflow_runs", [("organizationId", ASC), ("workflowId", ASC), ("startedAt", DESC)]),
    # The runs API: one thread per id within a tenant, runs listed per thread by time.
    IndexSpec("lg_threads", [("organizationId", ASC), ("threadId", ASC)], {"unique": True}),
    IndexSpec("lg_runs", [("organizationId", ASC), ("runId", ASC)], {"unique": True}),
    IndexSpec("lg_crons", [("organizationId", ASC), ("cronId", ASC)], {"unique": True}),
    IndexSpec("lg_assistants", [("organizationId", ASC), ("assistantId", ASC)], {"unique": True}),
    # The schedule tick's cross-tenant "what is due" reads.
    IndexSpec("lg_crons", [("nextRunDate", ASC)]),
    IndexSpec("workflows", [("execution.nextRun", ASC)]),
    IndexSpec("lg_runs", [("organizationId", ASC), ("threadId", ASC), ("createdAt", ASC)]),
    # The hourly AI usage ledger that plan limits read (services/billing/usage.py).
    IndexSpec("ai_usage", [("organizationId", ASC), ("hour", ASC)], {"unique": True}),
    # The events outbox, read per organization after a cursor (ids grow with time).
    IndexSpec("domain_events", [("organizationId", ASC), ("_id", ASC)]),
    # Teams: one membership per person and organization; a person's organizations are
    # looked up by user across tenants (persistence.admin).
    IndexSpec("memberships", [("organizationId", ASC), ("userId", ASC)], {"unique": True}),
    IndexSpec("memberships", [("userId", ASC), ("status", ASC)]),
    IndexSpec("invitations", [("tokenHash", ASC)], {"unique": True}),
    IndexSpec("invitations", [("organizationId", ASC), ("email", ASC), ("status", ASC)]),
    IndexSpec("account_tokens", [("tokenHash", ASC)], {"unique": True}),
    IndexSpec("account_tokens", [("organizationId", ASC), ("userId", ASC), ("purpose", ASC)]),
    # The audit log, read newest first per organization and per person, after a cursor.
    IndexSpec("audit_logs", [("organizationId", ASC), ("_id", DESC)]),
    IndexSpec("audit_logs", [("organizationId", ASC), ("userId", ASC), ("_id", DESC)]),
    # Notifications: a person's inbox newest first after a cursor, one per event and person
    # (a redelivered event is not stored twice); their settings; emails waiting to go out.
    IndexSpec("notifications", [("organizationId", ASC), ("userId", ASC), ("_id", DESC)]),
    IndexSpec(
        "notifications",
        [("organizationId", ASC), ("userId", ASC), ("data.eventId", ASC)],
        {"unique": True, "partialFilterExpression": {"data.eventId": {"$exists": True}}},
    ),
    IndexSpec(
        "notification_settings", [("organizationId", ASC), ("userId", ASC)], {"unique": True}
    ),
    IndexSpec("notification_emails", [("status", ASC), ("dueAt", ASC)]),
    # Outgoing webhooks: one delivery per integration and event; what is due, across
    # tenants; an integration's attempts newest first.
    IndexSpec(
        "webhook_deliveries",
        [("organizationId", ASC), ("integrationId", ASC), ("eventId", ASC)],
        {"unique": True},
    ),
    IndexSpec("webhook_deliveries", [("status", ASC), ("nextAttemptAt", ASC)]),
    # Network webhooks: accounts by the network's id across tenants; activity per account.
    IndexSpec("social_accounts", [("platform", ASC), ("accountInfo.platformId", ASC)]),
    IndexSpec(
        "network_activity",
        [("organizationId", ASC), ("socialAccountId", ASC), ("occurredAt", DESC)],
    ),
    # Listening (webhooks and polling alike) stores a network item once per organization.
    IndexSpec(
        "network_activity", [("organizationId", ASC), ("platform", ASC), ("externalId", ASC)]
    ),
    # API usage: one row per organization, credential, method, route and hour.
    IndexSpec(
        "api_usage",
        [
            ("organizationId", ASC),
            ("hour", DESC),
            ("apiKeyId", ASC),
            ("method", ASC),
            ("route", ASC),
        ],
        {"unique": True},
    ),
    IndexSpec("integration_logs", [("organizationId", ASC), ("integrationId", ASC), ("_id", DESC)]),
    # Analytics: one version counter per organization (persistence.analytics_versions), the
    # audience readings per account over time.
    IndexSpec("analytics_versions", [("organizationId", ASC)], {"unique": True}),
    IndexSpec("analytics_reports", [("organizationId", ASC), ("_id", DESC)]),
    IndexSpec(
        "audience_insights",
        [("organizationId", ASC), ("socialAccountId", ASC), ("analysisDate", ASC)],
    ),
    # The content workspace: the post list newest first and by time (calendar, queue), by
    # account and by tag; comments per post; the media library newest first.
    IndexSpec("posts", [("organizationId", ASC), ("_id", DESC)]),
    IndexSpec("posts", [("organizationId", ASC), ("scheduling.scheduledAt", ASC), ("_id", ASC)]),
    IndexSpec(
        "posts",
        [
            ("organizationId", ASC),
            ("platforms.socialAccountId", ASC),
            ("scheduling.scheduledAt", ASC),
        ],
    ),
    IndexSpec("posts", [("organizationId", ASC), ("tags", ASC), ("_id", DESC)]),
    # A status list newest first (drafts, the approval inbox) walks this in order; without it
    # MongoDB would filter the whole (organizationId, _id) range or sort in memory.
    IndexSpec("posts", [("organizationId", ASC), ("scheduling.status", ASC), ("_id", DESC)]),
    # A workflow's post (waiting for approval, then approved) is found by its run's thread.
    IndexSpec("posts", [("organizationId", ASC), ("aiGeneration.threadId", ASC)]),
    IndexSpec("post_comments", [("organizationId", ASC), ("postId", ASC), ("_id", ASC)]),
    IndexSpec("media_assets", [("organizationId", ASC), ("_id", DESC)]),
    IndexSpec("content_templates", [("organizationId", ASC), ("_id", DESC)]),
)


async def ensure_indexes(db: Any) -> int:
    """Create every index (a no-op for those that exist); returns how many were asked for."""
    for spec in INDEXES:
        await db[spec.collection].create_index(spec.keys, **spec.options)
    return len(INDEXES)
