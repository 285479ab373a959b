"""Issue 13: the seven problems a user met with NHN Cloud's real Alimtalk service, one test each.

Each test fails on the main branch from before issue 13 (checked: see the issue's note).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import anyio.lowlevel
import asyncpg
import pytest

from gateway.daemon import build_connector
from gateway.kakao import InMemoryTemplateStore, KakaoConnector, KakaoConnectorConfig, Template
from gateway.port import Outcome, ReceiptState
from gateway.simulators.kakao import KakaoSimulator
from tests.support.kakao import (
    SENDER,
    FakeSink,
    concrete,
    fixture,
    make_config,
    message,
    running,
    serve_routes,
)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]


def documented_result_hook(code: str = "1000", request_id: str = "20230601090000O9CEcsKV2M2") -> bytes:
    """NHN's documented MESSAGE_RESULT_UPDATE envelope, its type names given values (receiveDate kept as documented)."""
    body = concrete(
        fixture("derived/webhook-message-result-update.envelope.json")["hook"],
        {
            "appKey": "app",
            "kakaoMessageType": "ALIMTALK_NORMAL",
            "requestId": request_id,
            "resultCode": code,
            "hookId": f"hook-{request_id}",
        },
    )
    return json.dumps(body, ensure_ascii=False).encode()


async def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers={"Content-Type": "application/json", **headers}) as resp:
            return resp.status


async def test_1_a_documented_result_hook_is_a_final_result() -> None:
    """NHN's real hook (resultCode, bare-date receiveDate, no messageStatus) is stored as a final receipt."""
    sink = FakeSink()
    connector = KakaoConnector(make_config(None, webhook_auth="token"), InMemoryTemplateStore([]))
    async with running(connector, sink), serve_routes(connector) as base:
        status = await post(f"{base}/results", documented_result_hook(), {"X-Toast-Webhook-Signature": "whsec-test"})
    assert status == 200
    [receipt] = sink.receipts
    assert receipt.carrier_id == "20230601090000O9CEcsKV2M2:1"
    assert receipt.state is ReceiptState.DELIVERED and receipt.code == "1000"
    assert receipt.done_at is not None and receipt.done_at.date().isoformat() == "2023-06-01"


async def test_2_the_default_webhook_authentication_accepts_nhn() -> None:
    """With the default configuration NHN's static X-Toast-Webhook-Signature is accepted (not 401)."""
    sink = FakeSink()
    config = make_config(None)
    connector = KakaoConnector(config, InMemoryTemplateStore([]))
    async with running(connector, sink), serve_routes(connector) as base:
        status = await post(f"{base}/results", documented_result_hook(), {"X-Toast-Webhook-Signature": "whsec-test"})
        wrong = await post(f"{base}/results", documented_result_hook(), {"X-Toast-Webhook-Signature": "guess"})
    assert (status, wrong) == (200, 401)
    assert config.webhook_auth == "token"


async def test_3_a_retry_after_an_accepted_timeout_sends_no_second_copy(sim: KakaoSimulator) -> None:
    """The provider accepts, the answer times out, the message is tried again: NHN holds exactly one copy."""
    sink = FakeSink()
    store = InMemoryTemplateStore([Template(SENDER, "FREE", "#{text}")])
    connector = KakaoConnector(make_config(sim, request_timeout_seconds=0.5, retry_attempts=2), store)
    sim.slow_next(1, 2.0)  # handled at once, answered after the client gave up
    async with running(connector, sink):
        await connector.send(message(1, template="FREE", body="주문이 접수되었습니다"))
        [first] = await sink.wait_results(1)
        if first.outcome is not Outcome.SUBMITTED:  # the queue tries an unknown outcome again
            await connector.send(message(1, template="FREE", body="주문이 접수되었습니다", attempts=2))
            await sink.wait_results(2)
    assert sim.accepted == 1
    assert sink.results[-1].outcome is Outcome.SUBMITTED


