"""The connector's breaker: stop feeding an SMSC that is failing every submit (sans-I/O).

Three kinds of failure are counted, each on its own run of consecutive events:

* ``timeout`` — a submit_sm got no answer within ``response_timeout_seconds``
  (an SMSC that went silent);
* ``generic_nack`` — a submit_sm answered generic_nack (an SMSC that does not
  take what we send);
* ``peer_unbind`` — a link the SMSC ended (unbind, close) after we had sent it
  submits and before ``threshold`` of them were answered (an SMSC that unbinds
  on every submit).

A real submit_sm_resp ends the runs of timeouts and nacks; a link that answered
``threshold`` submits ends the run of short links. When a run reaches
``threshold`` the breaker trips: :meth:`Breaker.failure` /
:meth:`Breaker.link_ended` return the pause, and the connector pauses every
bind and rebinds it after the pause. Failures during a pause do not trip it
again (they are the window already sent). After a pause it is half-open: one
more failure of the kind that tripped it trips it again, with the pause
doubled (up to ``max_pause``). It closes (``is_open`` False, the pause back to
``pause``) at the first real answer once no run of short links is going on.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Breaker", "Cause"]

Cause = Literal["timeout", "generic_nack", "peer_unbind"]


class Breaker:
    """One connector's breaker (see the module docstring); ``threshold`` 0 never trips."""

    __slots__ = ("_paused_until", "_runs", "max_pause", "pause", "threshold", "trips")

    def __init__(self, threshold: int, pause: float, max_pause: float) -> None:
        self.threshold = threshold
        self.pause = pause
        self.max_pause = max(max_pause, pause)
        self.trips = 0  # consecutive trips without a healthy answer in between (0: closed)
        self._runs: dict[Cause, int] = {"timeout": 0, "generic_nack": 0, "peer_unbind": 0}
        self._paused_until = 0.0

    @property
    def is_open(self) -> bool:
        return self.trips > 0

    def answered(self) -> None:
        """A real submit_sm_resp (any status): the SMSC answers."""
        runs = self._runs
        runs["timeout"] = runs["generic_nack"] = 0
        if self.trips and not runs["peer_unbind"]:
            self.trips = 0

    def failure(self, cause: Cause, now: float) -> float | None:
        """A submit timed out or was nacked; the pause if this trips the breaker."""
        if not self.threshold or now < self._paused_until:
            return None
        self._runs[cause] += 1
        if self._runs[cause] < self.threshold:
            return None
        return self._trip(cause, now)

    def link_ended(self, *, by_peer: bool, sent: int, answered: int, now: float) -> float | None:
        """A link ended; the pause if it was one short link too many."""
        if not self.threshold:
            return None
        if answered >= self.threshold:
            self._runs["peer_unbind"] = 0
            return None
        if not by_peer or not sent or now < self._paused_until:
            return None
        self._runs["peer_unbind"] += 1
        if self._runs["peer_unbind"] < self.threshold:
            return None
        return self._trip("peer_unbind", now)

    def _trip(self, cause: Cause, now: float) -> float:
        pause = min(self.pause * 2**self.trips, self.max_pause)
        self.trips += 1
        for other in self._runs:
            self._runs[other] = 0
        # Half-open: after the pause, one more failure of this kind trips it again.
        self._runs[cause] = self.threshold - 1
        self._paused_until = now + pause
        return pause
