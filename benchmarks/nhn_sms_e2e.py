"""Korean SMS and LMS end to end: queue -> engine -> NHN Cloud SMS connector -> NHN SMS
simulator -> result webhook -> daemon HTTP -> delivered.

The simulator runs in its own process and posts results to the daemon's
webhook; the rate is messages/second from the daemon's start until every
message is `delivered` from its NHN result. The traffic is half SMS (a notice
of at most 90 bytes) and half LMS (a longer notice): campaign traffic, where
NHN takes up to 1,000 recipients per request because every recipient gets the
same text. With ``--personal`` every message has its own text, so every message
is its own request (OTPs, order notices): that measures HTTP requests per
second, not recipients. Prints a summary and ends with one JSON line.

    python -m benchmarks.nhn_sms_e2e --messages 100000
    python -m benchmarks.nhn_sms_e2e --messages 20000 --personal
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import anyio
import psutil

from benchmarks._common import (
    COLUMNS,
    add_common_arguments,
    cpu_seconds,
    free_port,
    postgres_cpu,
    run_benchmark,
    scratch_database,
    sustained_rate,
    track_until,
)
from gateway.config import parse_config
from gateway.db.pool import connect

SENDER = "15446859"
SECRET = "bench-nhn-signature"
SMS_TEXT = "[쇼핑] 오늘 주문하신 상품이 출고되었습니다. 감사합니다."
LMS_TEXT = (
    "[쇼핑] 배송 안내\n주문하신 상품이 오늘 출고되었습니다. 택배사 사정에 따라 배송이 하루 이틀 늦어질 수 있습니다. "
    "배송 조회는 앱의 '주문 내역'에서 하실 수 있습니다. 감사합니다."
)


def start_simulator(webhook_port: int, result_delay: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "simulate",
            "nhn-sms",
            "--",
            "--port",
            "0",
            "--result-delay",
            str(result_delay),
            "--mix",
            "delivered=1",
            "--send-no",
            SENDER,
            "--webhook-url",
            f"http://127.0.0.1:{webhook_port}/reports/nhn-sms/results",
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
    raise SystemExit("the NHN SMS simulator did not start")


def rows(n: int, personal: bool) -> list[tuple]:
    out = []
    for i in range(n):
        lms = i % 2 == 1
        text = LMS_TEXT if lms else SMS_TEXT
        if personal:
            text = f"{text} ({i})"
        out.append(("sms", SENDER, f"+8210{i:08d}", text, "informational", 0, None, None, {}))
    return out


async def run(args: argparse.Namespace) -> dict:
    port = free_port()
    sim, base_url = start_simulator(port, args.result_delay)
    me, peer = psutil.Process(), psutil.Process(sim.pid)
    cpu: dict[str, float] = {}

    try:
        async with scratch_database(args.database_url) as url:
            conn = await connect(url)
            try:
                records = rows(args.messages, args.personal)
                for start in range(0, len(records), 50_000):
                    await conn.copy_records_to_table(
                        "outbox", schema_name="gateway", records=records[start : start + 50_000], columns=COLUMNS
                    )
            finally:
                await conn.close()
            config = parse_config(
                {
                    "http": {"port": port},
                    "engine": {"claim_batch": 2000, "max_in_flight": 20000},
                    "policy": {"fatigue": {"enabled": False}, "dedupe": {"enabled": False}},
                    "connectors": [
                        {
                            "type": "nhn_sms",
                            "name": "nhn-sms",
                            "base_url": base_url,
                            "app_key": "sim-sms-app-key",
                            "secret_key": "sim-sms-secret",
                            "webhook_secret": SECRET,
                            "queue_size": 20000,
                            "max_concurrent_requests": args.concurrency,
                        }
                    ],
                }
            )
            from gateway.daemon import Daemon

            daemon = Daemon(config, database_url=url)
            async with anyio.create_task_group() as tg:
                await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
                database = url.rsplit("/", 1)[1].split("?")[0]
                cpu0 = (cpu_seconds(me), cpu_seconds(peer))
                pg0 = postgres_cpu(database)

                def done() -> None:
                    cpu["daemon"] = cpu_seconds(me) - cpu0[0]
                    cpu["simulator"] = cpu_seconds(peer) - cpu0[1]
                    cpu["postgres"] = sum(t - pg0.get(pid, 0.0) for pid, t in postgres_cpu(database).items())

                elapsed, samples, peak_rss = await track_until(
                    url, "delivered", args.messages, timeout=args.timeout, quiet=args.quiet, on_done=done
                )
                daemon.stop()
            check = await connect(url)
            try:
                kinds = {
                    r["type"]: r["n"]
                    for r in await check.fetch(
                        "SELECT detail ->> 'message_type' AS type, count(*) AS n FROM gateway.events "
                        "WHERE state = 'submitted' GROUP BY 1"
                    )
                }
            finally:
                await check.close()
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return {
        "messages": args.messages,
        "traffic": "personal" if args.personal else "campaign",
        "sms": kinds.get("sms", 0),
        "lms": kinds.get("lms", 0),
        "result_delay_s": args.result_delay,
        "elapsed_s": round(elapsed, 2),
        "msg_per_s": round(args.messages / elapsed),
        "sustained_msg_per_s": round(sustained_rate(samples, args.messages)),
        "peak_rss_mib": round(peak_rss / 2**20, 1),
        "daemon_cpu_s": round(cpu["daemon"], 1),
        "simulator_cpu_s": round(cpu["simulator"], 1),
        "postgres_cpu_s": round(cpu["postgres"], 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, messages=100_000)
    parser.add_argument("--result-delay", type=float, default=0.0, help="seconds until NHN's result")
    parser.add_argument("--personal", action="store_true", help="a text per message: one request per message")
    parser.add_argument("--concurrency", type=int, default=8, help="max_concurrent_requests")
    args = parser.parse_args()
    r = run_benchmark(run, args)
    print("NHN Cloud SMS end-to-end benchmark (queue -> NHN SMS connector -> simulator -> webhook -> delivered)")
    print(f"  messages          {r['messages']:>10}  ({r['sms']} SMS, {r['lms']} LMS, {r['traffic']} traffic)")
    print(f"  end to end        {r['msg_per_s']:>10} msg/s  ({r['elapsed_s']} s)")
    print(f"  sustained 10-90%  {r['sustained_msg_per_s']:>10} msg/s")
    print(f"  peak RSS          {r['peak_rss_mib']:>10} MiB")
    print(
        f"  CPU seconds       {r['daemon_cpu_s']:>10} daemon, {r['simulator_cpu_s']} simulator,"
        f" {r['postgres_cpu_s']} PostgreSQL (the backends serving this database)"
    )
    print(json.dumps(r))


if __name__ == "__main__":
    main()