async def test_4a_button_links_go_out_with_their_variables_filled(sim: KakaoSimulator) -> None:
    """A template button link with #{order} is sent with the message's order number, never with '#{'."""
    sink = FakeSink()
    template = Template(
        SENDER,
        "ORDER",
        "#{name}님, 주문 #{order}번이 발송되었습니다.",
        ({"ordering": 1, "type": "WL", "name": "배송 조회", "linkMo": "https://shop.example/track/#{order}"},),
    )
    connector = KakaoConnector(make_config(sim), InMemoryTemplateStore([template]))
    async with running(connector, sink):
        await connector.send(message(1, template="ORDER", body="홍길동님, 주문 A-77번이 발송되었습니다."))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.SUBMITTED, result.reason
    [button] = sim.sent_bodies[-1]["recipientList"][0]["buttons"]
    assert button["linkMo"] == "https://shop.example/track/A-77"


async def test_4b_emphasis_and_item_list_templates_can_be_sent(sim: KakaoSimulator) -> None:
    """A template with a title, a header and an item list goes out with templateTitle/Header/Item filled in."""
    sink = FakeSink()
    template = Template(
        SENDER,
        "RECEIPT",
        "#{name}님의 결제 내역입니다.",
        emphasis="ITEM_LIST",
        header="결제 완료",
        title="#{amount}원",
        item={
            "list": [{"title": "상품", "description": "#{product}"}, {"title": "수량", "description": "#{count}개"}],
            "summary": {"title": "합계", "description": "#{amount}원"},
        },
    )
    connector = KakaoConnector(make_config(sim), InMemoryTemplateStore([template]))
    extras = {"variables": {"amount": "12,000", "product": "커피", "count": "2"}}
    async with running(connector, sink):
        await connector.send(message(1, template="RECEIPT", body="홍길동님의 결제 내역입니다.", extras=extras))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.SUBMITTED, result.reason
    sent = sim.sent_bodies[-1]["recipientList"][0]
    assert sent["templateHeader"] == "결제 완료" and sent["templateTitle"] == "12,000원"
    assert sent["templateItem"]["list"][0] == {"title": "상품", "description": "커피"}
    assert sent["templateItem"]["summary"] == {"title": "합계", "description": "12,000원"}


async def test_5_unlisted_and_server_side_codes_are_never_permanent(sim: KakaoSimulator) -> None:
    """-9999 (NHN system error) is retried with its fallback kept; delivery 2001 asks for the SMS fallback."""
    sink = FakeSink()
    fallback = {"type": "SMS", "sender": "15880000", "text": "주문 안내"}
    store = InMemoryTemplateStore([Template(SENDER, "FREE", "#{text}")])
    sim.script("01011110000", send_code="-9999")
    sim.script("01022220000", result_code="2001")
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink), serve_routes(connector) as base:
        sim.webhook_url, sim.webhook_secret = f"{base}/results", "whsec-test"
        for n, number in ((1, "+821011110000"), (2, "+821022220000")):
            extras = {"fallback": fallback}
            await connector.send(message(n, recipient=number, template="FREE", body="주문 안내", extras=extras))
        results = {r.message_id: r for r in await sink.wait_results(2)}
        [receipt] = await sink.wait_receipts(1)
    assert results[1].outcome is Outcome.RETRY and results[1].fallback is not None
    assert results[2].outcome is Outcome.SUBMITTED
    assert receipt.code == "2001" and receipt.state is ReceiptState.FAILED and receipt.fallback is True


