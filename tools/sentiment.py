"""Sentiment of social text: VADER, adjusted for emoji, brand-safety terms and a few sarcasm
frames.

What VADER does and does not do here (checked against vaderSentiment 3.3.2):

- It has an emoji lexicon: each emoji character is replaced by its name ("😂" -> "face with
  tears of joy") and the words of the name are scored. That works for some emoji and not
  others: the variation selector after "❤️" leaves the token "heart\\ufe0f", which matches
  nothing, and names such as "pouting face" (😡), "thumbs down" (👎) or "face vomiting" (🤮)
  contain no lexicon word, so they score 0; "🔥" becomes "fire" and scores negative although
  on social media it means "great". We strip variation selectors and skin-tone modifiers, and
  give ``SOCIAL_EMOJI`` (the common emoji whose meaning is clear) their own valence; every
  other emoji still goes through VADER's own names.
- Negation ("not good", "never good"), boosters ("very"), "but" and capitals are VADER's own.
- ``BRAND_SAFETY_LEXICON`` adds or strengthens words that mean trouble for a brand and that
  VADER scores neutral or too mildly ("recall", "refund", "lawsuit" at -0.9, "never again" at
  0). Multi-word terms ("food poisoning") are joined into one token first.
- Sarcasm: only a few explicit frames, and only when the frame also carries a negative cue:
  "great... another delay", "oh perfect, still no refund", "love how my order is late again",
  "thanks for nothing", "yeah right". The praise word in such a frame is replaced by a
  negative token and the result says ``sarcasm=True``. Anything subtler is out of reach of a
  lexicon and is not claimed.
- Sarcasm without a frame: praise around a service-failure fact with an irony marker
  ("a bag of beans that arrived empty. 10/10", "Stellar service 🙃", "love that for me";
  ``tools.complaints``) reads as negative: the compound becomes minus the complaint strength,
  the positive and negative proportions swap, and ``sarcasm=True``.
- Words VADER does not know (other languages, most non-Latin scripts) score 0, except
  ``FOREIGN_NEGATIVE``: a few basic negative words and phrases of Spanish, German, French and
  Portuguese ("pésimo", "decepción", "nunca llegó", "enttäuscht", "nul", "horrível"). Only
  negative words: without each language's negation rules, positive ones would read "nicht
  gut" as praise, so "Das ist nicht gut" and "Me encanta el café" stay neutral. Mixed-language
  text is scored on its English words, those words and emoji; text with none is neutral.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import ToolException, tool
from pydantic import Field
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer, negated

from tools.complaints import complaint
from tools.ml_common import CamelModel, validation_message

Label = Literal["positive", "neutral", "negative"]
POSITIVE_THRESHOLD = 0.05  # VADER's standard cut-offs on the compound score
NEGATIVE_THRESHOLD = -0.05
MAX_TEXTS = 1000
MAX_CHARS = 10_000  # longer texts are scored on their first 10,000 characters

# Emoji -> (token, valence on VADER's -4..4 scale). Tokens are plain letters so VADER's
# tokenizer keeps them whole. Ambiguous emoji are left out on purpose: "😭" is as often
# "so good I'm crying" as sadness, and "💀" usually means "I'm dying (laughing)".
SOCIAL_EMOJI: dict[str, tuple[str, float]] = {
    "❤": ("xemoheart", 3.0),
    "💕": ("xemohearts", 2.8),
    "💖": ("xemohearts", 2.8),
    "💗": ("xemohearts", 2.8),
    "💛": ("xemoheart", 2.5),
    "🧡": ("xemoheart", 2.5),
    "💚": ("xemoheart", 2.5),
    "💙": ("xemoheart", 2.5),
    "💜": ("xemoheart", 2.5),
    "🤍": ("xemoheart", 2.5),
    "🖤": ("xemoheart", 2.5),
    "😍": ("xemohearteyes", 3.0),
    "🥰": ("xemohearteyes", 3.0),
    "🤩": ("xemostarstruck", 2.8),
    "😀": ("xemogrin", 2.0),
    "😃": ("xemogrin", 2.0),
    "😄": ("xemogrin", 2.0),
    "😁": ("xemogrin", 2.0),
    "😊": ("xemosmile", 2.0),
    "🙂": ("xemoslightsmile", 1.0),
    "😂": ("xemolaugh", 1.8),
    "🤣": ("xemolaugh", 1.8),
    "😋": ("xemoyum", 2.2),
    "👍": ("xemothumbsup", 1.8),
    "👏": ("xemoclap", 2.0),
    "🙌": ("xemoraisedhands", 2.0),
    "🎉": ("xemoparty", 2.2),
    "🔥": ("xemofire", 2.0),  # social slang: "this is fire"
    "💯": ("xemohundred", 2.0),
    "✨": ("xemosparkles", 1.0),
    "🙏": ("xemothanks", 1.0),
    "😡": ("xemorage", -3.0),
    "🤬": ("xemocursing", -3.2),
    "😠": ("xemoangry", -2.5),
    "👎": ("xemothumbsdown", -2.0),
    "🤮": ("xemovomit", -3.0),
    "🤢": ("xemonausea", -2.5),
    "🙄": ("xemoeyeroll", -1.5),
    "😒": ("xemounamused", -1.8),
    "😞": ("xemodisappointed", -2.0),
    "😔": ("xemopensive", -1.5),
    "😢": ("xemocry", -2.0),
    "💔": ("xemobrokenheart", -2.5),
    "😩": ("xemoweary", -1.8),
    "😫": ("xemotired", -1.8),
    "😣": ("xemopersevere", -1.5),
    "😤": ("xemohuff", -1.5),
    "🤦": ("xemofacepalm", -1.5),
    "💩": ("xemopoo", -2.0),
}

# Words and phrases that signal a brand-safety problem (legal, health, money back, public
# anger). VADER scores many of them 0 ("recall", "refund", "sued", "outage", "never again")
# or mildly ("lawsuit" -0.9, "boycott" -1.3); in comments about a brand they are among the
# most important negatives to catch, so they get clear negative valences. Trade-off, accepted:
# a neutral "our refund policy" now leans negative.
BRAND_SAFETY_LEXICON: dict[str, float] = {
    "recall": -2.0,
    "recalls": -2.0,
    "recalled": -2.0,
    "lawsuit": -2.5,
    "lawsuits": -2.5,
    "sued": -2.2,
    "suing": -2.2,
    "boycott": -2.5,
    "boycotting": -2.5,
    "refund": -1.5,
    "refunds": -1.2,
    "refunded": -0.8,
    "chargeback": -2.0,
    "overcharged": -2.0,
    "injury": -2.5,
    "injuries": -2.5,
    "injured": -2.5,
    "hospitalized": -2.8,
    "contaminated": -2.5,
    "contamination": -2.5,
    "unsafe": -2.5,
    "toxic": -2.5,
    "mold": -2.0,
    "moldy": -2.3,
    "outage": -1.5,
    "breach": -2.0,
    "scammed": -2.8,
    "scammers": -2.7,
    "ripoff": -2.5,
    "rip-off": -2.5,
    "fire": -1.8,  # VADER: -1.4. "A fire at the café"; the slang "is fire" is handled apart
}
# Basics of other languages, negative words only (VADER knows English): what a Spanish,
# German, French or Portuguese complaint about a brand most often says. Positive words are
# left out on purpose: without the language's negation rules ("nicht gut") they would read
# complaints as praise. Words that are also common English or neutral words ("tarde" is also
# "afternoon", "mal" is a name) are left out too.
FOREIGN_NEGATIVE: dict[str, float] = {
    # Spanish
    "decepción": -2.0,
    "decepcion": -2.0,
    "decepcionado": -2.0,
    "decepcionada": -2.0,
    "pésimo": -2.8,
    "pésima": -2.8,
    "pesimo": -2.8,
    "inaceptable": -2.2,
    "asco": -2.5,
    "estafa": -2.5,
    "fatal": -2.0,  # also VADER's English "fatal" (-2.5): negative either way
    "horrible": -2.5,
    # German
    "schlecht": -2.0,
    "enttäuscht": -2.0,
    "enttäuschend": -2.0,
    "kaputt": -1.8,
    "schade": -1.2,
    "leider": -0.8,
    "unverschämt": -2.2,
    "katastrophe": -2.5,
    "abzocke": -2.5,
    "verspätung": -1.5,
    # French
    "nul": -2.0,
    "nulle": -2.0,
    "déçu": -2.0,
    "déçue": -2.0,
    "arnaque": -2.5,
    "inadmissible": -2.2,
    # Portuguese
    "péssimo": -2.8,
    "péssima": -2.8,
    "horrível": -2.5,
    "decepcionante": -2.0,
    "atrasado": -1.2,
    "atrasada": -1.2,
}
# Multi-word phrases of those languages -> one token.
FOREIGN_PHRASES: dict[str, tuple[str, float]] = {
    r"nunca\s+lleg[óo]": ("xnuncallego", -2.0),
    r"nunca\s+m[áa]s": ("xneveragain", -2.5),
    r"lleg[óo]\s+tarde": ("xllegotarde", -1.5),
    r"nie\s+wieder": ("xneveragain", -2.5),
    r"plus\s+jamais": ("xneveragain", -2.5),
    r"nunca\s+chegou": ("xnuncachegou", -2.0),
    r"nunca\s+mais": ("xneveragain", -2.5),
}
# Multi-word terms -> one token (and its valence).
BRAND_SAFETY_PHRASES: dict[str, tuple[str, float]] = {
    r"food\s+poisoning": ("xfoodpoisoning", -3.2),
    r"never\s+again": ("xneveragain", -2.5),
    r"class\s+action": ("xclassaction", -2.5),
    r"data\s+breach": ("xdatabreach", -2.8),
    r"allergic\s+reaction": ("xallergicreaction", -2.5),
    r"rip\s+off": ("ripoff", -2.5),
}
# Social-media praise that VADER reads as negative ("obsessed" -1.8 in its lexicon): "my
# coworkers are obsessed with the new cold brew" is the best review a brand can get.
SOCIAL_PRAISE_PHRASES: dict[str, tuple[str, float]] = {
    r"(?<!not\s)obsessed\s+with": ("xobsessedwith", 1.8),
}
# Set phrases that are sarcastic on their own (VADER: "thanks for nothing" +0.44).
SARCASTIC_PHRASES: dict[str, tuple[str, float]] = {
    r"thanks\s+for\s+nothing": ("xthanksfornothing", -2.5),
    r"yeah,?\s+right\b": ("xyeahright", -2.0),
}
# "this is fire", "so fire", "straight fire": the slang sense, not a fire.
FIRE_SLANG = re.compile(
    r"\b(is|was|so|straight|pure|absolute|absolutely|literally|lowkey|kinda)\s+fire\b", re.I
)
SLANG_FIRE_TOKEN = ("xslangfire", 2.0)

# Sarcasm frames. A praise word followed by trailing dots, a comma or "!" and then
# "another/more/again/still/yet", or "love how/when/that", counts as sarcasm only if the rest
# of the clause is negative by VADER or holds a word from ``FRUSTRATIONS`` that is not negated
# ("great... another delay" is; "great, another visit soon" and "love that you never
# disappoint" are not).
PRAISE = r"(?:great|wonderful|fantastic|perfect|awesome|brilliant|lovely|nice|amazing|super)"
SARCASM_FRAMES = (
    re.compile(
        rf"\b(?:oh\s+)?(?:just\s+)?(?P<praise>{PRAISE})\s*(?:\.{{2,}}|…|,|!+)\s*"
        r"(?P<rest>(?:yet\s+)?(?:another|more|again|still)\b[^.!?\n]*)",
        re.I,
    ),
    re.compile(
        r"\b(?:i\s+|we\s+)?(?:just\s+)?(?P<praise>love|loving)\s+(?:it\s+)?"
        r"(?:how|when|that)\b(?P<rest>[^.!?\n]*)",
        re.I,
    ),
)
FRUSTRATIONS = frozenset(
    {
        "delay",
        "delays",
        "delayed",
        "late",
        "wait",
        "waiting",
        "waited",
        "fee",
        "fees",
        "hike",
        "increase",
        "outage",
        "error",
        "errors",
        "bug",
        "bugs",
        "crash",
        "crashed",
        "crashes",
        "crashing",
        "charge",
        "charged",
        "cancelled",
        "canceled",
        "cancel",
        "refund",
        "missing",
        "broken",
        "ads",
        "spam",
        "spammed",
        "hold",
        "queue",
        "stuck",
        "lost",
    }
)
SARCASM_TOKEN = ("xsarcasticpraise", -1.5)

_MODIFIERS = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")  # variation selectors, skin tones
_ZWJ = "\u200d"
_WORD = re.compile(r"[\w'-]+", re.UNICODE)


class Sentiment(CamelModel):
    """VADER's proportions (summing to ~1), its compound score in [-1, 1], and the label."""

    positive: float
    neutral: float
    negative: float
    compound: float
    label: Label
    sarcasm: bool = Field(default=False, description="a sarcasm frame flipped the praise")


