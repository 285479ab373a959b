"""The circuit breaker, driven by an injected clock (back-off is :mod:`gateway.backoff`).

It neither sleeps nor reads the time by itself: it takes a ``clock``
(``time.monotonic`` in production, a fake in tests); the connector does the
sleeping.

Circuit breaker states::

    closed --(threshold consecutive failures)--> open
    open   --(open_seconds elapsed, one caller allowed through)--> half-open
    half-open --(that call succeeds)--> closed
    half-open --(that call fails)--> open (timer restarted)

Only "provider unavailable" failures (connection errors, timeouts, 5xx) count.
A definite answer, even a rejection, proves the provider is up; 429 neither
opens nor closes the breaker (the provider is up but wants us slower).

State changes are logged as ``{prefix}.breaker.opened`` / ``.closed`` /
``.half_open`` with the connector's name. The prefix is the connector kind
(``nhn_sms``, ``kakao``): passed as ``event_prefix``, or fixed by a subclass in
the class attribute of the same name, so that a connector's own breaker keeps
its event names wherever it is built.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import ClassVar

import structlog

__all__ = ["BreakerState", "CircuitBreaker"]

log = structlog.get_logger("gateway.httpclient")


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    event_prefix: ClassVar[str] = "httpclient"  # the log events' prefix when none is passed

    def __init__(
        self,
        *,
        failure_threshold: int,
        open_seconds: float,
        clock: Callable[[], float],
        name: str = "",
        event_prefix: str | None = None,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self._clock = clock
        self._name = name
        self._prefix = event_prefix if event_prefix is not None else type(self).event_prefix
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.open_seconds:
            return BreakerState.HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """May a request go out now? In half-open state, lets exactly one probe through."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probe_out:
            if self._state is not BreakerState.HALF_OPEN:
                self._set(BreakerState.HALF_OPEN)
            self._probe_out = True
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until a request may be tried again (for parked messages)."""
        state = self.state
        if state is BreakerState.OPEN:
            return max(0.0, self.open_seconds - (self._clock() - self._opened_at))
        if state is BreakerState.HALF_OPEN:
            return min(self.open_seconds, 1.0)  # a probe is deciding
        return 0.0

    def record_success(self) -> None:
        self._failures = 0
        self._probe_out = False
        if self._state is not BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or (
            self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold
        ):
            self._opened_at = self._clock()
            self._probe_out = False
            self._set(BreakerState.OPEN)

    def release_probe(self) -> None:
        """A probe ended without a verdict (e.g. 429): let another one through."""
        self._probe_out = False

    def _set(self, state: BreakerState) -> None:
        self._state = state
        if state is BreakerState.OPEN:
            log.warning(
                f"{self._prefix}.breaker.opened",
                connector=self._name,
                open_seconds=self.open_seconds,
                failures=self._failures,
            )
        elif state is BreakerState.CLOSED:
            log.info(f"{self._prefix}.breaker.closed", connector=self._name)
        else:
            log.info(f"{self._prefix}.breaker.half_open", connector=self._name)
        if self._on_change is not None:
            self._on_change(state)
