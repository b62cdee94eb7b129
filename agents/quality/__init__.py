"""The quality gate: model text that a social media manager would reject never reaches a person
or a store (issue 18).

``checks`` holds one check per class of defect; ``compose`` the deterministic draft that
replaces a draft that fails them. ``brief_similarity`` lends the checks the runtime's embedding
model. The content creator runs the gate on every draft; the report agents run the report
checks (``grounding.usable``) on every model sentence.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agents.quality.checks import DraftFacts, Problem, review
from agents.quality.compose import PastPost, composed_draft, template_post

if TYPE_CHECKING:
    from agents.base import AgentContext

__all__ = [
    "DraftFacts",
    "PastPost",
    "Problem",
    "brief_similarity",
    "composed_draft",
    "is_local",
    "review",
    "template_post",
]

log = logging.getLogger(__name__)


async def brief_similarity(ctx: AgentContext, brief: str, text: str) -> float | None:
    """The embedding model's similarity of brief and draft; None when memory (and so the
    model) is off or fails, in which case the key-term half of the off-brief check decides."""
    if not ctx.settings.memory.enabled:
        return None
    try:
        return await ctx.services.memory.similarity(brief, text)
    except Exception as exc:  # an embedding outage must not stop a draft; the terms still check
        log.warning("brief similarity unavailable (%s)", type(exc).__name__)
        return None


def is_local(ctx: AgentContext) -> bool:
    """Whether the run's chat model is the local one (SmolLM2-135M by default)."""
    return (ctx.model_spec or "").split(":", 1)[0].strip().lower() == "local"
