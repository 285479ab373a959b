"""Cluster-wide rate limit accuracy: 1 and 3 instances sharing one sender's limit.

Each instance is what a daemon would have - its own asyncpg pool, a
``ClusterTokens`` taking tokens from ``gateway.rate_buckets`` and a
``Dispatcher`` - all in this one process, against a scratch database on the
given server (created, migrated and dropped here). Every instance always has
work waiting (messages of 1-3 segments), and its ``send`` records when each
message went. Prints, per run, the achieved vs the configured rate and the
worst 1 s and 10 s windows (sliding, starting at every send), and ends with
one JSON line whose ``worst_10s_over_pct`` says how far the 3-instance run's
worst 10 s window went over ``rate * 10 s`` (0 if never). The configured
burst is allowed on top of the rate, so up to ``burst / (rate * 10) * 100`` %
is within the limit as configured.

    python -m benchmarks.ratelimit
    python -m benchmarks.ratelimit --rate 1000 --burst 100 --seconds 15
    python -m benchmarks.ratelimit --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import anyio
import asyncpg

from gateway.db.migrate import migrate
from gateway.db.pool import connect, create_pool
from gateway.logs import configure_logging
from gateway.ratelimit import (
    ClusterConfig,
    ClusterTokens,
    ConnectorLimitsConfig,
    Dispatcher,
    PgRateStore,
    RateSpec,
)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SENDER = "1588-0000"
COSTS = (1, 1, 2, 1, 3)  # segments per message, in turn


@dataclass(frozen=True, slots=True)
class Msg:
    id: int
    cost: int
    sender: str = SENDER
    kind: str = "informational"
    priority: int = 0
    campaign_id: str | None = None


class CountingStore(PgRateStore):
    """PgRateStore that counts its take statements (database load)."""

    takes = 0

    async def take(self, requests):  # type: ignore[override]
        CountingStore.takes += 1
        return await super().take(requests)


def with_database(url: str, name: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


def worst_window(events: Sequence[tuple[float, float]], window: float) -> float:
    """Most cost in any window [t, t + window) starting at a send."""
    times = [t for t, _ in events]
    prefix = list(itertools.accumulate((c for _, c in events), initial=0.0))
    worst = 0.0
    for i, t in enumerate(times):
        j = bisect.bisect_left(times, t + window)
        worst = max(worst, prefix[j] - prefix[i])
    return worst


async def run_fleet(url: str, *, instances: int, rate: float, burst: float, seconds: float, run_id: str) -> dict:
    connector = f"bench-{run_id}"  # a fresh bucket per run
    limits = ConnectorLimitsConfig(senders={SENDER: RateSpec(rate=rate, burst=burst)})
    events: list[tuple[float, float]] = []
    per_instance = [0.0] * instances
    pools = [await create_pool(url, min_size=1, max_size=2) for _ in range(instances)]
    CountingStore.takes = 0
    ids = itertools.count()
    try:
        async with anyio.create_task_group() as tg:
            for i, pool in enumerate(pools):
                tokens = ClusterTokens(
                    CountingStore(pool), instance=f"bench-{run_id}-{i}", config=ClusterConfig(enabled=True)
                )

                async def send(m: Msg, i: int = i) -> None:
                    events.append((anyio.current_time(), m.cost))
                    per_instance[i] += m.cost

                dispatcher: Dispatcher[Msg] = Dispatcher(
                    connector=connector, limits=limits, send=send, tokens=tokens, max_waiting=2_000
                )
                await tg.start(tokens.run)
                await tg.start(dispatcher.run)

                async def feed(dispatcher: Dispatcher[Msg] = dispatcher) -> None:
                    while True:
                        n = next(ids)
                        await dispatcher.put(Msg(n, COSTS[n % len(COSTS)]), COSTS[n % len(COSTS)])

                tg.start_soon(feed)
            start = anyio.current_time()
            await anyio.sleep(seconds)
            end = anyio.current_time()
            tg.cancel_scope.cancel()
    finally:
        for pool in pools:
            await pool.close()
    events = sorted(e for e in events if start <= e[0] <= end)
    total = sum(c for _, c in events)
    steady = sum(c for t, c in events if t >= start + 1.0)
    worst_1s = worst_window(events, 1.0)
    worst_10s = worst_window(events, 10.0) if seconds >= 10 else None
    return {
        "instances": instances,
        "seconds": round(end - start, 2),
        "configured_per_s": rate,
        "burst": burst,
        "achieved_per_s": round(total / (end - start), 1),
        "steady_per_s": round(steady / (end - start - 1.0), 1),
        "worst_1s": worst_1s,
        "worst_1s_over_pct": round(max(0.0, worst_1s / rate - 1) * 100, 2),
        "worst_10s": worst_10s,
        "worst_10s_over_pct": None if worst_10s is None else round(max(0.0, worst_10s / (rate * 10) - 1) * 100, 2),
        "share_per_instance_pct": [round(100 * x / total, 1) for x in per_instance] if total else [],
        "take_statements_per_s": round(CountingStore.takes / (end - start), 1),
    }


async def main_async(args: argparse.Namespace) -> dict:
    admin = await asyncpg.connect(args.database_url)
    name = f"gateway_bench_rl_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(args.database_url, name)
    try:
        conn = await connect(url)
        await migrate(conn)
        await conn.close()
        runs = []
        for n in (1, 3):
            runs.append(
                await run_fleet(
                    url, instances=n, rate=args.rate, burst=args.burst, seconds=args.seconds, run_id=f"{n}x"
                )
            )
        return {"runs": runs}
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("GATEWAY_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--rate", type=float, default=1_000.0, help="configured segments/s for the sender")
    parser.add_argument("--burst", type=float, default=100.0, help="configured burst, segments")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each run (>= 10 for the 10 s window)")
    args = parser.parse_args()
    configure_logging("warning", "json")
    result = anyio.run(main_async, args)
    print(
        f"ratelimit benchmark: one sender at {args.rate:g} segments/s, burst {args.burst:g}, {args.seconds:g} s per run"
    )
    print(
        "  instances  achieved/s  steady/s  configured  worst 1 s (over %)  worst 10 s (over %)"
        "  share %          takes/s"
    )
    for r in result["runs"]:
        w10 = "-" if r["worst_10s"] is None else f"{r['worst_10s']:>8g} ({r['worst_10s_over_pct']:5.2f})"
        print(
            f"  {r['instances']:>9}  {r['achieved_per_s']:>10}  {r['steady_per_s']:>8}  {r['configured_per_s']:>10g}"
            f"  {r['worst_1s']:>8g} ({r['worst_1s_over_pct']:5.2f})    {w10:>19}  "
            f"{r['share_per_instance_pct']!s:<16} {r['take_statements_per_s']:>7}"
        )
    three = next(r for r in result["runs"] if r["instances"] == 3)
    one = next(r for r in result["runs"] if r["instances"] == 1)
    summary = {
        "benchmark": "ratelimit",
        "configured_per_s": args.rate,
        "burst": args.burst,
        "seconds": args.seconds,
        "achieved_per_s_1": one["achieved_per_s"],
        "achieved_per_s_3": three["achieved_per_s"],
        "steady_per_s_1": one["steady_per_s"],
        "steady_per_s_3": three["steady_per_s"],
        "worst_1s_1": one["worst_1s"],
        "worst_1s_3": three["worst_1s"],
        "worst_10s_1": one["worst_10s"],
        "worst_10s_3": three["worst_10s"],
        "worst_1s_over_pct": three["worst_1s_over_pct"],
        "worst_10s_over_pct": three["worst_10s_over_pct"] if three["worst_10s_over_pct"] is not None else 0.0,
        "take_statements_per_s_3": three["take_statements_per_s"],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
