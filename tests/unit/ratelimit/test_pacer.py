"""The awaitable bucket a connector can use for per-bind limits."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from gateway.ratelimit import Pacer

pytestmark = pytest.mark.anyio


async def test_waiters_are_served_in_arrival_order_so_a_large_cost_is_not_starved() -> None:
    """A 5-unit acquire queued before 1-unit ones completes before them."""
    pacer = Pacer(rate=200, burst=5)
    await pacer.acquire(5)  # empty the bucket
    done: list[str] = []

    async def take(name: str, cost: float) -> None:
        await pacer.acquire(cost)
        done.append(name)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, "big", 5)
        await anyio.lowlevel.checkpoint()
        for i in range(3):
            tg.start_soon(take, f"small{i}", 1)
    assert done == ["big", "small0", "small1", "small2"]


async def test_acquire_within_the_burst_does_not_wait() -> None:
    """A full bucket lets its burst through at once, and the next unit waits for time to pass."""
    now = [100.0]
    pacer = Pacer(rate=1, burst=3, clock=lambda: now[0])
    with anyio.fail_after(1):
        for _ in range(3):
            await pacer.acquire(1)
    with anyio.move_on_after(0.05) as scope:
        await pacer.acquire(1)  # the fake clock never advances: this must wait
    assert scope.cancelled_caught
