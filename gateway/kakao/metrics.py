"""Prometheus metrics of the Kakao connector. Labels are bounded: connector name,
outcome / status words from fixed sets, never a number, id or code.

Receipts are counted in the one family every connector shares
(``gateway_receipts_total``, by the engine once stored). Every series exists
from start, at zero (:func:`init_connector`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BATCH_RECIPIENTS",
    "BREAKER_OPEN",
    "REQUESTS",
    "REQUEST_SECONDS",
    "RESULTS",
    "WEBHOOKS",
    "init_connector",
]

REQUEST_OUTCOMES = ("ok", "rejected", "unavailable", "throttled", "protocol_error", "parked")
WEBHOOK_STATUSES = ("ok", "unauthorized", "too_large", "bad_request", "not_ready")
# outcome: ok | rejected | unavailable | throttled | protocol_error | parked (send); ok | error (query)
REQUESTS = Counter(
    "gateway_kakao_requests_total",
    "HTTP requests to the Alimtalk provider, by outcome",
    ["connector", "kind", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "gateway_kakao_request_seconds",
    "Duration of provider requests",
    ["connector", "kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_RECIPIENTS = Histogram(
    "gateway_kakao_batch_recipients",
    "Recipients per send request",
    ["connector"],
    buckets=(1, 10, 50, 100, 250, 500, 1000),
)
# outcome: the Outcome value (submitted, retry, throttled, failed, unknown, fallback)
RESULTS = Counter("gateway_kakao_results_total", "Send results reported to the engine", ["connector", "outcome"])
# status: ok | unauthorized | too_large | bad_request | not_ready
WEBHOOKS = Counter("gateway_kakao_webhook_requests_total", "Result webhook requests", ["connector", "status"])
BREAKER_OPEN = Gauge("gateway_kakao_breaker_open", "1 while the circuit breaker is open or half-open", ["connector"])


def init_connector(name: str) -> None:
    """Create every series of connector ``name`` at zero."""
    for outcome in REQUEST_OUTCOMES:
        REQUESTS.labels(name, "send", outcome)
    for outcome in ("ok", "error"):
        REQUESTS.labels(name, "query", outcome)
    for kind in ("send", "query"):
        REQUEST_SECONDS.labels(name, kind)
    BATCH_RECIPIENTS.labels(name)
    for status in WEBHOOK_STATUSES:
        WEBHOOKS.labels(name, status)
    BREAKER_OPEN.labels(name).set(0)
