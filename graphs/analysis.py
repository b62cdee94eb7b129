"""trend_analysis, performance_analysis, competitor_analysis: agent -> memory -> report.

Each runs its agent, writes what it learned into the tenant's long-term memory (the kind the
specification names for it), and renders a Markdown report. The memory id is derived from the
thread, so a retried step overwrites its own memory instead of adding a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NotRequired

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from agents.base import Agent
from agents.competitor_monitor import competitor_monitor
from agents.performance_tracker import performance_tracker
from agents.trend_analyzer import trend_analyzer
from graphs.agent_graphs import dump
from graphs.retry import MODEL_RETRY
from memory.kinds import MemoryKind
from tools.context import RunContext


class AnalysisState(TypedDict):
    input: dict[str, Any]
    output: NotRequired[dict[str, Any] | None]
    memoryId: NotRequired[str | None]
    report: NotRequired[str | None]


Memo = tuple[str, dict[str, Any]]  # memory text and metadata


@dataclass(frozen=True)
class Analysis:
    name: str
    agent: Agent
    kind: MemoryKind
    memo: Callable[[dict[str, Any], dict[str, Any]], Memo]
    render: Callable[[dict[str, Any]], str]


def _window(days: int) -> str:
    end = datetime.now(UTC).date()
    return f"{end - timedelta(days=days)}..{end}"


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items) or "- (none)"


# --- trend_analysis ---------------------------------------------------------------------------


def _trend_memo(request: dict[str, Any], out: dict[str, Any]) -> Memo:
    top = out["trends"][:5]
    tags = ", ".join(f"{t['tag']} (score {t['score']:.2f}, growth {t['growth']:.1f}x)" for t in top)
    text = f"{out['summary']} Rising: {tags or 'nothing significant'}."
    return text, {
        "industry": request.get("industry") or "",
        "platform": ",".join(request.get("platforms") or []) or "all",
        "trend_score": float(top[0]["score"]) if top else 0.0,
        "date_range": _window(int(request.get("days", 7))),
    }


def _trend_report(out: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {i} | {t['tag']} | {t['platform'] or 'all'} | {t['volume']} | {t['growth']:.2f}x "
        f"| {t['score']:.2f} |"
        for i, t in enumerate(out["trends"], 1)
    )
    table = "| # | tag | platform | volume | growth | score |\n|---|---|---|---|---|---|\n"
    return f"# Trend analysis\n\n{out['summary']}\n\n{table}{rows}\n"


# --- performance_analysis ---------------------------------------------------------------------


def _performance_memo(request: dict[str, Any], out: dict[str, Any]) -> Memo:
    best = max(out["metrics"], key=lambda m: m["engagementRate"], default=None)
    text = f"{out['summary']} Recommendations: {' '.join(out['recommendations'])}"
    return text, {
        "platform": best["platform"] if best else "all",
        "time_slot": "",
        "audience_segment": "all",
        "date_range": _window(int(request.get("days", 30))),
    }


def _performance_report(out: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {m['platform']} | {m['posts']} | {m['reach']} | {m['engagementRate']:.2%} | "
        + (f"{m['changePct']:+.1f}%" if m["changePct"] is not None else "n/a")
        + " |"
        for m in out["metrics"]
    )
    table = "| platform | posts | reach | engagement rate | change |\n|---|---|---|---|---|\n"
    anomalies = [
        f"{a['day']}: {a['metric']} {a['direction']} ({a['value']:g}, z={a['z']:.1f})"
        for a in out["anomalies"]
    ]
    top = [
        f"{p['platform']}: {p['text'][:80]} ({p['engagementRate']:.2%})" for p in out["topPosts"]
    ]
    return (
        f"# Performance\n\n{out['summary']}\n\n{table}{rows}\n\n## Top posts\n{_bullets(top)}\n\n"
        f"## Anomalies\n{_bullets(anomalies)}\n\n## Recommendations\n"
        f"{_bullets(out['recommendations'])}\n"
    )


# --- competitor_analysis ----------------------------------------------------------------------


def _competitor_memo(request: dict[str, Any], out: dict[str, Any]) -> Memo:
    swot = out["swot"]
    text = (
        f"{out['summary']} Strengths: {'; '.join(swot['strengths'])}. "
        f"Threats: {'; '.join(swot['threats'])}. Gaps: {'; '.join(out['contentGaps'])}."
    )
    return text, {
        "competitor_id": ",".join(request.get("competitors", [])),
        "platform": "all",
        "strategy_type": "swot",
        "success_score": float(len(out["benchmarks"])),
    }


def _competitor_report(out: dict[str, Any]) -> str:
    swot = out["swot"]
    sections = "\n\n".join(
        f"## {title}\n{_bullets(swot[key])}"
        for title, key in (
            ("Strengths", "strengths"),
            ("Weaknesses", "weaknesses"),
            ("Opportunities", "opportunities"),
            ("Threats", "threats"),
        )
    )
    missing = f"\n\nNo data on file for: {', '.join(out['missing'])}." if out["missing"] else ""
    return (
        f"# Competitor analysis\n\n{out['summary']}{missing}\n\n## Content gaps\n"
        f"{_bullets(out['contentGaps'])}\n\n{sections}\n\n## Recommendations\n"
        f"{_bullets(out['recommendations'])}\n"
    )


ANALYSES: tuple[Analysis, ...] = (
    Analysis(
        "trend_analysis", trend_analyzer, MemoryKind.TREND_ANALYSIS, _trend_memo, _trend_report
    ),
    Analysis(
        "performance_analysis",
        performance_tracker,
        MemoryKind.ENGAGEMENT_PATTERNS,
        _performance_memo,
        _performance_report,
    ),
    Analysis(
        "competitor_analysis",
        competitor_monitor,
        MemoryKind.COMPETITOR_INSIGHTS,
        _competitor_memo,
        _competitor_report,
    ),
)


def build_analysis(spec: Analysis, checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    async def analyze(
        state: AnalysisState, runtime: Runtime[RunContext], config: RunnableConfig
    ) -> dict[str, Any]:
        return {"output": dump(await spec.agent.call(state["input"], runtime.context, config))}

    async def remember(state: AnalysisState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        run = runtime.context
        text, metadata = spec.memo(state["input"], state["output"])
        memory_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{spec.name}:{run.thread_key}").hex
        await run.services.memory.add(run.org_id, spec.kind, text, metadata, memory_id=memory_id)
        return {"memoryId": memory_id}

    async def report(state: AnalysisState) -> dict[str, Any]:
        return {"report": spec.render(state["output"])}

    graph = StateGraph(AnalysisState, context_schema=RunContext)
    graph.add_node("analyze", analyze, retry_policy=MODEL_RETRY)
    graph.add_node("remember", remember)
    graph.add_node("report", report)
    graph.add_edge(START, "analyze")
    graph.add_edge("analyze", "remember")
    graph.add_edge("remember", "report")
    graph.add_edge("report", END)
    return graph.compile(checkpointer=checkpointer, name=spec.name)
