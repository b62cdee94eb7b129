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


def histogram_summaries(histogram: Histogram, keys: tuple[str, ...]) -> list[dict[str, object]]:
    """Per label set of ``histogram`` (keyed by the labels ``keys``): count, mean seconds and
    p50/p95/p99 estimated from the buckets (linear within a bucket, as Prometheus's
    ``histogram_quantile`` does), slowest p95 first."""
    series: dict[tuple[str, ...], dict[str, object]] = {}
    buckets: dict[tuple[str, ...], list[tuple[float, float]]] = {}
    for family in histogram.collect():
        for sample in family.samples:
            label = tuple(sample.labels.get(k, "") for k in keys)
            entry = series.setdefault(label, dict(zip(keys, label, strict=True)))
            if sample.name.endswith("_count"):
                entry["count"] = int(sample.value)
            elif sample.name.endswith("_sum"):
                entry["total_seconds"] = sample.value
            elif sample.name.endswith("_bucket"):
                buckets.setdefault(label, []).append((float(sample.labels["le"]), sample.value))
    out = []
    for label, entry in series.items():
        count = int(entry.get("count", 0))  # type: ignore[call-overload]
        if not count:
            continue
        total = float(entry.pop("total_seconds", 0.0))  # type: ignore[arg-type]
        ordered = sorted(buckets.get(label, []))
        entry["mean_seconds"] = total / count
        for name, q in (("p50_seconds", 0.5), ("p95_seconds", 0.95), ("p99_seconds", 0.99)):
            entry[name] = _quantile(q, ordered)
        out.append(entry)
    return sorted(out, key=lambda e: -float(e["p95_seconds"]))  # type: ignore[arg-type]


def _quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus's histogram_quantile over cumulative ``(upper bound, count)`` buckets."""
    if not buckets or buckets[-1][1] == 0:
        return 0.0
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):
                return lower_bound  # beyond the last finite bucket: its bound is all we know
            width = cumulative - lower_count
            share = (rank - lower_count) / width if width else 0.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, cumulative
    return lower_bound
