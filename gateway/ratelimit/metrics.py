"""Prometheus metrics of the rate limiter (default registry, bounded labels).

Labels: ``connector`` is a configured connector name; ``limit`` is
``connector``, ``sender:<name>`` for a sender configured by name, or
``sender:other`` for every other sender. No phone number ever becomes a label.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "ADMITTED_COST",
    "EFFECTIVE_RATE",
    "SYNC_FAILURES",
    "THROTTLE_EVENTS",
    "WAITING_MESSAGES",
    "WAIT_SECONDS",
]

ADMITTED_COST = Counter(
    "gateway_ratelimit_admitted_cost",
    "Cost units (SMS segments, Alimtalk messages) let through to the connector.",
    ["connector"],
)

WAIT_SECONDS = Histogram(
    "gateway_ratelimit_wait_seconds",
    "Time a message waited in its lane before the limits let it through.",
    ["connector"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)

EFFECTIVE_RATE = Gauge(
    "gateway_ratelimit_effective_rate",
    "Rate (units/s) a limit allows now: the configured one unless throttling lowered it.",
    ["connector", "limit"],
)

THROTTLE_EVENTS = Counter(
    "gateway_ratelimit_throttle_events",
    "Throttling answers (SMPP 0x58/0x14, HTTP 429) reported to the limiter.",
    ["connector"],
)

WAITING_MESSAGES = Gauge(
    "gateway_ratelimit_waiting_messages",
    "Messages held in the lanes of a connector, waiting for their limits.",
    ["connector"],
)

SYNC_FAILURES = Counter(
    "gateway_ratelimit_sync_failures",
    "Failed exchanges with PostgreSQL by the cluster-wide limiter.",
)
