"""The service's Prometheus metrics, in one registry of this process (prometheus-client).

Defined at the bottom layer so that every layer records into the same objects: the API its
request latencies, the run engine its run durations, the publishing engine its outcomes, the
task recorder model tokens and cost. ``/api/system/metrics`` renders them. Label values are
bounded sets (route templates, graph names, platforms, model names), never ids.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUEST_SECONDS = Histogram(
    "chorus_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
RUN_SECONDS = Histogram(
    "chorus_graph_run_duration_seconds",
    "Time a graph run streamed, by graph and how it ended (finished, error, cancelled).",
    ["graph", "outcome"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "chorus_job_queue_depth",
    "Jobs queued and not yet finished (read when the metrics are scraped).",
    registry=REGISTRY,
)
PUBLISH_OUTCOMES = Counter(
    "chorus_publish_outcomes_total",
    "Post targets settled by the publishing engine, by platform and outcome.",
    ["platform", "outcome"],
    registry=REGISTRY,
)
MODEL_TOKENS = Counter(
    "chorus_model_tokens_total",
    "Model tokens used by agent calls, by model and direction (in, out).",
    ["model", "direction"],
    registry=REGISTRY,
)
MODEL_COST = Counter(
    "chorus_model_cost_usd_total",
    "Estimated model cost of agent calls in US dollars, by model.",
    ["model"],
    registry=REGISTRY,
)


def render() -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(REGISTRY)
