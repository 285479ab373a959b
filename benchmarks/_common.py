"""Shared helpers of the benchmarks: scratch databases, fast enqueue, histogram summaries."""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil

from gateway.db.migrate import migrate
from gateway.db.pool import connect

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
COLUMNS = ("channel", "sender", "recipient", "body", "kind", "priority", "campaign_id", "consent", "extras")


def with_database(url: str, name: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, prefix: str = "gateway_bench") -> AsyncIterator[str]:
    """A migrated database that exists for the duration of the block."""
    admin = await asyncpg.connect(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    try:
        conn = await connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def copy_sms(url: str, n: int, *, body: str = "Your code is {i:06d}", senders: int = 4) -> None:
    """COPY n informational SMS into the outbox."""
    conn = await connect(url)
    try:
        chunk = 50_000
        for start in range(0, n, chunk):
            rows = [
                ("sms", f"15880{i % senders}", f"+8210{i:08d}", body.format(i=i), "informational", 0, None, None, {})
                for i in range(start, min(n, start + chunk))
            ]
            await conn.copy_records_to_table("outbox", schema_name="gateway", records=rows, columns=COLUMNS)
    finally:
        await conn.close()


def _samples(hist: Any) -> list[Any]:
    return [s for metric in hist.collect() for s in metric.samples]


def histogram_mean(hist: Any) -> float:
    total = count = 0.0
    for s in _samples(hist):
        if s.name.endswith("_sum"):
            total += s.value
        elif s.name.endswith("_count"):
            count += s.value
    return total / count if count else 0.0


def histogram_quantile(hist: Any, q: float) -> float:
    """Upper bound of the bucket holding quantile q (Prometheus-style, coarse)."""
    buckets = [(float(s.labels["le"]), s.value) for s in _samples(hist) if s.name.endswith("_bucket")]
    if not buckets:
        return 0.0
    total = buckets[-1][1]
    for le, cum in buckets:
        if cum >= q * total:
            return le
    return float("inf")


def sustained_rate(samples: list[tuple[float, int]], total: int) -> float:
    """Messages/s between 10% and 90% completion (excludes ramp-up and tail)."""
    lo = next(s for s in samples if s[1] >= 0.1 * total)
    hi = next(s for s in samples if s[1] >= 0.9 * total)
    return (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else 0.0


async def track_until(
    url: str, state: str, total: int, *, timeout: float, quiet: bool, on_done: Any = None
) -> tuple[float, list[tuple[float, int]], int]:
    """Poll the message log until `total` messages are in `state`; show progress.

    Returns (elapsed seconds, samples of (elapsed, count), peak RSS of this process).
    `on_done` is called right when the count is reached (e.g. to read CPU counters).
    """
    import time

    import anyio
    import psutil

    check = await connect(url)
    proc = psutil.Process()
    peak_rss = 0
    samples: list[tuple[float, int]] = []
    started = time.perf_counter()
    try:
        while True:
            await anyio.sleep(0.25)
            peak_rss = max(peak_rss, proc.memory_info().rss)
            done = await check.fetchval("SELECT count(*) FROM gateway.messages WHERE state = $1", state)
            elapsed = time.perf_counter() - started
            samples.append((elapsed, done))
            if not quiet:
                print(f"\r  {elapsed:6.1f}s  {done:>8} {state}  {done / elapsed:9.0f} msg/s", end="", flush=True)
            if done >= total:
                if on_done is not None:
                    on_done()
                break
            if elapsed > timeout:
                raise SystemExit(f"timed out with {done} of {total} {state}")
    finally:
        await check.close()
    if not quiet:
        print()
    return elapsed, samples, peak_rss


def add_common_arguments(parser: Any, *, messages: int) -> None:
    """--messages, --database-url, --timeout, --quiet: the same in every end-to-end benchmark."""
    import os

    parser.add_argument("--messages", type=int, default=messages)
    parser.add_argument("--database-url", default=os.environ.get("GATEWAY_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--quiet", action="store_true")


def run_benchmark(main: Any, args: Any) -> dict:
    """Quiet logs, uvloop where installed, run ``main(args)``; returns its figures."""
    import asyncio

    from gateway.logs import configure_logging

    configure_logging("warning", "json")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(main(args))


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving ``database`` (when the server runs on this machine)."""
    found = {}
    for p in psutil.process_iter(["cmdline"]):
        try:
            title = " ".join(p.info["cmdline"] or ())
            if title.startswith("postgres:") and f" {database} " in title:
                found[p.pid] = cpu_seconds(p)
        except psutil.Error:
            pass
    return found


def cpu_seconds(p: psutil.Process) -> float:
    """User + system CPU seconds of one process."""
    t = p.cpu_times()
    return t.user + t.system
