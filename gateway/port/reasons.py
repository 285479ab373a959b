"""Reasons the queue itself gives for a state change (the ``reason`` of an event).

Policy decisions carry the policy's own reasons (:class:`gateway.policy.Reason`)
and connectors their refusal reasons; these are the ones the queue adds when it
retries, gives up, recovers or settles a message on its own authority. All are
snake_case and fit to be metric labels.
"""

from __future__ import annotations

import enum

__all__ = ["QueueReason"]


class QueueReason(enum.StrEnum):
    DUE = "due"  # a deferred message's time came: queued again
    RELEASED = "released"  # claimed but never handed to a connector (shutdown): queued again
    LEASE_EXPIRED = "lease_expired"  # its instance died or stalled: queued again, flagged
    SHUTDOWN_UNANSWERED = "shutdown_unanswered"  # sent, unanswered at shutdown: deferred, flagged
    THROTTLED = "throttled"  # the carrier said slow down
    TRANSIENT_ERROR = "transient_error"  # a connector's RETRY without a reason of its own
    OUTCOME_UNKNOWN = "outcome_unknown"  # a connector's UNKNOWN without a reason of its own
    CONNECTOR_ERROR = "connector_error"  # the connector raised instead of answering
    REJECTED = "rejected"  # a connector's FAILED without a reason of its own
    MAX_ATTEMPTS = "max_attempts"  # retries exhausted
    EXPIRED_BEFORE_RETRY = "expired_before_retry"  # the next attempt would come after expires_at
    NO_ROUTE = "no_route"  # no connector serves the message
    INVALID_ROW = "invalid_row"  # the outbox row cannot be read as a message
    POLICY_ERROR = "policy_error"  # the policy check raised for this message
    NO_RECEIPT = "no_receipt"  # submitted, no receipt within the connector's receipt timeout
    RECEIPT = "receipt"  # a delivery receipt settled it
    FALLBACK_ENQUEUED = "fallback_enqueued"  # its fallback message was enqueued
    FALLBACK_SKIPPED = "fallback_skipped"  # its fallback was due but not sent (expired, not encodable)
