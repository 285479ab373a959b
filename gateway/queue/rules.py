"""What happens next to a message: pure rules, no I/O, unit-tested without PostgreSQL.

* :func:`after_send` — a connector's :class:`~gateway.port.SendResult` becomes
  a :class:`Settle` (submitted or final) or a :class:`Reschedule` (retry with
  back-off and jitter, throttling). Expiry wins over retry: a message is never
  rescheduled past its ``expires_at``; retries stop at ``max_attempts``, and
  resends after an unknown outcome at ``max_unknown_resends`` (then ``unknown``,
  reason ``max_unknown_resends``). A connector's ``resume`` state rides on the
  Reschedule (outbox.partial); segments an earlier attempt had delivered that a
  SUBMITTED result sent again are kept (``earlier_carrier_ids``) and flagged.
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
# An unknown outcome because the link to the carrier dropped (not because the carrier said
# nothing): flagged, but not counted against max_unknown_resends (bounded by max_attempts;
# an SMSC that drops every link trips the connector's breaker).
_LINK_LOST = frozenset({"connection_lost"})


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
    earlier = earlier_copies(message, result)
    if earlier and outcome in (Outcome.SUBMITTED, Outcome.UNKNOWN):
        # Segments the carrier had accepted went again whole: a duplicate, and the
        # first copies' ids stay matched to the message.
        detail = {**(detail or {}), "earlier_carrier_ids": [e[1] for e in earlier]}
        if outcome is Outcome.SUBMITTED:
            detail["may_be_duplicate"] = True
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
            earlier_carrier_ids=earlier,
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
            earlier_carrier_ids=earlier,
            submitted_at=now,
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
    partial = {**result.resume, "connector": connector} if result.resume is not None else None
    if outcome is Outcome.THROTTLED:
        delay = result.retry_after if result.retry_after is not None else retry.throttled_seconds
        reason = result.reason or QueueReason.THROTTLED
        return _reschedule_or_expire(
            message, delay, reason, result.code, connector, now=now, counts=False, partial=partial
        )
    if outcome is Outcome.RETRY:
        reason = result.reason or QueueReason.TRANSIENT_ERROR
        return _retry(
            message, reason, result, connector, retry=retry, now=now, rng=rng, may_be_duplicate=False, partial=partial
        )
    if outcome is Outcome.UNKNOWN:
        reason = result.reason or QueueReason.OUTCOME_UNKNOWN
        if not retry.retry_unknown:
            return Settle(message.id, MessageState.UNKNOWN, message.channel, reason, result.code, connector)
        link_lost = reason in _LINK_LOST
        if message.unknown_resends >= retry.max_unknown_resends and not link_lost:
            # Sent 1 + max_unknown_resends times with no answer: sending again would only
            # multiply the copies a carrier that does not answer may still deliver.
            return Settle(
                message.id,
                MessageState.UNKNOWN,
                message.channel,
                QueueReason.MAX_UNKNOWN_RESENDS,
                result.code,
                connector,
                segments=max(result.segments, 1),
                detail={**(detail or {}), "last_reason": reason, "unknown_resends": message.unknown_resends},
                earlier_carrier_ids=earlier + tuple(_ids_of(partial)),
            )
        return _retry(
            message,
            reason,
            result,
            connector,
            retry=retry,
            now=now,
            rng=rng,
            may_be_duplicate=True,
            partial=partial,
            unknown_resend=not link_lost,
        )
    raise AssertionError(f"unhandled outcome {outcome!r}")  # pragma: no cover - exhaustive


def _ids_of(partial: Mapping[str, Any] | None) -> list[tuple[str, str, int, int]]:
    """(connector, carrier id, segment, segments) of each accepted segment an outbox.partial lists."""
    if not partial:
        return []
    ids = partial.get("ids") or []
    n = int(partial.get("segments") or len(ids))
    connector = str(partial.get("connector") or "")
    return [(connector, str(cid), i, n) for i, cid in enumerate(ids, start=1) if cid]


def earlier_copies(message: OutboundMessage, result: SendResult) -> tuple[tuple[str, str, int, int], ...]:
    """Segments an earlier attempt had delivered to the carrier (``message.partial``) that this
    result does not carry: they were sent again whole, and their first copies' ids are kept."""
    if not message.partial or result.outcome not in (Outcome.SUBMITTED, Outcome.UNKNOWN):
        return ()
    current = set(result.carrier_ids)
    if result.resume is not None:
        current.update(str(cid) for cid in result.resume.get("ids") or () if cid)
    return tuple(e for e in _ids_of(message.partial) if e[1] not in current)


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
    partial: Mapping[str, Any] | None = None,
    unknown_resend: bool = False,
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
        message,
        delay,
        reason,
        result.code,
        connector,
        now=now,
        counts=True,
        may_be_duplicate=may_be_duplicate,
        partial=partial,
        unknown_resend=unknown_resend,
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
    partial: Mapping[str, Any] | None = None,
    unknown_resend: bool = False,
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
    return Reschedule(
        message.id,
        delay,
        reason,
        code,
        counts=counts,
        may_be_duplicate=may_be_duplicate,
        partial=partial,
        unknown_resend=unknown_resend,
    )


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
    return Reschedule(
        message.id, 0.0, QueueReason.SHUTDOWN_UNANSWERED, counts=True, may_be_duplicate=True, unknown_resend=True
    )