class SentimentSummary(CamelModel):
    """Label shares and mean compound over many texts, optionally weighted by reach."""

    count: int
    positive_share: float
    neutral_share: float
    negative_share: float
    mean_compound: float
    label: Label
    weighted: bool = Field(description="whether reach weights were applied")
    sarcasm_count: int = 0


def label_of(compound: float) -> Label:
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


@cache
def analyzer() -> SentimentIntensityAnalyzer:
    """One analyzer per process (loading the lexicons takes a few milliseconds), extended with
    the emoji, brand-safety and sarcasm tokens."""
    vader = SentimentIntensityAnalyzer()
    vader.lexicon.update(BRAND_SAFETY_LEXICON)
    vader.lexicon.update(FOREIGN_NEGATIVE)
    extra = [
        *SOCIAL_EMOJI.values(),
        *BRAND_SAFETY_PHRASES.values(),
        *SARCASTIC_PHRASES.values(),
        *SOCIAL_PRAISE_PHRASES.values(),
    ]
    extra += FOREIGN_PHRASES.values()
    extra += [SLANG_FIRE_TOKEN, SARCASM_TOKEN]
    vader.lexicon.update(dict(extra))
    return vader


def _negative_cue(rest: str) -> bool:
    """Whether the rest of a sarcasm frame carries a complaint."""
    if analyzer().polarity_scores(rest)["compound"] <= NEGATIVE_THRESHOLD:
        return True
    words = _WORD.findall(rest.lower())
    return any(
        word in FRUSTRATIONS and not negated(words[max(0, i - 3) : i])
        for i, word in enumerate(words)
    )


