"""competitor_monitor: the tenant against its competitors, with a two-agent CrewAI crew.

Numbers come from ``competitor_benchmarks`` (the tenant's competitor analyses against its own
analytics on the same platforms): the benchmarks, the competitors with no data (``missing``)
and the gaps. A crew of two (an analyst who drafts SWOT bullet points from those numbers, a
strategist who turns them into recommendations) writes the words. Its LLM is an adapter over
the run's chat model (:func:`crew_llm`), so the crew runs on the scripted, local and hosted
models alike and never reaches LiteLLM or the network on its own; every call's tokens go into
the run's ``ai_tasks`` document. The replies are parsed leniently into the SWOT lists; an item
that states a number not among the facts is dropped, and an empty quadrant or an empty list of
recommendations is filled by rules over the benchmarks. A competitor with no data is reported
in ``missing`` with a recommendation to add it, never as an error.

crewai is imported only inside :func:`crew_llm` and :func:`run_crew` (its import takes seconds
and writes telemetry unless told not to).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from pydantic.alias_generators import to_camel

from agents.accounting import count_tokens
from agents.base import Agent, AgentContext, Persona
from agents.grounding import dedupe, reply_budget, strip_bullet, usable
from agents.prompts.competitor_monitor import (
    ANALYST,
    ANALYST_OUTPUT,
    PERSONA,
    STRATEGIST,
    STRATEGIST_OUTPUT,
    analyst_task,
    strategist_task,
)
from agents.schemas import CompetitorReport, CompetitorRequest, Swot
from agents.toolkit import pct
from services import organizations
from tools.analytics import (
    CompetitorBenchmarks,
    CompetitorComparison,
    Gap,
    competitor_benchmarks,
)

log = logging.getLogger(__name__)

# Set before crewai is first imported (setdefault: an operator's explicit choice stands).
CREWAI_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",  # no trace upload, and no first-run consent prompt
    "CREWAI_DISABLE_VERSION_CHECK": "true",  # no PyPI request
}
CREW_MAX_TOKENS = 400  # per crew reply
# The local model is small, slow (tens of tokens a second on two threads) and rambles: its
# useful bullet points come first, so it gets short replies.
LOCAL_CREW_MAX_TOKENS = 160
MAX_ITEMS = 4  # per SWOT quadrant
MAX_RECOMMENDATIONS = 6
FREQUENCY_RATIO = 1.5  # a competitor posting this much more often is a threat to answer


class CompetitorMonitorAgent(Agent[CompetitorRequest, CompetitorReport]):
    """Benchmarks, missing competitors, content gaps, a SWOT and recommendations."""

    name = "competitor_monitor"
    task_type = "competitor_report"
    persona = PERSONA
    input_model = CompetitorRequest
    output_model = CompetitorReport

    async def run(self, request: CompetitorRequest, ctx: AgentContext) -> CompetitorReport:
        now = ctx.clock()
        bench = await competitor_benchmarks(
            ctx.db, ctx.org_id, competitors=list(request.competitors), days=request.days, now=now
        )
        brand = await _brand(ctx)
        facts = benchmark_facts(bench, brand)
        rule_swot = swot_rules(bench)
        rule_recs = recommendation_rules(bench)

        swot = Swot(strengths=[], weaknesses=[], opportunities=[], threats=[])
        model_recs: list[str] = []
        if bench.comparisons:  # nothing to analyze without a single benchmark
            outcome = await run_crew(ctx, brand, facts)
            log.info("competitor crew: %d model calls in %.3fs", outcome.calls, outcome.seconds)
            instructions = analyst_task(brand, "") + strategist_task(brand)
            swot = parse_swot(outcome.analysis, facts, instructions)
            # Checked against the facts alone: the analyst's draft is unchecked model text.
            model_recs = parse_items(outcome.recommendations, facts, instructions)

        swot = Swot(
            strengths=swot.strengths or rule_swot.strengths,
            weaknesses=swot.weaknesses or rule_swot.weaknesses,
            opportunities=swot.opportunities or rule_swot.opportunities,
            threats=swot.threats or rule_swot.threats,
        )
        # The crew's recommendations when any hold up, else the rules'; missing data always.
        chosen = (model_recs or rule_recs)[:MAX_RECOMMENDATIONS]
        recommendations = dedupe(chosen + missing_recommendations(bench))
        return CompetitorReport(
            benchmarks=[_benchmark(c) for c in bench.comparisons],
            missing=list(bench.missing),
            content_gaps=content_gaps(bench),
            swot=swot,
            recommendations=recommendations,
            summary=_summary(bench),
        )


competitor_monitor = CompetitorMonitorAgent()


async def _brand(ctx: AgentContext) -> str:
    return await organizations.display_name(ctx.db, ctx.org_id)


# --- numbers, as data and as text ------------------------------------------------------------


def _camel(values: dict[str, Any]) -> dict[str, Any]:
    """Top-level keys in camelCase, as everywhere on the wire (nested data left alone)."""
    return {to_camel(k): v for k, v in values.items()}


def _benchmark(c: CompetitorComparison) -> dict[str, object]:
    return {
        "competitor": c.competitor.name,
        "handle": c.competitor.handle,
        "platform": c.competitor.platform,
        "theirs": _camel(c.competitor.model_dump(mode="json", exclude={"name", "handle"})),
        "yours": _camel(c.own.model_dump(mode="json")),
        "gaps": [_camel(g.model_dump(mode="json")) for g in c.gaps],
        "sharedHashtags": list(c.shared_hashtags),
        "competitorOnlyHashtags": list(c.competitor_only_hashtags),
    }


def benchmark_facts(bench: CompetitorBenchmarks, brand: str) -> str:
    """The benchmark numbers as the crew reads them and as its words are checked against."""
    lines = [f"Brand: {brand} (you). Period: the last {bench.days} days."]
    for c in bench.comparisons:
        them, you = c.competitor, c.own
        lines += [
            f"{them.name} ({them.handle}) on {them.platform}:",
            f"- posts per week: {them.name} {them.posts_per_week:.1f}, "
            f"you {you.posts_per_week:.1f}",
            f"- engagement rate: {them.name} {pct(them.engagement_rate)}, "
            f"you {pct(you.engagement_rate)}",
            f"- followers: {them.name} {them.followers:,}, you {you.followers:,}",
        ]
        lines += [f"- {_said(c, g)}" for g in c.gaps]
        if c.competitor_only_hashtags:
            lines.append(
                f"- hashtags {them.name} uses and you do not: "
                + ", ".join(c.competitor_only_hashtags[:6])
            )
    if bench.missing:
        lines.append("No data on file for: " + ", ".join(bench.missing) + ".")
    return "\n".join(lines)


_VALUES = re.compile(r"\s*\((?P<theirs>[^()]+?) vs (?P<ours>[^()]+?)\)$")


def _said(c: CompetitorComparison, g: Gap) -> str:
    """A gap's statement with its trailing "(theirs vs yours)" labelled, since the tool lists
    the competitor's value first whoever leads ("your rate is 4.6x theirs (2.00% vs 9.16%)"
    reads backwards otherwise)."""
    return _VALUES.sub(
        lambda m: f" ({c.competitor.name}: {m['theirs']}, you: {m['ours']})", g.statement
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def content_gaps(bench: CompetitorBenchmarks) -> list[str]:
    """Where a competitor does something you do not: posting rhythm, formats, hashtags."""
    out = []
    for c in bench.comparisons:
        out += [
            _sentence(_said(c, g))
            for g in c.gaps
            if g.leader == "competitor" and g.metric in ("posts_per_week", "content_type")
        ]
        if c.competitor_only_hashtags:
            tags = ", ".join(c.competitor_only_hashtags[:5])
            out.append(f"{c.competitor.name} uses {tags} on {c.competitor.platform}; you do not.")
    return dedupe(out)


def swot_rules(bench: CompetitorBenchmarks) -> Swot:
    """A SWOT from the gaps alone, for the quadrants the crew leaves empty."""
    strengths, weaknesses, opportunities, threats = [], [], [], []
    for c in bench.comparisons:
        name, platform = c.competitor.name, c.competitor.platform
        for g in c.gaps:
            text = _sentence(_said(c, g))
            if g.leader == "you":
                strengths.append(text)
            elif g.leader == "competitor" and g.metric in ("engagement_rate", "followers"):
                weaknesses.append(text)
            elif g.leader == "competitor" and g.metric == "posts_per_week":
                threats.append(f"{text}: their posts crowd your audience's feeds.")
            elif g.metric == "content_type":
                opportunities.append(f"Test the format that works for {name}: {_said(c, g)}.")
        if c.competitor_only_hashtags:
            opportunities.append(
                f"Join the conversations {name} reaches on {platform}: "
                + ", ".join(c.competitor_only_hashtags[:3])
                + "."
            )
        engagement = next((g for g in c.gaps if g.metric == "engagement_rate"), None)
        if engagement is not None and engagement.leader == "competitor":
            threats.append(f"{name} engages its audience on {platform} better than you do.")
    return Swot(
        strengths=dedupe(strengths, MAX_ITEMS),
        weaknesses=dedupe(weaknesses, MAX_ITEMS),
        opportunities=dedupe(opportunities, MAX_ITEMS),
        threats=dedupe(threats, MAX_ITEMS),
    )


def recommendation_rules(bench: CompetitorBenchmarks) -> list[str]:
    """Recommendations from the gaps alone, when the crew gives none that hold up."""
    out = []
    for c in bench.comparisons:
        them, you, platform = c.competitor, c.own, c.competitor.platform
        gaps = {g.metric: g for g in c.gaps}
        freq = gaps.get("posts_per_week")
        if (
            freq
            and freq.leader == "competitor"
            and (freq.ratio or FREQUENCY_RATIO) >= FREQUENCY_RATIO
        ):
            out.append(
                f"Post more often on {platform}: {them.name} posts {them.posts_per_week:.1f} "
                f"times a week against your {you.posts_per_week:.1f}; add posts only as fast "
                "as quality holds."
            )
        rate = gaps.get("engagement_rate")
        if rate and rate.leader == "competitor":
            out.append(
                f"Study {them.name}'s best posts on {platform}: their engagement rate "
                f"({pct(them.engagement_rate)}) beats yours ({pct(you.engagement_rate)})."
            )
        elif rate and rate.leader == "you":
            out.append(
                f"Keep your content style on {platform}: your engagement rate "
                f"({pct(you.engagement_rate)}) beats {them.name}'s ({pct(them.engagement_rate)})."
            )
        kind = gaps.get("content_type")
        if kind:
            out.append(f"Test more of the format {them.name} leans on: {_said(c, kind)}.")
        if c.competitor_only_hashtags:
            out.append(
                f"Try {', '.join(c.competitor_only_hashtags[:3])} on {platform}, which "
                f"{them.name} uses and you do not."
            )
    return dedupe(out)


def missing_recommendations(bench: CompetitorBenchmarks) -> list[str]:
    return [
        f"Add a competitor analysis for {name} (platform, handle, followers, engagement rate "
        "and posting frequency) so it can be benchmarked."
        for name in bench.missing
    ]


def _summary(bench: CompetitorBenchmarks) -> str:
    parts = []
    if bench.comparisons:
        names = ", ".join(
            f"{c.competitor.name} on {c.competitor.platform}" for c in bench.comparisons
        )
        parts.append(
            f"Benchmarked {len(bench.comparisons)} competitor profile(s) over the last "
            f"{bench.days} days: {names}."
        )
        leading = [
            (c, g)
            for c in bench.comparisons
            for g in c.gaps
            if g.leader == "competitor" and g.ratio is not None
        ]
        if leading:
            c, g = max(leading, key=lambda cg: cg[1].ratio or 0.0)
            parts.append(f"Largest gap: {_said(c, g)}.")
        yours = [(c, g) for c in bench.comparisons for g in c.gaps if g.leader == "you"]
        if yours:
            parts.append(f"Your edge: {_said(*yours[0])}.")
    else:
        parts.append("No competitor data on file to benchmark.")
    if bench.missing:
        parts.append("No data on file for: " + ", ".join(bench.missing) + ".")
    return " ".join(parts)


# --- parsing the crew's words ----------------------------------------------------------------

_QUADRANT = re.compile(
    r"^\W*(?:(?P<word>strengths?|weakness(?:es)?|opportunit(?:y|ies)|threats?)\b|"
    r"(?P<letter>[SWOT])\s*[:)\-–])\W*(?P<rest>.*)$",
    re.I,
)
_KEYS = {"s": "strengths", "w": "weaknesses", "o": "opportunities", "t": "threats"}


def parse_swot(text: str, facts: str, instructions: str) -> Swot:
    """Headed lists (``Strengths:``, ``**Weaknesses**``, ``O:``...) into the four quadrants;
    text before the first heading is ignored, an item that fails :func:`usable` dropped."""
    found: dict[str, list[str]] = {k: [] for k in _KEYS.values()}
    current: str | None = None
    for raw in text.splitlines():
        line = strip_bullet(raw)
        if not line:
            continue
        head = _QUADRANT.match(line)
        if head:
            key = (head.group("word") or head.group("letter") or "")[0].lower()
            current = _KEYS[key]
            line = head.group("rest").strip()
            if not line:
                continue
        if current is not None and usable(line, facts, instructions, min_words=3):
            found[current].append(line)
    return Swot(**{k: dedupe(v, MAX_ITEMS) for k, v in found.items()})


def parse_items(text: str, facts: str, instructions: str) -> list[str]:
    """A reply's list items (or, with no list, its lines) that hold up."""
    lines = [strip_bullet(line) for line in text.splitlines()]
    items = [
        line
        for line in lines
        if line and not line.endswith(":") and usable(line, facts, instructions, min_words=4)
    ]
    return dedupe(items, MAX_RECOMMENDATIONS)


