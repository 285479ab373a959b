"""The real connector over HTTP against the simulator: batching, refusals, fallback."""

from __future__ import annotations

import anyio
import pytest

from gateway.errors import ConnectorClosed
from gateway.kakao import InMemoryTemplateStore, KakaoConnector, Template
from gateway.port import Fallback, Outcome
from gateway.simulators.kakao import KakaoSimulator
from tests.support.kakao import SENDER, FakeSink, make_config, message, running

pytestmark = pytest.mark.anyio

FALLBACK = {"type": "SMS", "sender": "15880000", "text": "주문이 접수되었습니다"}
SMS_FALLBACK = Fallback(channel="sms", sender="15880000", body="주문이 접수되었습니다", extras={"type": "sms"})


async def test_many_messages_for_one_template_share_few_requests(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """2,500 messages of one sender and template go out as 1,000 + 1,000 + 500 recipients."""
    connector = KakaoConnector(make_config(sim, batch_linger_seconds=1.0), store)
    async with running(connector, sink):
        for i in range(2500):
            await connector.send(message(i))
        await sink.wait_results(2500)
    assert sorted(sim.batch_sizes) == [500, 1000, 1000]
    assert sim.requests["send"] == 3
    submitted = sink.by_outcome(Outcome.SUBMITTED)
    assert len(submitted) == 2500
    ids = [r.carrier_ids[0] for r in submitted]
    assert len(set(ids)) == 2500
    request_id, seq = ids[0].rsplit(":", 1)
    assert request_id and seq.isdigit()


async def test_different_templates_are_separate_requests(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """Messages of two templates never share a request; each batch names its template."""
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        for i in range(10):
            await connector.send(message(i))
            await connector.send(message(100 + i, template="FREE", body=f"자유 본문 {i}"))
        await sink.wait_results(20)
    assert sorted(sim.batch_sizes) == [10, 10]
    assert {r.outcome for r in sink.results} == {Outcome.SUBMITTED}


async def test_template_mismatch_fails_without_any_request(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """A body that departs from its template is FAILED at once, naming template and place."""
    connector = KakaoConnector(make_config(sim), store)
    body = order_body_changed = "홍길동님, 주문 A-1번이 출발했습니다.\n배송 조회: https://x"
    async with running(connector, sink):
        await connector.send(message(1, body=body))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.FAILED
    assert result.reason == "alimtalk_template_mismatch"
    assert "'ORDER_SHIPPED'" in result.detail["detail"] and "line 1, column" in result.detail["detail"]
    assert order_body_changed not in result.detail["detail"]  # the body itself is never in the detail
    assert sim.requests["send"] == 0


async def test_body_over_1300_characters_fails_without_any_request(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """1,301 characters are refused before any request; exactly 1,300 (NHN's limit since 2025-10-28) go out."""
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        await connector.send(message(1, template="FREE", body="가" * 1301))
        [result] = await sink.wait_results(1)
        assert result.outcome is Outcome.FAILED
        assert result.reason == "alimtalk_body_too_long"
        assert result.detail["detail"].startswith("1301 characters")
        assert sim.requests["send"] == 0
        await connector.send(message(2, template="FREE", body="가" * 1300))
        await sink.wait_results(2)
    assert sink.results[1].outcome is Outcome.SUBMITTED
    assert sim.requests["send"] == 1


async def test_advertising_is_refused(sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore) -> None:
    """An advertising message on the Alimtalk channel is FAILED('alimtalk_advertising'), no request."""
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        await connector.send(message(1, kind="advertising"))
        [result] = await sink.wait_results(1)
    assert (result.outcome, result.reason) == (Outcome.FAILED, "alimtalk_advertising")
    assert sim.requests["send"] == 0


@pytest.mark.parametrize(
    ("template", "reason"),
    [("NOPE", "alimtalk_template_unknown"), ("PENDING", "alimtalk_template_not_approved")],
)
async def test_unknown_or_unapproved_template_fails(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore, template: str, reason: str
) -> None:
    """An unknown template or one not approved is FAILED with a reason naming it; no request."""
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        await connector.send(message(1, template=template, body="심사 중 값"))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.FAILED
    assert result.reason == reason and repr(template) in result.detail["detail"]
    assert sim.requests["send"] == 0


async def test_template_error_asks_fallback_when_configured(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """With fallback_on_template_error, a mismatching body fails carrying the SMS fallback."""
    connector = KakaoConnector(make_config(sim, fallback_on_template_error=True), store)
    async with running(connector, sink):
        await connector.send(message(1, body="전혀 다른 본문", extras={"fallback": FALLBACK}))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.FAILED and result.fallback == SMS_FALLBACK
    assert sim.requests["send"] == 0


async def test_not_a_kakao_user_answered_synchronously_asks_fallback(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """A recipient refused as not a KakaoTalk user fails with its fallback and the provider's code; others go out."""
    sim.script("01099990000", send_code="not_kakao_user")
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        await connector.send(message(1, recipient="+821099990000", extras={"fallback": FALLBACK}))
        await connector.send(message(2))
        await sink.wait_results(2)
    by_id = {r.message_id: r for r in sink.results}
    assert by_id[1].outcome is Outcome.FAILED
    assert by_id[1].code == "3019"
    assert by_id[1].fallback == SMS_FALLBACK and by_id[1].detail["provider_code"] == "3019"
    assert by_id[1].reason == "alimtalk_undeliverable"
    assert by_id[2].outcome is Outcome.SUBMITTED
    assert sim.requests["send"] == 1


async def test_blocked_sender_profile_pauses_and_keeps_the_fallback(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """NHN's -1027 (sender profile blocked: the whole account is broken) pauses the message, fallback kept."""
    sim.script("01011112222", send_code="-1027")
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        await connector.send(message(1, recipient="+821011112222", extras={"fallback": FALLBACK}))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.RETRY and result.retry_after == 300.0 and result.fallback == SMS_FALLBACK
    assert result.code == "-1027"
    assert result.detail["provider_message"] == "The sender is blocked status."


async def test_provider_fallback_mode_fills_resend_parameter(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """In provider mode the SMS fallback rides in resendParameter and the queue is never asked for it."""
    sim.script("01099990000", send_code="not_kakao_user")
    fallback = {"text": "[대체] 주문 발송", "sender": "15880000", "type": "LMS", "title": "알림"}
    connector = KakaoConnector(make_config(sim, fallback_mode="provider"), store)
    async with running(connector, sink):
        await connector.send(message(1, recipient="+821099990000", extras={"fallback": fallback}))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.FAILED and result.fallback is None
    [recipient] = sim.sent_bodies[0]["recipientList"]
    assert recipient["resendParameter"] == {
        "isResend": True,
        "resendType": "LMS",
        "resendContent": "[대체] 주문 발송",
        "resendSendNo": "15880000",
        "resendTitle": "알림",
    }
    assert recipient["recipientNo"] == "01099990000"
    assert recipient["recipientGroupingKey"] == "gw-1"
    assert recipient["buttons"] == [
        {"ordering": 1, "type": "WL", "name": "배송 조회", "linkMo": "https://example.com/t/A-1"}
    ]


async def test_gateway_fallback_mode_tells_nhn_not_to_resend(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """Gateway mode: every recipient carries isResend false, so a console resend cannot double our SMS."""
    sim.console_resend = True
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        await connector.send(message(1, extras={"fallback": FALLBACK}))
        await sink.wait_results(1)
    [recipient] = sim.sent_bodies[0]["recipientList"]
    assert recipient["resendParameter"] == {"isResend": False}
    assert sim.records()[0]["resendStatus"] == "RSC01"  # not a resend target at NHN


async def test_our_ids_go_out_as_grouping_keys(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """The provider key is the idempotency header and senderGroupingKey; the message id the recipientGroupingKey."""
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        await connector.send(message(1, idempotency_key="order-1001-shipped"))
        [result] = await sink.wait_results(1)
    [record] = sim.records()
    assert record["recipientGroupingKey"] == "gw-1"
    [key] = sim.idempotency_keys
    assert key.startswith("gw-") and record["senderGroupingKey"] == key == result.detail["provider_key"]


async def test_wrong_secret_key_defers_instead_of_failing(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """An account error (-1001) keeps the messages: RETRY after the account pause, never FAILED."""
    connector = KakaoConnector(make_config(sim, secret_key="wrong"), store)
    async with running(connector, sink):
        await connector.send(message(1))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.RETRY
    assert result.code == "-1001"
    assert result.retry_after == 300.0


async def test_drain_waits_for_outstanding_then_refuses(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """drain() returns once every taken message has a result; later sends raise ConnectorClosed."""
    sim.latency = 0.05
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        for i in range(50):
            await connector.send(message(i))
        await connector.drain()
        assert len(sink.results) == 50
        assert connector.outstanding == 0
        with pytest.raises(ConnectorClosed):
            await connector.send(message(99))


async def test_templates_are_refreshed_from_the_store(sim: KakaoSimulator, sink: FakeSink) -> None:
    """A template added to the store after start is used after the next refresh."""
    store = InMemoryTemplateStore([])
    connector = KakaoConnector(make_config(sim, template_refresh_seconds=0.05), store)
    async with running(connector, sink):
        await connector.send(message(1, template="LATE", body="늦게 온 값"))
        store.templates.append(Template(SENDER, "LATE", "늦게 온 #{v}"))
        loads = store.loads
        while store.loads <= loads:
            await anyio.sleep(0.01)
        await connector.send(message(2, template="LATE", body="늦게 온 값"))
        await sink.wait_results(2)
    assert [r.outcome for r in sink.results] == [Outcome.FAILED, Outcome.SUBMITTED]


async def test_send_blocks_while_the_connector_is_full(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """With one worker busy and the queue full, send() waits: backpressure reaches the caller."""
    sim.latency = 0.3
    config = make_config(sim, queue_size=1, max_concurrent_requests=1, max_batch=1, batch_linger_seconds=0)
    connector = KakaoConnector(config, store)
    taken = 0
    async with running(connector, sink):
        with anyio.move_on_after(0.15) as scope:
            for i in range(10):
                await connector.send(message(i))
                taken += 1
        assert scope.cancelled_caught
        assert 1 <= taken <= 4  # one in flight, one waiting in the batcher, one queued
        assert connector.outstanding == taken
        await sink.wait_results(taken)
    assert {r.outcome for r in sink.results} == {Outcome.SUBMITTED}


async def test_otp_templates_go_through_the_authentication_endpoint(sim: KakaoSimulator, sink: FakeSink) -> None:
    """A template flagged auth is sent to /auth/raw-messages, its results read as ALIMTALK_AUTH / AUTH updates."""
    store = InMemoryTemplateStore([Template(SENDER, "OTP", "인증번호는 #{code}입니다.", auth=True)])
    connector = KakaoConnector(make_config(sim, results="poll", webhook_secret=None, poll_interval_seconds=0.05), store)
    async with running(connector, sink):
        await connector.send(message(1, template="OTP", body="인증번호는 123456입니다."))
        [result] = await sink.wait_results(1)
        [receipt] = await sink.wait_receipts(1)
    assert result.outcome is Outcome.SUBMITTED and receipt.carrier_id == result.carrier_ids[0]
    assert sim.requests["send_auth"] == 1 and sim.requests["results_auth"] >= 1
    assert connector.receipt_timeout == 3 * 86_400 + 2 * 3600  # after the poller's own give-up, never before
