"""crisis_manager: how much trouble a set of brand mentions spells, and what to do about it.

The assessment is code; the model writes only the holding statement.

Per mention (``assess``):

* negativity ``n`` = the larger of max(0, -compound) of its sentiment (``tools.sentiment``:
  VADER with the brand-safety lexicon, basic negative words of Spanish, German, French and
  Portuguese, emoji and sarcasm frames) and its complaint strength (``tools.complaints``:
  service-failure facts such as "late again", "still waiting", "never arrived", "charged me
  twice", "cancelling my subscription", in English and those four languages, stronger when
  repeated or paired with an irony marker such as 🙃 or "10/10"), 0..1. VADER reads "my
  delivery is late again, third week in a row" as neutral; a social-media manager does not;
* risk ``r`` = the severity (0..1) of the worst risk term it contains (:data:`RISK_TERMS`:
  injury, illness, fire, recall, lawsuit, boycott, fraud...). Such terms weigh heavily even
  when VADER reads the text as neutral ("my kid was hospitalized after drinking it"). A term
  negated just before it ("nobody got sick", "not a recall") does not count; a term in a
  question or a rumour ("is the recall real?", "heard they were hacked") counts at
  :data:`HEDGED` (0.4) of its severity;
* effective negativity ``e`` = max(n, r);
* weight ``w`` = 1 + log10(1 + reach) (reach unknown: 1). A post seen by 100,000 people
  counts for about 6 unseen ones: reach matters, but never drowns the count of voices;
* audience ``a`` = log10(1 + reach) mapped from 3 (1,000) to 6 (1,000,000) onto 0..1.

Over the mentions (:func:`risk_score`), six components, each in 0..1:

* ``N`` share and intensity: half the share of mentions with ``e`` >= 0.05, half the mean of
  ``e``, shrunk by n / (n + 2) so that one angry post out of one is not a 100% crisis;
* ``V`` exposure: 1 - exp(-sum(w * e) / :data:`EXPOSURE_SCALE`);
* ``C`` voices: 1 - exp(-sum(e) / :data:`VOICES_SCALE`), the number of unhappy voices
  whatever their share: twenty complaints are a wave even among praise;
* ``P`` peak: max(e * a), one angry voice with a very large audience;
* ``R`` risk terms: 1 - exp(-sum(w * r) / :data:`RISK_SCALE`);
* ``A`` attention on trouble: the share of mentions with ``e`` >= 0.05 when the mention
  volume is anomalous (below) or the tenant's analytics show a comment spike, else 0. More
  attention only matters when what it brings is negative or risky: a launch that drew a
  spike of happy comments, or a surge of praise, adds nothing;

combined as score = 1 - (1 - 0.45 N)(1 - 0.25 V)(1 - 0.3 C)(1 - 0.3 P)(1 - 0.6 R)(1 - 0.25 A)
(:data:`WEIGHTS`), then raised to a floor set by the worst risk term (:data:`RISK_FLOORS`: an
asserted safety, recall or legal term puts the score at 0.25, medium, at least; any other
risk term, or a hedged one, at 0.05, low), and held below critical (:data:`BELOW_CRITICAL`)
unless some mention asserts a safety, recall or legal term of severity >= :data:`CRITICAL_RISK`
(boycott and fraud terms are 0.6): critical means people may be hurt or sued, not only angry.
Every component, the floor and the ceiling are non-decreasing in each mention's negativity,
risk and reach, and the product form is non-decreasing in each component, so for a given set
of mentions the score is monotone in negativity and reach (the tests check it over random
mention sets). It stays below 1.

Risk levels (:data:`THRESHOLDS`): none < 0.05 <= low < 0.25 <= medium < 0.50 <= high < 0.70 <=
critical. Calibrated on labelled cases (the tests, and the dev split of the
``crisis_manager`` eval dataset): calm praise scores 0 (none); a few ordinary, sarcastic or
foreign-language complaints among praise land in low, as do a negated or questioning mention
of a risk term; a single legal or safety claim, a recall or data-breach rumour, a pattern of
about eight complaints or one angry post with a very large audience in medium; a wave of
twenty complaints with real reach, a boycott call or a safety claim from a big account in
high; a wave of recall, injury and lawsuit posts with real reach in critical.

Volume anomaly (:func:`volume_check`) means mention volume above the baseline, nothing
else: the mentions of the most recent 24 hours (counted back from the newest dated mention;
undated mentions count as recent) number at least :data:`SPIKE_MIN_MENTIONS` and at least
:data:`SPIKE_FACTOR` times the tenant's baseline, the mean daily comments on its posts over
the last 30 complete local days (``daily_series`` in the tenant's timezone). With no
analytics, the baseline is the mean daily count of the dated mentions of the seven days
before; with neither there is no baseline and there is no anomaly. A comment spike (count or
rate) that the tenant's own analytics flag on today or yesterday is not a volume anomaly of
the mentions: it feeds ``A`` (so only through negative or risky mentions) and is named as a
driver only when the mentions are negative or risky.

The response plan is rules by level; ``escalate`` at high and critical; a holding statement
at medium and above, written by the model and used only if it names the brand, fits X (280
weighted characters), contains no number, link, hashtag, @mention, banned term or
placeholder, admits no fault or liability and promises nothing; otherwise a template that
does all of that.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agents.base import Agent, AgentContext
from agents.grounding import echoes, reply_budget
from agents.prompts.crisis_manager import PERSONA, statement_prompt
from agents.schemas import (
    Assessment,
    CrisisReport,
    CrisisRequest,
    Mention,
    ResponsePlan,
    RiskLevel,
    SentimentShares,
)
from agents.toolkit import clean_prose, reads_as_prose
from tools.analytics import DailySeries, InvalidQuery, daily_series
from tools.complaints import complaint
from tools.platform_rules import validate_post
from tools.sentiment import FIRE_SLANG, Sentiment, score_batch, summarize

log = logging.getLogger(__name__)

# --- the scoring model -----------------------------------------------------------------------

#: (pattern, category, severity). Severity is how bad a single mention with the term is,
#: whatever its tone. Terms are matched case-insensitively on word boundaries. A term negated
#: just before it ("nobody got sick", "not a recall") does not count; a term in a question or
#: a rumour ("is this a scam?", "heard there's a recall") counts at :data:`HEDGED` of its
#: severity (see :func:`risk_terms`).
RISK_TERMS: tuple[tuple[str, str, float], ...] = (
    (r"food\s+poisoning|poisoned|allergic\s+reaction|anaphyla\w*", "safety", 1.0),
    (r"hospitali[sz]ed|emergency\s+room|ambulance|injur(?:y|ies|ed)|fatal\w*", "safety", 1.0),
    (
        r"contaminat\w*|chok(?:e|ed|ing)|glass\s+(?:in|shards?)|metal\s+(?:in|pieces?)",
        "safety",
        1.0,
    ),
    (
        r"burn(?:s|ed|t)?\s+(?:my|me|his|her|their|our)|(?:got|was|were)\s+burn(?:ed|t)",
        "safety",
        0.9,
    ),
    (r"hospital|unsafe|mold|moldy|vomit\w*|threw\s+up|diarrh\w*", "safety", 0.8),
    # "sick" and "ill" only as what happened to someone ("sick of waiting" is a complaint).
    (
        r"(?:got|get|gets|getting|fell|felt|feel|feeling|was|were|am|is|are|became|made\s+"
        r"(?:me|us|him|her|them|my\s+\w+))\s+(?:really\s+|so\s+|very\s+)?(?:sick|ill)(?!\s+of)",
        "safety",
        0.8,
    ),
    (r"caught\s+fire|(?:a|the)\s+fire|fire\s+hazard|explo(?:ded|sion)|toxic", "safety", 0.7),
    (r"recall(?:s|ed|ing)?", "recall", 0.9),
    (r"lawsuits?|sued|suing|class[\s-]+action|lawyers?|attorneys?|legal\s+action", "legal", 0.9),
    (r"(?:will|gonna|going\s+to|should|to|i'll|we'll|i\s+will|we\s+will)\s+sue", "legal", 0.9),
    # A boycott or a fraud claim is serious but not a danger to anyone's health or a legal
    # claim: below the severity that can make a crisis critical (CRITICAL_RISK).
    (r"boycott\w*", "boycott", 0.6),
    (r"scam(?:s|med|mers)?|fraud\w*|data\s+breach|hacked|stole\s+my", "fraud", 0.6),
)
_RISK_PATTERNS = [(re.compile(rf"\b(?:{p})\b", re.I), c, s) for p, c, s in RISK_TERMS]
#: How a driver names each category: "3 of 5 mentions mention a recall".
CATEGORY_PHRASES = {
    "safety": "an injury, illness or safety risk",
    "recall": "a recall",
    "legal": "legal action",
    "boycott": "a boycott",
    "fraud": "fraud or a data breach",
}
CATEGORY_ORDER = ("safety", "recall", "legal", "boycott", "fraud")

SHRINK = 2  # pseudo-count of calm mentions in the share component
TROUBLED = 0.05  # effective negativity from which a mention counts as negative (VADER's cut)
WEIGHTS = {
    "share": 0.45,
    "exposure": 0.25,
    "voices": 0.3,
    "peak": 0.3,
    "risk": 0.6,
    "volume": 0.25,
}
EXPOSURE_SCALE = 35.0  # sum(w * e) at which exposure reaches 1 - 1/e
VOICES_SCALE = 10.0  # sum(e) at which the voices component reaches 1 - 1/e
PEAK_FROM, PEAK_TO = 3.0, 6.0  # log10 reach over which one post's audience counts, 1k..1M
RISK_SCALE = 4.0  # sum(w * r) at which the risk component reaches 1 - 1/e
HEDGED = 0.4  # share of a risk term's severity left in a question or a rumour
NEGATION_WINDOW = 3  # words before a risk term that can negate it
NEGATORS = frozenset(
    {"no", "not", "never", "nobody", "none", "nothing", "neither", "nor", "without", "noone"}
)
_HEDGE = re.compile(
    r"\b(?:heard|hearing|rumou?rs?|rumou?red|allegedly|apparently|supposedly|is\s+it\s+true|"
    r"anyone\s+know|can\s+anyone\s+confirm|not\s+sure\s+if|wondering\s+if)\b",
    re.I,
)
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n|$)")
_WORD = re.compile(r"[\w']+")
#: Lower bounds of each level, highest first.
THRESHOLDS: tuple[tuple[RiskLevel, float], ...] = (
    ("critical", 0.70),
    ("high", 0.50),
    ("medium", 0.25),
    ("low", 0.05),
    ("none", 0.0),
)
#: (worst risk severity, least score): a safety, recall or legal term (severity >= 0.9) puts
#: the mentions at medium at least, any other risk term at low at least.
RISK_FLOORS: tuple[tuple[float, float], ...] = ((0.9, 0.25), (0.01, 0.05))
#: Critical needs a safety, recall or legal claim (severity >= CRITICAL_RISK, asserted, not
#: hedged): without one the score stays below critical, however loud the complaints.
CRITICAL_RISK = 0.7
BELOW_CRITICAL = 0.6999
ESCALATE_AT: frozenset[str] = frozenset({"high", "critical"})
STATEMENT_AT: frozenset[str] = frozenset({"medium", "high", "critical"})

BASELINE_DAYS = 30
RECENT = timedelta(hours=24)
SPIKE_FACTOR = 3.0
SPIKE_MIN_MENTIONS = 10
VOLUME_NOTE = 1.5  # volume is named as a driver from this multiple of the baseline
FALLBACK_DAYS = 7  # the mentions' own history stands in for a missing baseline


@dataclass(frozen=True)
class MentionSignal:
    """What the score reads from one mention."""

    negativity: float  # 0..1: max(0, -compound, complaint strength)
    risk: float  # 0..1: severity of its worst risk term (hedged, negation read)
    reach: int | None = None
    categories: tuple[str, ...] = ()

    @property
    def weight(self) -> float:
        return 1.0 + math.log10(1.0 + max(0, self.reach or 0))

    @property
    def effective(self) -> float:
        return max(self.negativity, self.risk)

    @property
    def audience(self) -> float:
        """0..1: how large one post's audience is, from 1,000 (0) to 1,000,000 (1)."""
        level = math.log10(1.0 + max(0, self.reach or 0))
        return min(1.0, max(0.0, (level - PEAK_FROM) / (PEAK_TO - PEAK_FROM)))


