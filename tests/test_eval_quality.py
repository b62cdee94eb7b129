"""The defect evaluators (issue 18): each class is named on a post that has it, a clean post has
none, and a degenerate draft in the content_creation suite scores as a defect on a gated
metric with no tolerance, so it fails the eval gate."""

from __future__ import annotations

import pytest

from evals.cases import load_dataset
from evals.evaluators.quality import defects, facts_of, post_body
from evals.suites import content_creation

REQUEST = {"brief": "Announce our Ethiopia cold brew", "platform": "instagram"}


@pytest.mark.parametrize(
    ("text", "defect"),
    [
        ("Ethiopia's journey to Ethiopia. Ef... D.. A. D. E. F. F.. G..", "degenerate"),
        ("What a culinary dream is, a world of culinary wonders.", "off_brief"),
        ("Our Ethiopia cold brew is here, 30% off for members!", "invented"),
        ("Premise: our Ethiopia cold brew is here.", "prompt_label"),
        ("Ladies and gentlemen, our Ethiopia cold brew is here.", "letter_style"),
        ("I'm so happy: our Ethiopia cold brew is here.", "first_person"),
        ("Unfortunately, our Ethiopia cold brew is here.", "negative_framing"),
    ],
)
def test_each_defect_is_named(text: str, defect: str) -> None:
    assert defect in defects(f"{text}\n\nTell us in the comments.", facts_of(REQUEST))


def test_feedback_ignored_is_a_defect() -> None:
    request = {**REQUEST, "feedback": "Mention the jasmine notes."}
    previous = "Our Ethiopia cold brew is here."
    facts = facts_of(request, previous)
    assert defects(previous, facts) == ["feedback_ignored"]
    assert defects("Our Ethiopia cold brew is here, with jasmine notes.", facts) == []


def test_a_clean_post_has_no_defect_and_its_closing_lines_are_not_judged() -> None:
    text = "Our Ethiopia cold brew is here: bright and smooth.\n\nWhat do you think?"
    assert post_body(f"{text}\n\nOrder at lumen.example", "Order at lumen.example") == (
        "Our Ethiopia cold brew is here: bright and smooth."
    )
    assert defects(text, facts_of(REQUEST)) == []


def test_a_degenerate_draft_fails_the_content_creation_gate() -> None:
    dataset = load_dataset("content_creation")
    case = next(c for c in dataset.cases if c.id == "cx-ig-ethiopia-plain")
    degenerate = (
        "Ethiopia's journey to Ethiopia is a story of how Ethiopia has become a multi-ethnic "
        "nation. Ef... D.. A. D. E. F. F.. G.. H.. I. II. III. ...\n\nTell us in the comments."
    )

    def output(text: str) -> dict:
        shown = {"text": text, "hashtags": ["#coldbrew"]}
        return {
            "platform": "instagram",
            "approvals": [{"draft": shown, "slots": [], "draftSource": "model"}],
            "status": "approved",
            "postId": "x",
            "next": [],
            "draftTitle": None,
            "stored": [{**shown, "title": None, "status": "draft", "scheduledAt": None}],
        }

    bad = content_creation.score(case, output(degenerate))
    good = content_creation.score(
        case, output("Our Ethiopia cold brew is here, bright and smooth.\n\nTell us below!")
    )
    assert (bad["defect_free"], good["defect_free"]) == (0.0, 1.0)
    metric = content_creation.METRICS["defect_free"]
    assert metric.gated
    assert metric.tolerance == 0.0
