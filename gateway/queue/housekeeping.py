"""Periodic jobs as an explicit list: each has a name, a period and a coroutine.

A job that raises is logged and counted (``gateway_database_errors_total``
with the job's name) and tried again next period; one failing job never stops
the others.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio
import structlog

from gateway import metrics

__all__ = ["Job", "run_jobs"]

log = structlog.get_logger("gateway.housekeeping")


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    period: float  # seconds between runs
    run: Callable[[], Awaitable[None]]


async def run_jobs(jobs: Sequence[Job], *, tick: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
    """Run each job every ``period`` seconds (the first run at once), until cancelled."""
    last = {job.name: float("-inf") for job in jobs}
    while True:
        now = clock()
        for job in jobs:
            if now - last[job.name] < job.period:
                continue
            last[job.name] = now
            try:
                await job.run()
            except Exception as exc:  # noqa: BLE001 - retried next period
                metrics.DB_ERRORS.labels(job.name).inc()
                log.warning("engine.housekeeping.failed", job=job.name, error=str(exc))
        await anyio.sleep(tick)
