"""Delivery results: the signed webhook (auth, limits, idempotency) and polling mode."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from gateway.kakao import InMemoryTemplateStore, KakaoConnector, sign_body
from gateway.port import Outcome, ReceiptState
from gateway.simulators.kakao import KakaoSimulator
from tests.support.kakao import FakeSink, make_config, message, running, serve_routes

pytestmark = pytest.mark.anyio

SECRET = "whsec-test"


def hook_body(*hooks: dict[str, Any], event: str = "MESSAGE_RESULT_UPDATE") -> bytes:
    envelope = {
        "hooksId": "h1",
        "webhookConfigId": "w",
        "productName": "KakaoTalk Bizmessage",
        "appKey": "app",
        "event": event,
        "hooks": list(hooks),
    }
    return json.dumps(envelope).encode()


def hook(
    request_id: str = "20240101000000abc0", seq: int = 1, code: str = "1000", status: str = "COMPLETED"
) -> dict[str, Any]:
    return {
        "hookId": f"{request_id}-{seq}",
        "requestId": request_id,
        "recipientSeq": seq,
        "recipientNo": "01012345678",
        "messageStatus": status,
        "resultCode": code,
        "resultCodeName": "x",
        "receiveDate": "2024-01-01 09:00:01",
        "resendStatus": "RSC01",
    }


async def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers or {}) as resp:
            return resp.status


@pytest.fixture
async def webhook(sink: FakeSink, store: InMemoryTemplateStore):
    connector = KakaoConnector(make_config(None, webhook_max_body_bytes=4096), store)
    async with running(connector, sink), serve_routes(connector) as base:
        yield f"{base}/results"


async def test_signed_result_is_stored_before_the_2xx(webhook: str, sink: FakeSink) -> None:
    """A correctly signed result is stored as a receipt keyed "{requestId}:{recipientSeq}", then 200."""
    body = hook_body(hook(code="1000"), hook(seq=2, code="3019"))
    status = await post(webhook, body, {"X-Webhook-Signature": sign_body(SECRET, body)})
    assert status == 200
    by_id = {r.carrier_id: r for r in sink.receipts}
    delivered, fallback = by_id["20240101000000abc0:1"], by_id["20240101000000abc0:2"]
    assert delivered.state is ReceiptState.DELIVERED and delivered.fallback is False
    assert delivered.done_at is not None and delivered.done_at.utcoffset().total_seconds() == 9 * 3600
    assert fallback.state is ReceiptState.UNDELIVERABLE
    assert fallback.code == "3019"
    assert fallback.fallback is True and fallback.detail["provider_code"] == "3019"


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, hook_body(hook()), 401),
        ({"X-Webhook-Signature": "sha256=" + "0" * 64}, hook_body(hook()), 401),
        ({"X-Webhook-Signature": sign_body("other-secret", hook_body(hook()))}, hook_body(hook()), 401),
        ({"X-Webhook-Signature": sign_body(SECRET, b"{not json")}, b"{not json", 400),
        ({"X-Webhook-Signature": sign_body(SECRET, b'{"hooks": "no"}')}, b'{"hooks": "no"}', 400),
        (
            {"X-Webhook-Signature": sign_body(SECRET, b'{"hooks": [{"requestId": 1}]}')},
            b'{"hooks": [{"requestId": 1}]}',
            400,
        ),
        ({"X-Webhook-Signature": sign_body(SECRET, b"x" * 5000)}, b"x" * 5000, 413),
        ({"X-Webhook-Signature": "sha256=whatever"}, b"x" * 5000, 413),
    ],
    ids=[
        "unsigned",
        "bad-signature",
        "other-secret",
        "malformed-json",
        "not-hooks",
        "hook-without-ids",
        "oversized",
        "oversized-bad-signature",
    ],
)
async def test_bad_webhook_requests_are_refused_and_write_nothing(
    webhook: str, sink: FakeSink, headers: dict[str, str], body: bytes, status: int
) -> None:
    """Unsigned or badly signed -> 401, oversized -> 413, malformed -> 400; no receipt written."""
    with capture_logs() as logs:
        assert await post(webhook, body, headers) == status
    assert sink.receipts == [] and sink.store_calls == 0
    assert any(e["event"] == "kakao.webhook.rejected" and e["status"] == status for e in logs)


async def test_the_same_result_twice_is_stored_once(webhook: str, sink: FakeSink) -> None:
    """A webhook delivered twice (NHN retries) answers 200 both times and stores one receipt."""
    body = hook_body(hook(code="1000"))
    headers = {"X-Webhook-Signature": sign_body(SECRET, body)}
    assert await post(webhook, body, headers) == 200
    assert await post(webhook, body, headers) == 200
    assert [r.carrier_id for r in sink.receipts] == ["20240101000000abc0:1"]
    assert sink.store_calls == 1


async def test_pending_results_and_other_events_store_nothing(webhook: str, sink: FakeSink) -> None:
    """A not-yet-final hook and a template-status event are acknowledged without a receipt."""
    for body in (
        hook_body(hook(status="READY", code="")),
        hook_body({"templateCode": "T"}, event="TEMPLATE_STATUS_UPDATE"),
    ):
        assert await post(webhook, body, {"X-Webhook-Signature": sign_body(SECRET, body)}) == 200
    assert sink.receipts == []


async def test_nhn_token_scheme(sink: FakeSink, store: InMemoryTemplateStore) -> None:
    """With webhook_auth = "token", NHN's X-Toast-Webhook-Signature must equal the configured secret."""
    connector = KakaoConnector(make_config(None, webhook_auth="token", webhook_secret="console-signature"), store)
    async with running(connector, sink), serve_routes(connector) as base:
        body = hook_body(hook())
        assert await post(f"{base}/results", body, {"X-Toast-Webhook-Signature": "wrong"}) == 401
        assert sink.receipts == []
        assert await post(f"{base}/results", body, {"X-Toast-Webhook-Signature": "console-signature"}) == 200
    assert len(sink.receipts) == 1


