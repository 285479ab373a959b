"""Helpers for the Kakao connector tests: a fake sink, templates, messages, a harness
that runs the real connector against the simulator over loopback HTTP, and NHN's
documented shapes (tests/contract/nhn_alimtalk) made concrete."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from gateway.kakao import InMemoryTemplateStore, KakaoConnector, KakaoConnectorConfig, Template
from gateway.port import InboundMessage, OutboundMessage, Outcome, Receipt, SendResult
from gateway.simulators.kakao import KakaoSimulator

SENDER = "SENDERKEY0000000000000000000000000000001"
CONTRACT = Path(__file__).resolve().parents[1] / "contract" / "nhn_alimtalk"
# NHN's shapes name types where values go; a concrete value of each type
TYPE_VALUES: dict[str, Any] = {"String": "s", "Integer": 1, "boolean": True, "Boolean": True}


def fixture(name: str) -> dict[str, Any]:
    """One transcribed NHN document (``tests/contract/nhn_alimtalk/<name>``), with its ``_source``."""
    return json.loads((CONTRACT / name).read_text("utf-8"))


def concrete(shape: Any, values: Mapping[str, Any] | None = None) -> Any:
    """The documented shape with a value of its type in every place (``values`` by key name first)."""
    values = values or {}

    def walk(node: Any, key: str | None) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if key is not None and key in values:
            return copy.deepcopy(values[key])
        if isinstance(node, str) and node.split("(")[0] in TYPE_VALUES:
            return TYPE_VALUES[node.split("(")[0]]
        return node

    return walk(shape, None)


def keys_of(shape: Any) -> set[str]:
    """Every key at any depth of a documented shape."""
    found: set[str] = set()
    if isinstance(shape, dict):
        for k, v in shape.items():
            found.add(k)
            found |= keys_of(v)
    elif isinstance(shape, list):
        for v in shape:
            found |= keys_of(v)
    return found


ORDER_BODY = "#{name}님, 주문 #{order}번이 발송되었습니다.\n배송 조회: #{url}"
FREE_BODY = "#{text}"


def order_body(name: str = "홍길동", order: str = "A-1001", url: str = "https://example.com/t/1") -> str:
    return f"{name}님, 주문 {order}번이 발송되었습니다.\n배송 조회: {url}"


TEMPLATES = [
    Template(
        SENDER,
        "ORDER_SHIPPED",
        ORDER_BODY,
        ({"ordering": 1, "type": "WL", "name": "배송 조회", "linkMo": "https://example.com/t/#{order}"},),
    ),
    Template(SENDER, "FREE", FREE_BODY),
    Template(SENDER, "PENDING", "심사 중 #{x}", status="reviewing"),
]


def message(
    mid: int,
    *,
    recipient: str = "+821012345678",
    body: str | None = None,
    template: str = "ORDER_SHIPPED",
    kind: str = "informational",
    extras: dict[str, Any] | None = None,
    attempts: int = 1,
    idempotency_key: str | None = None,
) -> OutboundMessage:
    ex: dict[str, Any] = {"template_code": template}
    ex.update(extras or {})
    return OutboundMessage(
        id=mid,
        channel="alimtalk",
        sender=SENDER,
        recipient=recipient,
        body=order_body(order=f"A-{mid}") if body is None else body,
        kind=kind,
        extras=ex,
        attempts=attempts,
        idempotency_key=idempotency_key,
    )


@dataclass
class FakeSink:
    """Records everything the connector reports; store_receipts can be told to fail."""

    results: list[SendResult] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    store_calls: int = 0

    def submit_result(self, result: SendResult) -> None:
        self.results.append(result)

    async def store_receipts(self, receipts: Sequence[Receipt]) -> None:
        self.store_calls += 1
        self.receipts.extend(receipts)

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> None:
        raise AssertionError("the Kakao connector has no inbound messages")

    def by_outcome(self, outcome: Outcome) -> list[SendResult]:
        return [r for r in self.results if r.outcome is outcome]

    async def wait_results(self, n: int, timeout: float = 10.0) -> list[SendResult]:
        with anyio.fail_after(timeout):
            while len(self.results) < n:
                await anyio.sleep(0.005)
        return self.results

    async def wait_receipts(self, n: int, timeout: float = 10.0) -> list[Receipt]:
        with anyio.fail_after(timeout):
            while len(self.receipts) < n:
                await anyio.sleep(0.005)
        return self.receipts


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_config(sim: KakaoSimulator | None = None, **overrides: Any) -> KakaoConnectorConfig:
    values: dict[str, Any] = {
        "name": "kakao",
        "base_url": sim.base_url if sim else "http://127.0.0.1:9",
        "app_key": sim.app_key if sim else "app",
        "secret_key": sim.secret_key if sim else "secret",
        "batch_linger_seconds": 0.01,
        "retry_backoff_initial_seconds": 0.005,
        "retry_backoff_max_seconds": 0.02,
        "request_timeout_seconds": 5.0,
        "results": "webhook",
        "webhook_secret": "whsec-test",
    }
    values.update(overrides)
    return KakaoConnectorConfig(**values)


@asynccontextmanager
async def running(connector: KakaoConnector, sink: FakeSink) -> AsyncIterator[KakaoConnector]:
    """Run the connector in a task group for the duration of the block."""
    async with anyio.create_task_group() as tg:
        await tg.start(connector.run, sink)
        try:
            yield connector
        finally:
            tg.cancel_scope.cancel()


@asynccontextmanager
async def serve_routes(connector: KakaoConnector) -> AsyncIterator[str]:
    """Mount the connector's routes as the daemon does, under /reports/{name}/; yield that URL."""
    app = web.Application()
    sub = web.Application()
    sub.add_routes(connector.http_routes())
    app.add_subapp(f"/reports/{connector.name}", sub)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/reports/{connector.name}"
    finally:
        await runner.cleanup()


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
def store() -> InMemoryTemplateStore:
    return InMemoryTemplateStore(TEMPLATES)


