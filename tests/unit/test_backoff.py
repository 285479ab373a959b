"""The one back-off formula every retry loop uses."""

from __future__ import annotations

import random

import pytest

from gateway.backoff import Backoff


def test_backoff_grows_exponentially_and_is_capped() -> None:
    """Back-off doubles per attempt, never exceeds the cap, and jitter only shortens it."""
    rng = random.Random(1)
    delays = [Backoff(1.0, 30.0).delay(a, rng) for a in range(1, 8)]
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    jittered = [Backoff(1.0, 30.0, jitter=0.5).delay(3, rng) for _ in range(100)]
    assert all(2.0 <= d <= 4.0 for d in jittered)


def test_full_jitter_stays_under_the_ceiling_and_varies() -> None:
    """jitter = 1 draws from (0, ceiling]: never above it, never twice the same."""
    rng = random.Random(2)
    delays = [Backoff(0.2, 5.0, jitter=1.0).delay(4, rng) for _ in range(50)]
    assert all(0 < d <= 1.6 for d in delays) and len(set(delays)) > 40


@pytest.mark.parametrize(("initial", "maximum", "jitter"), [(-1, 1, 0), (1, -1, 0), (1, 1, 1.5), (1, 1, -0.1)])
def test_nonsense_settings_are_refused(initial: float, maximum: float, jitter: float) -> None:
    """Negative delays or a jitter outside [0, 1] are configuration mistakes, refused at once."""
    with pytest.raises(ValueError):
        Backoff(initial, maximum, jitter)
