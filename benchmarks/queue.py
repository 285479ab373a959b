"""Queue engine throughput with the loopback connector.

Enqueues N messages with COPY into a scratch database, runs the engine with the
loopback connector (receipts on by default) and measures messages/second from
the first claim until every message reached its final state (claim ->
submitted -> delivered through the receipt path). Prints a readable summary
and ends with one JSON line.

    python benchmarks/queue.py --messages 100000
    python benchmarks/queue.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the stdlib's `queue` (the issue asks for the name):
# take its folder off the import path before anything imports `queue`.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import anyio  # noqa: E402
import asyncpg  # noqa: E402
import psutil  # noqa: E402

from gateway import metrics  # noqa: E402
from gateway.config import EngineConfig, LoopbackConnectorConfig  # noqa: E402
from gateway.connectors.loopback import LoopbackConnector  # noqa: E402
from gateway.logs import configure_logging  # noqa: E402
from gateway.queue.database import connect, create_pool  # noqa: E402
from gateway.queue.engine import Engine  # noqa: E402
from gateway.queue.migrate import migrate  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


def histogram_mean(hist) -> float:
    total = count = 0.0
    for metric in hist.collect():
        for s in metric.samples:
            if s.name.endswith("_sum"):
                total = s.value
            elif s.name.endswith("_count"):
                count = s.value
    return total / count if count else 0.0


def histogram_quantile(hist, q: float) -> float:
    buckets = []
    for metric in hist.collect():
        for s in metric.samples:
            if s.name.endswith("_bucket"):
                buckets.append((float(s.labels["le"]), s.value))
    if not buckets:
        return 0.0
    total = buckets[-1][1]
    for le, cum in buckets:
        if cum >= q * total:
            return le
    return float("inf")


async def enqueue(url: str, n: int, instances: int) -> float:
    conn = await connect(url)
    try:
        started = time.perf_counter()
        chunk = 50_000
        for start in range(0, n, chunk):
            rows = [
                ("sms", f"15880{i % 4}", f"+8210{i:08d}", f"Your code is {i:06d}", "informational", 0, None, None, {})
                for i in range(start, min(n, start + chunk))
            ]
            await conn.copy_records_to_table(
                "outbox",
                schema_name="gateway",
                records=rows,
                columns=("channel", "sender", "recipient", "body", "kind", "priority", "campaign_id", "consent", "extras"),
            )
        return time.perf_counter() - started
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> dict:
    admin = await asyncpg.connect(args.database_url)
    name = f"gateway_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(args.database_url, name)
    try:
        conn = await connect(url)
        await migrate(conn)
        await conn.close()
        enqueue_s = await enqueue(url, args.messages, 1)
        pool = await create_pool(url, min_size=4, max_size=8)
        config = EngineConfig(
            claim_batch=args.claim_batch,
            max_in_flight=args.max_in_flight,
            flush_interval_ms=args.flush_ms,
            flush_max_rows=args.flush_rows,
        )
        connector = LoopbackConnector(
            LoopbackConnectorConfig(name="loop", receipts=not args.no_receipts, window=args.max_in_flight)
        )
        engine = Engine(pool, connectors={"loop": connector}, config=config, database_url=url)
        final_state = "submitted" if args.no_receipts else "delivered"
        check = await connect(url)
        started = time.perf_counter()
        peak_rss = 0
        proc = psutil.Process()
        samples = []
        async with anyio.create_task_group() as tg:
            await tg.start(engine.run)
            while True:
                await anyio.sleep(0.25)
                peak_rss = max(peak_rss, proc.memory_info().rss)
                done = await check.fetchval(
                    "SELECT count(*) FROM gateway.messages WHERE state = $1", final_state
                )
                elapsed = time.perf_counter() - started
                samples.append((elapsed, done))
                if not args.quiet:
                    print(f"\r  {elapsed:6.1f}s  {done:>8} {final_state}  {done / elapsed:9.0f} msg/s", end="", flush=True)
                if done >= args.messages:
                    break
                if elapsed > args.timeout:
                    raise SystemExit(f"timed out with {done} of {args.messages} {final_state}")
            elapsed = time.perf_counter() - started
            engine.stop()
        if not args.quiet:
            print()
        await check.close()
        await pool.close()
        # Sustained rate: between 10% and 90% completion (excludes ramp-up and tail).
        lo = next(s for s in samples if s[1] >= 0.1 * args.messages)
        hi = next(s for s in samples if s[1] >= 0.9 * args.messages)
        sustained = (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else args.messages / elapsed
        return {
            "messages": args.messages,
            "receipts": not args.no_receipts,
            "enqueue_copy_msg_per_s": round(args.messages / enqueue_s),
            "elapsed_s": round(elapsed, 2),
            "msg_per_s": round(args.messages / elapsed),
            "sustained_msg_per_s": round(sustained),
            "claim_mean_ms": round(histogram_mean(metrics.CLAIM_SECONDS) * 1000, 2),
            "claim_p99_ms_le": histogram_quantile(metrics.CLAIM_SECONDS, 0.99) * 1000,
            "claim_batch_mean": round(histogram_mean(metrics.CLAIM_BATCH), 1),
            "flush_mean_ms": round(histogram_mean(metrics.FLUSH_SECONDS) * 1000, 2),
            "flush_p99_ms_le": histogram_quantile(metrics.FLUSH_SECONDS, 0.99) * 1000,
            "flush_batch_mean": round(histogram_mean(metrics.FLUSH_BATCH), 1),
            "peak_rss_mib": round(peak_rss / 2**20, 1),
            "cpus": os.cpu_count(),
        }
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("GATEWAY_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--claim-batch", type=int, default=1000)
    parser.add_argument("--max-in-flight", type=int, default=10000)
    parser.add_argument("--flush-ms", type=int, default=20)
    parser.add_argument("--flush-rows", type=int, default=2000)
    parser.add_argument("--no-receipts", action="store_true")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    configure_logging("warning", "json")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(args))
    print("queue engine benchmark (loopback connector, PostgreSQL on the same host)")
    print(f"  messages            {result['messages']:>10}   receipts: {result['receipts']}")
    print(f"  enqueue (COPY)      {result['enqueue_copy_msg_per_s']:>10} msg/s")
    print(f"  end to end          {result['msg_per_s']:>10} msg/s  ({result['elapsed_s']} s)")
    print(f"  sustained (10-90%)  {result['sustained_msg_per_s']:>10} msg/s")
    print(f"  claim               {result['claim_mean_ms']:>10} ms mean, batch {result['claim_batch_mean']}")
    print(f"  flush               {result['flush_mean_ms']:>10} ms mean, batch {result['flush_batch_mean']}")
    print(f"  peak RSS            {result['peak_rss_mib']:>10} MiB")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
