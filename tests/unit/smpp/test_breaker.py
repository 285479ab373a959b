"""The SMPP breaker's pure rules (gateway.smpp.breaker)."""

from __future__ import annotations

from gateway.smpp.breaker import Breaker


def test_consecutive_timeouts_trip_it_and_the_pause_doubles_while_they_go_on() -> None:
    """3 timeouts in a row trip it (1 s); failures during the pause do not count; after it one more
    timeout trips it again for 2 s; a real answer closes it."""
    b = Breaker(3, 1.0, 60.0)
    assert b.failure("timeout", 0.0) is None
    assert b.failure("timeout", 0.1) is None
    assert b.failure("timeout", 0.2) == 1.0
    assert b.is_open
    assert b.failure("timeout", 0.5) is None  # the window sent before the trip
    assert b.failure("timeout", 1.3) == 2.0  # half-open: one more trips it again
    b.answered()
    assert not b.is_open
    assert b.failure("timeout", 5.0) is None


def test_an_answer_between_timeouts_resets_the_run() -> None:
    """Timeouts separated by answers never trip it."""
    b = Breaker(2, 1.0, 60.0)
    for t in range(10):
        assert b.failure("timeout", float(t)) is None
        b.answered()


def test_links_the_smsc_ends_right_after_submits_trip_it_answers_in_between_do_not_close_it() -> None:
    """An SMSC that takes one submit then unbinds: 3 such links trip it, and the one answer each link got
    does not close it; a link that answers `threshold` submits does."""
    b = Breaker(3, 1.0, 8.0)
    assert b.link_ended(by_peer=True, sent=1, answered=1, now=0.0) is None
    b.answered()
    assert b.link_ended(by_peer=True, sent=1, answered=1, now=0.1) is None
    assert b.link_ended(by_peer=True, sent=1, answered=1, now=0.2) == 1.0
    b.answered()
    assert b.is_open
    assert b.link_ended(by_peer=True, sent=1, answered=1, now=1.5) == 2.0
    assert b.link_ended(by_peer=False, sent=5, answered=5, now=9.0) is None  # a healthy link
    b.answered()
    assert not b.is_open


def test_zero_threshold_never_trips() -> None:
    """breaker_threshold = 0 turns it off."""
    b = Breaker(0, 1.0, 60.0)
    assert all(b.failure("generic_nack", float(t)) is None for t in range(100))
