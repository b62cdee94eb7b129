"""Evaluators of the defects a social media manager rejects a post for (issue 18), one per class:
degenerate output, off-brief text, invented offers or numbers, prompt labels and echoes,
letter style, "I" for the brand, a positive announcement told as bad news, and revision
feedback not applied. Each is pure and reads the post a reviewer was shown.

They apply the same definitions as the agents' quality gate (``agents.quality.checks``): the
gate is what keeps a defect from reaching approval, and the eval measures whether any got
through, by the one definition the project has. The evaluator has no embedding model, so
off-brief is judged by the brief's key terms alone (the gate adds the similarity).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agents.quality.checks import (
    DraftFacts,
    Problem,
    degenerate,
    feedback_applied,
    first_person,
    invented,
    letter_style,
    negative_framing,
    off_brief,
    prompt_labels,
)
from tools.platform_rules import has_cta

Check = Callable[[str, DraftFacts], Problem | None]

#: defect class -> its check. The keys are what an eval output names.
DEFECTS: dict[str, Check] = {
    "degenerate": degenerate,
    "off_brief": off_brief,
    "invented": invented,
    "prompt_label": prompt_labels,
    "letter_style": letter_style,
    "first_person": first_person,
    "negative_framing": negative_framing,
    "feedback_ignored": feedback_applied,
}

_SOURCE_FIELDS = ("brief", "audience", "tone", "industry", "callToAction", "feedback")


def post_body(text: str, cta: str | None = None) -> str:
    """The words the model (or the composer) wrote: the post without the call to action and
    the question the optimizer may add as closing paragraphs."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    while len(paragraphs) > 1:
        last = paragraphs[-1].strip()
        closing = (cta and last.casefold().startswith(cta.casefold())) or has_cta(last)
        question = last.endswith("?") and len(last) <= 60
        if not (closing or question):
            break
        paragraphs.pop()
    return "\n\n".join(paragraphs).strip()


def facts_of(request: Mapping[str, Any], previous: str | None = None) -> DraftFacts:
    """What the post is judged against: the request's own words (brief, audience, tone,
    industry, call to action, feedback) and, for a revision, the draft it replaces."""
    sources = "\n".join(str(request[f]) for f in _SOURCE_FIELDS if request.get(f))
    return DraftFacts(
        brief=str(request.get("brief") or ""),
        sources=sources,
        feedback=request.get("feedback"),
        previous_draft=previous or request.get("previousDraft"),
    )


def defects(text: str, facts: DraftFacts, cta: str | None = None) -> list[str]:
    """The defect classes ``text`` (a post as shown) has, in :data:`DEFECTS` order."""
    body = post_body(text, cta)
    return [name for name, check in DEFECTS.items() if check(body, facts) is not None]


def defect_free(text: str, facts: DraftFacts, cta: str | None = None) -> float:
    """1.0 if the post has none of the defects, else 0.0."""
    return 0.0 if defects(text, facts, cta) else 1.0
