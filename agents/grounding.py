"""Model words next to computed numbers: keep the sentences and list items that add words, drop
the ones that bring numbers of their own.

The analysis agents (performance_tracker, competitor_monitor, crisis_manager) state every
figure through code templates. The model adds qualitative sentences or list items; each one is
kept only if it reads as prose, does not parrot the prompt, holds no placeholder, and every
number and hashtag in it appears in the facts the model was given (``agents.toolkit.grounded``,
which accepts a figure rounded to fewer decimals). One bad sentence costs that sentence, not
the whole reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from agents.toolkit import SENTENCE, clean_prose, grounded, keywords, reads_as_prose
from tools.platform_rules import find_placeholders

if TYPE_CHECKING:
    from agents.base import AgentContext

# A list item: "- x", "* x", "• x", "1. x", "2) x".
_BULLET = re.compile(r"^\s*(?:[-*•·–]+|\(?\d{1,2}[.)])\s*")
# Chat-model chatter that is not content: disclaimers, and the model talking about itself
# or praising the prompt ("I'm glad you're excited...", "Your explanation is concise").
_CHATTER = re.compile(
    r"\b(?:as an ai|language model|i cannot|i can't help|i'm sorry|i am sorry)\b|"
    r"^(?:your explanation|great question)\b",
    re.I,
)
# An analysis never needs the first person singular; a model using it is talking about itself.
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I'd|I'll|I've|me|my|myself)\b")
# Words of the trade that an on-topic sentence may use without their being in the facts.
DOMAIN_WORDS = keywords(
    "audience followers engagement engagements content posts posting video videos reels "
    "stories brand hashtags reach community comments platform platforms social strategy "
    "campaign format formats frequency competitor competitors customers sentiment schedule "
    "timing growth visibility conversation conversations creators"
)
_WORDS = re.compile(r"[\w']+")
ECHO_SHARE = 0.6  # this share of a sentence's word trigrams found in the prompt: an echo


def echoes(text: str, prompt: str) -> bool:
    """Whether ``text`` mostly repeats ``prompt`` (small models parrot their input)."""
    if not prompt:
        return False
    words = [w.casefold() for w in _WORDS.findall(text)]
    source = " ".join(w.casefold() for w in _WORDS.findall(prompt))
    if len(words) < 3:
        return " ".join(words) in source
    grams = [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
    shared = sum(f" {g} " in f" {source} " for g in grams)
    return shared / len(grams) >= ECHO_SHARE


def on_topic(text: str, facts: str) -> bool:
    """Whether ``text`` is about the facts: it shares a content word with them, or two words
    of the trade. One trade word is not enough: a tiny model drifts into greetings, writing
    advice and life lessons that mention "content" or "community" once (issue 18)."""
    words = keywords(text)
    return bool(words & keywords(facts)) or len(words & DOMAIN_WORDS) >= 2


def usable(text: str, facts: str, prompt: str = "", *, min_words: int = 4) -> bool:
    """Whether one model sentence or item may go into a report."""
    return (
        reads_as_prose(text, min_words=min_words)
        and not _CHATTER.search(text.strip())
        and not _FIRST_PERSON.search(text)
        and on_topic(text, facts)
        and not find_placeholders(text)
        and grounded(text, facts)
        and not echoes(text, prompt)
    )


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


def grounded_sentences(
    reply: str, facts: str, *, prompt: str = "", limit: int = 3, max_chars: int = 600
) -> list[str]:
    """The usable sentences of a prose reply, in order, at most ``limit`` and ``max_chars``."""
    kept: list[str] = []
    used = 0
    for sentence in sentences(clean_prose(reply, paragraphs=False)):
        if len(kept) >= limit or used + len(sentence) > max_chars:
            break
        if usable(sentence, facts, prompt):
            kept.append(sentence)
            used += len(sentence) + 1
    return kept


def strip_bullet(line: str) -> str:
    """A list line without its bullet, numbering or markdown emphasis."""
    line = line.replace("**", "").replace("__", "").strip()
    return _BULLET.sub("", line).strip()


def dedupe(items: Iterable[str], limit: int | None = None) -> list[str]:
    """Items without repeats (case and spacing ignored), in order, at most ``limit``."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = " ".join(item.casefold().split()).rstrip(".")
        if key and key not in seen:
            seen.add(key)
            out.append(item)
            if limit is not None and len(out) >= limit:
                break
    return out


def reply_budget(ctx: AgentContext, tokens: int, local_tokens: int) -> int:
    """Max tokens for one reply: the agent's setting, capped at ``tokens``, or at
    ``local_tokens`` on the local model (small and slow, its useful words come first)."""
    local = (ctx.model_spec or "").split(":", 1)[0].strip().lower() == "local"
    return min(ctx.settings.max_tokens, local_tokens if local else tokens)