# --- the crew --------------------------------------------------------------------------------


@dataclass
class CrewOutcome:
    analysis: str = ""
    recommendations: str = ""
    seconds: float = 0.0
    calls: int = 0


def _quiet_crewai() -> None:
    for key, value in CREWAI_ENV.items():
        os.environ.setdefault(key, value)


def _to_messages(messages: str | Sequence[Any]) -> list[BaseMessage]:
    """crewai's ``[{"role", "content"}]`` (or a bare string) as LangChain messages."""
    if isinstance(messages, str):
        return [HumanMessage(messages)]
    out: list[BaseMessage] = []
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else str(m)
        if isinstance(content, list):  # content blocks: keep the text ones
            content = "\n".join(
                b.get("text", "")
                for b in content
                if isinstance(b, dict) and b.get("type") == "text"
            )
        role = m.get("role") if isinstance(m, dict) else "user"
        text = str(content or "")
        if role == "system":
            out.append(SystemMessage(text))
        elif role == "assistant":
            out.append(AIMessage(text))
        else:
            out.append(HumanMessage(text))
    return out


def _reply_text(reply: BaseMessage) -> str:
    content = reply.content
    if isinstance(content, str):
        return content.strip()
    return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content).strip()


@functools.cache
def crew_llm() -> type:
    """The crewai LLM class that calls a LangChain chat model (built once per process)."""
    _quiet_crewai()
    from crewai.llms.base_llm import BaseLLM
    from pydantic import Field

    class ChatModelLLM(BaseLLM):
        """A crewai ``BaseLLM`` over a LangChain ``BaseChatModel``: the run's own model and its
        run config, so the calls are child runs of the agent's run and its usage callback
        accounts them."""

        llm_type: str = "chorus"
        # Excluded from dumps: crewai may serialize its LLM into events, and the run config
        # holds the process's services.
        chat_model: Any = Field(default=None, exclude=True)
        run_config: Any = Field(default=None, exclude=True)
        spec: str | None = None
        call_count: Any = Field(default=None, exclude=True)  # the caller's list, one per call

        def _finish(self, reply: BaseMessage) -> str:
            if self.call_count is not None:
                self.call_count.append(1)
            # crewai stops at "Observation:" and the like; the model may not take stop words.
            text = self._apply_stop_words(_reply_text(reply))
            # An empty reply makes crewai raise; an explicit blank keeps the crew going.
            return text or "(no notes)"

        def call(  # type: ignore[override]
            self,
            messages: Any,
            tools: Any = None,
            callbacks: Any = None,
            available_functions: Any = None,
            from_task: Any = None,
            from_agent: Any = None,
            response_model: Any = None,
        ) -> str:
            lc = _to_messages(messages)
            return self._finish(self.chat_model.invoke(lc, config=self.run_config))

        async def acall(  # type: ignore[override]
            self,
            messages: Any,
            tools: Any = None,
            callbacks: Any = None,
            available_functions: Any = None,
            from_task: Any = None,
            from_agent: Any = None,
            response_model: Any = None,
        ) -> str:
            lc = _to_messages(messages)
            return self._finish(await self.chat_model.ainvoke(lc, config=self.run_config))

        def supports_function_calling(self) -> bool:
            return False  # the crew has no tools: the numbers are in its task

        def supports_multimodal(self) -> bool:
            return False

        def get_context_window_size(self) -> int:
            return 2048  # the smallest model it runs on (the local SmolLM2)

        def get_input_tokens_count(
            self, messages: Any, tools: Any = None, response_model: Any = None
        ) -> int:
            # crewai's own estimate logs a warning per call; count as accounting does.
            return sum(count_tokens(str(m.content), self.spec) for m in _to_messages(messages))

    return ChatModelLLM


