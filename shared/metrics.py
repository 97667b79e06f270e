"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUEST_LATENCY = Histogram(
    "tmis_http_request_seconds", "HTTP request latency", ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("tmis_outbox_backlog", "Events waiting in the outbox", ["service"])
OUTBOX_PUBLISHED = Counter("tmis_outbox_published_total", "Events published", ["service"])
CONSUMER_LAG = Gauge(
    "tmis_consumer_lag_messages", "Messages behind the end of the partition",
    ["consumer", "topic", "partition"],
)
PROJECTION_LAG = Histogram(
    "tmis_projection_lag_seconds", "Event recorded -> applied by a consumer", ["consumer"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
EVENTS_APPLIED = Counter("tmis_events_applied_total", "Events applied", ["consumer"])
DEAD_LETTERS = Counter("tmis_dead_letters_total", "Messages sent to the dead-letter topic",
                       ["consumer"])
GROUP_COMMIT_BATCH = Histogram(
    "tmis_group_commit_batch_size", "Submissions written in one group-commit transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024))
REQUESTS_UNAVAILABLE = Counter(
    "tmis_http_unavailable_total", "Requests answered 503: the database or broker was away",
    ["service"])
CONSUMER_RETRIES = Counter(
    "tmis_consumer_transient_retries_total", "Batches tried again after an infrastructure failure",
    ["consumer"])