async def test_simulator_results_reach_the_webhook_end_to_end(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """Messages sent through the simulator come back as signed webhook results and receipts."""
    sim.script("01099990000", result_code="not_kakao_user")
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink), serve_routes(connector) as base:
        sim.webhook_url, sim.webhook_secret = f"{base}/results", SECRET
        await connector.send(message(1))
        await connector.send(message(2, recipient="+821099990000"))
        results = await sink.wait_results(2)
        receipts = await sink.wait_receipts(2)
    assert {r.outcome for r in results} == {Outcome.SUBMITTED}
    by_message = {r.message_id: r.carrier_ids[0] for r in results}
    by_carrier = {r.carrier_id: r for r in receipts}
    assert by_carrier[by_message[1]].state is ReceiptState.DELIVERED
    assert by_carrier[by_message[2]].fallback is True
    assert sim.webhooks_delivered >= 1 and sim.webhook_failures == 0


async def test_polling_mode_queries_results_by_request_id(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """Without a webhook, submitted messages are polled by request id until their result is final."""
    sim.result_delay = 0.3
    sim.script("01099990000", result_code="not_kakao_user")
    connector = KakaoConnector(make_config(sim, results="poll", webhook_secret=None, poll_interval_seconds=0.05), store)
    async with running(connector, sink):
        await connector.send(message(1))
        await connector.send(message(2, recipient="+821099990000"))
        results = await sink.wait_results(2)
        receipts = await sink.wait_receipts(2)
        assert connector.tracker.watching == 0
    by_carrier = {r.carrier_id: r for r in receipts}
    assert set(by_carrier) == {r.carrier_ids[0] for r in results}
    states = sorted(r.state.value for r in receipts)
    assert states == ["delivered", "undeliverable"]
    assert sim.requests["query"] >= 2  # at least one poll saw the results still pending
    assert len(receipts) == 2  # polled again after final: not stored twice


async def test_polling_gives_up_with_unknown_receipts(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """A result that never becomes final ends as an UNKNOWN receipt after poll_give_up_seconds."""
    sim.result_delay = 3600
    connector = KakaoConnector(
        make_config(sim, results="poll", webhook_secret=None, poll_interval_seconds=0.02, poll_give_up_seconds=0.1),
        store,
    )
    async with running(connector, sink):
        await connector.send(message(1))
        [receipt] = await sink.wait_receipts(1)
    assert receipt.state is ReceiptState.UNKNOWN
    assert receipt.carrier_id == sink.results[0].carrier_ids[0]


def test_webhook_mode_requires_a_secret() -> None:
    """results = "webhook" without webhook_secret is a configuration error naming the key."""
    with pytest.raises(ValueError, match="webhook_secret"):
        make_config(None, webhook_secret=None)
