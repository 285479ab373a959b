"""Prometheus metrics of the Kakao connector. Labels are bounded: connector name,
outcome / status words from fixed sets, never a number, id or code."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BATCH_RECIPIENTS",
    "BREAKER_OPEN",
    "RECEIPTS",
    "REQUESTS",
    "REQUEST_SECONDS",
    "RESENDS",
    "RESULTS",
    "RESUMED",
    "TEMPLATE_UPDATES",
    "WATCHED",
    "WEBHOOKS",
]

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
# state: the ReceiptState value
RECEIPTS = Counter("gateway_kakao_receipts_total", "Delivery results stored", ["connector", "state", "source"])
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
