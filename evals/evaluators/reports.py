"""Evaluators for the analysis reports (performance_tracker, competitor_monitor): every number
in the words traceable to the data, planted anomalies found, missing competitors and content
gaps named.

Each function is pure: it reads a report (or its texts) and the reference values a suite
gathered from the fixture, and returns a score in 0..1 (None: nothing to score).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# --- numbers in text ---------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:T[\d:.]+Z?)?\b")
_NAMED_DATE = re.compile(
    r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?"
    r"(?:,?\s+(\d{4}))?\b",
    re.I,
)
_CLOCK = re.compile(r"(?<![\w.])(\d{1,2}):(\d{2})\b")
_MERIDIEM = re.compile(r"(?<![\w.])(\d{1,2})\s*([ap])(?:\.m\.|m\b)", re.I)
# A number not glued to a word, hashtag or handle ("#top10", "@bean2", "SmolLM2" are not
# figures); thousands separators kept for now, a k/M suffix or % read after it.
_NUMBER = re.compile(
    r"(?<![\w.#@/])[-+−]?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:\s*([kKmM])\b)?(%)?"
)
_SCALE = {"k": 1_000.0, "m": 1_000_000.0}


@dataclass(frozen=True)
class Stated:
    """A figure as written: its text, its value, and the precision it was written with."""

    text: str
    value: float
    decimals: int
    scale: float = 1.0  # 1000 for "1.2k": the value was rounded in thousands
    is_date: date | None = None
    bad_date: bool = False  # looked like a date but is not a real calendar day


def stated_numbers(text: str, year: int | None = None) -> list[Stated]:
    """The figures a text states, dates and clock times read as such (so "2026-11-01" is one
    date, not three numbers, and "18:00" is the hour 18)."""
    found: list[Stated] = []

    def take(match: re.Match[str]) -> str:
        return " " * (match.end() - match.start())

    def iso(match: re.Match[str]) -> str:
        y, m, d = (int(g) for g in match.groups()[:3])
        found.append(_date_stated(match.group(0), y, m, d))
        return take(match)

    def named(match: re.Match[str]) -> str:
        y = int(match.group(3)) if match.group(3) else year
        if y is None:
            return match.group(0)  # no year to place it: leave the day as a bare number
        found.append(
            _date_stated(match.group(0), y, _MONTHS[match.group(1).lower()], int(match.group(2)))
        )
        return take(match)

    def clock(match: re.Match[str]) -> str:
        found.append(Stated(match.group(0), float(int(match.group(1))), 0))
        return take(match)

    def meridiem(match: re.Match[str]) -> str:
        hour = int(match.group(1)) % 12 + (12 if match.group(2).lower() == "p" else 0)
        found.append(Stated(match.group(0), float(hour), 0))
        return take(match)

    text = _ISO_DATE.sub(iso, text)
    text = _NAMED_DATE.sub(named, text)
    text = _CLOCK.sub(clock, text)
    text = _MERIDIEM.sub(meridiem, text)
    for match in _NUMBER.finditer(text):
        whole, fraction, suffix, _percent = match.groups()
        digits = whole.replace(",", "") + ("." + fraction if fraction else "")
        scale = _SCALE[suffix.lower()] if suffix else 1.0
        found.append(
            Stated(
                match.group(0).strip(),
                abs(float(digits)) * scale,
                len(fraction) if fraction else 0,
                scale,
            )
        )
    return found


def _date_stated(text: str, y: int, m: int, d: int) -> Stated:
    try:
        day = date(y, m, d)
    except ValueError:
        return Stated(text, 0.0, 0, bad_date=True)
    return Stated(text, float(day.toordinal()), 0, is_date=day)


def _agrees(stated: Stated, known: float) -> bool:
    """Whether ``known`` written at the stated precision gives the stated figure: rounded
    (4.26 -> 4.3) or cut (4.26 -> 4.2), as people and models both do."""
    scaled = abs(known) / stated.scale
    target = stated.value / stated.scale
    factor = 10**stated.decimals
    rounded = math.floor(scaled * factor + 0.5) / factor
    cut = math.floor(scaled * factor + 1e-9) / factor
    return math.isclose(rounded, target, abs_tol=1e-9) or math.isclose(cut, target, abs_tol=1e-9)


def traceable(stated: Stated, known: Iterable[float], dates: Iterable[date] = ()) -> bool:
    """A figure is traceable if some known value gives it, as is, as a percentage (0.042 ->
    4.2) or from a percentage (4.2 -> 0.042); a date if it is one of the known dates."""
    if stated.bad_date:
        return False
    if stated.is_date is not None:
        return stated.is_date in set(dates)
    return any(_agrees(stated, v * f) for v in known for f in (1.0, 100.0, 0.01))


def number_traceability(
    texts: Sequence[str],
    known: Iterable[float],
    dates: Iterable[date] = (),
    year: int | None = None,
) -> tuple[float | None, list[str]]:
    """The share of figures stated in ``texts`` that the data gives, and the ones it does not
    (None when the texts state no figures at all: nothing to check)."""
    values = [float(v) for v in known]
    days = set(dates)
    stated = [s for text in texts for s in stated_numbers(text, year)]
    if not stated:
        return None, []
    bad = [s.text for s in stated if not traceable(s, values, days)]
    return 1 - len(bad) / len(stated), list(dict.fromkeys(bad))


def figures_of(data: Any) -> list[float]:
    """Every number in JSON-like data (booleans are not figures)."""
    out: list[float] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, int | float):
            if math.isfinite(item):
                out.append(float(item))
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return out


def date_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- anomalies ---------------------------------------------------------------------------------

# What a planted event looks like in a daily series: a viral post lifts the day's engagement
# (and usually its reach and comments); an incident brings a comment wave and a sentiment dip.
EVENT_SIGNALS: dict[str, set[tuple[str, str]]] = {
    "viral": {
        ("engagements", "spike"),
        ("engagement_rate", "spike"),
        ("reach", "spike"),
        ("comments", "spike"),
        ("comment_rate", "spike"),
    },
    "incident": {("comments", "spike"), ("comment_rate", "spike"), ("sentiment", "dip")},
}


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


def _near(a: date, b: date, tolerance: int) -> bool:
    return abs((a - b).days) <= tolerance


def anomaly_recall(
    anomalies: Sequence[Mapping[str, Any]],
    expected: Sequence[Mapping[str, Any]],
    tolerance_days: int = 1,
) -> float | None:
    """The share of planted events (``{"day", "kind", "platform"?}``) the report flags: an
    anomaly within ``tolerance_days`` of the day, with a metric and direction the event
    produces, on the event's platform or on all platforms together (``platform`` null)."""
    if not expected:
        return None
    hits = 0
    for event in expected:
        day, signals = _day(event["day"]), EVENT_SIGNALS[event["kind"]]
        platform = event.get("platform")
        hits += any(
            _near(_day(a["day"]), day, tolerance_days)
            and (a["metric"], a["direction"]) in signals
            and (a.get("platform") in (None, platform) or platform is None)
            for a in anomalies
        )
    return hits / len(expected)


