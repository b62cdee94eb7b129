"""competitor_monitor: the node's persona and its two-agent crew (analyst, strategist).

The crew reads benchmark numbers computed in code and writes words: SWOT bullet points, then
recommendations. Replies are parsed leniently as headed lists; nothing here asks for JSON.
"""

from __future__ import annotations

from agents.base import Persona

PERSONA = Persona(
    role="Competitive Intelligence Analyst",
    goal="Monitor competitor strategies and identify opportunities.",
    backstory=(
        "You are a competitive intelligence expert who tracks competitor activities, analyzes "
        "their strategies, and identifies opportunities for competitive advantage."
    ),
)

ANALYST = PERSONA

STRATEGIST = Persona(
    role="Social Media Strategist",
    goal="Turn competitive analysis into concrete next steps for the brand's social team.",
    backstory=(
        "You are a pragmatic social media strategist. You turn an analyst's findings into a "
        "few clear actions a small team can start this week, and you never overstate the data."
    ),
)


def analyst_task(brand: str, facts: str) -> str:
    """The analyst's task: SWOT bullet points from the benchmark facts."""
    return (
        f"Compare {brand} with its competitors on social media using only these benchmark "
        f"facts, which were computed from data and are correct:\n\n{facts}\n\n"
        f"Write a SWOT analysis for {brand}: four short headed lists, Strengths, Weaknesses, "
        "Opportunities and Threats, each with one to three bullet points starting with '- '. "
        "Use no number that is not in the facts."
    )


ANALYST_OUTPUT = (
    "Four headed lists (Strengths:, Weaknesses:, Opportunities:, Threats:), each with one to "
    "three short bullet points."
)


def strategist_task(brand: str) -> str:
    """The strategist's task: recommendations from the analyst's SWOT (given as context)."""
    return (
        f"Using the analyst's SWOT analysis of {brand}, recommend three to five concrete "
        f"actions for {brand}'s social media team, one per line, each starting with '- '. "
        "Use no number that is not in the analysis."
    )


STRATEGIST_OUTPUT = "Three to five recommendations, one per line, each starting with '- '."
