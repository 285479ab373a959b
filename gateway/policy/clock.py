"""The wall clock the policy reads, as something a test or a dry run can set.

The policy's rules never read the time themselves: :func:`gateway.policy.evaluate`
takes ``now``. Whoever calls them holds a :data:`Clock` — the engine
(``Engine(wall_clock=...)``, ``Daemon(clock=...)``), ``gateway policy explain --at``
— which is :func:`system_clock` in production and a :class:`FixedClock` in tests
and dry runs ("what happens to this message on 14 July at noon in Paris?").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "FixedClock", "parse_instant", "system_clock"]

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told: ``FixedClock(at)``, then ``advance(seconds)`` or ``set(at)``."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def advance(self, seconds: float) -> None:
        self.at = self.at + timedelta(seconds=seconds)

    def __call__(self) -> datetime:
        return self.at

    def __repr__(self) -> str:
        return f"FixedClock({self.at.isoformat()})"


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with its UTC offset ("2026-07-14T12:00+02:00", "...Z"); ValueError otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time such as 2026-07-14T12:00+02:00") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{text!r} has no UTC offset: write it as 2026-07-14T12:00+02:00 (or ...Z)")
    return moment