def _negated(sentence: str, start: int) -> bool:
    words = _WORD.findall(sentence[:start].lower())[-NEGATION_WINDOW:]
    return any(w in NEGATORS or w.endswith("n't") for w in words) or "no one" in " ".join(words)


def risk_terms(text: str) -> list[tuple[str, float]]:
    """The risk categories ``text`` touches, with their severities (worst per category).

    Read per sentence: a term with a negation among the few words before it ("nobody got
    sick", "it's not a recall") is skipped; a term in a question or next to a rumour word
    ("is the recall real?", "heard they were hacked") counts at :data:`HEDGED` of its
    severity: a rumour is worth checking, an assertion is a claim."""
    text = FIRE_SLANG.sub(" ", text)  # "this latte is fire" is praise, not a fire
    worst: dict[str, float] = {}
    for sentence in _SENTENCE.findall(text):
        if not sentence.strip():
            continue
        hedged = sentence.rstrip().endswith("?") or bool(_HEDGE.search(sentence))
        for pattern, category, severity in _RISK_PATTERNS:
            for m in pattern.finditer(sentence):
                if _negated(sentence, m.start()):
                    continue
                found = severity * (HEDGED if hedged else 1.0)
                worst[category] = max(worst.get(category, 0.0), round(found, 4))
                break
    return sorted(worst.items(), key=lambda cs: CATEGORY_ORDER.index(cs[0]))


