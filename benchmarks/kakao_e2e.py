"""Alimtalk end to end: queue -> engine -> Kakao connector (send journal in PostgreSQL) -> provider
simulator -> NHN's result webhook (the documented hook, X-Toast-Webhook-Signature) -> daemon HTTP -> delivered.

The simulator runs in its own process and posts results to the daemon's
webhook in NHN's documented shape; the gap-filler reads NHN's result-update
query behind it. The rate is messages/second from the daemon's start until
every message is `delivered` from its provider result. (benchmarks/kakao.py
measures the connector alone.) Prints a summary and ends with one JSON line.

    python -m benchmarks.kakao_e2e --messages 20000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio

from benchmarks._common import (
    add_common_arguments,
    free_port,
    run_benchmark,
    scratch_database,
    sustained_rate,
    track_until,
)
from gateway.config import parse_config
from gateway.daemon import Daemon
from gateway.db.pool import connect
from gateway.kakao import sync_templates

SENDER = "BENCHSENDERKEY00000000000000000000000001"
SECRET = "bench-hook-secret"


def start_simulator(webhook_port: int, result_delay: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "simulate",
            "kakao",
            "--",
            "--port",
            "0",
            "--result-delay",
            str(result_delay),
            "--mix",
            "delivered=1",
            "--webhook-url",
            f"http://127.0.0.1:{webhook_port}/reports/kakao/results",
            "--webhook-secret",
            SECRET,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"(http://[0-9.]+:\d+)", line)
        if match:
            return proc, match.group(1)
    raise SystemExit("the Kakao simulator did not start")


async def run(args: argparse.Namespace) -> dict:
    port = free_port()
    sim, base_url = start_simulator(port, args.result_delay)
    try:
        async with scratch_database(args.database_url) as url:
            conn = await connect(url)
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "t.yaml"
                    path.write_text(
                        f"- sender_key: {SENDER}\n  template_code: ORDER\n"
                        f"  body: '#{{name}}님, 주문 #{{order}}번이 접수되었습니다.'\n  status: approved\n",
                        encoding="utf-8",
                    )
                    await sync_templates(conn, path)
                rows = [
                    (
                        "alimtalk",
                        SENDER,
                        f"+8210{i:08d}",
                        f"고객{i % 100}님, 주문 A-{i}번이 접수되었습니다.",
                        "informational",
                        0,
                        None,
                        None,
                        {"template_code": "ORDER"},
                    )
                    for i in range(args.messages)
                ]
                await conn.copy_records_to_table(
                    "outbox",
                    schema_name="gateway",
                    records=rows,
                    columns=(
                        "channel",
                        "sender",
                        "recipient",
                        "body",
                        "kind",
                        "priority",
                        "campaign_id",
                        "consent",
                        "extras",
                    ),
                )
            finally:
                await conn.close()
            config = parse_config(
                {
                    "http": {"port": port},
                    "admin": {"port": 0},
                    "engine": {"claim_batch": 1000, "max_in_flight": 10000},
                    "connectors": [
                        {
                            "type": "kakao",
                            "name": "kakao",
                            "base_url": base_url,
                            "app_key": "sim-app-key",
                            "secret_key": "sim-secret",
                            "webhook_secret": SECRET,
                        }
                    ],
                }
            )
            daemon = Daemon(config, database_url=url)
            async with anyio.create_task_group() as tg:
                await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
                elapsed, samples, peak_rss = await track_until(
                    url, "delivered", args.messages, timeout=args.timeout, quiet=args.quiet
                )
                daemon.stop()
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return {
        "messages": args.messages,
        "result_delay_s": args.result_delay,
        "elapsed_s": round(elapsed, 2),
        "msg_per_s": round(args.messages / elapsed),
        "sustained_msg_per_s": round(sustained_rate(samples, args.messages)),
        "peak_rss_mib": round(peak_rss / 2**20, 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, messages=20_000)
    parser.add_argument("--result-delay", type=float, default=0.0, help="seconds until the provider's result")
    args = parser.parse_args()
    r = run_benchmark(run, args)
    print("Alimtalk end-to-end benchmark (queue -> Kakao connector -> simulator -> NHN's webhook -> delivered)")
    print(f"  messages          {r['messages']:>10}")
    print(f"  end to end        {r['msg_per_s']:>10} msg/s  ({r['elapsed_s']} s)")
    print(f"  sustained 10-90%  {r['sustained_msg_per_s']:>10} msg/s")
    print(f"  peak RSS          {r['peak_rss_mib']:>10} MiB")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
