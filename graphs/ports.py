"""What workflows use of the process beyond the agents' services: the domain event bus.

A workflow's effects are the product's effects: a draft the content_creation workflow puts
in the approval inbox must tell the managers exactly as one a person submitted does, so the
workflow's steps emit through the same ``EventBus`` the API's routes hand to the services.
The run engine's services (the composition root's runtime) satisfy this protocol.
"""

from __future__ import annotations

from typing import Protocol, cast

from agents.base import AgentServices
from services.events import EventBus
from tools.context import RunContext


class WorkflowServices(AgentServices, Protocol):
    @property
    def events(self) -> EventBus: ...


def workflow_services(run: RunContext) -> WorkflowServices:
    """The run's services as workflows see them (the engine builds every context from the
    process's runtime, which has the event bus)."""
    return cast(WorkflowServices, run.services)
