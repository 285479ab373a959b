"""Metrics that answer the pager: every series from start, latencies, window use, SMPP errors by status,
one family for receipts."""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from gateway.simulators.kakao import KakaoSimulator
from gateway.simulators.nhn_sms import NhnSmsSimulator
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from tests.support.control import daemons, http, sample, wait_for
from tests.support.daemon import config_dict
from tests.support.deploy import DEPLOY, ROOT
from tests.support.queue import copy_messages

pytestmark = pytest.mark.anyio


def unique(prefix: str) -> str:
    """A connector name of this test only (the registry is shared by every test of the process)."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def scrape(port: int) -> str:
    status, text = await http("GET", f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    return text


async def test_every_series_is_there_at_zero_before_any_traffic(db_url: str) -> None:
    """Before the first message, every gateway_* family has samples, and each connector's series exist at 0."""
    sms, loop, kakao, nhn = unique("sms"), unique("loop"), unique("kakao"), unique("nhn")
    async with (
        SmscSimulator(SimulatorConfig()) as smsc,
        KakaoSimulator() as provider,
        NhnSmsSimulator() as nhn_provider,
    ):
        connectors = [
            {"type": "smpp", "name": sms, "port": smsc.port, "system_id": "gw"},
            {"type": "loopback", "name": loop, "channel": "sms"},
            {
                "type": "kakao",
                "name": kakao,
                "base_url": provider.base_url,
                "app_key": provider.app_key,
                "secret_key": provider.secret_key,
                "results": "poll",
            },
            {
                "type": "nhn_sms",
                "name": nhn,
                "base_url": nhn_provider.base_url,
                "app_key": nhn_provider.app_key,
                "secret_key": nhn_provider.secret_key,
                "webhook_secret": "w",
                "sweep_interval_seconds": 3600.0,
            },
        ]
        config = config_dict(
            "zero", connectors, routing={"default": {"sms": sms}}, ratelimit={"connectors": {sms: {"rate": 100}}}
        )
        async with daemons(db_url, config) as (d,):
            await wait_for(d.connectors[sms].is_ready, what="the bind")
            await wait_for(lambda: d.plane is not None and d.plane.depth, what="the first depth sample")
            text = await scrape(d.admin_port)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    ours = [name for name in families if name.startswith("gateway_")]
    empty = [name for name in ours if not families[name].samples]
    assert not empty, f"families without a series: {empty}"
    exposed = {s.name for f in families.values() for s in f.samples}
    sources = (DEPLOY / "prometheus" / "alerts.yml", DEPLOY / "grafana" / "gateway.json", ROOT / "docs" / "runbook.md")
    for source in sources:
        used = set(re.findall(r"\bgateway_[a-z0-9_]+", source.read_text("utf-8")))
        assert used <= exposed, f"{source.name} uses series the daemon does not export: {sorted(used - exposed)}"
    assert sample(text, "gateway_queue_depth_messages", connector=sms, sender="other", state="queued") == 0
    for c in (sms, loop, kakao):
        channel = "alimtalk" if c == kakao else "sms"
        for name, labels in [
            ("gateway_messages_total", {"channel": channel, "outcome": "submitted"}),
            ("gateway_messages_total", {"channel": channel, "outcome": "failed"}),
            ("gateway_receipts_total", {"state": "delivered"}),
            ("gateway_receipts_total", {"state": "undeliverable"}),
            ("gateway_enqueue_to_submit_seconds_count", {}),
            ("gateway_submit_to_receipt_seconds_count", {}),
            ("gateway_connector_paused", {}),
            ("gateway_connector_in_flight_messages", {}),
            ("gateway_ratelimit_throttle_events_total", {}),
        ]:
            assert sample(text, name, connector=c, **labels) == 0, (name, c, labels)
    assert (
        sample(
            text,
            "gateway_smpp_command_status_total",
            connector=sms,
            command="submit_sm",
            command_status="ESME_RTHROTTLED",
        )
        == 0
    )
    assert sample(text, "gateway_smpp_reconnects_total", connector=sms) == 0
    assert sample(text, "gateway_kakao_breaker_open", connector=kakao) == 0
    assert sample(text, "gateway_kakao_requests_total", connector=kakao, kind="send", outcome="unavailable") == 0
    assert sample(text, "gateway_policy_decisions_total", decision="suppress", reason="opted_out") == 0
    assert sample(text, "gateway_writer_waiting_rows", buffer="outcomes") == 0
    assert sample(text, "gateway_build_info") == 1
    assert sample(text, "gateway_connector_sessions", connector=sms, kind="up") == 1
    assert sample(text, "gateway_connector_capacity_messages", connector=sms) == 64


