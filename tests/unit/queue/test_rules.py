"""The pure rules: which transition a send result or a policy decision leads to."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gateway.policy.decision import ALLOW, Defer, Expire, Fail, Hold, Suppress
from gateway.port import Fallback, MessageState, OutboundMessage, Outcome, SendResult
from gateway.queue.config import RetryConfig
from gateway.queue.rules import HOLD_SECONDS, after_decision, after_send, after_shutdown
from gateway.queue.transitions import Reschedule, Settle

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RETRY = RetryConfig(max_attempts=3, base_seconds=2.0, max_seconds=600.0, jitter=0.0, throttled_seconds=1.0)


def msg(attempts: int = 1, expires_in: float | None = None) -> OutboundMessage:
    expires = NOW + timedelta(seconds=expires_in) if expires_in is not None else None
    return OutboundMessage(7, "sms", "1588", "+821012345678", "hi", attempts=attempts, expires_at=expires)


def send(message: OutboundMessage, result: SendResult, retry: RetryConfig = RETRY) -> Settle | Reschedule:
    return after_send(message, result, connector="smsc", retry=retry, now=NOW, rng=random.Random(1))


def test_submitted_settles_with_carrier_ids_and_segments() -> None:
    """SUBMITTED: settled as submitted under the connector, segments at least the carrier ids, accepted now."""
    t = send(msg(), SendResult(7, Outcome.SUBMITTED, carrier_ids=("a", "b"), code="0"))
    assert t == Settle(
        7,
        MessageState.SUBMITTED,
        "sms",
        code="0",
        connector="smsc",
        segments=2,
        carrier_ids=("a", "b"),
        submitted_at=NOW,
    )


def test_failed_keeps_its_reason_and_its_fallback() -> None:
    """FAILED: final, the connector's reason (else 'rejected') and the fallback it carries."""
    fb = Fallback("sms", "1588", "fallback text")
    t = send(msg(), SendResult(7, Outcome.FAILED, code="3019", reason="not_kakao_user", fallback=fb))
    assert isinstance(t, Settle) and (t.state, t.reason, t.fallback) == (MessageState.FAILED, "not_kakao_user", fb)
    bare = send(msg(), SendResult(7, Outcome.FAILED))
    assert isinstance(bare, Settle) and bare.reason == "rejected"


def test_retry_backs_off_exponentially_and_counts_the_attempt() -> None:
    """RETRY: rescheduled after base * 2^(attempt-1), the attempt counted, not flagged."""
    t = send(msg(attempts=2), SendResult(7, Outcome.RETRY, reason="smsc_busy"))
    assert t == Reschedule(7, 4.0, "smsc_busy", counts=True, may_be_duplicate=False)


def test_retry_after_from_the_peer_lengthens_the_delay() -> None:
    """A peer's retry_after longer than the back-off wins."""
    t = send(msg(), SendResult(7, Outcome.RETRY, retry_after=30.0))
    assert isinstance(t, Reschedule) and t.delay == 30.0


def test_retries_stop_at_max_attempts() -> None:
    """The last allowed attempt failing transiently is final: failed, max_attempts, last reason kept."""
    t = send(msg(attempts=3), SendResult(7, Outcome.RETRY, reason="smsc_busy"))
    assert isinstance(t, Settle) and (t.state, t.reason) == (MessageState.FAILED, "max_attempts")
    assert t.detail == {"last_reason": "smsc_busy", "attempts": 3}


def test_retry_fallback_is_used_when_the_attempts_run_out() -> None:
    """A RETRY carrying a fallback keeps it for the end: rescheduled without it, settled failed with it."""
    fb = Fallback("sms", "1588", "fallback text")
    early = send(msg(attempts=1), SendResult(7, Outcome.RETRY, reason="alimtalk_retry", fallback=fb))
    assert isinstance(early, Reschedule)
    last = send(msg(attempts=3), SendResult(7, Outcome.RETRY, reason="alimtalk_retry", fallback=fb))
    assert isinstance(last, Settle) and (last.state, last.fallback) == (MessageState.FAILED, fb)
    unknown = send(msg(attempts=3), SendResult(7, Outcome.UNKNOWN, fallback=fb))
    assert isinstance(unknown, Settle) and unknown.fallback is None  # it may be on the phone already


