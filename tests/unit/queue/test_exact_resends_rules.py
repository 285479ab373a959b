"""The pure rules of issue 12: resume state kept across a requeue, whole resends flagged with their first
copies' ids, and the cap on resends after unknown outcomes."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

from gateway.port import MessageState, OutboundMessage, Outcome, QueueReason, SendResult
from gateway.queue.config import RetryConfig
from gateway.queue.rules import after_send
from gateway.queue.transitions import Reschedule, Settle

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RETRY = RetryConfig(max_attempts=5, jitter=0.0)
MSG = OutboundMessage(7, "sms", "1588", "+821012345678", "long text", attempts=1)
PARTIAL = {"connector": "smsc", "reference": 42, "segments": 3, "ids": [None, "b2", "c3"]}


def send(message: OutboundMessage, result: SendResult, connector: str = "smsc") -> Settle | Reschedule:
    return after_send(message, result, connector=connector, retry=RETRY, now=NOW, rng=random.Random(1))


def test_a_partial_result_keeps_its_resume_state_with_the_connector() -> None:
    """THROTTLED after segments 2 and 3 were accepted: the Reschedule carries the resume state and the
    connector that wrote it (outbox.partial)."""
    resume = {"reference": 42, "segments": 3, "ids": [None, "b2", "c3"]}
    t = send(MSG, SendResult(7, Outcome.THROTTLED, reason="ESME_RTHROTTLED", segments=3, resume=resume))
    assert isinstance(t, Reschedule)
    assert t.partial == {**resume, "connector": "smsc"}
    assert not t.may_be_duplicate


def test_a_resumed_message_that_completes_is_not_flagged() -> None:
    """Resumed: the SUBMITTED result carries the earlier ids with the new one; no earlier copy, no flag."""
    t = send(replace(MSG, partial=PARTIAL), SendResult(7, Outcome.SUBMITTED, carrier_ids=("a1", "b2", "c3")))
    assert isinstance(t, Settle)
    assert t.earlier_carrier_ids == ()
    assert not (t.detail or {}).get("may_be_duplicate")


def test_a_whole_resend_after_a_partial_one_is_flagged_and_keeps_the_first_copies_ids() -> None:
    """Sent whole on another connector after segments 2 and 3 had been accepted: flagged may_be_duplicate, and
    the first copies' ids stay matched to the message (their receipts still land) under their own connector."""
    result = SendResult(7, Outcome.SUBMITTED, carrier_ids=("x1", "x2", "x3"), segments=3)
    t = send(replace(MSG, partial=PARTIAL), result, connector="backup")
    assert isinstance(t, Settle)
    assert t.earlier_carrier_ids == (("smsc", "b2", 2, 3), ("smsc", "c3", 3, 3))
    assert t.detail == {"may_be_duplicate": True, "earlier_carrier_ids": ["b2", "c3"]}


def test_an_unknown_outcome_is_resent_once_then_settles_unknown() -> None:
    """With max_unknown_resends 1: the first unknown outcome is retried (flagged), the second settles
    unknown with reason max_unknown_resends, whatever max_attempts allows."""
    unknown = SendResult(7, Outcome.UNKNOWN, reason="timeout")
    first = send(MSG, unknown)
    assert isinstance(first, Reschedule) and first.may_be_duplicate
    second = send(replace(MSG, attempts=2, unknown_resends=1), unknown)
    assert isinstance(second, Settle)
    assert second.state is MessageState.UNKNOWN
    assert second.reason == QueueReason.MAX_UNKNOWN_RESENDS
    assert second.detail == {"last_reason": "timeout", "unknown_resends": 1}


def test_a_lost_bind_is_flagged_but_does_not_use_up_the_unknown_resends() -> None:
    """connection_lost (the link dropped, not a silent carrier): resent flagged even past
    max_unknown_resends, without counting; max_attempts still bounds it."""
    lost = SendResult(7, Outcome.UNKNOWN, reason="connection_lost")
    t = send(replace(MSG, attempts=2, unknown_resends=1), lost)
    assert isinstance(t, Reschedule) and t.may_be_duplicate and not t.unknown_resend
    timeout = send(MSG, SendResult(7, Outcome.UNKNOWN, reason="timeout"))
    assert isinstance(timeout, Reschedule) and timeout.unknown_resend
