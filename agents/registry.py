"""The seven agents by name."""

from __future__ import annotations

from agents.base import Agent
from agents.competitor_monitor import competitor_monitor
from agents.content_creator import content_creator
from agents.crisis_manager import crisis_manager
from agents.engagement_optimizer import engagement_optimizer
from agents.performance_tracker import performance_tracker
from agents.scheduler import scheduler
from agents.trend_analyzer import trend_analyzer

AGENTS: dict[str, Agent] = {
    agent.name: agent
    for agent in (
        content_creator,
        trend_analyzer,
        engagement_optimizer,
        scheduler,
        performance_tracker,
        competitor_monitor,
        crisis_manager,
    )
}