def test_unknown_is_retried_flagged_and_ends_unknown() -> None:
    """UNKNOWN: retried as a possible duplicate; at max attempts it ends unknown, not failed."""
    t = send(msg(), SendResult(7, Outcome.UNKNOWN))
    assert isinstance(t, Reschedule) and t.may_be_duplicate and t.reason == "outcome_unknown"
    last = send(msg(attempts=3), SendResult(7, Outcome.UNKNOWN))
    assert isinstance(last, Settle) and last.state is MessageState.UNKNOWN


def test_unknown_without_retry_unknown_settles_unknown() -> None:
    """With retry_unknown off, an unknown outcome is final at once."""
    t = send(msg(), SendResult(7, Outcome.UNKNOWN), RETRY.model_copy(update={"retry_unknown": False}))
    assert isinstance(t, Settle) and t.state is MessageState.UNKNOWN


def test_throttled_does_not_count_and_uses_the_configured_pause() -> None:
    """THROTTLED: back to the queue after throttled_seconds (or the peer's retry_after), attempt not counted."""
    t = send(msg(), SendResult(7, Outcome.THROTTLED))
    assert t == Reschedule(7, 1.0, "throttled", counts=False)
    t2 = send(msg(), SendResult(7, Outcome.THROTTLED, retry_after=5.0))
    assert isinstance(t2, Reschedule) and t2.delay == 5.0


@pytest.mark.parametrize("outcome", [Outcome.RETRY, Outcome.THROTTLED, Outcome.UNKNOWN])
def test_expiry_wins_over_retry(outcome: Outcome) -> None:
    """A retry that would come after expires_at settles the message as expired instead."""
    t = send(msg(expires_in=1.0), SendResult(7, outcome, retry_after=10.0, reason="x"))
    assert isinstance(t, Settle) and (t.state, t.reason) == (MessageState.EXPIRED, "expired_before_retry")


def test_policy_decisions_become_transitions() -> None:
    """Allow sends; defer and hold reschedule uncounted; suppress, fail and expire settle."""
    m = msg()
    assert after_decision(m, ALLOW, NOW) is None
    until = NOW + timedelta(hours=2)
    assert after_decision(m, Defer(until), NOW) == Reschedule(
        7, 7200.0, "quiet_hours", counts=False, detail={"until": until.isoformat()}
    )
    held = after_decision(m, Hold("quiet_hours"), NOW)
    assert isinstance(held, Reschedule) and (held.delay, held.reason) == (HOLD_SECONDS, "held_quiet_hours")
    assert after_decision(m, Suppress("opted_out"), NOW) == Settle(7, MessageState.SUPPRESSED, "sms", "opted_out")
    failed = after_decision(m, Fail("invalid_recipient", detail="not a number"), NOW)
    assert isinstance(failed, Settle) and failed.detail == {"detail": "not a number"}
    assert after_decision(m, Expire("max_age"), NOW) == Settle(7, MessageState.EXPIRED, "sms", "max_age")


def test_shutdown_leftovers_are_flagged() -> None:
    """Unanswered at the end of the drain: deferred at once, counted (also as an unknown outcome's resend),
    flagged as a possible duplicate."""
    assert after_shutdown(msg()) == Reschedule(
        7, 0.0, "shutdown_unanswered", counts=True, may_be_duplicate=True, unknown_resend=True
    )


def test_settle_refuses_a_live_state() -> None:
    """A Settle cannot put a message back into a live state (that is a Reschedule or a release)."""
    with pytest.raises(ValueError, match="out of the outbox"):
        Settle(7, MessageState.QUEUED, "sms")
