"""The NHN SMS connector against the simulator over loopback HTTP."""

from __future__ import annotations

import anyio
import pytest

from gateway.port import Outcome, ReceiptState
from gateway.simulators.nhn_sms import NhnSmsSimulator
from tests.support.nhn_sms import WEBHOOK_SECRET, Sink, connector_for, message, picture, running, serve_routes
from tests.support.reasons import said

pytestmark = pytest.mark.anyio


async def test_sms_lms_mms_go_to_their_endpoints_and_results_come_back_by_webhook() -> None:
    """A short text goes out as SMS, a long one as LMS with a title, one with a picture as MMS; receipts arrive."""
    sink = Sink()
    async with NhnSmsSimulator(seed=1, webhook_secret=WEBHOOK_SECRET) as sim:
        connector = connector_for(sim, [picture(7)])
        async with running(connector, sink), serve_routes(connector) as url:
            sim.webhook_url = f"{url}/results"
            await connector.send(message(1, "안녕하세요"))
            await connector.send(message(2, "가" * 46))
            await connector.send(message(3, "사진을 보내드립니다", extras={"attachments": [7], "title": "사진"}))
            await sink.wait_results(3)
            await sink.wait_receipts(3)
    assert {r.outcome for r in sink.results} == {Outcome.SUBMITTED}
    assert {r.message_id: r.detail["message_type"] for r in sink.results} == {1: "sms", 2: "lms", 3: "mms"}
    assert sorted(r.carrier_ids[0] for r in sink.results) == ["gw-1", "gw-2", "gw-3"]
    assert {r.state for r in sink.receipts} == {ReceiptState.DELIVERED}
    types = {r.message_type for r in sim.records}
    assert types == {"SMS", "LMS", "MMS"}
    lms = next(b for b in sim.sent_bodies if b["body"] == "가" * 46)
    assert lms["title"] == "가" * 20  # the first line, cut to 40 bytes


async def test_mms_with_4_pictures_or_a_301_kb_picture_is_refused_before_any_request() -> None:
    """Too many or too large pictures fail bad_pictures; NHN sees no upload and no send."""
    sink = Sink()
    async with NhnSmsSimulator(seed=1) as sim:
        pictures = [picture(i) for i in (1, 2, 3, 4)] + [picture(5, size=301 * 1024)]
        connector = connector_for(sim, pictures, results="sweep")
        async with running(connector, sink):
            await connector.send(message(1, "사진 네 장", extras={"attachments": [1, 2, 3, 4]}))
            await connector.send(message(2, "큰 사진", extras={"attachments": [5]}))
            await sink.wait_results(2)
    assert said(sink.of(1)) == "bad_pictures: 4 pictures; an MMS holds at most 3"
    assert said(sink.of(2)) == "bad_pictures: picture 5 has 308,224 bytes; the limit is 307,200 (300 KB)"
    assert {r.outcome for r in sink.results} == {Outcome.FAILED}
    assert sim.requests["send"] == 0 and sim.requests["upload"] == 0


async def test_a_picture_is_uploaded_once_for_1000_recipients() -> None:
    """1,000 MMS naming one picture (ten different texts, so ten requests) upload it once and reuse its fileId."""
    sink = Sink()
    async with NhnSmsSimulator(seed=1) as sim:
        connector = connector_for(sim, [picture(7)], results="sweep")
        async with running(connector, sink):
            for i in range(1, 1001):
                await connector.send(message(i, f"쿠폰 {i % 10}번 도착", extras={"attachments": [7], "title": "쿠폰"}))
            await sink.wait_results(1000, timeout=30)
    assert {r.outcome for r in sink.results} == {Outcome.SUBMITTED}
    assert sim.uploads == 1 and connector.uploader.uploads == 1
    (file_id,) = sim.files
    assert sim.requests["send"] == len(sim.batch_sizes) >= 10
    assert {tuple(b["attachFileIdList"]) for b in sim.sent_bodies} == {(file_id,)}
    assert sim.accepted == 1000 and {r.message_type for r in sim.records} == {"MMS"}


async def test_a_picture_past_nhns_retention_is_uploaded_again() -> None:
    """NHN answers -2004 for an expired fileId: the picture is uploaded again and the message goes once."""
    sink = Sink()
    async with NhnSmsSimulator(seed=1) as sim:
        connector = connector_for(sim, [picture(7)], results="sweep")
        async with running(connector, sink):
            await connector.send(message(1, "첫째", extras={"attachments": [7]}))
            await sink.wait_results(1)
            sim.expire_files()
            await connector.send(message(2, "둘째", extras={"attachments": [7]}))
            await sink.wait_results(2)
    assert [r.outcome for r in sink.results] == [Outcome.SUBMITTED, Outcome.SUBMITTED]
    assert sim.uploads == 2 and sim.accepted == 2
    assert sim.requests["send_-2004"] == 1


async def test_a_send_taken_but_unanswered_is_found_not_resent() -> None:
    """The simulator takes a send and answers after the client gave up: the look-up finds it, once; a retry resumes."""
    sink = Sink()
    async with NhnSmsSimulator(seed=1) as sim:
        connector = connector_for(sim, request_timeout_seconds=0.3, results="sweep")
        async with running(connector, sink):
            sim.slow_next(1, 2.0)
            await connector.send(message(1, "타임아웃 후에도 한 번만"))
            (result,) = await sink.wait_results(1)
            assert result.outcome is Outcome.SUBMITTED and result.detail["reconciled"] is True
            assert result.carrier_ids == ("gw-1",)
            # the engine retries a message whose earlier attempt may have gone out: it is found, not sent again
            await connector.send(message(1, "타임아웃 후에도 한 번만", attempts=2, may_be_duplicate=True))
            await sink.wait_results(2)
    assert sink.results[1].outcome is Outcome.SUBMITTED and sink.results[1].detail["resumed"] is True
    assert sim.requests["send"] == 1 and sim.accepted == 1
    assert len(sim.accepted_for("gw-1")) == 1


