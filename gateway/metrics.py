"""The daemon's Prometheus metrics (default registry).

Names are ``gateway_*`` with the unit in the name; label values come from small,
bounded sets (channel, connector name from the config, outcome/state/reason
enums) — never a phone number, sender address or message id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

MESSAGES = Counter(
    "gateway_messages_total",
    "Messages by channel, connector and outcome of a send attempt or a final state.",
    ["channel", "connector", "outcome"],
)
CLAIM_BATCH = Histogram("gateway_claim_batch_size", "Rows per claim statement.", buckets=BATCH_BUCKETS)
CLAIM_SECONDS = Histogram("gateway_claim_seconds", "Latency of one claim statement.", buckets=LATENCY_BUCKETS)
FLUSH_BATCH = Histogram("gateway_flush_batch_size", "Rows per write-back transaction.", buckets=BATCH_BUCKETS)
FLUSH_SECONDS = Histogram("gateway_flush_seconds", "Latency of one write-back transaction.", buckets=LATENCY_BUCKETS)
FLUSH_ERRORS = Counter("gateway_flush_errors_total", "Write-back transactions that failed and were retried.")
IN_FLIGHT = Gauge("gateway_in_flight_messages", "Messages claimed by this instance and not yet written back.")
QUEUE_DEPTH = Gauge("gateway_queue_depth", "Rows in the outbox by state (sampled).", ["state"])
OLDEST_DUE_AGE = Gauge(
    "gateway_queue_oldest_due_age_seconds", "Age of the oldest due queued message (sampled; 0 when none)."
)
LEASE_RECOVERIES = Counter(
    "gateway_lease_recoveries_total", "Expired leases of crashed or stalled instances recovered."
)
RECEIPTS = Counter("gateway_receipts_total", "Delivery receipts by connector and state.", ["connector", "state"])
RECEIPTS_UNMATCHED = Counter(
    "gateway_receipts_unmatched_total",
    "Receipts stored for later matching (arrived before their submit).",
    ["connector"],
)
INBOUND = Counter("gateway_inbound_messages_total", "Mobile-originated messages stored.", ["connector"])
POLICY_DECISIONS = Counter(
    "gateway_policy_decisions_total", "Policy decisions that did not simply allow the message.", ["decision", "reason"]
)
DB_ERRORS = Counter("gateway_database_errors_total", "Database errors by operation.", ["operation"])
# type: sms | lms | mms | "-" (refused before a type was chosen); outcome: the Outcome value.
# Counted per batch by the connectors that know message types (NHN SMS, SMPP with Korean rules).
SMS_TYPES = Counter(
    "gateway_sms_messages_total", "SMS-channel send results by message type.", ["connector", "type", "outcome"]
)
CONNECTOR_READY = Gauge("gateway_connector_ready", "1 when the connector can send now.", ["connector"])
