"""The NHN SMS connector against the simulator over loopback HTTP."""

from __future__ import annotations

import anyio
import pytest

from gateway.nhn_sms.simulator import NhnSmsSimulator
from gateway.port import Outcome, ReceiptState
from tests.support.nhn_sms import WEBHOOK_SECRET, Sink, connector_for, message, picture, running, serve_routes

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