async def test_a_send_lost_before_nhn_took_it_is_unknown_then_sent_once() -> None:
    """A 502 that NHN never processed: the look-up finds nothing (UNKNOWN); the retry looks again, then sends once."""
    sink = Sink()
    async with NhnSmsSimulator(seed=1) as sim:
        connector = connector_for(sim, results="sweep", reconcile_tries=2)
        async with running(connector, sink):
            sim.fail_next(1, 502)
            await connector.send(message(1, "재시도"))
            (first,) = await sink.wait_results(1)
            assert first.outcome is Outcome.UNKNOWN and first.retry_after is not None
            assert said(first).startswith("nhn_no_answer: ")
            await connector.send(message(1, "재시도", attempts=2, may_be_duplicate=True))
            await sink.wait_results(2)
    assert sink.results[1].outcome is Outcome.SUBMITTED and "resumed" not in sink.results[1].detail
    assert sim.accepted == 1 and sim.requests["list"] >= 3


async def test_connection_refused_is_a_plain_retry() -> None:
    """Nothing listening: the request never left, so the message is RETRY (no look-up, no duplicate risk)."""
    sink = Sink()
    async with NhnSmsSimulator(seed=1) as sim:
        connector = connector_for(sim, results="sweep")
        async with running(connector, sink):
            await sim.close()
            await connector.send(message(1))
            (result,) = await sink.wait_results(1)
    assert result.outcome is Outcome.RETRY and result.reason.startswith("nhn_provider_unavailable")


async def test_an_unregistered_sender_fails_without_a_request() -> None:
    """A sender not in NHN's sendNos list fails unregistered_sender; NHN gets no send request."""
    sink = Sink()
    async with NhnSmsSimulator(seed=1, send_nos=("15446859",)) as sim:
        connector = connector_for(sim, results="sweep")
        async with running(connector, sink):
            await connector.send(message(1, sender="0212345678"))
            (result,) = await sink.wait_results(1)
    assert result.outcome is Outcome.FAILED and said(result).startswith("unregistered_sender: 0212345678")
    assert sim.requests["send"] == 0 and sim.requests["sendNos"] == 1


async def test_the_webhook_needs_nhns_signature_and_reads_both_spellings() -> None:
    """A wrong X-Toast-Webhook-Signature is 401; the field-table spelling is read like the example's."""
    import aiohttp

    sink = Sink()
    async with NhnSmsSimulator(seed=1, webhook_secret=WEBHOOK_SECRET, webhook_spelling="table") as sim:
        connector = connector_for(sim)
        async with running(connector, sink), serve_routes(connector) as url:
            async with aiohttp.ClientSession() as http:
                body = sim.webhook_body([])
                async with http.post(f"{url}/results", data=body, headers={"X-Toast-Webhook-Signature": "nope"}) as r:
                    assert r.status == 401
            sim.webhook_url = f"{url}/results"
            await connector.send(message(1))
            await sink.wait_receipts(1)
    assert sink.receipts[0].carrier_id == "gw-1" and sink.receipts[0].state is ReceiptState.DELIVERED


async def test_without_the_webhook_the_sweep_brings_the_results() -> None:
    """results = sweep: message-results gives the receipts (undeliverable too), at most once per result."""
    sink = Sink()
    async with NhnSmsSimulator(seed=1) as sim:
        sim.script("01022222222", result_code="power_off")
        connector = connector_for(sim, results="sweep", sweep_interval_seconds=0.05, sweep_overlap_seconds=60)
        async with running(connector, sink):
            await connector.send(message(1))
            await connector.send(message(2, recipient="+821022222222"))
            await sink.wait_receipts(2)
            await anyio.sleep(0.3)  # more sweeps over the same window store nothing again
    states = {r.carrier_id: r.state for r in sink.receipts}
    assert states == {"gw-1": ReceiptState.DELIVERED, "gw-2": ReceiptState.UNDELIVERABLE}
    assert len(sink.receipts) == 2 and sim.requests["results"] >= 3


async def test_codes_per_recipient_and_for_the_whole_request() -> None:
    """Bad number FAILED, quota THROTTLED, undocumented code RETRY (never permanent), keys refused: RETRY, not ready."""
    sink = Sink()
    async with NhnSmsSimulator(seed=1) as sim:
        sim.script("01011111111", send_code="-2019")
        sim.script("01022222222", send_code="-2052")
        sim.script("01033333333", send_code="-31337")
        connector = connector_for(sim, results="sweep")
        async with running(connector, sink):
            for n, number in enumerate(("+821011111111", "+821022222222", "+821033333333"), start=1):
                await connector.send(message(n, recipient=number))
            await sink.wait_results(3)
            assert connector.is_ready()
            sim.secret_key = "rotated"
            await connector.send(message(4))
            await sink.wait_results(4)
            assert not connector.is_ready()
    outcomes = {r.message_id: (r.outcome, r.code) for r in sink.results}
    assert outcomes == {
        1: (Outcome.FAILED, "-2019"),
        2: (Outcome.THROTTLED, "-2052"),
        3: (Outcome.RETRY, "-31337"),
        4: (Outcome.RETRY, "-1000"),
    }
    assert sink.of(4).retry_after == 300.0 and sink.of(2).retry_after == 3600.0
