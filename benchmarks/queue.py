"""Queue engine throughput with the loopback connector.

Enqueues N messages with COPY into a scratch database, runs the engine with the
loopback connector (receipts on by default) and measures messages/second from
the first claim until every message reached its final state (claim ->
submitted -> delivered through the receipt path). Prints a readable summary
and ends with one JSON line.

    python -m benchmarks.queue --messages 100000
    python -m benchmarks.queue --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import time

import anyio

from benchmarks._common import (
    add_common_arguments,
    copy_sms,
    histogram_mean,
    histogram_quantile,
    run_benchmark,
    scratch_database,
    sustained_rate,
    track_until,
)
from gateway import metrics
from gateway.connectors.config import LoopbackConnectorConfig
from gateway.connectors.loopback import LoopbackConnector
from gateway.db.pool import create_pool
from gateway.queue.config import EngineConfig
from gateway.queue.engine import Engine, new_owner
from gateway.queue.listener import Listener
from gateway.queue.store import PgStore


async def run(args: argparse.Namespace) -> dict:
    async with scratch_database(args.database_url) as url:
        started = time.perf_counter()
        await copy_sms(url, args.messages)
        enqueue_s = time.perf_counter() - started
        pool = await create_pool(url, min_size=4, max_size=8)
        config = EngineConfig(
            claim_batch=args.claim_batch,
            max_in_flight=args.max_in_flight,
            flush_interval_ms=args.flush_ms,
            flush_max_rows=args.flush_rows,
        )
        connector = LoopbackConnector(
            LoopbackConnectorConfig(
                name="loop",
                receipts=not args.no_receipts,
                receipt_delay_ms=args.receipt_delay_ms,
                window=args.max_in_flight,
            )
        )
        engine = Engine(
            PgStore(pool, owner=new_owner("bench")),
            {"loop": connector},
            config=config,
            listener=Listener(url, "gateway_outbox"),
        )
        final_state = "submitted" if args.no_receipts else "delivered"
        async with anyio.create_task_group() as tg:
            await tg.start(engine.run)
            elapsed, samples, peak_rss = await track_until(
                url, final_state, args.messages, timeout=args.timeout, quiet=args.quiet
            )
            engine.stop()
        await pool.close()
        return {
            "messages": args.messages,
            "receipts": not args.no_receipts,
            "receipt_delay_ms": args.receipt_delay_ms,
            "enqueue_copy_msg_per_s": round(args.messages / enqueue_s),
            "elapsed_s": round(elapsed, 2),
            "msg_per_s": round(args.messages / elapsed),
            "sustained_msg_per_s": round(sustained_rate(samples, args.messages)),
            "claim_mean_ms": round(histogram_mean(metrics.CLAIM_SECONDS) * 1000, 2),
            "claim_p99_ms_le": histogram_quantile(metrics.CLAIM_SECONDS, 0.99) * 1000,
            "claim_batch_mean": round(histogram_mean(metrics.CLAIM_BATCH), 1),
            "flush_mean_ms": round(histogram_mean(metrics.FLUSH_SECONDS) * 1000, 2),
            "flush_p99_ms_le": histogram_quantile(metrics.FLUSH_SECONDS, 0.99) * 1000,
            "flush_batch_mean": round(histogram_mean(metrics.FLUSH_BATCH), 1),
            "peak_rss_mib": round(peak_rss / 2**20, 1),
            "cpus": os.cpu_count(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, messages=100_000)
    parser.add_argument("--claim-batch", type=int, default=1000)
    parser.add_argument("--max-in-flight", type=int, default=10000)
    parser.add_argument("--flush-ms", type=int, default=20)
    parser.add_argument("--flush-rows", type=int, default=2000)
    parser.add_argument("--no-receipts", action="store_true")
    parser.add_argument(
        "--receipt-delay-ms",
        type=float,
        default=500.0,
        help="receipts this long after the submit (carriers take seconds; 0 = the worst case)",
    )
    args = parser.parse_args()
    result = run_benchmark(run, args)
    print("queue engine benchmark (loopback connector, PostgreSQL on the same host)")
    print(
        f"  messages            {result['messages']:>10}   receipts: {result['receipts']}"
        f" ({result['receipt_delay_ms']:.0f} ms after the submit)"
    )
    print(f"  enqueue (COPY)      {result['enqueue_copy_msg_per_s']:>10} msg/s")
    print(f"  end to end          {result['msg_per_s']:>10} msg/s  ({result['elapsed_s']} s)")
    print(f"  sustained (10-90%)  {result['sustained_msg_per_s']:>10} msg/s")
    print(f"  claim               {result['claim_mean_ms']:>10} ms mean, batch {result['claim_batch_mean']}")
    print(f"  flush               {result['flush_mean_ms']:>10} ms mean, batch {result['flush_batch_mean']}")
    print(f"  peak RSS            {result['peak_rss_mib']:>10} MiB")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