def prepare(text: str) -> tuple[str, bool]:
    """The text VADER scores (emoji and phrases as tokens, sarcastic praise marked), and
    whether a sarcasm frame was found."""
    text = unicodedata.normalize("NFC", text[:MAX_CHARS])
    text = _MODIFIERS.sub("", text).replace(_ZWJ, " ")
    if any(ch in SOCIAL_EMOJI for ch in text):
        # First, so that the sarcasm check below already reads "😡" as negative.
        text = "".join(f" {SOCIAL_EMOJI[ch][0]} " if ch in SOCIAL_EMOJI else ch for ch in text)
    sarcasm = False
    for frame in SARCASM_FRAMES:

        def mark(m: re.Match[str]) -> str:
            nonlocal sarcasm
            if not _negative_cue(m.group("rest")):
                return m.group(0)
            sarcasm = True
            start, end = m.span("praise")
            whole = m.group(0)
            offset = m.start()
            return whole[: start - offset] + SARCASM_TOKEN[0] + whole[end - offset :]

        text = frame.sub(mark, text)
    for pattern, (token, _) in SARCASTIC_PHRASES.items():
        text, found = re.subn(rf"\b{pattern}", token, text, flags=re.I)
        sarcasm = sarcasm or found > 0
    text = FIRE_SLANG.sub(lambda m: f"{m.group(1)} {SLANG_FIRE_TOKEN[0]}", text)
    phrases = {**BRAND_SAFETY_PHRASES, **FOREIGN_PHRASES, **SOCIAL_PRAISE_PHRASES}
    for pattern, (token, _) in phrases.items():
        text = re.sub(rf"\b{pattern}", token, text, flags=re.I)
    return text, sarcasm


