"""Delivery results: NHN's webhook (token by default, HMAC for a relay), the result poller, the journal."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import anyio
import asyncpg
import pytest
from structlog.testing import capture_logs

from gateway.kakao import InMemoryTemplateStore, KakaoConnector, PostgresJournal, Template, sign_body
from gateway.port import Outcome, ReceiptState
from gateway.simulators.kakao import KakaoSimulator
from tests.support.kakao import SENDER, FakeSink, concrete, fixture, make_config, message, running, serve_routes

pytestmark = pytest.mark.anyio

SECRET = "whsec-test"
TOKEN = {"X-Toast-Webhook-Signature": SECRET}


def hook(request_id: str = "20240101000000abc0", seq: int = 1, code: str = "1000", **fields: Any) -> dict[str, Any]:
    """One documented MESSAGE_RESULT_UPDATE hook (webhook-message-result-update.hooks.json) with values."""
    values = {"kakaoMessageType": "ALIMTALK_NORMAL", "requestId": request_id, "resultCode": code,
              "hookId": f"h-{request_id}-{seq}", "receiveDate": "2024-01-01"}  # fmt: skip
    [one] = concrete(fixture("webhook-message-result-update.hooks.json")["hook"]["hooks"], {**values, **fields})
    one["recipientSeq"] = seq
    return one


def hook_body(*hooks: dict[str, Any], event: str = "MESSAGE_RESULT_UPDATE", app_key: str = "app") -> bytes:
    envelope = concrete(fixture("webhook-envelope.curl-example.json")["hook"], {"appKey": app_key, "event": event})
    envelope["hooks"] = list(hooks)
    return json.dumps(envelope, ensure_ascii=False).encode()


async def settled(pool: asyncpg.Pool, query: str, expected: object) -> None:
    """The journal is written right after the receipts: wait for it (bounded)."""
    with anyio.fail_after(5):
        while await pool.fetchval(query) != expected:
            await anyio.sleep(0.02)


async def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers or {}) as resp:
            return resp.status


@pytest.fixture
async def webhook(sink: FakeSink, store: InMemoryTemplateStore):
    connector = KakaoConnector(make_config(None, webhook_max_body_bytes=4096), store)
    async with running(connector, sink), serve_routes(connector) as base:
        yield f"{base}/results"


async def test_nhn_results_are_stored_before_the_2xx(webhook: str, sink: FakeSink) -> None:
    """NHN's hooks, with its static signature, become receipts keyed "{requestId}:{recipientSeq}", then 200."""
    body = hook_body(hook(code="1000"), hook(seq=2, code="3019"))
    assert await post(webhook, body, TOKEN) == 200
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
        ({"X-Toast-Webhook-Signature": "wrong"}, hook_body(hook()), 401),
        ({"X-Webhook-Signature": sign_body(SECRET, hook_body(hook()))}, hook_body(hook()), 401),
        (TOKEN, b"{not json", 400),
        (TOKEN, b'{"hooks": "no"}', 400),
        (TOKEN, b'{"hooks": [{"requestId": 1}]}', 400),
        (TOKEN, b"x" * 5000, 413),
        ({"X-Toast-Webhook-Signature": "wrong"}, b"x" * 5000, 401),
    ],
    ids=[
        "unsigned",
        "bad-token",
        "hmac-when-token",
        "malformed-json",
        "not-hooks",
        "hook-without-ids",
        "oversized",
        "oversized-bad-token",
    ],
)
async def test_bad_webhook_requests_are_refused_and_write_nothing(
    webhook: str, sink: FakeSink, headers: dict[str, str], body: bytes, status: int
) -> None:
    """Missing or wrong signature -> 401, oversized -> 413, malformed -> 400; no receipt written."""
    with capture_logs() as logs:
        assert await post(webhook, body, headers) == status
    assert sink.receipts == [] and sink.store_calls == 0
    assert any(e["event"] == "kakao.webhook.rejected" and e["status"] == status for e in logs)


async def test_the_same_result_twice_is_stored_once(webhook: str, sink: FakeSink) -> None:
    """A hook delivered twice answers 200 both times and stores one receipt."""
    body = hook_body(hook(code="1000"))
    assert await post(webhook, body, TOKEN) == 200
    assert await post(webhook, body, TOKEN) == 200
    assert [r.carrier_id for r in sink.receipts] == ["20240101000000abc0:1"]
    assert sink.store_calls == 1


async def test_pending_results_and_other_products_store_nothing(webhook: str, sink: FakeSink) -> None:
    """4161 (still processing), a Friendtalk hook, another app key's hooks: acknowledged, no receipt."""
    for body in (
        hook_body(hook(code="4161")),
        hook_body(hook(kakaoMessageType="FRIENDTALK_NORMAL")),
        hook_body(hook(), app_key="someone-else"),
    ):
        assert await post(webhook, body, TOKEN) == 200
    assert sink.receipts == []


async def test_hmac_for_a_signing_relay(sink: FakeSink, store: InMemoryTemplateStore) -> None:
    """With webhook_auth = "hmac", X-Webhook-Signature must be the body's HMAC-SHA256 under the secret."""
    connector = KakaoConnector(make_config(None, webhook_auth="hmac"), store)
    async with running(connector, sink), serve_routes(connector) as base:
        body = hook_body(hook())
        assert await post(f"{base}/results", body, TOKEN) == 401
        assert await post(f"{base}/results", body, {"X-Webhook-Signature": "sha256=" + "0" * 64}) == 401
        assert sink.receipts == []
        assert await post(f"{base}/results", body, {"X-Webhook-Signature": sign_body(SECRET, body)}) == 200
    assert len(sink.receipts) == 1


