"""Alimtalk end to end: the daemon, its webhook, the provider simulator, the send journal, and SMS fallback."""

from __future__ import annotations

import socket
from pathlib import Path

import anyio
import asyncpg
import pytest

from gateway.config import parse_config
from gateway.daemon import Daemon
from gateway.kakao import sync_templates
from gateway.simulators.kakao import KakaoSimulator

pytestmark = pytest.mark.anyio

SENDER = "SENDERKEY0000000000000000000000000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_results_by_webhook_and_fallback_to_sms(db_url: str, db: asyncpg.Connection, tmp_path: Path) -> None:
    """Results arrive by NHN's webhook; a not-a-KakaoTalk-user result sends the SMS fallback; the journal is final."""
    templates = tmp_path / "t.yaml"
    templates.write_text(
        f"- sender_key: {SENDER}\n  template_code: ORDER\n"
        "  body: '#{name}님, 주문이 접수되었습니다.'\n  status: approved\n"
    )
    await sync_templates(db, templates)
    port = free_port()
    async with KakaoSimulator(
        webhook_url=f"http://127.0.0.1:{port}/reports/kakao/results", webhook_secret="hook-secret"
    ) as sim:
        sim.script("01022222222", result_code="not_kakao_user")
        config = parse_config(
            {
                "instance_name": "kakao-e2e",
                "http": {"port": port},
                "admin": {"port": 0},
                "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
                "connectors": [
                    {
                        "type": "kakao",
                        "name": "kakao",
                        "base_url": sim.base_url,
                        "app_key": sim.app_key,
                        "secret_key": sim.secret_key,
                        "webhook_secret": "hook-secret",
                        "batch_linger_seconds": 0.01,
                    },
                    {"type": "loopback", "name": "sms", "receipts": True},
                ],
            }
        )
        fallback = {"type": "SMS", "sender": "15880000", "text": "주문이 접수되었습니다"}
        for n, number in enumerate(("+821011111111", "+821022222222")):
            await db.execute(
                "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras) VALUES "
                "('alimtalk', $1, $2, '홍길동님, 주문이 접수되었습니다.', $3)",
                SENDER,
                number,
                {"template_code": "ORDER", "fallback": fallback, "n": n},
            )
        daemon = Daemon(config, database_url=db_url)
        async with anyio.create_task_group() as tg:
            await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
            with anyio.fail_after(20):
                while (
                    await db.fetchval(
                        "SELECT count(*) FROM gateway.message_status WHERE state IN ('delivered', 'undeliverable')"
                    )
                    < 3
                ):
                    await anyio.sleep(0.1)
            daemon.stop()
    rows = await db.fetch("SELECT id, channel, recipient, state, extras FROM gateway.message_status ORDER BY id")
    by = {(r["channel"], r["recipient"]): r for r in rows}
    assert by[("alimtalk", "+821011111111")]["state"] == "delivered"
    failed = by[("alimtalk", "+821022222222")]
    assert failed["state"] == "undeliverable"  # the provider's result: not a KakaoTalk user
    sms = by[("sms", "+821022222222")]
    assert sms["state"] == "delivered"
    assert sms["extras"]["fallback_of"] == failed["id"]
    link = await db.fetchval(
        "SELECT detail->>'fallback_message_id' FROM gateway.events WHERE message_id = $1 AND state = 'fallback'",
        failed["id"],
    )
    assert int(link) == sms["id"]
    assert sim.webhooks_delivered >= 1
    assert len(rows) == 3
    journal = await db.fetch("SELECT message_id, state, result_code FROM gateway.kakao_sends ORDER BY message_id")
    assert [(r["state"], r["result_code"]) for r in journal] == [("final", "1000"), ("final", "3019")]
