"""The report evaluators: figures traced to the data (formatting variants included), planted
anomalies found, missing competitors and content gaps named, thin history admitted."""

from __future__ import annotations

from datetime import date

import pytest

from evals.evaluators.reports import (
    admits_no_data,
    anomaly_precision,
    anomaly_recall,
    date_range,
    figures_of,
    gap_recall,
    missing_accuracy,
    missing_named,
    name_key,
    number_traceability,
    stated_numbers,
)

KNOWN = [0.04213, 12345.0, 1234567.0, 30.0, 18.0, 2.472, -12.5]


# --- numbers -----------------------------------------------------------------------------------


def test_stated_numbers_reads_formats() -> None:
    got = stated_numbers("Reach 12,345 (1.2k new), rate 4.2%, up +12.5% at 18:00 or 6 pm.")
    assert [(s.text, s.value) for s in got] == [
        ("18:00", 18.0),
        ("6 pm", 18.0),
        ("12,345", 12345.0),
        ("1.2k", 1200.0),
        ("4.2%", 4.2),
        ("+12.5%", 12.5),
    ]


def test_stated_numbers_ignores_tags_handles_and_names() -> None:
    assert stated_numbers("Try #top10 with @bean2 on SmolLM2") == []


def test_dates_are_one_figure_and_checked_as_dates() -> None:
    window = date_range(date(2026, 10, 21), date(2026, 11, 20))
    score, bad = number_traceability(["Spike on 2026-11-01 and on Nov 2."], [], window, 2026)
    assert (score, bad) == (1.0, [])
    score, bad = number_traceability(["Spike on 2026-09-01."], [], window, 2026)
    assert (score, bad) == (0.0, ["2026-09-01"])
    assert number_traceability(["On 2026-02-30."], [], window)[1] == ["2026-02-30"]


@pytest.mark.parametrize(
    "text",
    [
        "Engagement rate 4.21%.",  # a fraction shown as a percentage
        "Engagement rate 4.2%.",  # rounded
        "Engagement rate 0.042.",  # as the fraction itself
        "Reach 12,345.",  # thousands separator
        "Reach 12.3k.",  # abbreviated
        "Reach 1.2M.",
        "2.5x yours",  # a ratio rounded
        "fell 12.5%",  # a signed change by its magnitude
        "over the last 30 days",
        "at 18:00",
    ],
)
def test_formatting_variants_trace(text: str) -> None:
    assert number_traceability([text], KNOWN) == (1.0, [])


def test_invented_figures_do_not_trace() -> None:
    score, bad = number_traceability(["Engagement grew 999% and reach hit 5,000,000."], KNOWN)
    assert score == 0.0
    assert bad == ["999%", "5,000,000"]


def test_traceability_is_the_share_of_figures() -> None:
    score, bad = number_traceability(["Rate 4.2% (was 7.7%), reach 12,345, 3 posts."], KNOWN)
    assert score == pytest.approx(0.5)
    assert bad == ["7.7%", "3"]


def test_no_figures_is_nothing_to_score() -> None:
    assert number_traceability(["Keep going."], KNOWN) == (None, [])


def test_figures_of_walks_json() -> None:
    assert sorted(figures_of({"a": [1, {"b": 2.5}], "c": True, "d": None, "e": "7"})) == [1, 2.5]


# --- anomalies ---------------------------------------------------------------------------------

EVENTS = [
    {"day": "2026-10-10", "kind": "viral", "platform": "twitter"},
    {"day": "2026-10-31", "kind": "incident", "platform": None},
]


def anomaly(day: str, metric: str, direction: str, platform: str | None = None) -> dict:
    return {"day": day, "metric": metric, "direction": direction, "platform": platform}


def test_recall_all_none_and_half() -> None:
    both = [
        anomaly("2026-10-10", "engagements", "spike", "twitter"),
        anomaly("2026-11-01", "sentiment", "dip"),  # one day off: within tolerance
    ]
    assert anomaly_recall(both, EVENTS) == 1.0
    assert anomaly_recall([], EVENTS) == 0.0
    assert anomaly_recall(both[1:], EVENTS) == 0.5
    assert anomaly_recall(both, []) is None


def test_recall_needs_the_right_signal_and_platform() -> None:
    wrong = [
        anomaly("2026-10-10", "engagements", "dip", "twitter"),  # a dip is not a viral post
        anomaly("2026-10-10", "engagements", "spike", "tiktok"),  # another platform
        anomaly("2026-10-31", "posts", "spike"),  # more posts is not an incident
        anomaly("2026-11-02", "comments", "spike"),  # two days off
    ]
    assert anomaly_recall(wrong, EVENTS) == 0.0


def test_precision_counts_distinct_days() -> None:
    flagged = [
        anomaly("2026-10-31", "comments", "spike"),
        anomaly("2026-10-31", "sentiment", "dip"),
        anomaly("2026-11-01", "sentiment", "dip"),
        anomaly("2026-11-10", "reach", "spike"),
        anomaly("2026-11-12", "reach", "spike"),
    ]
    assert anomaly_precision(flagged, EVENTS) == pytest.approx(0.5)
    assert anomaly_precision(flagged[:3], EVENTS) == 1.0
    assert anomaly_precision(flagged[3:], EVENTS) == 0.0
    assert anomaly_precision([], EVENTS) is None


# --- competitors -------------------------------------------------------------------------------


def test_name_key_ignores_case_spacing_and_at() -> None:
    assert name_key("  bean   THERE ") == name_key("Bean There") == "bean there"
    assert name_key("@beanthere") == "beanthere"


def test_missing_accuracy() -> None:
    asked = ["Bean There", "Nope Roasters", "ghost"]
    assert missing_accuracy(asked, ["nope roasters", "Ghost"], ["Nope Roasters", "ghost"]) == 1
    assert missing_accuracy(asked, [], ["Nope Roasters", "ghost"]) == pytest.approx(1 / 3)
    assert missing_accuracy(asked, ["Bean There"], []) == pytest.approx(2 / 3)


def test_missing_named() -> None:
    texts = ["No data on file for: Nope Roasters.", "Add an analysis for GHOST."]
    assert missing_named(texts, ["nope  roasters", "Ghost"]) == 1.0
    assert missing_named(texts[:1], ["Nope Roasters", "Ghost"]) == 0.5
    assert missing_named(["All benchmarked."], ["Ghost"]) == 0.0
    assert missing_named(texts, []) is None


def test_gap_recall_needs_name_platform_and_theme_in_one_item() -> None:
    expected = [
        {"competitor": "Bean There", "platform": "instagram", "any": ["video", "reel"]},
        {"competitor": "Kiln Coffee Co", "platform": "youtube", "any": ["no posts"]},
    ]
    gaps = [
        "Video is 80% of Bean There's posts on instagram vs 35% of yours",
        "Kiln Coffee Co: 3.0/week on youtube; you have no posts there",
    ]
    assert gap_recall(gaps, expected) == 1.0
    assert gap_recall(gaps[:1], expected) == 0.5
    # The theme and the name in different items do not make a gap.
    assert gap_recall(["Bean There posts often on instagram", "video matters"], expected) == 0
    assert gap_recall(gaps, []) is None


def test_admits_no_data() -> None:
    assert admits_no_data(["No posts with analytics in the last 30 days."])
    assert admits_no_data(["There is not enough history yet."])
    assert not admits_no_data(["Engagement is up 4.2%."])
