"""Prometheus metrics of the NHN Cloud SMS connector. Labels are bounded: connector
name, kinds and outcomes from fixed sets, message types (sms, lms, mms); never a
number, id or code. Receipts are counted in the one family every connector
shares (``gateway_receipts_total``, by the engine once stored). Every series
exists from start, at zero (:func:`init_connector`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from gateway.metrics import PROVIDER_REQUEST_BUCKETS, RECIPIENTS_BUCKETS

__all__ = ["BATCH_RECIPIENTS", "BREAKER_OPEN", "REQUESTS", "REQUEST_SECONDS", "WEBHOOKS", "init_connector"]

REQUEST_KINDS = ("send", "upload", "lookup", "results", "numbers")
REQUEST_OUTCOMES = ("ok", "rejected", "unavailable", "throttled", "protocol_error", "parked", "error")
WEBHOOK_STATUSES = ("ok", "unauthorized", "too_large", "bad_request", "not_ready")

# kind: send | upload | lookup | results | numbers; outcome: ok | rejected | unavailable | throttled |
# protocol_error | parked | error
REQUESTS = Counter(
    "gateway_nhn_sms_requests_total", "HTTP requests to NHN Cloud SMS, by outcome", ["connector", "kind", "outcome"]
)
REQUEST_SECONDS = Histogram(
    "gateway_nhn_sms_request_seconds",
    "Duration of NHN Cloud SMS requests",
    ["connector", "kind"],
    buckets=PROVIDER_REQUEST_BUCKETS,
)
BATCH_RECIPIENTS = Histogram(
    "gateway_nhn_sms_batch_recipients",
    "Recipients per send request",
    ["connector"],
    buckets=RECIPIENTS_BUCKETS,
)
# status: ok | unauthorized | too_large | bad_request | not_ready
WEBHOOKS = Counter("gateway_nhn_sms_webhook_requests_total", "Result webhook requests", ["connector", "status"])
BREAKER_OPEN = Gauge("gateway_nhn_sms_breaker_open", "1 while the circuit breaker is open or half-open", ["connector"])


def init_connector(name: str) -> None:
    """Create every series of connector ``name`` at zero."""
    for kind in REQUEST_KINDS:
        REQUEST_SECONDS.labels(name, kind)
        for outcome in REQUEST_OUTCOMES:
            REQUESTS.labels(name, kind, outcome)
    BATCH_RECIPIENTS.labels(name)
    for status in WEBHOOK_STATUSES:
        WEBHOOKS.labels(name, status)
    BREAKER_OPEN.labels(name).set(0)
