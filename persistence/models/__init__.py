"""Typed documents for every collection of the data model. Each carries ``organizationId``."""

from persistence.models.activity import NetworkActivity
from persistence.models.ai import AiAgent, AiTask, Workflow, WorkflowRun
from persistence.models.analytics import (
    Analytics,
    AnalyticsReport,
    AnalyticsVersion,
    AudienceInsights,
    CompetitorAnalysis,
)
from persistence.models.audit import AuditLog, DataExport
from persistence.models.base import Document, Model
from persistence.models.content import ContentTemplate, OAuthState, Post, SocialAccount
from persistence.models.crons import LgCron
from persistence.models.deliveries import IntegrationLog, WebhookDelivery
from persistence.models.events import DomainEvent
from persistence.models.integrations import Integration, Notification, WebhookEvent
from persistence.models.members import AccountToken, Invitation, Membership
from persistence.models.notifications import NotificationEmail, NotificationPreferences
from persistence.models.organizations import ApiKey, Organization, User, UserSession
from persistence.models.runs import LgAssistant, LgRun, LgThread
from persistence.models.usage import ApiUsage
from persistence.models.workspace import MediaAsset, PostComment

ALL_DOCUMENTS: tuple[type[Document], ...] = (
    Organization,
    User,
    UserSession,
    ApiKey,
    Membership,
    Invitation,
    AccountToken,
    SocialAccount,
    OAuthState,
    Post,
    ContentTemplate,
    Analytics,
    AudienceInsights,
    CompetitorAnalysis,
    AnalyticsVersion,
    AnalyticsReport,
    AiAgent,
    AiTask,
    Workflow,
    WorkflowRun,
    Integration,
    NetworkActivity,
    WebhookDelivery,
    IntegrationLog,
    WebhookEvent,
    Notification,
    NotificationPreferences,
    NotificationEmail,
    AuditLog,
    DataExport,
    LgThread,
    LgRun,
    LgAssistant,
    LgCron,
    DomainEvent,
    PostComment,
    MediaAsset,
    ApiUsage,
)

__all__ = [
    "ALL_DOCUMENTS",
    "AccountToken",
    "AiAgent",
    "AiTask",
    "Analytics",
    "AnalyticsReport",
    "AnalyticsVersion",
    "ApiKey",
    "ApiUsage",
    "AudienceInsights",
    "AuditLog",
    "CompetitorAnalysis",
    "ContentTemplate",
    "DataExport",
    "Document",
    "DomainEvent",
    "Integration",
    "IntegrationLog",
    "Invitation",
    "LgAssistant",
    "LgCron",
    "LgRun",
    "LgThread",
    "MediaAsset",
    "Membership",
    "Model",
    "NetworkActivity",
    "Notification",
    "NotificationEmail",
    "NotificationPreferences",
    "OAuthState",
    "Organization",
    "Post",
    "PostComment",
    "SocialAccount",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WebhookEvent",
    "Workflow",
    "WorkflowRun",
]