@pytest.fixture
async def sim() -> AsyncIterator[KakaoSimulator]:
    async with KakaoSimulator(seed=7) as s:
        yield s


CODE_TABLE_BEGIN = "<!-- code table: generated by tests.support.kakao.code_table_markdown(); checked by tests -->"
CODE_TABLE_END = "<!-- end of code table -->"


def code_table_markdown() -> str:
    """docs/kakao.md's result-code table, from gateway.kakao.codes (what each code does here, gateway mode).

    Regenerate with ``.venv/bin/python -c "from tests.support.kakao import code_table_markdown as t; print(t())"``.
    """
    from gateway.kakao.codes import CODES, NOT_FINAL_CODES, receipt_outcome, send_outcome
    from gateway.port import Outcome

    def send_word(info: Any) -> str:
        d = send_outcome(info, fallback_mode="gateway", fallback_on_template_error=False)
        if d.pause == "account":
            return "retry after the account pause"
        if d.pause == "volume":
            return "throttled (daily volume)"
        return {
            Outcome.SUBMITTED: "submitted",
            Outcome.FAILED: "failed",
            Outcome.RETRY: "retry",
            Outcome.UNKNOWN: "unknown: NHN is asked",
            Outcome.THROTTLED: "throttled",
        }[d.outcome]

    def result_word(info: Any) -> str:
        state, _ = receipt_outcome(info, fallback_mode="gateway", fallback_on_template_error=False)
        return "not a result yet" if state is None else state.value

    def fallback_word(info: Any) -> str:
        if info.ambiguous or info.code in NOT_FINAL_CODES or not info.fallback_eligible:
            return "no"
        return "if fallback_on_template_error" if info.scope == "template" else "yes"

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ").strip()

    lines = [
        CODE_TABLE_BEGIN,
        "",
        "| code | table | NHN's text | NHN's English | class | as a send answer | as a result | SMS fallback |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for info in CODES.values():
        table = info.table + (" (withdrawn)" if info.withdrawn else "")
        lines.append(
            f"| `{info.code}` | {table} | {cell(info.ko)} | {cell(info.description)} | {info.label} "
            f"| {send_word(info)} | {result_word(info)} | {fallback_word(info)} |"
        )
    lines += ["", CODE_TABLE_END]
    return "\n".join(lines)
