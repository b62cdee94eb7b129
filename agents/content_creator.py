"""content_creator: a brief in, a post that passes the platform's rules out.

Numbers and constraints are code; the model writes only the words of the post. Hashtags come
from the request and from the tenant's own analytics (its relevant tags, trending first), up
to the platform's recommended count; hashtags the model writes at the ends of its text move to
the list. The call to action is the requested one or a sensible default for the platform, and
its memories (brand voice, past posts close to the brief) go into the prompt.

The composed post is checked with ``validate_post`` (length, hashtags, the tenant's banned
terms, placeholders, call to action), and the text for claims nobody gave it: numbers that
neither the request nor the memories state, and bracketed blanks. On a problem the model is
asked once to fix its text, with the problems' messages; after ``MAX_MODEL_ATTEMPTS`` code
takes over: sentences with invented claims are dropped and ``repair`` makes the post valid.
A reply that is no post at all (empty, an echo of the prompt) is replaced by a template made
from the brief (for a revision, from the brief and the reviewer's feedback:
``revision_template``). A revision that repeats the rejected previous draft word for word
(case, punctuation and spacing aside) is asked for once more with a plainer instruction; if
it repeats it again, code writes the revision, so a reviewer never gets the same text back.
``repaired`` tells whether code changed the model's words; ``attempts`` how many times the
model was asked. An invalid draft never leaves this agent.

Labels: every field label the prompts use is either an echo label (the line is the model
repeating its input and is dropped) or a text label ("Post:", stripped and the text after it
kept); see ``prompts.ECHO_LABELS`` and ``prompts.TEXT_LABELS``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import regex

from agents.base import Agent, AgentContext
from agents.prompts import content_creator as prompts
from agents.quality import (
    DraftFacts,
    PastPost,
    Problem,
    brief_similarity,
    composed_draft,
    is_local,
    review,
)
from agents.quality.compose import first_sentence
from agents.quality.compose import template_post as template_post  # re-exported for callers
from agents.revision import revision_template, same_post
from agents.schemas import ContentRequest, Draft, DraftSource, PostWords
from agents.toolkit import (
    SENTENCE,
    clean_prose,
    clean_tag,
    drop_sentences_with,
    merge_tags,
    reads_as_prose,
    relevant_candidates,
    tenant_tags,
    unsupported_numbers,
)
from memory.kinds import MemoryKind
from tools.context import memoized
from tools.platform_rules import (
    DEFAULT_CTAS,
    Violation,
    compose,
    find_banned,
    find_placeholders,
    has_cta,
    inline_hashtags,
    post_length,
    repair,
    repair_title,
    rules_for,
    validate_post,
)

log = logging.getLogger(__name__)

MAX_MODEL_ATTEMPTS = 2  # the first draft and one repair by the model, then code repairs
MEMORY_HITS = 3
MEMORY_SNIPPET_CHARS = 280

# What the model is asked to aim for; only the platform's limit is enforced.
TARGET_CHARS = {
    "twitter": 240,
    "linkedin": 900,
    "instagram": 500,
    "facebook": 400,
    "tiktok": 300,
    "youtube": 600,
    "bluesky": 240,
    "sandbox": 400,
}
# A call to action that suits each platform (each holds a phrase ``has_cta`` recognises).
PLATFORM_CTAS = {
    "twitter": "Tell us what you think.",
    "instagram": "Tell us in the comments.",
    "linkedin": "Share your thoughts in the comments.",
    "facebook": "Let us know in the comments.",
    "tiktok": "Follow for more.",
    "youtube": "Subscribe for more.",
    "bluesky": "Tell us what you think.",
    "sandbox": "Learn more.",
}
_TAG = r"#[\p{L}\p{M}\p{N}_]+"
_TAG_LINE = regex.compile(rf"^\s*(?:hashtags?\s*:)?\s*(?:{_TAG}[\s,.]*)+$", regex.I)
_TRAILING_TAGS = regex.compile(rf"(?:(?<=\s)|^)((?:{_TAG}[\s,]*)+)[\s.]*$")


# A label that introduces the post ("Post: ...", "**Revised post:** ...") at a line's start.
_TEXT_LABEL = re.compile(
    r"^\s*(?:[-*•]\s*)?(?:\*\*|__)?(?:"
    + "|".join(re.escape(label.rstrip(":")) for label in prompts.TEXT_LABELS)
    + r")(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*",
    re.I,
)

# Any bracketed blank ("[Recipient's Name]", "[BusinessesName]"): the platform rules know the
# common placeholder words; a model's draft should hold no brackets at all.
_BLANK = re.compile(r"\[[^\[\]\n]{1,80}\]")


@dataclass(frozen=True)
class Claims:
    """What a draft states that nobody gave it: numbers, and blanks left to fill."""

    numbers: list[str]
    blanks: list[str]

    def __bool__(self) -> bool:
        return bool(self.numbers or self.blanks)

    def messages(self) -> list[str]:
        out = []
        if self.numbers:
            out.append(
                f"Remove the numbers {', '.join(self.numbers)}: the brief does not give them, "
                "so they may be wrong."
            )
        if self.blanks:
            out.append(f"Replace {', '.join(self.blanks)} with real words, or remove it.")
        return out


class ContentCreatorAgent(Agent[ContentRequest, Draft]):
    """Drafts one post for one platform from a brief."""

    name = "content_creator"
    task_type = "draft_post"
    persona = prompts.PERSONA
    input_model = ContentRequest
    output_model = Draft

    async def run(self, request: ContentRequest, ctx: AgentContext) -> Draft:
        platform = request.platform
        rules = rules_for(platform)
        settings = await ctx.org_settings()
        banned = [t for t in settings.banned_terms if t.strip()]

        requested_tags = [t for t in (clean_tag(h, banned) for h in request.hashtags) if t]
        now = ctx.clock()
        candidates = await memoized(
            ctx.run,
            ("tenant_tags", ctx.org_id, platform, now),
            lambda: tenant_tags(ctx.db, ctx.org_id, platform, now),
        )
        own_tags = [c.tag for c in relevant_candidates(candidates, request.brief)]
        own_tags = [t for t in own_tags if clean_tag(t, banned)]
        limit = rules.recommended_hashtags[1]
        if rules.max_hashtags is not None:
            limit = min(limit, rules.max_hashtags)

        def pick_tags(body: str, model_tags: Sequence[str]) -> list[str]:
            # The text's own inline hashtags count toward the limit.
            inline = {t.casefold() for t in inline_hashtags(body)}
            written = [t for t in (clean_tag(m, banned) for m in model_tags) if t]
            return merge_tags(
                [requested_tags, own_tags, written],
                max(0, limit - len(inline)),
                taken=inline,
            )

        requested_cta = usable_cta(request.call_to_action, banned, rules.max_length)
        cta = requested_cta or default_cta(platform, banned)
        tags = pick_tags("", ())
        budget = text_budget(platform, tags, cta)
        max_chars = max(40, min(budget, TARGET_CHARS.get(platform, 400)))

        remembered_voice, remembered_posts = await self._memories(request, ctx)
        past_posts = [p.text for p in remembered_posts]
        # The organization's own guidelines come first; remembered notes follow.
        brand_voice = [*settings.brand_voice, *remembered_voice]
        system = prompts.system_prompt(platform, banned, ctx.settings.system_prompt)
        user = prompts.draft_prompt(
            brief=request.brief,
            platform=platform,
            max_chars=max_chars,
            audience=request.audience,
            tone=request.tone,
            industry=request.industry or settings.industry,
            call_to_action=cta,
            brand_voice=brand_voice,
            past_posts=past_posts,
            feedback=request.feedback,
            previous_draft=request.previous_draft,
        )
        max_tokens = min(ctx.settings.max_tokens, max_chars // 3 + 80)

        # Numbers the post may state: those the request and the memories give. (A post that
        # invents a price or a date makes a claim nobody checked.)
        sources = "\n".join(
            filter(
                None,
                [
                    request.brief,
                    request.audience,
                    request.tone,
                    request.industry,
                    settings.industry,
                    request.feedback,
                    request.previous_draft,
                    cta,
                    *brand_voice,
                    *past_posts,
                ],
            )
        )
        previous = request.previous_draft if request.feedback else None
        facts = DraftFacts(
            brief=request.brief,
            # The facts a post may state: the brief, the profile and voice, the reviewer's
            # words. Past posts stay out: their offers and events may have expired.
            sources="\n".join(
                filter(
                    None,
                    [
                        request.brief,
                        request.audience,
                        request.tone,
                        request.industry,
                        settings.industry,
                        request.feedback,
                        cta,
                        *brand_voice,
                    ],
                )
            ),
            feedback=request.feedback,
            previous_draft=previous,
        )

        def composed() -> str:
            body = composed_draft(request.brief, remembered_posts, brand_voice, banned, max_chars)
            if request.feedback:  # a revision: the composed draft answers the feedback too
                body = revision_template(body, request.feedback, previous or "", cta)
            return body

        def check(body: str, tags: list[str], cta: str | None) -> tuple[list[Violation], Claims]:
            # A requested call to action is present by construction, whatever its words; any
            # other must read as one to the rules.
            violations = validate_post(
                body, tags, platform, banned_terms=banned, require_cta=not requested_cta, cta=cta
            )
            # Blanks the platform rules already report as placeholders are not repeated.
            blanks = [b for b in _BLANK.findall(body) if not find_placeholders(b)]
            return violations, Claims(unsupported_numbers(body, sources), blanks)

        attempts = 1
        body, model_tags = await ask(ctx, system, user, max_tokens)
        deterministic = not reads_as_prose(body, echo_labels=prompts.ECHO_LABELS)
        source: DraftSource = "model"
        notes: list[str] = []
        if deterministic:
            body, model_tags, source = composed(), [], "composed"
            notes = ["The model wrote no usable post."]
        if previous and same_post(body, previous, cta):
            # The revision repeats the draft the reviewer turned down: ask once more, plainly;
            # if that repeats it too (or is no post), code writes the revision.
            attempts += 1
            fixed, fixed_tags = await ask(
                ctx,
                system,
                prompts.revision_retry_prompt(
                    brief=request.brief,
                    previous_draft=previous,
                    feedback=request.feedback or "",
                    max_chars=max_chars,
                    call_to_action=cta,
                ),
                max_tokens,
            )
            if reads_as_prose(fixed, echo_labels=prompts.ECHO_LABELS) and not same_post(
                fixed, previous, cta
            ):
                body, model_tags, deterministic, source = fixed, fixed_tags, False, "model"
            else:
                body, model_tags, deterministic, source = composed(), [], True, "composed"
                notes = ["The model repeated the draft the reviewer turned down."]
        if not deterministic:
            # The quality gate: a draft a manager would reject is written again once, with
            # the reasons; then code composes one. The local 135M model rarely passes, so
            # there the composed draft is the main path and the model is not asked twice
            # (each of its answers costs seconds and rarely helps).
            found = await _gate(ctx, body, facts)
            if found and not is_local(ctx) and attempts < MAX_MODEL_ATTEMPTS:
                attempts += 1
                fixed, fixed_tags = await ask(
                    ctx,
                    system,
                    prompts.regenerate_prompt(
                        brief=request.brief,
                        rejected=body,
                        problems=[p.reason for p in found],
                        max_chars=max_chars,
                        call_to_action=cta,
                        feedback=request.feedback,
                    ),
                    max_tokens,
                )
                if reads_as_prose(fixed, echo_labels=prompts.ECHO_LABELS):
                    retried = await _gate(ctx, fixed, facts)
                    if not retried:
                        body, model_tags, source = fixed, fixed_tags, "regenerated"
                    found = found + retried
            if found:
                notes = _notes(found)
            if found and source != "regenerated":
                body, model_tags, deterministic, source = composed(), [], True, "composed"
        tags = pick_tags(body, model_tags)
        body_cta = own_cta(body, cta, requested_cta)
        violations, invented = check(body, tags, body_cta)
        while (violations or invented) and not deterministic and attempts < MAX_MODEL_ATTEMPTS:
            attempts += 1
            problems = [v.message for v in violations] + invented.messages()
            fixed, fixed_tags = await ask(
                ctx,
                system,
                prompts.repair_prompt(body, problems, text_budget(platform, tags, body_cta)),
                max_tokens,
            )
            # The repair is the model's text too: it passes the gate or is not taken.
            if reads_as_prose(fixed, echo_labels=prompts.ECHO_LABELS) and not await _gate(
                ctx, fixed, facts
            ):
                body, model_tags = fixed, fixed_tags
                tags = pick_tags(body, model_tags)
                body_cta = own_cta(body, cta, requested_cta)
            violations, invented = check(body, tags, body_cta)

        if invented:
            # Claims nobody gave cannot be shortened into truth: their sentences go.
            body = drop_sentences_with(body, invented.numbers, invented.blanks)
            if not reads_as_prose(body, echo_labels=prompts.ECHO_LABELS) or (
                source != "composed" and await _gate(ctx, body, facts)
            ):
                # What is left is no post, or no longer one a manager would take.
                body, model_tags, source = composed(), [], "composed"
                notes = notes or ["The model's draft stated facts nobody gave it."]
            tags = pick_tags(body, model_tags)
            body_cta = own_cta(body, cta, requested_cta)
            violations, _ = check(body, tags, body_cta)
            deterministic = True  # code, not the model, changed the words
        repaired = deterministic or bool(violations)
        if not violations:
            text = compose(body, [], platform, cta=body_cta)
        elif requested_cta and not has_cta(requested_cta):
            # repair() would swap a call to action it does not recognise ("Order ahead at
            # ...") for a default; this one was asked for, so the text is repaired alone and
            # cut to fit beside it.
            text, tags = repair(body, tags, platform, violations, banned_terms=banned)
            text = fit_text(text, lambda b: not check(b, tags, requested_cta)[0])
            text = compose(text, [], platform, cta=requested_cta)
        else:
            text, tags = repair(
                body,
                tags,
                platform,
                violations,
                banned_terms=banned,
                cta=body_cta,
                require_cta=True,
            )

        title = None
        if rules.title_max_length is not None:
            title = repair_title(first_sentence(text), platform, banned_terms=banned)
        final = validate_post(
            text,
            tags,
            platform,
            banned_terms=banned,
            require_cta=not (requested_cta and requested_cta in text),
            title=title,
        )
        if final:  # repair guarantees validity; this guards the guarantee
            raise AssertionError(f"invalid draft: {[v.message for v in final]}")
        return Draft(
            text=text,
            hashtags=list(tags),
            call_to_action=cta_in(text, body_cta),
            platform=platform,
            title=title,
            repaired=repaired,
            attempts=attempts,
            source=source,
            quality_notes=notes,
        )

    async def _memories(
        self, request: ContentRequest, ctx: AgentContext
    ) -> tuple[list[str], list[PastPost]]:
        """Brand voice notes and past posts of this tenant that are close to the brief (with
        their engagement, which the composed draft ranks them by)."""
        if not ctx.settings.memory.enabled:
            return [], []
        memory = ctx.services.memory
        voice = await memory.search(
            ctx.org_id, MemoryKind.BRAND_VOICE, request.brief, k=MEMORY_HITS
        )
        posts = await memory.search(
            ctx.org_id, MemoryKind.CONTENT_HISTORY, request.brief, k=MEMORY_HITS
        )
        return [_snippet(h.text) for h in voice], [
            PastPost(_snippet(h.text), _engagement(h.metadata.get("engagement_score")))
            for h in posts
        ]


async def ask(ctx: AgentContext, system: str, user: str, max_tokens: int) -> tuple[str, list[str]]:
    """The model's post words and hashtags. A model that answers in a contract (OpenAI,
    Anthropic) is asked for :class:`PostWords` through ``with_structured_output``; the local
    model, and a contract answer that does not parse, go the text path (``parse_post``). Either
    way the words then meet the same checks and the same quality gate."""
    if ctx.structured_output:
        try:
            words = await ctx.structured(system, user, PostWords, max_tokens=max_tokens)
        except Exception as exc:  # a malformed contract answer: the text path still works
            log.warning("structured draft unusable (%s); asking for text", type(exc).__name__)
        else:
            text, inline = parse_post(words.text)
            return text, [*inline, *words.hashtags]
    return parse_post(await ctx.chat(system, user, max_tokens=max_tokens))


def _snippet(text: str) -> str:
    return " ".join(text.split())[:MEMORY_SNIPPET_CHARS]


def _engagement(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


async def _gate(ctx: AgentContext, body: str, facts: DraftFacts) -> list[Problem]:
    """The quality gate's verdict on a model draft: every problem found, empty if it may go
    to a person. The embedding similarity is only computed for a draft that passes the
    cheap checks (it is the one that costs a model call)."""
    problems = review(body, facts)
    if problems:
        return problems
    similarity = await brief_similarity(ctx, facts.brief, body)
    return review(body, replace(facts, similarity=similarity))


def _notes(problems: Sequence[Problem]) -> list[str]:
    """What the approval card says about a replaced or rewritten draft, one note a check."""
    seen: dict[str, str] = {}
    for p in problems:
        seen.setdefault(p.check, p.reason)
    return list(seen.values())


# --- pieces ------------------------------------------------------------------------------


def text_budget(platform: str, tags: Sequence[str], cta: str | None) -> int:
    """How long the text may be once the call to action and hashtags are composed in."""
    rules = rules_for(platform)
    overhead = post_length(compose("x", tags, platform, cta=cta), platform) - 1
    return max(0, rules.max_length - overhead)


def usable_cta(cta: str | None, banned: Sequence[str], max_length: int) -> str | None:
    """The requested call to action unless it is empty, holds a banned term or a placeholder,
    or is so long it would crowd out the post (``repair`` would drop it anyway)."""
    cta = " ".join((cta or "").split())
    if not cta or find_banned(cta, banned) or find_placeholders(cta) or len(cta) > max_length // 4:
        return None
    return cta


def default_cta(platform: str, banned: Sequence[str]) -> str:
    for cta in (PLATFORM_CTAS.get(platform, "Learn more."), *DEFAULT_CTAS):
        if not find_banned(cta, banned):
            return cta
    return ""


def own_cta(body: str, cta: str | None, requested: str | None) -> str | None:
    """The call to action for ``body``: the requested one always; else, if the model already
    ended its text with a call to action, that sentence (so the post does not carry two)."""
    if requested and cta:
        return cta
    sentences = [s.strip() for s in SENTENCE.findall(body.split("\n")[-1]) if s.strip()]
    if sentences and has_cta(sentences[-1]):
        return sentences[-1]
    return cta


def cta_in(text: str, cta: str | None) -> str | None:
    """The call to action the final text carries (repair may have swapped in a default)."""
    folded = text.casefold()
    if cta and cta.casefold() in folded:
        return cta
    for candidate in (*PLATFORM_CTAS.values(), *DEFAULT_CTAS):
        if candidate.casefold() in folded:
            return candidate
    sentences = [s.strip() for s in SENTENCE.findall(text) if s.strip()]
    return next((s for s in reversed(sentences) if has_cta(s)), None)


def parse_post(reply: str) -> tuple[str, list[str]]:
    """The post text of a model reply, and the hashtags it wrote at the end (which belong in
    the hashtag list, not the text). Hashtags inside sentences stay where they are; lines
    that repeat the prompt's labels ("Brief: ...") are the model echoing, not writing."""
    labels = [label.casefold() for label in prompts.ECHO_LABELS]
    lines: list[str] = []
    for line in clean_prose(reply, paragraphs=True).split("\n"):
        line = _TEXT_LABEL.sub("", line, count=1)
        if any(label in line.casefold() for label in labels):
            if any(ln.strip() for ln in lines):
                break  # the model went on to repeat the prompt: the post ended before
            continue  # a leading echo of an instruction
        lines.append(line)
    tags: list[str] = []
    while lines and (not lines[0].strip() or _TAG_LINE.match(lines[0])):
        tags += inline_hashtags(lines.pop(0))
    while lines and (not lines[-1].strip() or _TAG_LINE.match(lines[-1])):
        tags = inline_hashtags(lines.pop()) + tags
    text = "\n".join(lines).strip()
    m = _TRAILING_TAGS.search(text)
    if m:
        tags = inline_hashtags(m.group(1)) + tags
        text = text[: m.start()].rstrip()
    return text, [f"#{t}" for t in tags]


def fit_text(text: str, fits: Callable[[str], bool]) -> str:
    """The longest start of ``text`` that ``fits``: whole words, with an ellipsis unless it
    ends a sentence; "" if not even one word fits."""
    if fits(text):
        return text
    ends = [m.end() for m in re.finditer(r"\S+", text)]
    best, lo, hi = "", 0, len(ends) - 1
    while lo <= hi:  # the longer the start, the longer the post: a binary search
        mid = (lo + hi) // 2
        head = text[: ends[mid]].rstrip(",;:-–—")
        head = head if re.search(r"[.!?…][\"'”’)]*$", head) else head + "…"
        if fits(head):
            best, lo = head, mid + 1
        else:
            hi = mid - 1
    return best


content_creator = ContentCreatorAgent()
