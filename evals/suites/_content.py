"""What the content suites share: scoring one post against its case, the banned terms of a
fixture organization, and the judge's criteria for post text.

The two suites (``content_creator``, the agent alone, and ``content_creation``, the graph end
to end) score the same thing, the post a reviewer would publish; only how they get it differs.
"""

from __future__ import annotations

import importlib
from typing import Any

from evals.cases import Case
from evals.evaluators.content import (
    banned_terms_in,
    composed_post,
    cta_present,
    facts_covered,
    hashtags_within_limits,
    placeholders_in,
    platform_constraints,
    terms_absent,
)
from evals.evaluators.quality import defect_free, facts_of
from evals.suite import JudgeCriterion, Metric
from services.demo.planted import BANNED_TERMS as LUMEN_BANNED_TERMS

# Rates over ~15 test cases: one case is 0.067 of a rate. The tool-enforced checks must not
# lose a single case (tolerance below one case); the facts score is the model's words and
# partial per case, so it may move by about one and a half cases before the gate fails.
POST_METRICS: dict[str, Metric] = {
    "constraints": Metric(
        "share of posts that meet every hard rule of their platform (length as the platform "
        "counts it, hashtag maximum, title, forbidden characters, well-formed hashtags)",
        tolerance=0.05,
    ),
    "clean": Metric(
        "share of posts with no banned term (inflections and hashtags included), no "
        "placeholder, and none of the words a reviewer asked to remove",
        tolerance=0.05,
    ),
    "hashtags": Metric(
        "share of posts whose hashtag count is within the platform's limit (its maximum and "
        "the top of its recommended range)",
        tolerance=0.05,
    ),
    "cta": Metric(
        "the requested call to action's words in the post (1 verbatim, else the share of its "
        "content words), over cases that ask for one",
        tolerance=0.05,
    ),
    "facts": Metric(
        "share of the brief's key facts (names, dates, prices, places) the post states",
        tolerance=0.1,
    ),
    # Issue 18: the quality gate keeps these from reaching a reviewer, so a single post with
    # one (degenerate, off brief, invented offer, prompt label, letter style, "I" for the
    # brand, bad-news framing, feedback ignored) is a regression.
    "defect_free": Metric(
        "share of posts with none of the defects a manager rejects a draft for "
        "(evals.evaluators.quality)",
        tolerance=0.0,
    ),
    # Who wrote the words: the model at its first try, or (after the quality gate rejected
    # that) the model again or the composer. The gate keeps bad words from reviewers, so a
    # broken prompt no longer shows in the facts: it shows here. About two cases may move
    # (on the 135M local model the composer is the main path and this stays low).
    "first_draft": Metric(
        "share of drafts that are the model's first draft, passed by the quality gate",
        tolerance=0.15,
    ),
}


def banned_terms_of(fixture: str) -> tuple[str, ...]:
    """The banned terms a fixture organization was built with, read from its definition (not
    from the database the agent reads), so a lost setting shows up as a failure."""
    if fixture == "lumen":
        return tuple(LUMEN_BANNED_TERMS)
    module = importlib.import_module(f"evals.fixtures.{fixture}")
    return tuple(getattr(module, "BANNED_TERMS", ()))


def expected_cta(case: Case, request: dict[str, Any]) -> str | None:
    """The call to action the post must carry: the case's ``expect.cta`` when it states one
    (``null``: none, e.g. a requested CTA with a banned word), else the one ``request`` (the
    agent's or the graph's input) asks for."""
    if "cta" in case.expect:
        return case.expect["cta"]
    return request.get("callToAction")


def score_post(
    case: Case,
    request: dict[str, Any],
    text: str,
    hashtags: list[str],
    platform: str,
    title: str | None,
    *,
    previous: str | None = None,
    source: str | None = None,
) -> dict[str, float | None]:
    """The post metrics of one post: ``text`` (its call to action included), ``hashtags``
    (the list composed after it), on ``platform``, for ``case`` and its ``request``
    (``previous``: the draft a revision replaced, when it is not in the request; ``source``:
    who wrote the draft, as the agent says)."""
    post = composed_post(text, hashtags, platform)
    removed = terms_absent(post, case.expect.get("absent"))
    dirty = (
        banned_terms_in(post, banned_terms_of(case.fixture))
        or placeholders_in(post)
        or (removed is not None and removed < 1.0)
    )
    return {
        "constraints": platform_constraints(text, hashtags, platform, title),
        "clean": 0.0 if dirty else 1.0,
        "hashtags": hashtags_within_limits(text, hashtags, platform),
        "cta": cta_present(post, expected_cta(case, request)),
        "facts": facts_covered(post, case.expect.get("facts")),
        "defect_free": defect_free(
            text, facts_of(request, previous), request.get("callToAction") or None
        ),
        "first_draft": None if source is None else float(source == "model"),
    }


_READ = (
    "You are reviewing one social media post drafted for a brand. The request holds the "
    "brief (what the post should say), the platform, and where given the tone, the audience, "
    "the call to action, and a reviewer's feedback on an earlier draft (as feedback, or as "
    "the answers to the approval step). The brand is the one the brief speaks for: usually "
    "Lumen Coffee Roasters, a specialty coffee roaster with cafés in Brooklyn, Queens and "
    "Hoboken (warm, knowledgeable, unpretentious, never pushy or hyped); for bread and "
    "pastries in Berlin, often in German, Backstube Morgenrot, a neighbourhood bakery "
    "(friendly, local, plain-spoken); otherwise a small local business. "
)


def judged(answer: Any) -> list[JudgeCriterion]:
    """The judge's criteria over the post text that ``answer(output)`` returns."""
    return [
        JudgeCriterion(
            metric="tone",
            rubric=_READ
            + "Score the tone from 0 to 1. 1: the post reads in the tone the brief asks for (or, "
            "when none is given, one that suits the platform), in the language of the brief, "
            "and answers the reviewer's feedback where there is some. 0.5: the tone is neutral "
            "or partly off. 0: the tone contradicts the request (salesy where warmth was asked, "
            "flippant about a serious subject) or the post is in the wrong language.",
            answer=answer,
        ),
        JudgeCriterion(
            metric="brand_voice",
            rubric=_READ
            + "Score the brand-voice fit from 0 to 1. 1: it sounds like this brand talking to its "
            "own customers: specific, first person plural, no superlatives or guarantees it "
            "cannot back, nothing a competitor could post unchanged. 0.5: generic but not "
            "wrong for the brand. 0: hype, claims the brief does not make, or a voice that is "
            "clearly some other business.",
            answer=answer,
        ),
        JudgeCriterion(
            metric="helpfulness",
            rubric=_READ
            + "Score helpfulness from 0 to 1: would the brand publish this post as it stands? 1: "
            "it says what the brief asks (the key facts: names, dates, prices, places), fits "
            "the platform, ends with a clear next step for the reader, and reads as finished "
            "prose. 0.5: usable after a light edit (a fact missing, clumsy wording). 0: it "
            "would need rewriting: facts missing or wrong, an echo of the instructions, "
            "placeholders, cut off mid-thought, or off topic.",
            answer=answer,
        ),
    ]