def score(text: str) -> Sentiment:
    """The sentiment of one text. Empty or unscorable text is neutral."""
    prepared, sarcasm = prepare(text or "")
    raw = analyzer().polarity_scores(prepared)
    if raw["pos"] + raw["neu"] + raw["neg"] == 0:  # nothing to score (empty text)
        raw = {"pos": 0.0, "neu": 1.0, "neg": 0.0, "compound": 0.0}
    compound = float(raw["compound"])
    positive, negative = float(raw["pos"]), float(raw["neg"])
    if compound > NEGATIVE_THRESHOLD:
        # Praise around a failure fact with an irony marker ("arrived empty. 10/10", "Stellar
        # service 🙃"): the praise means its opposite, so its share counts as negative.
        found = complaint(text or "")
        if found.ironic:
            sarcasm = True
            compound = -found.strength
            positive, negative = negative, positive
    return Sentiment(
        positive=positive,
        neutral=float(raw["neu"]),
        negative=negative,
        compound=compound,
        label=label_of(compound),
        sarcasm=sarcasm,
    )


def score_batch(texts: Sequence[str]) -> list[Sentiment]:
    """``score`` of each text, in order."""
    return [score(t) for t in texts]


def summarize(
    sentiments: Sequence[Sentiment], reach: Sequence[float] | None = None
) -> SentimentSummary:
    """Shares of each label and the mean compound. With ``reach`` (one non-negative weight per
    sentiment), a comment seen by many counts for more; all-zero weights fall back to equal."""
    n = len(sentiments)
    if reach is not None and len(reach) != n:
        raise ValueError(f"reach has {len(reach)} weights for {n} sentiments")
    if reach is not None and any(w < 0 for w in reach):
        raise ValueError("reach weights cannot be negative")
    weighted = reach is not None and sum(reach) > 0
    weights = [float(w) for w in reach] if weighted and reach is not None else [1.0] * n
    total = sum(weights)
    if n == 0 or total == 0:
        return SentimentSummary(
            count=n,
            positive_share=0.0,
            neutral_share=0.0,
            negative_share=0.0,
            mean_compound=0.0,
            label="neutral",
            weighted=False,
        )
    shares = {label: 0.0 for label in ("positive", "neutral", "negative")}
    for s, w in zip(sentiments, weights, strict=True):
        shares[s.label] += w
    mean = sum(s.compound * w for s, w in zip(sentiments, weights, strict=True)) / total
    return SentimentSummary(
        count=n,
        positive_share=round(shares["positive"] / total, 4),
        neutral_share=round(shares["neutral"] / total, 4),
        negative_share=round(shares["negative"] / total, 4),
        mean_compound=round(mean, 4),
        label=label_of(mean),
        weighted=weighted,
        sarcasm_count=sum(s.sarcasm for s in sentiments),
    )


@tool
async def analyze_sentiment(
    texts: Annotated[list[str], "the comments, replies or posts to score, at most 1000"],
    config: RunnableConfig,
) -> dict:
    """Score the sentiment of social media texts (comments, replies, posts).

    Returns one item per text (positive/neutral/negative proportions, compound score in
    [-1, 1], label, whether sarcasm was detected) and a summary with the share of each label.
    """
    del config  # no tenant data is read; the parameter keeps the tool signature uniform
    if len(texts) > MAX_TEXTS:
        raise ToolException(f"at most {MAX_TEXTS} texts per call; got {len(texts)}")
    items = score_batch(texts)
    return {
        "items": [s.model_dump() for s in items],
        "summary": summarize(items).model_dump(),
    }


# Bad input comes back to the model as a message it can act on, not as a crash.
analyze_sentiment.handle_tool_error = True
analyze_sentiment.handle_validation_error = validation_message
