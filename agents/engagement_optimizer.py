"""engagement_optimizer: a post in, the variant the tenant's engagement model likes best out.

The prediction is the engagement model's (``tools.engagement_model``, trained on the tenant's
own posts, with platform priors where it has too few), never the chat model's. A handful of
deterministic variants are scored: as written; hashtags brought into the platform's
recommended range; the tenant's best-performing related hashtag added; a question added; and
their combinations. Every variant must pass the platform's rules; the best predicted rate wins
(a change must buy at least ``MIN_GAIN`` to be worth making). The model only writes the
rationale from the computed numbers; a template names them when its words are unusable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agents.base import Agent, AgentContext
from agents.prompts import engagement_optimizer as prompts
from agents.schemas import Optimized, OptimizeRequest, Prediction, SlotPrediction
from agents.toolkit import (
    TagCandidate,
    clean_tag,
    explain,
    pct,
    relevant_candidates,
    tenant_tags,
)
from tools.context import memoized
from tools.engagement_model import DraftFeatures, EngagementModel, featurize, models_for
from tools.engagement_model import Prediction as ModelPrediction
from tools.ml_common import as_utc, zone
from tools.platform_rules import (
    find_banned,
    has_cta,
    inline_hashtags,
    repair,
    rules_for,
    validate_post,
)
from tools.schedule_optimizer import PLATFORM_NAMES

MIN_GAIN = 0.01  # relative: below a 1% better prediction the post is left as written
MEDIA_GAIN = 0.10  # a content type is suggested only if it is predicted 10% better
MIN_TAG_USES = 3  # a "best-performing" tag needs at least this many posts behind it
QUESTIONS = (
    "What do you think?",
    "Which would you pick?",
    "Have you tried it yet?",
    "Would you try it?",
)
MEDIA_TYPES = ("video", "carousel", "image")
_TAG_ONLY = re.compile(r"^(?:\s*#\w+[\s,]*)+$", re.UNICODE)


@dataclass
class Variant:
    text: str
    hashtags: list[str]
    changes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return "; ".join(self.changes) if self.changes else "as written"


class EngagementOptimizerAgent(Agent[OptimizeRequest, Optimized]):
    """Chooses the best-predicted variant of a post."""

    name = "engagement_optimizer"
    task_type = "optimize_post"
    persona = prompts.PERSONA
    input_model = OptimizeRequest
    output_model = Optimized

    async def run(self, request: OptimizeRequest, ctx: AgentContext) -> Optimized:
        platform = request.platform
        settings = await ctx.org_settings()
        banned = [t for t in settings.banned_terms if t.strip()]
        now = ctx.clock()
        model = await models_for(ctx.services).get(ctx.db, ctx.org_id)
        tz = model.timezone_for(platform)
        # The first proposed slot is the planned time: the prediction on the approval card
        # and the rationale are about when the post would actually go out.
        planned = request.at or (request.slots[0] if request.slots else None)
        at, at_label = publish_time(planned, model, platform, tz, now)

        base, fixes = valid_base(request.text, request.hashtags, platform, banned)
        candidates = await memoized(
            ctx.run,
            ("tenant_tags", ctx.org_id, platform, now),
            lambda: tenant_tags(ctx.db, ctx.org_id, platform, now),
        )
        candidates = [
            c for c in relevant_candidates(candidates, base.text) if clean_tag(c.tag, banned)
        ]
        variants = build_variants(base, platform, candidates, banned)

        def features(
            v: Variant, content_type: str = request.content_type, when: datetime = at
        ) -> DraftFeatures:
            return featurize(v.text, v.hashtags, platform, content_type, when, tz)

        # Two batches of predictions: the variants, then the chosen one as other media
        # and at each proposed slot.
        predicted = model.predict_many([features(v) for v in variants])
        scored = list(zip(variants, predicted, strict=True))
        original, original_p = scored[0]
        chosen, chosen_p = max(scored, key=lambda vp: vp[1].rate)  # the first of equals
        if chosen_p.rate < original_p.rate * (1 + MIN_GAIN):
            chosen, chosen_p = original, original_p
        kinds = [ct for ct in MEDIA_TYPES if ct != request.content_type]
        asked = [features(chosen, ct) for ct in kinds]
        asked += [features(chosen, when=slot) for slot in request.slots]
        answers = model.predict_many(asked)
        media = [
            (ct, p)
            for ct, p in zip(kinds, answers[: len(kinds)], strict=True)
            if p.rate >= chosen_p.rate * (1 + MEDIA_GAIN)
        ]
        media_hint = max(media, key=lambda cp: cp[1].rate) if media else None

        by_slot = list(zip(request.slots, answers[len(kinds) :], strict=True))
        slots_line = slot_summary(by_slot, tz)
        facts = optimize_facts(
            request, at_label, scored, chosen, chosen_p, original_p, media_hint, fixes
        )
        if slots_line:
            facts += f"\n- Proposed slots: {slots_line}"
        rationale, _ = await explain(
            ctx,
            prompts.system_prompt(ctx.settings.system_prompt),
            prompts.rationale_prompt(facts),
            facts=facts,
            fallback=rationale_template(
                len(scored), chosen, chosen_p, original_p, media_hint, fixes, at_label, slots_line
            ),
            echo_labels=prompts.ECHO_LABELS,
            anchors=rationale_anchors(chosen, chosen_p, original_p),
        )
        final = validate_post(chosen.text, chosen.hashtags, platform, banned_terms=banned)
        if final:  # every variant was validated; this guards the guarantee
            raise AssertionError(f"invalid variant: {[v.message for v in final]}")
        return Optimized(
            text=chosen.text,
            hashtags=chosen.hashtags,
            predicted_engagement=Prediction(
                rate=chosen_p.rate, low=chosen_p.low, high=chosen_p.high, source=chosen_p.source
            ),
            rationale=rationale_with_slots(rationale, slots_line),
            slot_predictions=[
                SlotPrediction(at=slot, rate=p.rate, low=p.low, high=p.high) for slot, p in by_slot
            ],
        )


# --- variants ----------------------------------------------------------------------------


def valid_base(
    text: str, hashtags: list[str], platform: str, banned: list[str]
) -> tuple[Variant, list[str]]:
    """The post as given, or repaired deterministically if it breaks a rule (with what was
    wrong), so that every variant starts from a valid post."""
    violations = validate_post(text, hashtags, platform, banned_terms=banned)
    if not violations:
        return Variant(text, list(hashtags)), []
    fixed_text, fixed_tags = repair(text, hashtags, platform, violations, banned_terms=banned)
    return Variant(fixed_text, fixed_tags), [v.message for v in violations]


def _key(tag: str) -> str:
    return tag.strip().lstrip("#").casefold()


def build_variants(
    base: Variant, platform: str, candidates: list[TagCandidate], banned: list[str]
) -> list[Variant]:
    """The post as written first, then its valid, distinct variants."""
    rules = rules_for(platform)
    lo, hi = rules.recommended_hashtags
    if rules.max_hashtags is not None:
        hi = min(hi, rules.max_hashtags)
    inline = {_key(t) for t in inline_hashtags(base.text)}
    listed = [t for t in base.hashtags if _key(t) not in inline]
    total = len(inline) + len({_key(t) for t in listed})
    present = inline | {_key(t) for t in listed}

    tag_variants = [base]
    if total > hi:
        keep = listed[: max(0, hi - len(inline))]
        tag_variants.append(
            Variant(base.text, keep, [f"hashtags cut from {total} to {len(inline) + len(keep)}"])
        )
    elif total < lo:
        extra = [c.tag for c in candidates if _key(c.tag) not in present][: lo - total]
        if extra:
            tag_variants.append(Variant(base.text, listed + extra, [f"added {', '.join(extra)}"]))
    best = best_tag(candidates, present)
    if best is not None:
        note = f"added {best.tag}, your best-performing related hashtag"
        note += f" ({pct(best.engagement_rate)} engagement over {best.uses} posts)"
        if total < hi:
            tag_variants.append(Variant(base.text, [*listed, best.tag], [note]))
        elif listed:
            swapped = f"swapped {listed[-1]} for {best.tag}, your best-performing related hashtag"
            tag_variants.append(Variant(base.text, [*listed[:-1], best.tag], [swapped]))

    variants = list(tag_variants)
    question = next((q for q in QUESTIONS if not find_banned(q, banned)), None)
    if question and "?" not in base.text:
        for v in tag_variants:
            asked = with_question(v.text, question)
            variants.append(Variant(asked, v.hashtags, [*v.changes, f"added '{question}'"]))

    seen: set[tuple[str, tuple[str, ...]]] = set()
    out = []
    for v in variants:
        key = (v.text, tuple(_key(t) for t in v.hashtags))
        if key in seen or validate_post(v.text, v.hashtags, platform, banned_terms=banned):
            continue
        seen.add(key)
        out.append(v)
    return out


def best_tag(candidates: list[TagCandidate], present: set[str]) -> TagCandidate | None:
    """The related tag with the highest engagement rate that the post does not carry."""
    rated = [
        c
        for c in candidates
        if c.engagement_rate is not None and c.uses >= MIN_TAG_USES and _key(c.tag) not in present
    ]
    return max(rated, key=lambda c: c.engagement_rate or 0.0) if rated else None


def with_question(text: str, question: str) -> str:
    """``text`` with a question at the end of its last paragraph of prose: before a closing
    line of hashtags and before a closing call to action."""
    paragraphs = text.split("\n\n")
    i = len(paragraphs) - 1
    while i > 0 and _TAG_ONLY.match(paragraphs[i]):
        i -= 1
    if i > 0 and has_cta(paragraphs[i]):
        i -= 1
    body = paragraphs[i].rstrip()
    if body and not re.search(r"[.!?…][\"'”’)]*$", body):
        body += "."
    paragraphs[i] = f"{body} {question}".strip()
    return "\n\n".join(paragraphs)


def publish_time(
    at: datetime | None, model: EngagementModel, platform: str, tz: str, now: datetime
) -> tuple[datetime, str]:
    """When the post is assumed to go out, and how to say it. A given time wins (naive means
    the account's local time); else the tenant's usual weekday and hour on the platform, so
    the comparison is about the content, not the clock; else now."""
    zone_info = zone(tz)
    if at is not None:
        local = at.replace(tzinfo=zone_info) if at.tzinfo is None else at.astimezone(zone_info)
        return as_utc(local), f"at the planned time, {local.strftime('%a %d %b %H:%M')} ({tz})"
    norm = model.norms.get(platform)
    local_now = now.astimezone(zone_info)
    if norm is None:
        return now, f"if published now, {local_now.strftime('%a %H:%M')} ({tz})"
    weekday, hour = norm.typical.weekday, int(norm.typical.hour)
    day = local_now.date() + timedelta(days=(weekday - local_now.weekday()) % 7)
    local = datetime(day.year, day.month, day.day, hour, tzinfo=zone_info)
    if local <= local_now:
        day += timedelta(days=7)
        local = datetime(day.year, day.month, day.day, hour, tzinfo=zone_info)
    name = PLATFORM_NAMES.get(platform, platform)
    return as_utc(local), f"at your usual {name} time, {local.strftime('%a %H:%M')} ({tz})"


# --- words -------------------------------------------------------------------------------


def _range(p: ModelPrediction) -> str:
    return f"80% range {pct(p.low)} to {pct(p.high)}"


def _drivers(p: ModelPrediction) -> list[str]:
    return [
        f"{d.feature} {d.value} against your typical {d.typical}: {d.effect * 100:+.0f}%"
        for d in p.drivers[:2]
    ]


def optimize_facts(
    request: OptimizeRequest,
    at_label: str,
    scored: list[tuple[Variant, ModelPrediction]],
    chosen: Variant,
    chosen_p: ModelPrediction,
    original_p: ModelPrediction,
    media_hint: tuple[str, ModelPrediction] | None,
    fixes: list[str],
) -> str:
    """The numbers the rationale may use, one per line."""
    name = PLATFORM_NAMES.get(request.platform, request.platform)
    lines = [
        f"- A {request.content_type} post for {name}, predicted {at_label}",
        f"- As written: {pct(original_p.rate)} expected engagement rate ({_range(original_p)})",
        f"- Prediction basis: {chosen_p.basis}",
        "- Variants tried:",
        *(f"  - {v.describe()}: {pct(p.rate)}" for v, p in scored),
        f"- Chosen: {chosen.describe()}, predicted {pct(chosen_p.rate)} ({_range(chosen_p)})",
    ]
    drivers = _drivers(chosen_p)
    if drivers:
        lines.append("- What moves the prediction most: " + "; ".join(drivers))
    if media_hint:
        kind, p = media_hint
        lines.append(f"- As a {kind} post it would be predicted at {pct(p.rate)}")
    if fixes:
        lines.append("- The post broke platform rules and was repaired first: " + " ".join(fixes))
    return "\n".join(lines)


def rationale_anchors(
    chosen: Variant, chosen_p: ModelPrediction, original_p: ModelPrediction
) -> list[str]:
    """Words a rationale names at least once: the predicted rates, or what was changed."""
    out = [f"{p.rate * 100:.{d}f}" for p in (chosen_p, original_p) for d in (1, 2)]
    for change in chosen.changes:
        out += [t.lstrip("#") for t in re.findall(r"#\w+", change)]
        out += ["question"] if "?" in change else ["hashtag", "hashtags"]
    return out or ["as written", "unchanged", "original"]


def rationale_template(
    tried: int,
    chosen: Variant,
    chosen_p: ModelPrediction,
    original_p: ModelPrediction,
    media_hint: tuple[str, ModelPrediction] | None,
    fixes: list[str],
    at_label: str,
    slots_line: str = "",
) -> str:
    source = "your engagement model" if chosen_p.source == "model" else "typical platform rates"
    if chosen.changes:
        text = (
            f"Chosen: {chosen.describe()}. Predicted engagement rate {pct(chosen_p.rate)} "
            f"({_range(chosen_p)}) against {pct(original_p.rate)} as written, {at_label}, "
            f"from {source}."
        )
    else:
        others = (
            f"none of the {tried - 1} variants tried did better"
            if tried > 1
            else "no variant fitted the platform's rules"
        )
        text = (
            f"Best as written: predicted engagement rate {pct(chosen_p.rate)} "
            f"({_range(chosen_p)}) {at_label}, from {source}; {others}."
        )
    drivers = _drivers(chosen_p)
    if drivers:
        text += " Biggest factors: " + "; ".join(drivers) + "."
    if media_hint:
        text += f" As a {media_hint[0]} post it would be predicted at {pct(media_hint[1].rate)}."
    if fixes:
        text += " The post broke platform rules and was repaired first."
    if slots_line:
        text += f" Proposed slots: {slots_line}."
    return text


def slot_summary(by_slot: list[tuple[datetime, ModelPrediction]], tz: str) -> str:
    """ "Thu 03 Dec 11:00 (4.10%), Fri 04 Dec 09:00 (3.95%)": each proposed slot, in the
    account's timezone, with the chosen post's prediction there."""
    zone_info = zone(tz)
    return ", ".join(
        f"{as_utc(at).astimezone(zone_info).strftime('%a %d %b %H:%M')} ({pct(p.rate)})"
        for at, p in by_slot
    )


def rationale_with_slots(rationale: str, slots_line: str) -> str:
    """The rationale naming the slots actually proposed: a model's words may leave them out
    (or name another time), so the line is added where they are missing."""
    if not slots_line or slots_line.split(" (")[0] in rationale:
        return rationale
    return f"{rationale.rstrip()} Proposed slots: {slots_line}."


engagement_optimizer = EngagementOptimizerAgent()