def anomaly_precision(
    anomalies: Sequence[Mapping[str, Any]],
    expected: Sequence[Mapping[str, Any]],
    tolerance_days: int = 1,
) -> float | None:
    """The share of the report's flagged days within ``tolerance_days`` of a planted event
    (None when it flags none). Counted per distinct day: one incident flags three metrics."""
    days = {_day(a["day"]) for a in anomalies}
    if not days:
        return None
    planted = [_day(e["day"]) for e in expected]
    return sum(any(_near(d, p, tolerance_days) for p in planted) for d in days) / len(days)


# --- competitors: missing and gaps -------------------------------------------------------------


def name_key(name: str) -> str:
    """A competitor name as people mean it: case, '@' and spacing ignored."""
    return " ".join(name.replace("@", " ").split()).casefold()


def mentions(text: str, name: str) -> bool:
    return name_key(name) in " ".join(text.replace("@", " ").split()).casefold()


def missing_accuracy(
    requested: Sequence[str], reported_missing: Sequence[str], expected_missing: Sequence[str]
) -> float:
    """The share of requested names classified right: listed in ``missing`` exactly when no
    data is on file for them."""
    if not requested:
        return 1.0
    reported = {name_key(n) for n in reported_missing}
    expected = {name_key(n) for n in expected_missing}
    right = sum((name_key(n) in reported) == (name_key(n) in expected) for n in requested)
    return right / len(requested)


def missing_named(texts: Sequence[str], expected_missing: Sequence[str]) -> float | None:
    """The share of competitors without data that the report's words name (a reader who
    skips the ``missing`` field must still learn that they were not benchmarked)."""
    if not expected_missing:
        return None
    joined = "\n".join(texts)
    return sum(mentions(joined, n) for n in expected_missing) / len(expected_missing)


def gap_recall(texts: Sequence[str], expected: Sequence[Mapping[str, Any]]) -> float | None:
    """The share of expected gaps (``{"competitor", "platform"?, "any": [keywords]}``) that
    some single text names: the competitor, the platform if given, and one keyword."""
    if not expected:
        return None
    hits = 0
    for gap in expected:
        words = [w.casefold() for w in gap["any"]]
        platform = gap.get("platform")
        hits += any(
            mentions(text, gap["competitor"])
            and (platform is None or platform.casefold() in text.casefold())
            and any(w in text.casefold() for w in words)
            for text in texts
        )
    return hits / len(expected)


# --- thin history ------------------------------------------------------------------------------

_NO_DATA = re.compile(
    r"\b(?:no (?:posts|data|analytics|competitor data)|not enough|insufficient|"
    r"nothing to (?:report|benchmark)|no \w+ (?:data|analytics))\b",
    re.I,
)


def admits_no_data(texts: Sequence[str]) -> bool:
    """Whether the report says there is not enough data (rather than inventing some)."""
    return any(_NO_DATA.search(t) for t in texts)
