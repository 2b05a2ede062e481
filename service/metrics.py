"""Prometheus metrics of one service instance (each app has its own registry)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REJECTION_REASONS = frozenset(
    {"id", "time", "mag", "mag_err", "band", "period", "points", "light_curves", "file"}
)
"""Label values a client can choose are kept to these sets (others count as ``other``):
every distinct label value is a new time series held for the life of the process."""


class ServiceMetrics:
    """Request counts and latencies per route and status, scoring counters, model info."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lcvade_http_requests",
            "HTTP requests answered, by route template, method and status code",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lcvade_http_request_duration_seconds",
            "Time from receiving a request to sending its answer",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.curves_scored = Counter(
            "lcvade_curves_scored", "Light curves scored", registry=self.registry
        )
        self.curves_rejected = Counter(
            "lcvade_curves_rejected",
            "Light curves refused, by reason (the field at fault, or the limit)",
            ["reason"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "lcvade_batch_curves",
            "Curves per forward pass (a micro-batch)",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "lcvade_batch_requests",
            "Requests whose curves share one forward pass",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.forward_seconds = Histogram(
            "lcvade_forward_seconds",
            "Time of one forward pass on a model worker, the transfers to and from it included",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model_info = Gauge(
            "lcvade_model_info",
            "The model being served (value 1 for the current one)",
            ["name", "version", "device"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "lcvade_model_reloads",
            "Model reload attempts, by outcome",
            ["outcome"],
            registry=self.registry,
        )

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in HTTP_METHODS else "other"
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method, str(status)).observe(seconds)

    def curve_rejected(self, field: str | None, default: str = "request") -> None:
        reason = default if field is None else field if field in REJECTION_REASONS else "other"
        self.curves_rejected.labels(reason=reason).inc()

    def set_model(self, name: str, version: str, device: str) -> None:
        self.model_info.clear()
        self.model_info.labels(name=name, version=version, device=device).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