async def test_latencies_window_and_one_receipts_family(db_url: str, db: asyncpg.Connection) -> None:
    """Enqueue->submit and submit->receipt are timed once per message, receipts are counted once each in
    gateway_receipts_total (also those that overtook their submit), and no other family counts receipts."""
    name, n = unique("lat"), 200
    sim_config = SimulatorConfig(receipt_delay=0.05, receipts_before_response=False)
    async with SmscSimulator(sim_config) as sim:
        smpp = [{"type": "smpp", "name": name, "port": sim.port, "system_id": "gw", "window": 10}]
        async with daemons(db_url, config_dict("latency", smpp)) as (d,):
            await wait_for(d.connectors[name].is_ready, what="the bind")
            sim.update(receipts_before_response=True)  # half of them race their own submit
            await copy_messages(db, [{"body": f"m{i}"} for i in range(n // 2)])
            await wait_for(lambda: sim.stats.receipts_acked >= n // 2, timeout=20, what="half the receipts")
            sim.update(receipts_before_response=False)
            await copy_messages(db, [{"body": f"m{i}"} for i in range(n // 2)])

            async def delivered() -> bool:
                return await db.fetchval("SELECT count(*) FROM gateway.messages WHERE state = 'delivered'") == n

            await wait_for(delivered, timeout=20, what="delivery")
            text = await scrape(d.admin_port)
    assert sample(text, "gateway_enqueue_to_submit_seconds_count", connector=name) == n
    assert sample(text, "gateway_submit_to_receipt_seconds_count", connector=name) == n
    assert sample(text, "gateway_receipts_total", connector=name, state="delivered") == n
    assert 0 < sample(text, "gateway_enqueue_to_submit_seconds_sum", connector=name) < n * 20
    counting = [f.name for f in REGISTRY.collect() if "receipt" in f.name and f.name.endswith("receipts")]
    assert counting == ["gateway_receipts"], counting  # prometheus_client strips _total from counter names


async def test_window_use_and_errors_by_command_status(db_url: str, db: asyncpg.Connection) -> None:
    """A slow SMSC shows a full window (in flight = capacity); its refusals are counted by command_status name."""
    name = unique("win")
    async with SmscSimulator(SimulatorConfig(response_delay=1.0, reject_every=4)) as sim:
        smpp = [{"type": "smpp", "name": name, "port": sim.port, "system_id": "gw", "window": 8}]
        async with daemons(db_url, config_dict("window", smpp)) as (d,):
            await wait_for(d.connectors[name].is_ready, what="the bind")
            await copy_messages(db, [{"body": f"m{i}"} for i in range(40)])
            await wait_for(lambda: d.connectors[name].health().in_flight == 8, what="a full window")
            full = await scrape(d.admin_port)
            labels = {"connector": name, "command": "submit_sm", "command_status": "ESME_RINVDSTADR"}
            await wait_for(
                lambda: (REGISTRY.get_sample_value("gateway_smpp_command_status_total", labels) or 0) >= 4,
                timeout=15,
                what="refusals",
            )
            after = await scrape(d.admin_port)
    assert sample(full, "gateway_connector_in_flight_messages", connector=name) == 8
    assert sample(full, "gateway_connector_capacity_messages", connector=name) == 8
    refused = sample(
        after,
        "gateway_smpp_command_status_total",
        connector=name,
        command="submit_sm",
        command_status="ESME_RINVDSTADR",
    )
    assert refused is not None and refused >= 4
    assert (
        sample(
            after,
            "gateway_smpp_command_status_total",
            connector=name,
            command="submit_sm",
            command_status="ESME_RTHROTTLED",
        )
        == 0
    )
