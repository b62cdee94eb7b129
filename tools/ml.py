"""The ML helpers' LangChain tools, for agents to bind.

``detect_trends`` and ``optimize_schedule`` are not tools on purpose: their inputs are numbers
(per-tag counts, a weekday-hour profile) that must come from the analytics queries, not from
the model, so agents compose them with those queries in code.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from tools.engagement_model import predict_engagement
from tools.sentiment import analyze_sentiment

ML_TOOLS: list[BaseTool] = [analyze_sentiment, predict_engagement]

__all__ = ["ML_TOOLS", "analyze_sentiment", "predict_engagement"]
