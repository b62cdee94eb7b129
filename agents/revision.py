"""A revision written by code, for when the model cannot revise: the reviewer's "mention X"
becomes a sentence of its own and "drop Y" removes the clauses that say Y, so a reviewer never
gets back the draft they turned down. Style wishes ("warmer", "shorter") are not code's to meet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import regex

from tools.platform_rules import NEUTRAL_SENTENCES


def _normalized(text: str) -> str:
    return " ".join(regex.findall(r"[\p{L}\p{N}]+", text.casefold()))


def same_post(body: str, previous: str, cta: str | None = None) -> bool:
    """Whether ``body`` (alone, or with ``cta`` composed after it) says word for word what
    ``previous`` said; case, punctuation and spacing aside."""
    before = _normalized(previous)
    return bool(before) and before in {
        _normalized(body),
        _normalized(f"{body} {cta or ''}"),
    }


# Feedback that asks for words to be added: "Mention the price...", "Say it's made with ...",
# "add that it's dairy-free", "Bitte erwähne, dass ...". The words after it become a sentence.
_ADD = re.compile(
    r"^(?:please\s+|bitte\s+|also\s+|and\s+)*(?:mention|say|add|include|note|state|explain|"
    r"tell\s+(?:them|people|readers|everyone|followers)|point\s+out|make\s+clear|"
    r"erw[äa]hne|erw[äa]hnt|sag|sage|schreib|schreibe|f[üu]ge\s+hinzu)\b[\s,:]*"
    r"(?:(?:that|dass|daß)\b[\s,]*)?(?P<rest>.+)$",
    re.I,
)
# Feedback that asks for something to go: "Drop the discount", "Don't mention the price".
_REMOVE = re.compile(
    r"^(?:please\s+|bitte\s+|and\s+)*(?:drop|remove|delete|cut|lose|skip|leave\s+out|"
    r"take\s+out|get\s+rid\s+of|no\s+more|without|don'?t\s+mention|do\s+not\s+mention|"
    r"streiche|entferne)\b\s*(?P<rest>.+)$",
    re.I,
)
# What "the discount" looks like in a post: "Save 20% on", "20% off", "$5 off".
_DISCOUNT_WORDS = re.compile(r"\b(?:discount|sale|deal|offer|promo|promotion|rabatt)", re.I)
_DISCOUNT = re.compile(
    r"(?:\b(?:save|get|enjoy|take)\s+)?(?:\d+(?:\.\d+)?\s*%|[$€£]\s?\d+(?:\.\d+)?)"
    r"(?:\s+off\b)?(?:\s+(?:on|of)\b)?\s*",
    re.I,
)
_CLAUSE = re.compile(r"[^,;:]+(?:[,;:]\s*|$)")


def _clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.findall(text) if c.strip()]


def _join_clauses(clauses: Sequence[str]) -> str:
    text = "".join(clauses).strip().rstrip(",;:").strip()
    text = text[:1].upper() + text[1:]
    return text if not text or re.search(r"[.!?…]$", text) else f"{text}."


def _as_sentence(words: str) -> str:
    """``it's made with real pumpkin`` -> ``It's made with real pumpkin.``; a German clause
    after "dass" has its verb last, so it is moved second ("sie vegan sind" -> "Sie sind
    vegan")."""
    words = " ".join(words.split()).strip(" ,;:.")
    words = re.sub(r",?\s+and\s+(?:that|dass)\s+", ", and ", words, flags=re.I)
    return _join_clauses([words]) if words else ""


_PARTS = re.compile(r"(?<=[.!?;])\s+|;\s*|,\s+(?=(?:and\s+)?(?:add|mention|say|drop|remove)\b)")


_AND_REQUEST = re.compile(
    r"\s+and\s+(?=(?:add|mention|say|include|note|drop|remove|delete|cut|skip)\b)", re.I
)


def _requests(feedback: str) -> list[str]:
    # "Drop the discount and mention the notes" is two requests.
    return [p for part in _PARTS.split(feedback) for p in _AND_REQUEST.split(part)]


def feedback_requests(feedback: str) -> tuple[list[str], list[str]]:
    """What a reviewer asked to add and to drop: ("mention the price" -> add "the price";
    "drop the discount" -> drop "the discount"). Style wishes are neither."""
    adds: list[str] = []
    drops: list[str] = []
    for part in _requests(feedback):
        part = part.strip(" ,.;!")
        if not part:
            continue
        removal = _REMOVE.match(part)
        if removal:
            drops.append(removal.group("rest").strip(" .!"))
            continue
        addition = _ADD.match(part)
        if addition:
            adds.append(addition.group("rest").strip(" .!"))
    return adds, drops


def revision_template(base: str, feedback: str, previous: str, cta: str | None = None) -> str:
    """A revision written by code: ``base`` (the brief's template), without what the feedback
    asks to drop, with what it asks to add as sentences of its own. Style wishes ("warmer",
    "shorter") are not code's to meet; if nothing changed the post, a shorter cut (its first
    clause) or, as a last resort, a neutral closing sentence keeps it from being the draft the
    reviewer already turned down."""
    additions: list[str] = []
    for part in _requests(feedback):
        part = part.strip(" ,.;!")
        if not part:
            continue
        removal = _REMOVE.match(part)
        if removal:
            target = removal.group("rest")
            words = {w for w in re.findall(r"\w{4,}", target.casefold())}
            words -= {"entirely", "please", "completely", "mention", "anything", "about"}
            kept = []
            for clause in _clauses(base):
                if _DISCOUNT_WORDS.search(target):
                    clause = _DISCOUNT.sub("", clause)
                if words & set(re.findall(r"\w+", clause.casefold())):
                    continue
                if len(re.findall(r"\w+", clause)) >= 2:
                    kept.append(clause)
            if kept:
                base = _join_clauses(kept)
            continue
        addition = _ADD.match(part)
        if addition:
            rest = addition.group("rest")
            german = re.search(r"\b(?:dass|daß)\b", part, re.I)
            if german:
                words_ = rest.strip(" .").split()
                if len(words_) >= 3:
                    rest = " ".join([words_[0], words_[-1], *words_[1:-1]])
            sentence = _as_sentence(rest)
            if sentence and _normalized(sentence) not in _normalized(base):
                additions.append(sentence)
    text = " ".join([base, *additions])
    if same_post(text, previous, cta):
        clauses = _clauses(base)
        if len(clauses) > 1:
            text = " ".join([_join_clauses(clauses[:1]), *additions])
    if same_post(text, previous, cta):
        text = f"{text} {NEUTRAL_SENTENCES[0]}"
    return text
