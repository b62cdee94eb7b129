"""The seven kinds of long-term memory an organization keeps (platform spec, Chroma schema)."""

from __future__ import annotations

from enum import StrEnum


class MemoryKind(StrEnum):
    """A kind of memory; each (organization, kind) pair is its own Chroma collection."""

    USER_PREFERENCES = "user_preferences"
    CONTENT_HISTORY = "content_history"
    ENGAGEMENT_PATTERNS = "engagement_patterns"
    TREND_ANALYSIS = "trend_analysis"
    COMPETITOR_INSIGHTS = "competitor_insights"
    BRAND_VOICE = "brand_voice"
    CRISIS_PATTERNS = "crisis_patterns"

    @property
    def description(self) -> str:
        """What this kind of memory holds."""
        return _DESCRIPTIONS[self]

    @property
    def metadata_fields(self) -> tuple[str, ...]:
        """The metadata fields the specification lists for this kind (advisory, not enforced)."""
        return _METADATA_FIELDS[self]

    @classmethod
    def parse(cls, value: MemoryKind | str) -> MemoryKind:
        """The kind named by ``value``, or ValueError listing the valid kinds."""
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(k.value for k in cls)
            raise ValueError(f"unknown memory kind {value!r}; expected one of: {valid}") from None


_DESCRIPTIONS: dict[MemoryKind, str] = {
    MemoryKind.USER_PREFERENCES: "User content preferences and behavior patterns",
    MemoryKind.CONTENT_HISTORY: "Historical content performance and patterns",
    MemoryKind.ENGAGEMENT_PATTERNS: "Audience engagement patterns and optimal timing",
    MemoryKind.TREND_ANALYSIS: "Market trends and viral content patterns",
    MemoryKind.COMPETITOR_INSIGHTS: "Competitor strategies and successful content",
    MemoryKind.BRAND_VOICE: "Brand voice patterns and style guidelines",
    MemoryKind.CRISIS_PATTERNS: "Crisis detection patterns and response strategies",
}

_METADATA_FIELDS: dict[MemoryKind, tuple[str, ...]] = {
    MemoryKind.USER_PREFERENCES: ("user_id", "organization_id", "preference_type", "confidence"),
    MemoryKind.CONTENT_HISTORY: ("post_id", "platform", "engagement_score", "content_type"),
    MemoryKind.ENGAGEMENT_PATTERNS: (
        "organization_id",
        "platform",
        "time_slot",
        "audience_segment",
    ),
    MemoryKind.TREND_ANALYSIS: ("industry", "platform", "trend_score", "date_range"),
    MemoryKind.COMPETITOR_INSIGHTS: ("competitor_id", "platform", "strategy_type", "success_score"),
    MemoryKind.BRAND_VOICE: ("organization_id", "voice_attribute", "strength", "examples"),
    MemoryKind.CRISIS_PATTERNS: (
        "organization_id",
        "crisis_type",
        "severity",
        "response_effectiveness",
    ),
}
