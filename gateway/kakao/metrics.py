"""Prometheus metrics of the Kakao connector. Labels are bounded: connector name,
outcome / status words from fixed sets, never a number, id or code.

Receipts are counted in the one family every connector shares
(``gateway_receipts_total``, by the engine once stored). Every series exists
from start, at zero (:func:`init_connector`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from gateway.metrics import PROVIDER_REQUEST_BUCKETS, RECIPIENTS_BUCKETS

__all__ = [
    "BATCH_RECIPIENTS",
    "BREAKER_OPEN",
    "REQUESTS",
    "REQUEST_SECONDS",
    "RESENDS",
    "RESULTS",
    "RESUMED",
    "TEMPLATE_UPDATES",
    "WATCHED",
    "WEBHOOKS",
    "init_connector",
]

REQUEST_KINDS = ("send", "lookup", "results", "resend")
REQUEST_OUTCOMES = ("ok", "rejected", "unavailable", "throttled", "protocol_error", "parked", "ambiguous", "error")
WEBHOOK_STATUSES = ("ok", "unauthorized", "too_large", "bad_request", "not_ready")
# kind: send | lookup | results | resend; outcome: ok | rejected | unavailable | throttled |
# protocol_error | parked | ambiguous | error
REQUESTS = Counter(
    "gateway_kakao_requests_total",
    "HTTP requests to the Alimtalk provider, by outcome",
    ["connector", "kind", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "gateway_kakao_request_seconds",
    "Duration of provider requests",
    ["connector", "kind"],
    buckets=PROVIDER_REQUEST_BUCKETS,
)
BATCH_RECIPIENTS = Histogram(
    "gateway_kakao_batch_recipients",
    "Recipients per send request",
    ["connector"],
    buckets=RECIPIENTS_BUCKETS,
)
# outcome: the Outcome value (submitted, retry, throttled, failed, unknown, fallback)
RESULTS = Counter("gateway_kakao_results_total", "Send results reported to the engine", ["connector", "outcome"])
# status: ok | unauthorized | too_large | bad_request | not_ready
WEBHOOKS = Counter("gateway_kakao_webhook_requests_total", "Result webhook requests", ["connector", "status"])
BREAKER_OPEN = Gauge("gateway_kakao_breaker_open", "1 while the circuit breaker is open or half-open", ["connector"])
# how: journal (the journal knew its ids) | lookup (NHN's list query found it)
RESUMED = Counter(
    "gateway_kakao_resumed_total",
    "Messages found already accepted by NHN and not sent again",
    ["connector", "how"],
)
# status: NHN's resendStatus (RSC01..RSC05), "unknown" for anything else or when it did not settle in time
RESENDS = Counter("gateway_kakao_resends_total", "NHN's own SMS resends followed to their end", ["connector", "status"])
# state: accepted | resending
WATCHED = Gauge("gateway_kakao_watched", "Journal rows waiting for a result or a resend", ["connector", "state"])
# status: our template status after the update (approved, requested, reviewing, rejected, suspended)
TEMPLATE_UPDATES = Counter(
    "gateway_kakao_template_updates_total", "Template status updates from NHN", ["connector", "status"]
)


def init_connector(name: str) -> None:
    """Create every series of connector ``name`` at zero."""
    for kind in REQUEST_KINDS:
        REQUEST_SECONDS.labels(name, kind)
        for outcome in REQUEST_OUTCOMES:
            REQUESTS.labels(name, kind, outcome)
    BATCH_RECIPIENTS.labels(name)
    for status in WEBHOOK_STATUSES:
        WEBHOOKS.labels(name, status)
    for how in ("journal", "lookup"):
        RESUMED.labels(name, how)
    for state in ("accepted", "resending"):
        WATCHED.labels(name, state).set(0)
    for status in ("RSC01", "RSC02", "RSC03", "RSC04", "RSC05", "unknown"):
        RESENDS.labels(name, status)
    for template_status in ("approved", "requested", "reviewing", "rejected", "suspended"):
        TEMPLATE_UPDATES.labels(name, template_status)
    BREAKER_OPEN.labels(name).set(0)
