"""Analytics queries over a tenant's posts and analytics, and their LangChain tools.

Every query is ``async def f(db, org_id, ...) -> <pydantic model>``, runs through
``TenantRepository`` (the tenant's ``$match`` first) and reduces in MongoDB before Python
finishes what pipelines cannot express portably (medians, robust z-scores). Engagement rate
everywhere is (likes + comments + shares + saves) / reach, a fraction; posts without reach
have none.
"""

from tools.analytics._common import InvalidQuery
from tools.analytics.agent_tools import ANALYTICS_TOOLS
from tools.analytics.competitors import (
    CompetitorBenchmarks,
    CompetitorComparison,
    CompetitorStats,
    Gap,
    OwnStats,
    competitor_benchmarks,
)
from tools.analytics.daily import Anomaly, DailySeries, DayPoint, daily_series, robust_z
from tools.analytics.hashtags import HashtagStat, hashtag_stats
from tools.analytics.posts import TopPost, top_posts
from tools.analytics.summary import MetricSummary, PeriodComparison, Totals, metric_summary
from tools.analytics.timing import Slot, WeekdayHourProfile, engagement_by_weekday_hour

__all__ = [
    "ANALYTICS_TOOLS",
    "Anomaly",
    "CompetitorBenchmarks",
    "CompetitorComparison",
    "CompetitorStats",
    "DailySeries",
    "DayPoint",
    "Gap",
    "HashtagStat",
    "InvalidQuery",
    "MetricSummary",
    "OwnStats",
    "PeriodComparison",
    "Slot",
    "TopPost",
    "Totals",
    "WeekdayHourProfile",
    "competitor_benchmarks",
    "daily_series",
    "engagement_by_weekday_hour",
    "hashtag_stats",
    "metric_summary",
    "robust_z",
    "top_posts",
]
