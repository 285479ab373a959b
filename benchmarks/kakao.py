"""Kakao Alimtalk connector throughput against the NHN simulator (connector level).

Starts the simulator (in its own process by default, so that it does not share
the connector's CPU), runs the real ``KakaoConnector`` with an in-memory sink,
sends N messages that render one or more templates, and measures
messages/second from the first ``send`` until every message has its
SendResult (prepare + template check + batching + HTTP + answer parsing).
Prints a readable summary and ends with one JSON line.

    python -m benchmarks.kakao --messages 20000
    python -m benchmarks.kakao --messages 20000 --templates 4 --batch 500 --in-process

benchmarks/kakao_e2e.py measures the whole path: queue, engine, connector, provider
simulator, signed result webhook, delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Sequence

import anyio
import structlog

from gateway.kakao import InMemoryTemplateStore, KakaoConnector, KakaoConnectorConfig, Template
from gateway.port import InboundMessage, OutboundMessage, Outcome, Receipt, SendResult
from gateway.simulators.kakao import KakaoSimulator

SENDER = "BENCHSENDERKEY00000000000000000000000001"
BODY = "#{name}님, 주문 #{order}번이 발송되었습니다.\n도착 예정: #{date}\n배송 조회: #{url}"


class CountingSink:
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.outcomes: dict[str, int] = {}
        self.request_ids: set[str] = set()
        self.done = anyio.Event()
        self.count = 0

    def submit_result(self, result: SendResult) -> None:
        self.outcomes[result.outcome.value] = self.outcomes.get(result.outcome.value, 0) + 1
        if result.outcome is Outcome.SUBMITTED:
            self.request_ids.add(result.carrier_ids[0].rsplit(":", 1)[0])
        self.count += 1
        if self.count >= self.expected:
            self.done.set()

    async def store_receipts(self, receipts: Sequence[Receipt]) -> None:
        return None

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> None:
        return None


def start_simulator_process(latency: float) -> tuple[subprocess.Popen[str], str]:
    cmd = [
        sys.executable,
        "-m",
        "gateway.simulators.kakao",
        "--port",
        "0",
        "--app-key",
        "bench",
        "--secret-key",
        "bench-secret",
        "--latency",
        str(latency),
        "--mix",
        "delivered=1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "kakao simulator listening on http://127.0.0.1:PORT (...)"
    return proc, line.split(" on ", 1)[1].split(" ", 1)[0]


async def bench(args: argparse.Namespace, base_url: str) -> dict[str, object]:
    templates = [Template(SENDER, f"ORDER_{i}", BODY) for i in range(args.templates)]
    config = KakaoConnectorConfig(
        name="kakao-bench",
        base_url=base_url,
        app_key="bench",
        secret_key="bench-secret",
        max_batch=args.batch,
        max_concurrent_requests=args.concurrency,
        max_connections=args.concurrency * 2,
        queue_size=args.queue,
        batch_linger_seconds=0.02,
        results="webhook",
        webhook_secret="unused",
    )
    connector = KakaoConnector(config, InMemoryTemplateStore(templates))
    sink = CountingSink(args.messages)
    messages = [
        OutboundMessage(
            id=i,
            channel="alimtalk",
            sender=SENDER,
            recipient=f"+8210{i:08d}",
            body=f"고객{i}님, 주문 A-{i}번이 발송되었습니다.\n도착 예정: 5월 {i % 28 + 1}일\n배송 조회: https://t.example/{i}",
            extras={"template_code": f"ORDER_{i % args.templates}"},
        )
        for i in range(args.messages)
    ]
    async with anyio.create_task_group() as tg:
        await tg.start(connector.run, sink)
        started = time.perf_counter()
        for m in messages:
            await connector.send(m)
        await sink.done.wait()
        elapsed = time.perf_counter() - started
        tg.cancel_scope.cancel()
    return {
        "benchmark": "kakao_connector",
        "messages": args.messages,
        "templates": args.templates,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "simulator": "in-process" if args.in_process else "subprocess",
        "latency_ms": args.latency * 1000,
        "requests": len(sink.request_ids),
        "outcomes": sink.outcomes,
        "seconds": round(elapsed, 3),
        "msg_per_s": round(args.messages / elapsed, 1),
    }


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    if args.in_process:
        async with KakaoSimulator(app_key="bench", secret_key="bench-secret", latency=args.latency) as sim:
            return await bench(args, sim.base_url)
    proc, base_url = start_simulator_process(args.latency)
    try:
        return await bench(args, base_url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--templates", type=int, default=1, help="messages are spread over this many templates")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--queue", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.0, help="simulated provider latency, seconds")
    parser.add_argument("--in-process", action="store_true", help="run the simulator in this event loop")
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    if args.uvloop:
        import uvloop

        result = uvloop.run(main_async(args))
    else:
        result = asyncio.run(main_async(args))
    print(
        f"{result['messages']} messages in {result['seconds']} s over {result['requests']} requests "
        f"({result['simulator']} simulator): {result['msg_per_s']} msg/s; outcomes {result['outcomes']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