async def test_6_results_of_messages_sent_before_a_restart_still_arrive(
    pool: asyncpg.Pool, sim: KakaoSimulator
) -> None:
    """A connector restarted (a new object on the same database) stores the results of what the old one sent."""
    sim.result_delay = 1.0
    template = Template(SENDER, "FREE", "#{text}")
    config = KakaoConnectorConfig(
        name="kakao",
        base_url=sim.base_url,
        app_key=sim.app_key,
        secret_key=sim.secret_key,
        results="poll",
        poll_interval_seconds=0.2,
        batch_linger_seconds=0.01,
    )
    before = build_connector(config, pool)
    assert isinstance(before, KakaoConnector)
    before._store = InMemoryTemplateStore([template])  # the database holds no templates here
    first = FakeSink()
    async with running(before, first):
        await before.send(message(1, template="FREE", body="안녕하세요"))
        [submitted] = await first.wait_results(1)
    assert submitted.outcome is Outcome.SUBMITTED and first.receipts == []
    after = build_connector(config, pool)
    assert isinstance(after, KakaoConnector)
    after._store = InMemoryTemplateStore([template])
    second = FakeSink()
    async with running(after, second):
        [receipt] = await second.wait_receipts(1, timeout=15)
    assert receipt.carrier_id == submitted.carrier_ids[0] and receipt.state is ReceiptState.DELIVERED
    assert config.poll_give_up_seconds >= 3 * 86_400  # Kakao may deliver for 3 days


async def test_7_template_status_follows_nhn_and_the_default_domain_is_current() -> None:
    """NHN's template-status hook marks a template rejected at once; the default and example domain are current."""
    sink = FakeSink()
    store = InMemoryTemplateStore([Template(SENDER, "FREE", "#{text}")])
    connector = KakaoConnector(make_config(None), store)
    hook: dict[str, Any] = concrete(
        fixture("webhook-template-status.hooks.json")["hook"],
        {"senderKey": SENDER, "templateCode": "FREE", "kakaoTemplateCode": "FREE", "status": "TSC04"},
    )
    envelope = {"hooksId": "h", "webhookConfigId": "w", "productName": "KakaoTalk Bizmessage", "appKey": "app",
                "event": "TEMPLATE_STATUS", **hook}  # fmt: skip
    async with running(connector, sink), serve_routes(connector) as base:
        status = await post(
            f"{base}/results", json.dumps(envelope).encode(), {"X-Toast-Webhook-Signature": "whsec-test"}
        )
        await connector.send(message(1, template="FREE", body="안녕하세요"))
        [result] = await sink.wait_results(1)
    assert status == 200
    assert store.templates[0].status == "rejected"
    assert result.outcome is Outcome.FAILED and "not_approved" in (result.reason or "")
    domain = "https://kakaotalk-bizmessage.api.nhncloudservice.com"
    assert KakaoConnectorConfig.model_fields["base_url"].default == domain
    assert f'base_url = "{domain}"' in (ROOT / "config" / "gateway.example.toml").read_text("utf-8")


async def test_7b_templates_and_their_status_are_pulled_from_nhn(db: asyncpg.Connection, sim: KakaoSimulator) -> None:
    """`sync_from_nhn` stores NHN's templates with their full model and review status."""
    from gateway.kakao import NhnAlimtalkAdapter, sync_from_nhn  # new in issue 13

    sim.add_template(
        SENDER,
        "SHIPPED",
        "#{name}님, 발송되었습니다.",
        buttons=[{"ordering": 1, "type": "WL", "name": "조회", "linkMo": "https://x.example/#{no}"}],
    )
    sim.add_template(SENDER, "WAITING", "#{name}님 대기", status="TSC02")
    async with NhnAlimtalkAdapter.from_config(make_config(sim)) as adapter:
        report = await sync_from_nhn(db, adapter, [SENDER])
    assert report.inserted == 2
    rows = {r["template_code"]: r for r in await db.fetch("SELECT * FROM gateway.kakao_templates")}
    assert rows["SHIPPED"]["status"] == "approved" and rows["WAITING"]["status"] == "reviewing"
    assert rows["SHIPPED"]["buttons"][0]["linkMo"] == "https://x.example/#{no}"
    await anyio.lowlevel.checkpoint()
