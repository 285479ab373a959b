"""End-to-end SMPP throughput: queue -> engine -> SMPP connector -> SMSC simulator -> receipt -> final.

One connector with 4 binds and a window of 64 against the SMSC simulator
(a separate process, receipts on), PostgreSQL on the same host. The rate is
messages/second from the first claim until every message reached `delivered`
through its deliver_sm receipt. Prints a summary, ends with one JSON line.

    python -m benchmarks.smpp --messages 50000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import anyio
import psutil

from benchmarks._common import (
    add_common_arguments,
    copy_sms,
    histogram_mean,
    postgres_cpu,
    run_benchmark,
    scratch_database,
    sustained_rate,
    track_until,
)
from gateway import metrics
from gateway.db.pool import create_pool
from gateway.queue.config import EngineConfig
from gateway.queue.engine import Engine, new_owner
from gateway.queue.listener import Listener
from gateway.queue.store import PgStore
from gateway.smpp.config import SmppConnectorConfig
from gateway.smpp.connector import SmppConnector


def start_simulator(receipt_delay: float) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "simulate",
            "smsc",
            "--",
            "--port",
            "0",
            "--system-id",
            "bench",
            "--password",
            "bench-pw",
            "--receipt-delay",
            str(receipt_delay),
            "--stats-interval",
            "3600",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if '"smsc.listening"' in line:
            return proc, json.loads(line)["port"]
    raise SystemExit("the SMSC simulator did not start")


async def run(args: argparse.Namespace) -> dict:
    sim, port = start_simulator(args.receipt_delay)
    sim_ps = psutil.Process(sim.pid)
    try:
        async with scratch_database(args.database_url) as url:
            await copy_sms(url, args.messages, body="Your verification code is {i:06d}. Do not share it.")
            pool = await create_pool(url, min_size=4, max_size=8)
            connector = SmppConnector(
                SmppConnectorConfig.model_validate(
                    {
                        "name": "smsc",
                        "host": "127.0.0.1",
                        "port": port,
                        "system_id": "bench",
                        "password": "bench-pw",
                        "binds": args.binds,
                        "window": args.window,
                    }
                )
            )
            engine = Engine(
                PgStore(pool, owner=new_owner("bench")),
                {"smsc": connector},
                config=EngineConfig(
                    claim_batch=1000,
                    max_in_flight=10000,
                    flush_max_rows=2000,
                    journal=not args.no_journal,
                    bound_unrecorded=not args.no_bound,
                ),
                listener=Listener(url, "gateway_outbox"),
            )
            cpu: dict[str, float] = {}
            proc = psutil.Process()
            proc.cpu_percent()
            sim_ps.cpu_percent()
            t0 = proc.cpu_times()
            database = url.rsplit("/", 1)[1].split("?")[0]
            pg0 = postgres_cpu(database)

            def read_cpu() -> None:
                cpu["postgres_s"] = sum(t - pg0.get(pid, 0.0) for pid, t in postgres_cpu(database).items())
                cpu["gateway"] = proc.cpu_percent()
                cpu["simulator"] = sim_ps.cpu_percent()
                t1 = proc.cpu_times()
                cpu["gateway_s"] = (t1.user - t0.user) + (t1.system - t0.system)

            async with anyio.create_task_group() as tg:
                await tg.start(engine.run)
                elapsed, samples, peak_rss = await track_until(
                    url, "delivered", args.messages, timeout=args.timeout, quiet=args.quiet, on_done=read_cpu
                )
                engine.stop()
            await pool.close()
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return {
        "messages": args.messages,
        "binds": args.binds,
        "window": args.window,
        "receipts": True,
        "journal": not args.no_journal,
        "strict_bound": not args.no_bound,
        "elapsed_s": round(elapsed, 2),
        "msg_per_s": round(args.messages / elapsed),
        "sustained_msg_per_s": round(sustained_rate(samples, args.messages)),
        "flush_mean_ms": round(histogram_mean(metrics.FLUSH_SECONDS) * 1000, 2),
        "flush_batch_mean": round(histogram_mean(metrics.FLUSH_BATCH), 1),
        "claim_mean_ms": round(histogram_mean(metrics.CLAIM_SECONDS) * 1000, 2),
        "gateway_cpu_pct": round(cpu["gateway"]),
        # CPU time of this process (the engine, the connector, asyncpg) per message: less
        # sensitive than msg/s to what else the machine is doing.
        "gateway_cpu_us_per_msg": round(1e6 * cpu["gateway_s"] / args.messages, 1),
        # The PostgreSQL backends serving the benchmark's database (when the server runs here).
        "postgres_cpu_us_per_msg": round(1e6 * cpu["postgres_s"] / args.messages, 1),
        "simulator_cpu_pct": round(cpu["simulator"]),
        "peak_rss_mib": round(peak_rss / 2**20, 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, messages=50_000)
    parser.add_argument("--binds", type=int, default=4)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--receipt-delay", type=float, default=0.0)
    parser.add_argument("--no-journal", action="store_true", help="no send journal (every crashed claim flagged)")
    parser.add_argument("--no-bound", action="store_true", help="no strict duplicate bound")
    args = parser.parse_args()
    r = run_benchmark(run, args)
    print("SMPP end-to-end benchmark (queue -> 1 connector -> SMSC simulator -> receipts -> delivered)")
    print(f"  messages          {r['messages']:>10}   binds {r['binds']}, window {r['window']}, receipts on")
    print(f"  end to end        {r['msg_per_s']:>10} msg/s  ({r['elapsed_s']} s)")
    print(f"  sustained 10-90%  {r['sustained_msg_per_s']:>10} msg/s")
    print(f"  CPU               gateway {r['gateway_cpu_pct']} %, simulator {r['simulator_cpu_pct']} % (of one core)")
    print(
        f"  CPU per message   gateway {r['gateway_cpu_us_per_msg']} us, PostgreSQL {r['postgres_cpu_us_per_msg']} us"
        " (its backends for this database)"
    )
    print(f"  peak RSS          {r['peak_rss_mib']:>10} MiB")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
