"""What happens next to a message: pure rules, no I/O, unit-tested without PostgreSQL.

* :func:`after_send` — a connector's :class:`~gateway.port.SendResult` becomes
  a :class:`Settle` (submitted or final) or a :class:`Reschedule` (retry with
  back-off and jitter, throttling). Expiry wins over retry: a message is never
  rescheduled past its ``expires_at``; retries stop at ``max_attempts``.
* :func:`after_decision` — a policy :data:`~gateway.policy.Decision` becomes
  nothing (allow), a Reschedule (defer, hold) or a Settle (suppress, fail,
  expire).
* :func:`after_shutdown` — a message still unanswered when the drain ends is
  deferred at once and flagged: it may have reached the carrier.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gateway.backoff import Backoff
from gateway.policy.decision import Allow, Decision, Defer, Expire, Fail, Hold, Suppress
from gateway.port import MessageState, OutboundMessage, Outcome, QueueReason, SendResult
from gateway.queue.config import RetryConfig
from gateway.queue.transitions import Reschedule, Settle, Transition

__all__ = ["HOLD_SECONDS", "after_decision", "after_send", "after_shutdown", "retry_backoff"]

HOLD_SECONDS = 10 * 365 * 86400  # "held": deferred until an operator releases it


def retry_backoff(retry: RetryConfig) -> Backoff:
    return Backoff(retry.base_seconds, retry.max_seconds, retry.jitter)


def after_send(
    message: OutboundMessage,
    result: SendResult,
    *,
    connector: str | None,
    retry: RetryConfig,
    now: datetime,
    rng: random.Random,
) -> Transition:
    outcome = result.outcome
    detail = dict(result.detail) if result.detail else None
    if outcome is Outcome.SUBMITTED and result.reason == QueueReason.SUBMITTED_UNCONFIRMED:
        # Accepted, but without an id any receipt could be matched by: nothing more can be learnt,
        # so it settles now as unknown instead of waiting out the receipt timeout.
        return Settle(
            message.id,
            MessageState.UNKNOWN,
            message.channel,
            QueueReason.SUBMITTED_UNCONFIRMED,
            result.code,
            connector,
            segments=max(result.segments, len(result.carrier_ids), 1),
            detail=detail,
            carrier_ids=result.carrier_ids,  # an empty id matches no receipt: a multipart one never completes
        )
    if outcome is Outcome.SUBMITTED:
        return Settle(
            message.id,
            MessageState.SUBMITTED,
            message.channel,
            code=result.code,
            connector=connector,
            segments=max(result.segments, len(result.carrier_ids), 1),
            detail=detail,
            carrier_ids=result.carrier_ids,
            fallback=result.fallback,
        )
    if outcome is Outcome.FAILED:
        return Settle(
            message.id,
            MessageState.FAILED,
            message.channel,
            result.reason or QueueReason.REJECTED,
            result.code,
            connector,
            detail=detail,
            fallback=result.fallback,
        )
    if outcome is Outcome.THROTTLED:
        delay = result.retry_after if result.retry_after is not None else retry.throttled_seconds
        reason = result.reason or QueueReason.THROTTLED
        return _reschedule_or_expire(message, delay, reason, result.code, connector, now=now, counts=False)
    if outcome is Outcome.RETRY:
        reason = result.reason or QueueReason.TRANSIENT_ERROR
        return _retry(message, reason, result, connector, retry=retry, now=now, rng=rng, may_be_duplicate=False)
    if outcome is Outcome.UNKNOWN:
        reason = result.reason or QueueReason.OUTCOME_UNKNOWN
        if retry.retry_unknown:
            return _retry(message, reason, result, connector, retry=retry, now=now, rng=rng, may_be_duplicate=True)
        return Settle(message.id, MessageState.UNKNOWN, message.channel, reason, result.code, connector)
    raise AssertionError(f"unhandled outcome {outcome!r}")  # pragma: no cover - exhaustive


def _retry(
    message: OutboundMessage,
    reason: str,
    result: SendResult,
    connector: str | None,
    *,
    retry: RetryConfig,
    now: datetime,
    rng: random.Random,
    may_be_duplicate: bool,
) -> Transition:
    if message.attempts >= retry.max_attempts:
        return Settle(
            message.id,
            MessageState.UNKNOWN if may_be_duplicate else MessageState.FAILED,
            message.channel,
            QueueReason.MAX_ATTEMPTS,
            result.code,
            connector,
            detail={"last_reason": reason, "attempts": message.attempts},
            # a RETRY's fallback is the one to send when the attempts run out (never after an unknown outcome)
            fallback=None if may_be_duplicate else result.fallback,
        )
    delay = retry_backoff(retry).delay(message.attempts, rng)
    if result.retry_after is not None:
        delay = max(delay, result.retry_after)
    return _reschedule_or_expire(
        message, delay, reason, result.code, connector, now=now, counts=True, may_be_duplicate=may_be_duplicate
    )


def _reschedule_or_expire(
    message: OutboundMessage,
    delay: float,
    reason: str,
    code: str | None,
    connector: str | None,
    *,
    now: datetime,
    counts: bool,
    may_be_duplicate: bool = False,
) -> Transition:
    if message.expires_at is not None and message.expires_at.timestamp() <= now.timestamp() + delay:
        return Settle(
            message.id,
            MessageState.EXPIRED,
            message.channel,
            QueueReason.EXPIRED_BEFORE_RETRY,
            code,
            connector,
            detail={"last_reason": reason},
        )
    return Reschedule(message.id, delay, reason, code, counts=counts, may_be_duplicate=may_be_duplicate)


def after_decision(message: OutboundMessage, decision: Decision, now: datetime) -> Transition | None:
    """The transition a policy decision asks for; None means "send it"."""
    if isinstance(decision, Allow):
        return None
    if isinstance(decision, Defer):
        delay = max((decision.until - now).total_seconds(), 0.0)
        return Reschedule(
            message.id, delay, str(decision.reason), counts=False, detail={"until": decision.until.isoformat()}
        )
    if isinstance(decision, Hold):
        detail: Mapping[str, Any] | None = (
            {"next_allowed": decision.next_allowed.isoformat()} if decision.next_allowed else None
        )
        return Reschedule(message.id, HOLD_SECONDS, f"held_{decision.reason}", counts=False, detail=detail)
    if isinstance(decision, Suppress):
        return Settle(message.id, MessageState.SUPPRESSED, message.channel, str(decision.reason))
    if isinstance(decision, Fail):
        return Settle(
            message.id,
            MessageState.FAILED,
            message.channel,
            str(decision.reason),
            detail={"detail": decision.detail} if decision.detail else None,
        )
    if isinstance(decision, Expire):
        return Settle(message.id, MessageState.EXPIRED, message.channel, str(decision.reason))
    raise TypeError(f"unknown policy decision {decision!r}")


def after_shutdown(message: OutboundMessage) -> Reschedule:
    """Unanswered when the drain ended: it may have reached the carrier."""
    return Reschedule(message.id, 0.0, QueueReason.SHUTDOWN_UNANSWERED, counts=True, may_be_duplicate=True)