@functools.cache
def _crew_class() -> type:
    """crewai's Crew without its replay store: by default every kickoff writes the task
    outputs (here: a tenant's numbers) to a SQLite file in the user's data directory."""
    from crewai import Crew
    from pydantic import PrivateAttr

    class _NoReplayStore:
        def add(self, *args: Any, **kwargs: Any) -> None: ...

        def update(self, *args: Any, **kwargs: Any) -> None: ...

        def reset(self) -> None: ...

        def load(self) -> None:
            return None

    class ChorusCrew(Crew):
        _task_output_handler: Any = PrivateAttr(default_factory=_NoReplayStore)

    return ChorusCrew


def _kickoff(
    model: BaseChatModel,
    config: RunnableConfig,
    spec: str | None,
    brand: str,
    facts: str,
    calls: list[int],
) -> CrewOutcome:
    """Build and run the crew (blocking; called in a worker thread). Each model call is
    appended to ``calls`` as it happens, so a failure later keeps the count."""
    llm_class = crew_llm()
    from crewai import Agent as CrewAgent
    from crewai import Process, Task

    llm = llm_class(
        model=spec or "chorus",
        provider="chorus",
        chat_model=model,
        run_config=config,
        spec=spec,
        call_count=calls,
    )

    def member(persona: Persona) -> Any:
        return CrewAgent(
            role=persona.role,
            goal=persona.goal,
            backstory=persona.backstory,
            llm=llm,
            allow_delegation=False,
            verbose=False,
            max_iter=2,
            max_retry_limit=0,
            respect_context_window=False,  # no summarizing calls behind our back
            cache=False,
        )

    analyst, strategist = member(ANALYST), member(STRATEGIST)
    # Braces would be read by crewai as input placeholders.
    safe = facts.replace("{", "(").replace("}", ")")
    draft = Task(
        description=analyst_task(brand, safe), expected_output=ANALYST_OUTPUT, agent=analyst
    )
    advise = Task(
        description=strategist_task(brand),
        expected_output=STRATEGIST_OUTPUT,
        agent=strategist,
        context=[draft],
    )
    crew = _crew_class()(
        agents=[analyst, strategist],
        tasks=[draft, advise],
        process=Process.sequential,
        verbose=False,
        tracing=False,
        memory=False,
        cache=False,
    )
    outcome = CrewOutcome()
    started = time.perf_counter()
    crew.kickoff()
    outcome.seconds = time.perf_counter() - started
    outcome.analysis = str(draft.output.raw if draft.output else "")
    outcome.recommendations = str(advise.output.raw if advise.output else "")
    return outcome


async def run_crew(ctx: AgentContext, brand: str, facts: str) -> CrewOutcome:
    """Run the analyst and the strategist on ``facts`` with the run's model; their tokens are
    accounted by the agent's usage callback even if the crew fails, and a failed crew yields
    no words (the rules stand in) rather than failing the report."""
    model = ctx.model(max_tokens=reply_budget(ctx, CREW_MAX_TOKENS, LOCAL_CREW_MAX_TOKENS))
    calls: list[int] = []
    try:
        # crewai's kickoff is synchronous and the model calls block: off the event loop.
        outcome = await asyncio.to_thread(
            _kickoff, model, ctx.config, ctx.model_spec, brand, facts, calls
        )
    except Exception as exc:  # a crew failure degrades to the rule-based report
        log.warning("competitor crew failed (%s); using rule-based SWOT", type(exc).__name__)
        outcome = CrewOutcome()
    ctx.model_calls += len(calls)
    outcome.calls = len(calls)
    return outcome