def signal(mention: Mention, sentiment: Sentiment) -> MentionSignal:
    terms = risk_terms(mention.text)
    return MentionSignal(
        negativity=max(0.0, -sentiment.compound, complaint(mention.text).strength),
        risk=max((s for _, s in terms), default=0.0),
        reach=mention.reach,
        categories=tuple(c for c, _ in terms),
    )


@dataclass(frozen=True)
class Components:
    share: float
    exposure: float
    voices: float
    peak: float
    risk: float
    volume: float


def components(signals: Sequence[MentionSignal], attention: bool) -> Components:
    """``attention``: the mention volume is anomalous or the analytics show a comment spike."""
    if not signals:
        return Components(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    n = len(signals)
    # Half the share of troubled mentions, half their mean intensity: two complaints among
    # six mentions matter even when each is mild. Shrunk for small sets: one angry post out
    # of one is not "100% negative" in any sense that matters.
    troubled = sum(1 for s in signals if s.effective >= TROUBLED) / n
    # Attention weighs only as much as it is attention on trouble: a spike of happy comments
    # after a launch is not a crisis (issue 18), a spike of complaints is.
    volume = troubled if attention else 0.0
    share = (0.5 * troubled + 0.5 * sum(s.effective for s in signals) / n) * n / (n + SHRINK)
    exposure = 1 - math.exp(-sum(s.weight * s.effective for s in signals) / EXPOSURE_SCALE)
    voices = 1 - math.exp(-sum(s.effective for s in signals) / VOICES_SCALE)
    peak = max(s.effective * s.audience for s in signals)
    risk = 1 - math.exp(-sum(s.weight * s.risk for s in signals) / RISK_SCALE)
    return Components(share, exposure, voices, peak, risk, volume)


def risk_floor(signals: Sequence[MentionSignal]) -> float:
    """The least score a risk term forces: a single legal or safety claim is never "low"."""
    worst = max((s.risk for s in signals), default=0.0)
    return next((floor for severity, floor in RISK_FLOORS if worst >= severity), 0.0)


def risk_ceiling(signals: Sequence[MentionSignal]) -> float:
    """The most the score may be: below critical without a safety, recall or legal claim."""
    worst = max((s.risk for s in signals), default=0.0)
    return 1.0 if worst >= CRITICAL_RISK else BELOW_CRITICAL


def risk_score(signals: Sequence[MentionSignal], attention: bool = False) -> float:
    """The crisis score in [0, 1): monotone in each mention's negativity, risk and reach.
    ``attention``: mention volume above the baseline, or a comment spike in the analytics."""
    c = components(signals, attention)
    calm = (
        (1 - WEIGHTS["share"] * c.share)
        * (1 - WEIGHTS["exposure"] * c.exposure)
        * (1 - WEIGHTS["voices"] * c.voices)
        * (1 - WEIGHTS["peak"] * c.peak)
        * (1 - WEIGHTS["risk"] * c.risk)
        * (1 - WEIGHTS["volume"] * c.volume)
    )
    score = min(risk_ceiling(signals), max(risk_floor(signals), 1 - calm))
    return round(min(1.0, score), 4)


def risk_level(score: float) -> RiskLevel:
    for level, floor in THRESHOLDS:
        if score >= floor:
            return level
    return "none"


# --- volume ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    anomaly: bool  # mention volume above the baseline
    recent: int
    baseline: float | None  # mentions or comments per day
    baseline_source: str  # "analytics", "mentions" or "none"
    spike: str | None = None  # the analytics' own comment spike, as a driver


def as_utc(value: datetime) -> datetime:
    """A mention's time as aware UTC (a time without an offset is taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _recent_count(mentions: Sequence[Mention], now: datetime) -> tuple[int, datetime]:
    dated = [as_utc(m.created_at) for m in mentions if m.created_at is not None]
    ref = max(dated) if dated else now
    recent = sum(1 for m in mentions if m.created_at is None or as_utc(m.created_at) > ref - RECENT)
    return recent, ref


def _fallback_baseline(mentions: Sequence[Mention], ref: datetime) -> float | None:
    """Mean daily mentions over the days before the recent window, from the mentions."""
    start, end = ref - RECENT - timedelta(days=FALLBACK_DAYS), ref - RECENT
    earlier = [
        m for m in mentions if m.created_at is not None and start < as_utc(m.created_at) <= end
    ]
    return len(earlier) / FALLBACK_DAYS if earlier else None


def volume_check(mentions: Sequence[Mention], series: DailySeries | None, now: datetime) -> Volume:
    """See the module docstring."""
    recent, ref = _recent_count(mentions, now)
    baseline: float | None = None
    source = "none"
    spike = None
    if series is not None:
        complete = [p for p in series.points if not p.partial][-BASELINE_DAYS:]
        if complete and any(p.posts for p in complete):
            baseline, source = sum(p.comments for p in complete) / len(complete), "analytics"
        latest = {p.date for p in series.points[-2:]}
        for a in series.anomalies:
            if (
                a.date in latest
                and a.direction == "spike"
                and a.metric in ("comments", "comment_rate")
            ):
                value = f"{a.value:.2%}" if a.metric == "comment_rate" else f"{a.value:,.0f}"
                median = f"{a.median:.2%}" if a.metric == "comment_rate" else f"{a.median:,.0f}"
                name = "comment rate" if a.metric == "comment_rate" else "comments"
                spike = f"{name} spiked on {a.date.isoformat()} ({value} vs a median of {median})"
                break
    if baseline is None:
        baseline = _fallback_baseline(mentions, ref)
        source = "mentions" if baseline is not None else "none"
    surge = (
        baseline is not None
        and recent >= SPIKE_MIN_MENTIONS
        and recent >= SPIKE_FACTOR * max(baseline, 1e-9)
    )
    return Volume(bool(surge), recent, baseline, source, spike)


# --- the assessment --------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """The assessment with what the plan needs from it."""

    assessment: Assessment
    signals: list[MentionSignal]
    categories: dict[str, int]  # category -> mentions touching it


def assess(mentions: Sequence[Mention], series: DailySeries | None, now: datetime) -> Evaluation:
    """Score the mentions (pure but for the series the caller read)."""
    sentiments = score_batch([m.text for m in mentions])
    signals = [signal(m, s) for m, s in zip(mentions, sentiments, strict=True)]
    volume = volume_check(mentions, series, now)
    score = risk_score(signals, volume.anomaly or volume.spike is not None)
    summary = summarize(sentiments)
    categories = {
        c: sum(1 for s in signals if c in s.categories)
        for c in CATEGORY_ORDER
        if any(c in s.categories for s in signals)
    }
    drivers = _drivers(mentions, sentiments, signals, categories, volume)
    return Evaluation(
        assessment=Assessment(
            risk_level=risk_level(score),
            score=score,
            sentiment=SentimentShares(
                positive=summary.positive_share,
                neutral=summary.neutral_share,
                negative=summary.negative_share,
                compound=summary.mean_compound,
            ),
            drivers=drivers,
            volume_anomaly=volume.anomaly,
        ),
        signals=signals,
        categories=categories,
    )


def _drivers(
    mentions: Sequence[Mention],
    sentiments: Sequence[Sentiment],
    signals: Sequence[MentionSignal],
    categories: dict[str, int],
    volume: Volume,
) -> list[str]:
    n = len(mentions)
    out = []
    negative = sum(1 for s in sentiments if s.label == "negative")
    if negative:
        out.append(f"{negative} of {n} mentions are negative ({negative / n:.0%})")
    for category, count in categories.items():
        verb = "mentions" if count == 1 else "mention"
        out.append(f"{count} of {n} mentions {verb} {CATEGORY_PHRASES[category]}")
    troubled = [(m, s) for m, s in zip(mentions, signals, strict=True) if s.effective >= 0.05]
    reached = [m.reach for m, _ in troubled if m.reach]
    if reached:
        out.append(
            f"negative or risky mentions reach about {sum(reached):,} accounts "
            f"(reach known for {len(reached)} of {len(troubled)})"
        )
    # Volume is evidence only when it is high: "3 mentions against 242 a day" says nothing.
    ratio = volume.recent / volume.baseline if volume.baseline else None
    if volume.baseline is not None and (volume.anomaly or (ratio or 0) >= VOLUME_NOTE):
        what = "comments a day" if volume.baseline_source == "analytics" else "mentions a day"
        times = f", {ratio:.1f}x" if ratio is not None else ""
        out.append(
            f"{volume.recent} mentions in the latest 24 hours against a baseline of "
            f"{volume.baseline:.1f} {what}{times}"
        )
    # The analytics' spike is evidence of trouble only next to troubled mentions; beside calm
    # ones it is a launch or a viral post, and naming it would read as an alarm.
    if volume.spike and troubled:
        out.append(f"your analytics show it too: {volume.spike}")
    sarcastic = sum(1 for s in sentiments if s.sarcasm)
    if sarcastic:
        out.append(f"{sarcastic} of {n} mentions read as sarcastic complaints")
    if not negative and not categories:
        out.append(f"none of the {n} mentions is negative or mentions a risk")
    return out


# --- the response plan -----------------------------------------------------------------------

_LEVEL_ACTIONS: dict[str, list[str]] = {
    "none": ["Keep monitoring mentions as usual; no response is needed."],
    "low": [
        "Reply to the negative mentions individually, in a helpful tone.",
        "Keep watching mentions over the next day for the same complaint.",
    ],
    "medium": [
        "Reply to the people affected individually and move details to direct messages.",
        "Route the complaints to customer care and track them as one issue.",
        "Have the holding statement below approved, ready to post if the issue spreads.",
        "Review scheduled posts and pause any that could read as tone-deaf.",
        "Check mentions every few hours until they settle.",
    ],
    "high": [
        "Escalate to the communications lead now.",
        "Publish the approved holding statement and pin it.",
        "Pause scheduled promotional posts.",
        "Reply to the people affected privately and move details out of public threads.",
        "Route every report to customer care and track them as one issue.",
        "Monitor mentions hourly until the volume returns to normal.",
    ],
    "critical": [
        "Convene the crisis team now, with leadership, legal and operations.",
        "Publish the approved holding statement and pin it; update it as facts are confirmed.",
        "Pause all scheduled posts.",
        "Reply to the people affected privately and move details out of public threads.",
        "Route every report to customer care and track them as one issue.",
        "Monitor mentions continuously until the volume returns to normal.",
    ],
}
_CATEGORY_ACTIONS = {
    "safety": "Reach out privately to anyone reporting an injury or illness; never dispute "
    "their account in public, and log each report for quality and legal review.",
    "recall": "Confirm with operations whether a recall or safety notice exists before saying "
    "anything about product safety.",
    "legal": "Do not comment on legal claims in public; pass them to legal counsel.",
    "boycott": "Find out what the boycott call is about and brief leadership before responding.",
    "fraud": "Check with security whether accounts or data were affected before responding.",
}


def plan_actions(level: RiskLevel, categories: dict[str, int]) -> list[str]:
    """The level's actions, then one per risk category found (from low up)."""
    actions = list(_LEVEL_ACTIONS[level])
    if level != "none":
        actions += [_CATEGORY_ACTIONS[c] for c in categories]
    return actions


_LIABILITY = re.compile(
    r"\b(?:our fault|at fault|we(?:'re| are) (?:responsible|liable|to blame)|(?:we|i) admit|"
    r"liab(?:le|ility)|negligen\w*|we caused|our mistake|we made a mistake|we messed up|guilty|"
    r"we failed)\b",
    re.I,
)
# Claims of fact or promises the brand has not made (the model cannot know them).
_CLAIMS = re.compile(
    r"\b(?:refund\w*|compensat\w*|recalled|resolved|fixed|no one (?:was|is|has been)|"
    r"completely safe|perfectly safe|is safe|are safe|guarantee\w*|free of charge|voucher)\b",
    re.I,
)
_LINKISH = re.compile(r"https?://|www\.|@\w|#\w")


def statement_problems(text: str, brand: str, banned_terms: Sequence[str] = ()) -> list[str]:
    """Why a holding statement may not be used; empty if it may."""
    problems = []
    if not reads_as_prose(text, min_words=8):
        problems.append("not a readable statement")
    if " ".join(brand.casefold().split()) not in " ".join(text.casefold().split()):
        problems.append("does not name the brand")
    problems += [v.message for v in validate_post(text, [], "twitter", banned_terms=banned_terms)]
    if re.search(r"\d", text):
        problems.append("states a number")
    if _LINKISH.search(text):
        problems.append("contains a link, hashtag or @mention")
    if _LIABILITY.search(text):
        problems.append("admits fault or liability")
    if _CLAIMS.search(text):
        problems.append("claims a fact or makes a promise")
    return problems


def template_statement(brand: str, categories: Sequence[str], banned: Sequence[str] = ()) -> str:
    """A holding statement that names the brand and fits X; the longest variant that passes
    :func:`statement_problems`, else the shortest (a very long brand name may not fit)."""
    topic = " and product safety" if {"safety", "recall"} & set(categories) else ""
    variants = [
        f"We're aware of concerns being shared about {brand}{topic}, and we take them "
        "seriously. Our team is looking into this now and will share an update as soon as we "
        "can. If you've been affected, please send us a direct message so we can help.",
        f"{brand} is aware of the concerns being shared and is looking into them now. We'll "
        "share an update soon. If you're affected, please message us directly.",
        f"{brand} is looking into the concerns raised and will share an update soon.",
    ]
    for text in variants:
        if not statement_problems(text, brand, banned):
            return text
    return variants[-1]


async def holding_statement(
    ctx: AgentContext,
    brand: str,
    evaluation: Evaluation,
    mentions: Sequence[Mention],
    banned: Sequence[str] = (),
) -> str:
    """The model's statement if it passes every check, else the template."""
    concerns = [CATEGORY_PHRASES[c] for c in evaluation.categories] or ["negative comments"]
    worst = sorted(zip(mentions, evaluation.signals, strict=True), key=lambda ms: -ms[1].effective)
    samples = [" ".join(m.text.split())[:160] for m, _ in worst[:3]]
    prompt = statement_prompt(brand, concerns, samples)
    try:
        reply = await ctx.chat(
            PERSONA.system_prompt(ctx.settings.system_prompt),
            prompt,
            temperature=min(ctx.settings.temperature, 0.4),
            max_tokens=reply_budget(ctx, 120, 90),
        )
    except Exception as exc:  # the template is always at hand: an outage must not block it
        log.warning("holding statement from the template (%s)", type(exc).__name__)
        reply = ""
    text = clean_prose(reply, paragraphs=False)
    if text and not statement_problems(text, brand, banned) and not echoes(text, prompt):
        return text
    return template_statement(brand, list(evaluation.categories), banned)


def _plan_summary(brand: str, a: Assessment, escalate: bool) -> str:
    lead = f"Risk for {brand} is {a.risk_level} (score {a.score:.2f})"
    evidence = "; ".join(a.drivers[:3])
    text = f"{lead}: {evidence}." if evidence else f"{lead}."
    if a.volume_anomaly:
        text += " Mention volume is far above normal."
    if escalate:
        text += " Escalate now."
    return text


# --- the agent -------------------------------------------------------------------------------


class CrisisManagerAgent(Agent[CrisisRequest, CrisisReport]):
    """Risk assessment of brand mentions by code; a response plan by rules, with a
    model-written (checked) holding statement from medium risk up."""

    name = "crisis_manager"
    task_type = "crisis_assessment"
    persona = PERSONA
    input_model = CrisisRequest
    output_model = CrisisReport

    def summarize_input(self, request: CrisisRequest) -> str:
        # Mentions are other people's posts: the task row keeps their count, not their text.
        return f"brand={request.brand!r}, mentions={len(request.mentions)}"

    async def run(self, request: CrisisRequest, ctx: AgentContext) -> CrisisReport:
        now = ctx.clock()
        settings = await ctx.org_settings()
        series = await _baseline_series(ctx, settings.timezone, now)
        evaluation = assess(request.mentions, series, now)
        a = evaluation.assessment
        escalate = a.risk_level in ESCALATE_AT
        statement = None
        if a.risk_level in STATEMENT_AT:
            statement = await holding_statement(
                ctx, request.brand, evaluation, request.mentions, settings.banned_terms
            )
        return CrisisReport(
            assessment=a,
            response_plan=ResponsePlan(
                summary=_plan_summary(request.brand, a, escalate),
                actions=plan_actions(a.risk_level, evaluation.categories),
                holding_statement=statement,
                escalate=escalate,
            ),
        )


async def _baseline_series(ctx: AgentContext, timezone: str, now: datetime) -> DailySeries | None:
    """The tenant's daily comments over the baseline window, in its timezone."""
    for zone in (timezone, "UTC"):
        try:
            return await daily_series(
                ctx.db, ctx.org_id, days=BASELINE_DAYS + 1, timezone=zone, now=now
            )
        except InvalidQuery:
            continue  # a bad timezone in the settings: fall back to UTC
    return None


crisis_manager = CrisisManagerAgent()
