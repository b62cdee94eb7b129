"""Writes ``competitor_monitor.v1.jsonl``: run ``.venv/bin/python -m
evals.datasets.build_competitor_monitor`` and the file is reproduced byte for byte.

Expectations come from the competitor analyses planted in ``evals/fixtures/compet_market.py``
(``COMPETITORS``, ``EMPTY``, ``PLANTED``): a requested name is expected in ``missing`` exactly
when no analysis's name or handle matches it as a person means it (case, spacing and '@'
ignored); every requested competitor with data brings the gaps planted for it, each named by
the words that must appear in one item of the report next to the competitor and platform.
The ``empty`` and ``lumen`` fixtures have no competitor analyses: everything asked is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.cases import render_rows
from evals.evaluators.reports import name_key
from evals.fixtures.compet_market import COMPETITORS, EMPTY, PLANTED

OUT = Path(__file__).parent / "competitor_monitor.v1.jsonl"

# How each planted theme shows in a report: the words, and which texts must carry them
# ("content_gaps"; "strengths": the SWOT's; "report": any of its words).
FREQUENCY = ["more often", "/week", "per week", "a week", "frequency"]
THEMES: dict[str, tuple[list[str], str]] = {
    "video": (["video", "reel"], "content_gaps"),
    "posts_per_week": (FREQUENCY, "content_gaps"),
    "no_posts": (["no posts", "not on", "no presence", "absent", "0%"], "content_gaps"),
    "engagement_rate": (["engagement"], "report"),
    "our_strength": (["engagement", "followers"], "strengths"),
}


@dataclass
class Spec:
    id: str
    competitors: list[str]
    days: int = 30
    fixture: str = "compet_market"
    tags: list[str] = field(default_factory=list)
    note: str = ""


UNKNOWN = [
    "Nope Roasters",
    "Ghost Coffee",
    "Unknown Brew",
    "Sable & Sons",
    "Northside Beans",
    "Crema Collective",
    "Grounds for Thought",
    "Pour Decisions",
    "The Daily Cup",
    "Brewed Awakening",
    "Mocha Mountain",
    "Roast Ritual",
    "Tidewater Coffee",
    "Filter Club",
    "Espresso Yourself",
]
KNOWN = ["Bean There", "Kiln Coffee Co", "Daily Grind", "Copper Kettle", "Hollow Beans"]

DEV: list[Spec] = [
    Spec("cm-bean-30d", ["Bean There"], tags=["video-gap", "frequency-gap", "two-platforms"]),
    Spec("cm-bean-lower-30d", ["bean there"], tags=["name-variant"]),
    Spec(
        "cm-kiln-30d",
        ["Kiln Coffee Co"],
        tags=["platform-absent"],
        note="YouTube: no posts of ours",
    ),
    Spec("cm-daily-grind-30d", ["Daily Grind"], tags=["engagement-gap", "percent-units"]),
    Spec("cm-copper-30d", ["Copper Kettle"], tags=["our-strength"]),
    Spec(
        "cm-hollow-30d",
        ["Hollow Beans"],
        tags=["empty-metrics"],
        note="on file, but every metric empty",
    ),
    Spec("cm-unknown-30d", ["Nope Roasters"], tags=["no-data-competitor"]),
    Spec("cm-mix-30d", ["Bean There", "Nope Roasters"], tags=["no-data-competitor", "mixed"]),
    Spec(
        "cm-many-30d",
        [*KNOWN, "Ghost Coffee", "Unknown Brew"],
        tags=["many-competitors", "mixed", "no-data-competitor"],
    ),
    Spec("cm-bean-7d", ["Bean There"], 7, tags=["window-7"]),
    Spec(
        "cm-kiln-grind-90d",
        ["Kiln Coffee Co", "Daily Grind"],
        90,
        tags=["window-90", "platform-absent"],
    ),
    Spec(
        "cm-handles-14d",
        ["@beanthere", "dailygrindcafe"],
        14,
        tags=["name-variant", "handle", "window-14"],
    ),
    Spec(
        "cm-empty-two-30d",
        ["Bean There", "Daily Grind"],
        fixture="empty",
        tags=["thin-history", "no-data-competitor"],
    ),
    Spec(
        "cm-lumen-blue-bottle-30d",
        ["Blue Bottle"],
        fixture="lumen",
        tags=["no-data-competitor", "no-competitor-data"],
    ),
    Spec(
        "cm-double-space-30d",
        ["Bean  There"],
        tags=["name-variant", "spacing"],
        note="a doubled inner space is still Bean There",
    ),
    Spec(
        "cm-duplicates-30d",
        ["Daily Grind", "daily grind", " DAILY GRIND "],
        tags=["name-variant", "duplicates"],
    ),
    Spec(
        "cm-twenty-60d",
        [*KNOWN, *UNKNOWN],
        60,
        tags=["many-competitors", "mixed", "no-data-competitor", "window-60"],
    ),
]
TEST: list[Spec] = [
    Spec("cm-bean-upper-30d", ["BEAN THERE"], tags=["name-variant", "video-gap", "frequency-gap"]),
    Spec("cm-bean-60d", ["Bean There"], 60, tags=["window-60", "two-platforms"]),
    Spec(
        "cm-kiln-lower-14d",
        ["kiln coffee co"],
        14,
        tags=["name-variant", "platform-absent", "window-14"],
    ),
    Spec(
        "cm-daily-grind-90d",
        ["Daily Grind"],
        90,
        tags=["engagement-gap", "window-90", "percent-units"],
    ),
    Spec("cm-copper-7d", ["Copper Kettle"], 7, tags=["our-strength", "window-7"]),
    Spec(
        "cm-hollow-ghost-30d",
        ["Hollow Beans", "Ghost Coffee"],
        tags=["empty-metrics", "no-data-competitor", "mixed"],
    ),
    Spec("cm-unknown-two-30d", ["Nope Roasters", "Ghost Coffee"], tags=["no-data-competitor"]),
    Spec(
        "cm-mix-three-60d",
        ["Daily Grind", "Unknown Brew", "Kiln Coffee Co"],
        60,
        tags=["mixed", "no-data-competitor"],
    ),
    Spec(
        "cm-many-ten-30d",
        ["bean there", "KILN COFFEE CO", "Daily Grind", "Copper Kettle", *UNKNOWN[:6]],
        tags=["many-competitors", "mixed", "name-variant"],
    ),
    Spec("cm-all-known-90d", KNOWN[:4], 90, tags=["many-competitors", "window-90"]),
    Spec(
        "cm-spacing-30d",
        ["  daily grind  ", "kiln  coffee co"],
        tags=["name-variant", "spacing"],
        note="outer and doubled inner spaces",
    ),
    Spec(
        "cm-empty-one-30d",
        ["Nope Roasters"],
        fixture="empty",
        tags=["thin-history", "no-data-competitor"],
    ),
    Spec(
        "cm-empty-bean-90d",
        ["Bean There"],
        90,
        fixture="empty",
        tags=["thin-history", "no-data-competitor", "window-90"],
    ),
    Spec(
        "cm-lumen-two-30d",
        ["Bean There", "Stumptown"],
        fixture="lumen",
        tags=["no-data-competitor", "no-competitor-data"],
    ),
    Spec("cm-handle-kiln-30d", ["@kilncoffee"], tags=["handle", "platform-absent"]),
    Spec("cm-bean-grind-365d", ["Bean There", "Daily Grind"], 365, tags=["long-window"]),
    Spec(
        "cm-twenty-14d",
        [*UNKNOWN[5:], *KNOWN],
        14,
        tags=["many-competitors", "mixed", "no-data-competitor", "window-14"],
    ),
]

# The competitor-only hashtags planted per competitor and platform (the gap must name one).
_TAGS = {(name, platform): tags for name, platform, _h, _f, _e, _p, _t, tags, _a in COMPETITORS}


def _on_file() -> dict[str, str]:
    """Every name and handle with an analysis, as a person means it -> the competitor."""
    keys: dict[str, str] = {}
    for name, _platform, handle, *_ in [*COMPETITORS, EMPTY]:
        keys[name_key(name)] = name
        keys[name_key(handle)] = name
    return keys


def _expect(spec: Spec) -> dict[str, Any]:
    on_file = _on_file() if spec.fixture == "compet_market" else {}
    missing = [n for n in spec.competitors if name_key(n) not in on_file]
    found = list(
        dict.fromkeys(on_file[name_key(n)] for n in spec.competitors if name_key(n) in on_file)
    )
    gaps: list[dict[str, Any]] = []
    for competitor in found:
        for platform, themes in PLANTED[competitor].items():
            for theme in themes:
                if theme in THEMES:
                    words, where = THEMES[theme]
                    gaps.append(
                        {
                            "competitor": competitor,
                            "platform": platform,
                            "theme": theme,
                            "any": words,
                            "where": where,
                        }
                    )
            # Every competitor with hashtags we do not use: the gap names one of them.
            if themes and "no_metrics" not in themes and (competitor, platform) in _TAGS:
                gaps.append(
                    {
                        "competitor": competitor,
                        "platform": platform,
                        "theme": "hashtags",
                        "any": _TAGS[competitor, platform][:2],
                        "where": "content_gaps",
                    }
                )
    return {"missing": missing, "found": found, "gaps": gaps}


def _case(spec: Spec, split: str) -> dict[str, Any]:
    return {
        "id": spec.id,
        "split": split,
        "fixture": spec.fixture,
        "inputs": {"competitors": spec.competitors, "days": spec.days},
        "data": {},
        "expect": _expect(spec),
        "tags": spec.tags,
        "note": spec.note or None,
    }


def build() -> str:
    rows = [_case(s, "dev") for s in DEV] + [_case(s, "test") for s in TEST]
    return render_rows(rows, sort_keys=True)


if __name__ == "__main__":
    OUT.write_text(build(), encoding="utf-8")
    print(f"wrote {OUT}")
