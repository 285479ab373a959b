"""How a message's segment answers add up to one SendResult (precedence and partial retries)."""

from __future__ import annotations

from gateway.port import OutboundMessage, Outcome
from gateway.smpp.jobs import Job, hex_status
from gateway.smpp.protocol.pdu import SubmitSm

MSG = OutboundMessage(42, "sms", "ACME", "+8210", "x")


def _job(segments: int) -> Job:
    return Job(MSG, tuple(SubmitSm() for _ in range(segments)), started=0.0)


def test_hex_status_is_eight_lowercase_digits() -> None:
    """Carrier codes are written like 0x0000000b."""
    assert hex_status(0x0B) == "0x0000000b" and hex_status(0x400) == "0x00000400"


def test_all_accepted_is_submitted_in_segment_order() -> None:
    """Answers in any order give SUBMITTED with the ids in segment order."""
    job = _job(3)
    for index, cid in ((2, "c"), (0, "a"), (1, "b")):
        job.accepted(index, cid)
    assert job.waiting == 0
    result = job.verdict(retry_allowed=True)
    assert (result.outcome, result.carrier_ids, result.segments) == (Outcome.SUBMITTED, ("a", "b", "c"), 3)


def test_permanent_beats_unknown_beats_soft() -> None:
    """A permanent refusal wins over a lost segment, which wins over a throttle."""
    job = _job(3)
    job.soft(Outcome.THROTTLED, 0x58, "ESME_RTHROTTLED")
    job.lost("timeout")
    job.refused(2, 0x0B)
    result = job.verdict(retry_allowed=True)
    assert (result.outcome, result.code, result.reason) == (Outcome.FAILED, "0x0000000b", "ESME_RINVDSTADR")
    assert result.detail == {"segment": 3, "segments": 3}

    job = _job(2)
    job.accepted(0, "a")
    job.lost("connection_lost")
    result = job.verdict(retry_allowed=True)
    assert (result.outcome, result.reason) == (Outcome.UNKNOWN, "connection_lost")
    assert result.detail == {"may_be_duplicate": True, "accepted_carrier_ids": ["a"]}


def test_nothing_accepted_goes_back_whole() -> None:
    """Throttled with nothing accepted is THROTTLED; transient is RETRY; both without partial detail."""
    job = _job(2)
    job.soft(Outcome.RETRY, 0x08, "ESME_RSYSERR")
    job.soft(Outcome.THROTTLED, 0x58, "ESME_RTHROTTLED")
    result = job.verdict(retry_allowed=True)
    assert (result.outcome, result.code, result.detail) == (Outcome.THROTTLED, "0x00000058", None)

    job = _job(1)
    job.soft(Outcome.RETRY, None, "bind_lost")
    result = job.verdict(retry_allowed=True)
    assert (result.outcome, result.code, result.reason) == (Outcome.RETRY, None, "bind_lost")


def test_partial_acceptance_asks_for_a_retry_of_the_missing_segments() -> None:
    """Some accepted, some throttled: no result while retries remain; the missing ones are resent alone."""
    job = _job(3)
    job.accepted(0, "a")
    job.soft(Outcome.THROTTLED, 0x58, "ESME_RTHROTTLED")
    job.accepted(2, "c")
    assert job.verdict(retry_allowed=True) is None
    assert job.missing() == [1]
    job.next_round(job.missing())
    assert (job.rounds, job.waiting) == (2, 1)
    job.accepted(1, "b")
    assert job.verdict(retry_allowed=True).carrier_ids == ("a", "b", "c")


def test_partial_acceptance_without_retries_left_reports_the_accepted_parts() -> None:
    """Once retries are spent a partial message is THROTTLED with the accepted ids in its detail."""
    job = _job(2)
    job.accepted(0, "a")
    job.soft(Outcome.THROTTLED, 0x14, "ESME_RMSGQFUL")
    result = job.verdict(retry_allowed=False)
    assert (result.outcome, result.code) == (Outcome.THROTTLED, "0x00000014")
    assert result.detail == {"partial": True, "accepted_carrier_ids": ["a"], "segments": 2}