async def test_simulator_results_reach_the_webhook_end_to_end(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """Messages sent through the simulator come back as NHN's webhook results and receipts."""
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
    [first] = sim.hook_bodies[0]["hooks"][:1]
    assert "messageStatus" not in first and len(first["receiveDate"]) == 10  # NHN's documented shape


async def test_polling_mode_reads_result_updates_by_window(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """Without a webhook, NHN's result-update query (one call for all requests) brings the final results."""
    sim.result_delay = 0.3
    sim.script("01099990000", result_code="not_kakao_user")
    connector = KakaoConnector(make_config(sim, results="poll", webhook_secret=None, poll_interval_seconds=0.05), store)
    async with running(connector, sink):
        await connector.send(message(1))
        await connector.send(message(2, recipient="+821099990000"))
        results = await sink.wait_results(2)
        receipts = await sink.wait_receipts(2)
        await anyio.sleep(0.3)
    by_carrier = {r.carrier_id: r for r in receipts}
    assert set(by_carrier) == {r.carrier_ids[0] for r in results}
    assert sorted(r.state.value for r in receipts) == ["delivered", "undeliverable"]
    assert sim.requests["results"] >= 2 and sim.requests["list"] == 0
    assert len(sink.receipts) == 2  # read again in later windows: not stored twice


async def test_the_gap_filler_finds_what_the_webhook_lost(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """NHN never posts the hook (it promises no retry): the result-update query behind the webhook stores it."""
    sim.drop_hooks = True
    connector = KakaoConnector(make_config(sim, gap_fill_interval_seconds=0.1), store)
    async with running(connector, sink), serve_routes(connector) as base:
        sim.webhook_url, sim.webhook_secret = f"{base}/results", SECRET
        await connector.send(message(1))
        [result] = await sink.wait_results(1)
        [receipt] = await sink.wait_receipts(1)
    assert receipt.carrier_id == result.carrier_ids[0] and receipt.state is ReceiptState.DELIVERED
    assert sim.webhooks_delivered == 0


async def test_polling_gives_up_with_unknown_receipts(
    pool: asyncpg.Pool, sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """A result that never comes ends as an UNKNOWN receipt after poll_give_up_seconds (journal in PostgreSQL)."""
    sim.result_delay = 3600
    config = make_config(sim, results="poll", webhook_secret=None, poll_interval_seconds=0.05,
                         poll_give_up_seconds=0.5)  # fmt: skip
    connector = KakaoConnector(config, store, journal=PostgresJournal(pool))
    async with running(connector, sink):
        await connector.send(message(1))
        [receipt] = await sink.wait_receipts(1, timeout=90)
        await settled(pool, "SELECT state FROM gateway.kakao_sends", "final")
    assert receipt.state is ReceiptState.UNKNOWN
    assert receipt.carrier_id == sink.results[0].carrier_ids[0]


async def test_provider_mode_receipts_carry_nhns_resend(
    pool: asyncpg.Pool, sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """Provider fallback mode: a failed Alimtalk waits for NHN's SMS resend; the receipt says it was resent."""
    sim.script("01099990000", result_code="not_kakao_user")
    sim.resend_delay = 0.3
    fallback = {"type": "SMS", "sender": "15880000", "text": "대체 문자"}
    config = make_config(sim, fallback_mode="provider", resend_check_seconds=0.1)
    connector = KakaoConnector(config, store, journal=PostgresJournal(pool))
    async with running(connector, sink), serve_routes(connector) as base:
        sim.webhook_url, sim.webhook_secret = f"{base}/results", SECRET
        await connector.send(message(1, recipient="+821099990000", extras={"fallback": fallback}))
        [receipt] = await sink.wait_receipts(1)
        await settled(pool, "SELECT state || ' ' || result_code || ' ' || resend_status FROM gateway.kakao_sends",
                      "final 3019 RSC04")  # fmt: skip
    assert receipt.state is ReceiptState.UNDELIVERABLE and receipt.fallback is False
    assert receipt.detail["resend_status"] == "RSC04" and receipt.detail["resend_request_id"].startswith("sms-")


async def test_one_poller_per_connector_across_instances(pool: asyncpg.Pool, sim: KakaoSimulator) -> None:
    """Two instances of one connector: only one reads NHN's result updates at a time (a lease in PostgreSQL)."""
    config = make_config(sim, results="poll", webhook_secret=None, poll_interval_seconds=0.05)
    store = InMemoryTemplateStore([Template(SENDER, "FREE", "#{text}")])
    a = KakaoConnector(config, store, journal=PostgresJournal(pool))
    b = KakaoConnector(config, store, journal=PostgresJournal(pool))
    async with running(a, FakeSink()), running(b, FakeSink()):
        await anyio.sleep(0.5)
        owners = await pool.fetch("SELECT lease_owner FROM gateway.kakao_poll")
    assert len(owners) == 1 and owners[0]["lease_owner"] in (a.tracker.owner, b.tracker.owner)


def test_webhook_mode_requires_a_secret() -> None:
    """results = "webhook" without webhook_secret is a configuration error naming the key."""
    with pytest.raises(ValueError, match="webhook_secret"):
        make_config(None, webhook_secret=None)
