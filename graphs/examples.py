"""One valid input per graph: what the console prefills, what ``/lg/assistants/{id}/schemas``
publishes as the input schema's ``examples``, and what the README shows. A test checks each
against its graph's input contract (``graphs.inputs.INPUT_MODELS``), so they cannot drift."""

from __future__ import annotations

from typing import Any

_CONTENT = {"brief": "Announce our Ethiopia cold brew", "platform": "instagram"}
_TRENDS = {"industry": "coffee", "platforms": ["instagram", "tiktok"], "days": 14}
_PERFORMANCE = {"days": 30, "platforms": ["instagram"]}
_COMPETITORS = {"competitors": ["@bluebottle", "@stumptown"], "days": 30}
_CRISIS = {
    "brand": "Lumen Coffee",
    "mentions": [
        {"text": "My latte tasted burnt today, really disappointed", "platform": "twitter"},
        {"text": "Third burnt cup this week @lumencoffee?", "platform": "instagram"},
    ],
}

INPUT_EXAMPLES: dict[str, dict[str, Any]] = {
    "content_creation": _CONTENT,
    "trend_analysis": {"input": _TRENDS},
    "performance_analysis": {"input": _PERFORMANCE},
    "competitor_analysis": {"input": _COMPETITORS},
    "crisis_response": {"input": _CRISIS},
    "console": {"messages": [{"role": "user", "content": "What should we post this week?"}]},
    "content_creator": {"input": _CONTENT},
    "trend_analyzer": {"input": _TRENDS},
    "engagement_optimizer": {
        "input": {"text": "Cold brew season is here. Which roast is yours?", "platform": "twitter"}
    },
    "scheduler": {"input": {"platform": "instagram", "count": 3}},
    "performance_tracker": {"input": _PERFORMANCE},
    "competitor_monitor": {"input": _COMPETITORS},
    "crisis_manager": {"input": _CRISIS},
}
