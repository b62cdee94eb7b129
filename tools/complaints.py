"""Service-failure complaints that a sentiment lexicon reads as neutral, or even positive.

"My delivery is late again, third week in a row" has no word VADER knows: it scores 0. So
does "Paid for a subscription, got nothing for two weeks" and most sarcasm ("Stellar service
🙃", "arrived empty. 10/10"). What makes them complaints is a *failure fact* (late, still
waiting, never arrived, charged twice, no reply, cancelling...), often with a *repetition*
(again, third time, for weeks) and, in sarcasm, an *irony marker* (🙃, "10/10", "love that
for me", "maybe next year"). This module finds those cues with patterns, in English and in
a few basics of Spanish, German, French and Portuguese, and turns them into a complaint
strength in 0..1 (:func:`complaint`).

Strength = 1 - prod(1 - weight) over the distinct cues found, capped at :data:`MAX_STRENGTH`:
one failure fact reads as a mild complaint (about 0.35), a failure that keeps repeating or
comes with an irony marker as a clear one (0.5-0.6). A cue preceded by a negation within a
few words ("never late", "no complaints") does not count. Adding a cue never lowers the
strength. There is no model and no network: anything subtler than these patterns is out of
reach and not claimed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_STRENGTH = 0.7

# (name, pattern, weight). Patterns are matched case-insensitively on word boundaries.
FAILURES: tuple[tuple[str, str, float], ...] = (
    (
        "late",
        r"(?:is|was|are|were|arrived|running|came|still)\s+(?:(?!never|not)\w+\s+)?late|late\s+again|"
        r"(?:a\s+)?(?:days?|weeks?)\s+late|delay(?:s|ed)?|took\s+(?:forever|weeks|ages)|"
        r"not\s+(?:arrived|shipped)\s+yet|(?:hasn't|has\s+not|haven't|didn't|never)\s+"
        r"(?:moved|shipped|arrived|showed\s+up|come|arrive)",
        0.35,
    ),
    (
        "missing",
        r"never\s+(?:arrived|came|showed\s+up|received|receive|got\s+it|delivered)|"
        r"(?:got|received)\s+nothing|where\s+is\s+my\s+(?:order|package|box|delivery|refund)|"
        r"(?:package|order|box|parcel)\s+(?:is\s+|was\s+|got\s+)?(?:lost|missing|stuck|vanished)|"
        r"stuck\s+in\s+transit|vanished|without\s+my\s+(?:delivery|order|coffee|box|package)|"
        r"arrived\s+(?:empty|broken|damaged|open|leaking|warm|cold|crushed)|"
        r"(?:bag|box|bottle|package)\s+was\s+(?:torn|leaking|broken|damaged|empty)",
        0.4,
    ),
    (
        "waiting",
        r"still\s+(?:waiting|nothing|no\s+\w+|hasn't|haven't|not)|(?:day|week)\s+\d+\s+of\s+"
        r"waiting|waited\s+\d+|(?:been\s+)?waiting\s+(?:for\s+)?(?:\d+|two|three|four|five|"
        r"weeks|days|ages|forever)|(?:\d+|two|three|four|five|six|seven|eight|nine|ten|"
        r"several)\s+(?:days|weeks)\s+(?:now|and\s+(?:still|no))|for\s+the\s+\w+\s+day",
        0.35,
    ),
    (
        "ignored",
        r"no\s+(?:reply|response|answer|updates?|coffee|refund)|nobody\s+(?:answers|replies|"
        r"responds|helps)|(?:support|customer\s+service)\s+(?:is\s+)?(?:silent|useless|"
        r"ignoring)|ignor(?:e|es|ed|ing)\s+(?:my|every|all|our)|answer\s+(?:your|my)\s+dms|"
        r"(?:keeps?|kept)\s+closing\s+my\s+ticket",
        0.35,
    ),
    (
        "money",
        r"charged\s+(?:me\s+)?(?:twice|double|again)|double[\s-]+charged|overcharg\w*|"
        r"(?:charged|charging)\s+(?:me|my\s+card)|pa(?:id|ying)\s+(?:for|lumen|\w+\s+for)\s+"
        r"[^.!?]*?(?:nothing|never|no\s+)|(?:want|need|where(?:'s|\s+is))\s+(?:a|my)\s+refund",
        0.4,
    ),
    (
        "leaving",
        r"cancel(?:l?ing|l?ed)?\s+my\s+(?:subscription|order|account)|unsubscrib\w*|"
        r"cancell?ed\b|i'?m\s+done|never\s+(?:going\s+back|again|ordering|buying)|"
        r"not\s+(?:buying|ordering)\s+(?:another|again|from)|switching\s+to|stay\s+away",
        0.4,
    ),
    (
        "broken",
        r"(?:app|site|website|checkout)\s+(?:is\s+|keeps\s+)?(?:down|crash\w*|broken|"
        r"logging\s+me\s+out)|keeps\s+(?:crashing|logging\s+me\s+out|failing)",
        0.35,
    ),
)
# Repetition or duration of a failure: weighs only together with a failure.
REPEATS: tuple[tuple[str, str, float], ...] = (
    (
        "again",
        r"again|(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th))\s+(?:time|week|month|"
        r"delayed|late|order)|in\s+a\s+row|for\s+weeks|every\s+(?:time|week|month)|"
        r"(?:two|three|four|\d+)\s+(?:weeks|times)|"
        # the same in Spanish, German, French, Portuguese
        r"otra\s+vez|de\s+nuevo|(?:schon\s+)?wieder|encore\s+une\s+fois|de\s+novo",
        0.2,
    ),
)
# Irony markers: positive on the surface, complaints next to a failure ("10/10", "🙃").
IRONY: tuple[tuple[str, str, float], ...] = (
    (
        "irony",
        r"love\s+that\s+for\s+me|thanks\s+for\s+nothing|10/10|11/10|five\s+stars|"
        r"maybe\s+next\s+(?:year|decade|century)|what\s+a\s+(?:strategy|joke|service)|"
        r"outdid\s+(?:themselves|yourselves)|teaching\s+me\s+patience|oh\s+sure|"
        r"(?:stellar|fantastic|amazing|great|wonderful|brilliant)\s+(?:service|job|work)|"
        r"nothing\s+like|a\s+joke",
        0.25,
    ),
)
IRONY_EMOJI = {"🙃": 0.25, "🙄": 0.25, "🤡": 0.25}
# Basics of other languages: failure facts and plain complaints (no model, no network).
FOREIGN: tuple[tuple[str, str, float], ...] = (
    (
        "es",
        r"lleg[óo]\s+tarde|nunca\s+lleg[óo]|no\s+(?:ha\s+)?llegado|tard[óo]\s+\w+\s+"
        r"(?:semanas|días)|decepci[óo]n|decepcionad[oa]|p[ée]simo|mala\s+atenci[óo]n|"
        r"no\s+responde\w*|sin\s+caf[ée]|nunca\s+m[áa]s|qu[ée]\s+asco|inaceptable|estafa|"
        r"ya\s+van\s+\w+\s+(?:semanas|días)|reembolso",
        0.4,
    ),
    (
        "de",
        r"versp[äa]tung|versp[äa]tet|nie\s+angekommen|nicht\s+angekommen|kaputt|entt[äa]uscht|"
        r"schlecht|schade|leider|unversch[äa]mt|katastrophe|abzocke|"
        r"erstattung|nie\s+wieder",
        0.35,
    ),
    (
        "fr",
        r"en\s+retard|jamais\s+(?:arriv[ée]e?|re[çc]u)|pas\s+(?:encore\s+)?(?:arriv[ée]e?|"
        r"re[çc]u)|d[ée]çue?|nul(?:le)?|arnaque|remboursement|inadmissible|plus\s+jamais",
        0.35,
    ),
    (
        "pt",
        r"atrasad[oa]|atraso|nunca\s+chegou|n[ãa]o\s+chegou|p[ée]ssimo|horr[íi]vel|"
        r"decepcionad[oa]|decep[çc][ãa]o|reembolso|nunca\s+mais",
        0.35,
    ),
)
NEGATORS = frozenset({"no", "not", "never", "nobody", "none", "without", "isn't", "wasn't"})
NEGATION_WINDOW = 3  # words before a cue that can negate it

_compiled = [
    (kind, name, re.compile(rf"(?<![\w/])(?:{pattern})(?![\w/])", re.I), weight)
    for kind, table in (("failure", FAILURES), ("foreign", FOREIGN), ("repeat", REPEATS))
    for name, pattern, weight in table
]
_irony = [(name, re.compile(rf"(?<!\w)(?:{p})(?!\w)", re.I), w) for name, p, w in IRONY]
_WORD = re.compile(r"[\w'’]+")


@dataclass(frozen=True)
class Complaint:
    strength: float  # 0..1
    cues: tuple[str, ...] = ()  # names of the cues found
    ironic: bool = False  # an irony marker next to a failure: sarcasm


def _negated(text: str, start: int) -> bool:
    words = _WORD.findall(text[:start].lower())[-NEGATION_WINDOW:]
    return any(w.replace("’", "'") in NEGATORS or w.endswith("n't") for w in words)


def complaint(text: str) -> Complaint:
    """The complaint cues in ``text`` and their combined strength (see the module)."""
    found: dict[str, float] = {}
    for kind, name, pattern, weight in _compiled:
        for m in pattern.finditer(text):
            # "no reply", "never arrived" carry their own negation: only failures negated from
            # outside ("not late", "no delays") are dropped.
            own = m.group(0).lower().startswith(("no ", "never ", "not ", "nunca ", "nie "))
            if kind != "repeat" and not own and _negated(text, m.start()):
                continue
            name = "foreign" if kind == "foreign" else name  # one cue, whatever the language
            found[name] = max(found.get(name, 0.0), weight)
            break
    failure = any(name not in ("again",) for name in found)
    if not failure:
        return Complaint(0.0)  # "again" or "10/10" alone is no complaint
    irony = [name for name, pattern, _ in _irony if pattern.search(text)]
    irony += [ch for ch in IRONY_EMOJI if ch in text]
    for name in irony:
        found[name] = IRONY_EMOJI.get(name, 0.25)
    calm = 1.0
    for weight in found.values():
        calm *= 1 - weight
    return Complaint(round(min(MAX_STRENGTH, 1 - calm), 4), tuple(found), bool(irony))
