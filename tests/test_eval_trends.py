"""The trend evaluators: each can give 0, 1 and values in between."""

from __future__ import annotations

import pytest

from evals.evaluators.trends import (
    grounded,
    in_top_k,
    no_overclaim,
    norm_tag,
    overclaim,
    platform_scope,
    rank_of,
    row_key,
    stale_not_above,
    summary_names_lead,
)


def row(tag: str, volume: int = 5, score: float = 0.5, platform: str | None = None) -> dict:
    return {"tag": tag, "platform": platform, "volume": volume, "growth": 2.0, "score": score}


REPORT = [
    row("#coldbrewseason", 18, 0.83),
    row("#summercoffee", 6, 0.44),
    row("#lumencoffee", 56, 0.20),
    row("#hiring", 1, 0.02),
]
VOLUMES = {"*:#coldbrewseason": 18, "*:#summercoffee": 6, "*:#lumencoffee": 56, "*:#hiring": 1}


def test_tags_and_keys_are_normalised() -> None:
    assert norm_tag(" ColdBrew ") == norm_tag("#coldbrew") == "#coldbrew"
    assert row_key(row("#ColdBrew", platform="instagram")) == "instagram:#coldbrew"
    assert row_key(row("coldbrew")) == "*:#coldbrew"


def test_rank_and_top_k() -> None:
    assert rank_of(REPORT, "ColdBrewSeason") == 1
    assert rank_of(REPORT, "#pumpkinspice") is None
    assert in_top_k(REPORT, "#coldbrewseason", 1) == 1.0
    assert in_top_k(REPORT, "#lumencoffee", 3) == 1.0
    assert in_top_k(REPORT, "#hiring", 3) == 0.0
    assert in_top_k([], "#coldbrewseason", 3) == 0.0


def test_stale_not_above() -> None:
    stale = ["*:#lumencoffee", "*:#pumpkinspice"]
    assert stale_not_above(REPORT, "#coldbrewseason", stale) == 1.0
    flipped = [REPORT[2], REPORT[0], REPORT[1]]
    assert stale_not_above(flipped, "#coldbrewseason", stale) == 0.5
    both = [row("#pumpkinspice"), REPORT[2], REPORT[0]]
    assert stale_not_above(both, "#coldbrewseason", stale) == 0.0
    # The rising tag missing: any stale row listed counts as above it.
    assert stale_not_above([REPORT[2]], "#coldbrewseason", stale) == 0.5
    assert stale_not_above(REPORT, "#coldbrewseason", []) is None
    # Platform rows are keyed by platform: a stale Twitter row, not the Instagram one.
    rows = [row("#lumencoffee", platform="instagram"), row("#coldbrewseason", platform="twitter")]
    assert stale_not_above(rows, "#coldbrewseason", ["twitter:#lumencoffee"]) == 1.0
    assert stale_not_above(rows, "#coldbrewseason", ["instagram:#lumencoffee"]) == 0.0


def test_grounded_catches_invented_tags_and_wrong_volumes() -> None:
    assert grounded(REPORT, VOLUMES) == 1.0
    assert grounded([], {}) == 1.0
    invented = [*REPORT, row("#pumpkinspice", 4)]
    assert grounded(invented, VOLUMES) == pytest.approx(4 / 5)
    wrong = [row("#coldbrewseason", 20), row("#summercoffee", 6)]
    assert grounded(wrong, VOLUMES) == 0.5
    assert grounded([row("#ghost", 0)], {}) == 0.0
    # A tag counted on all platforms is not a count on one platform.
    assert grounded([row("#coldbrewseason", 18, platform="tiktok")], VOLUMES) == 0.0


def test_overclaim_reasons() -> None:
    volumes = {"*:#new": 2, "*:#lumencoffee": 300, "*:#coldbrewseason": 20}
    flat = {"*:#lumencoffee"}
    assert overclaim(row("#new", 2, 0.05), volumes, flat, 80) is None  # low score: honest
    assert overclaim(row("#new", 2, 0.3), volumes, flat, 80) == "thin"
    assert overclaim(row("#lumencoffee", 300, 0.8), volumes, flat, 80) == "flat"
    assert overclaim(row("#coldbrewseason", 20, 0.8), volumes, flat, 80) is None
    assert overclaim(row("#coldbrewseason", 20, 0.8), volumes, flat, 0.5) == "no_baseline"
    assert overclaim(row("#ghost", 9, 0.5), volumes, flat, 80) == "thin"  # no real uses


def test_no_overclaim_share() -> None:
    volumes = {"*:#new": 2, "*:#lumencoffee": 300, "*:#coldbrewseason": 20}
    rows = [row("#coldbrewseason", 20, 0.8), row("#lumencoffee", 300, 0.6), row("#new", 2, 0.04)]
    assert no_overclaim(rows, volumes, set(), 80) == 1.0
    assert no_overclaim(rows, volumes, {"*:#lumencoffee"}, 80) == pytest.approx(2 / 3)
    assert no_overclaim(rows, volumes, set(), 0) == pytest.approx(1 / 3)
    assert no_overclaim([], {}, set(), 0) == 1.0


def test_platform_scope() -> None:
    rows = [row("#a", platform="instagram"), row("#b", platform="tiktok"), row("#c")]
    assert platform_scope(rows, ["instagram", "tiktok"]) == pytest.approx(2 / 3)
    assert platform_scope(rows, None) == pytest.approx(1 / 3)
    assert platform_scope(rows[:1], ["instagram"]) == 1.0
    assert platform_scope(rows[:1], ["twitter"]) == 0.0
    assert platform_scope([], ["twitter"]) == 1.0


def test_summary_names_lead() -> None:
    assert summary_names_lead("#coldbrewseason is rising fast.", REPORT) == 1.0
    assert summary_names_lead("Cold brew season is here: ColdBrewSeason!", REPORT) == 1.0
    assert summary_names_lead("Post more about coffee.", REPORT) == 0.0
    assert summary_names_lead("No hashtag of yours is trending.", []) == 1.0
    assert summary_names_lead("Try #pumpkinspice, it is trending.", []) == 0.0
