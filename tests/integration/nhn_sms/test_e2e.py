"""Korean SMS, LMS, MMS and the Alimtalk fallback end to end: the daemon, PostgreSQL, the NHN SMS simulator."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from gateway.config import parse_config
from gateway.daemon import Daemon
from gateway.kakao import sync_templates
from gateway.simulators.kakao import KakaoSimulator
from gateway.simulators.nhn_sms import NhnSmsSimulator
from tests.support.nhn_sms import WEBHOOK_SECRET, example_jpeg

pytestmark = pytest.mark.anyio

KAKAO = "SENDERKEY0000000000000000000000000000001"
TEMPLATES = (
    f"- sender_key: {KAKAO}\n  template_code: ORDER\n"
    "  body: '#{name}님, 주문이 접수되었습니다.'\n  status: approved\n"
)
NOTICE_96 = "[Notice] 10/21 02:00-04:00 서버 점검으로 앱 접속이 안 됩니다. 양해 부탁드립니다. (help: 1588-00)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nhn_connector(sim: NhnSmsSimulator, **extra: Any) -> dict[str, Any]:
    return {
        "type": "nhn_sms",
        "name": "nhn",
        "base_url": sim.base_url,
        "app_key": sim.app_key,
        "secret_key": sim.secret_key,
        "webhook_secret": WEBHOOK_SECRET,
        "batch_linger_seconds": 0.01,
        "sweep_interval_seconds": 3600.0,
        **extra,
    }


def kakao_connector(sim: KakaoSimulator) -> dict[str, Any]:
    return {
        "type": "kakao",
        "name": "kakao",
        "base_url": sim.base_url,
        "app_key": sim.app_key,
        "secret_key": sim.secret_key,
        "webhook_secret": "k",
        "batch_linger_seconds": 0.01,
    }


async def kakao_templates(db: asyncpg.Connection, tmp_path: Path) -> None:
    templates = tmp_path / "t.yaml"
    templates.write_text(TEMPLATES)
    await sync_templates(db, templates)


@asynccontextmanager
async def daemon_running(config: dict[str, Any], db_url: str) -> AsyncIterator[Daemon]:
    daemon = Daemon(parse_config(config), database_url=db_url)
    async with anyio.create_task_group() as tg:
        await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
        try:
            yield daemon
        finally:
            daemon.stop()


async def settle(
    db: asyncpg.Connection, n: int, states: tuple[str, ...] = ("delivered", "failed", "undeliverable")
) -> None:
    with anyio.fail_after(20):
        while await db.fetchval("SELECT count(*) FROM gateway.message_status WHERE state = ANY($1)", list(states)) < n:
            await anyio.sleep(0.05)


async def test_sms_lms_and_mms_through_nhn_cloud(db_url: str, db: asyncpg.Connection) -> None:
    """A 96-byte Korean notice goes out as one LMS (not two SMS parts), a short one as SMS, a picture as MMS."""
    port = free_port()
    async with NhnSmsSimulator(
        webhook_url=f"http://127.0.0.1:{port}/reports/nhn/results", webhook_secret=WEBHOOK_SECRET
    ) as sim:
        picture = await db.fetchval(
            "INSERT INTO gateway.attachments (file_name, data) VALUES ('coupon.jpg', $1) RETURNING id", example_jpeg()
        )
        rows = [
            ("짧은 안내입니다.", {}),
            (NOTICE_96, {}),
            ("쿠폰을 보내드립니다.", {"attachments": [picture], "title": "쿠폰"}),
            ("결제 완료 😀", {}),
        ]
        for body, extras in rows:
            await db.execute(
                "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras) VALUES ('sms', '15446859', "
                "'+821012345678', $1, $2)",
                body,
                extras,
            )
        config = {
            "http": {"port": port},
            "admin": {"port": 0},
            "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
            "connectors": [nhn_connector(sim)],
        }
        async with daemon_running(config, db_url):
            await settle(db, 4)
    assert len(NOTICE_96.encode("cp949")) == 96
    sent = {r.body: r.message_type for r in sim.records}
    assert sent == {"짧은 안내입니다.": "SMS", NOTICE_96: "LMS", "쿠폰을 보내드립니다.": "MMS"}
    assert sim.requests["send"] == 3 and sim.uploads == 1
    status = {
        r["body"]: r
        for r in await db.fetch(
            "SELECT m.body, m.state, m.reason, m.segments, e.detail->>'detail' AS text FROM gateway.messages m LEFT JOIN gateway.events e ON e.message_id = m.id AND e.state = m.state"
        )
    }
    assert status[NOTICE_96]["state"] == "delivered" and status[NOTICE_96]["segments"] == 1
    assert status["결제 완료 😀"]["state"] == "failed"
    assert status["결제 완료 😀"]["reason"] == "unencodable"
    assert status["결제 완료 😀"]["text"].startswith("EUC-KR (CP949) cannot carry U+1F600 GRINNING FACE")
    types = {
        (r["type"], r["state"]): r["n"]
        for r in await db.fetch(
            "SELECT detail ->> 'message_type' AS type, state, count(*) AS n FROM gateway.events "
            "WHERE detail ? 'message_type' GROUP BY 1, 2"
        )
    }
    assert types == {("sms", "submitted"): 1, ("lms", "submitted"): 1, ("mms", "submitted"): 1, ("auto", "failed"): 1}

    from gateway.operator.status import collect_status, render_status

    shown = render_status(await collect_status(db))
    assert "by message type" in shown and " lms  submitted" in shown


async def test_alimtalk_falls_back_to_lms_through_nhn(db_url: str, db: asyncpg.Connection, tmp_path: Path) -> None:
    """A failed Alimtalk whose fallback text is over 90 bytes is sent as an LMS with its title, by the SMS route."""
    await kakao_templates(db, tmp_path)
    port = free_port()
    text = (
        "홍길동님, 주문이 접수되었습니다. 카카오톡을 쓰지 않으시는 분께 문자로 알려 드립니다. "
        "주문 내역은 앱에서 확인하세요."
    )
    async with (
        KakaoSimulator(webhook_url=f"http://127.0.0.1:{port}/reports/kakao/results", webhook_secret="k") as kakao,
        NhnSmsSimulator(
            webhook_url=f"http://127.0.0.1:{port}/reports/nhn/results", webhook_secret=WEBHOOK_SECRET
        ) as sim,
    ):
        kakao.script("01022222222", result_code="not_kakao_user")
        await db.execute(
            "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras) VALUES "
            "('alimtalk', $1, '+821022222222', '홍길동님, 주문이 접수되었습니다.', $2)",
            KAKAO,
            {
                "template_code": "ORDER",
                "fallback": {"type": "SMS", "sender": "15446859", "text": text, "title": "주문 접수"},
            },
        )
        config = {
            "http": {"port": port},
            "admin": {"port": 0},
            "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
            "connectors": [
                kakao_connector(kakao),
                nhn_connector(sim),
            ],
        }
        async with daemon_running(config, db_url):
            await settle(db, 2, ("delivered", "undeliverable"))
    fallback = await db.fetchrow("SELECT * FROM gateway.message_status WHERE channel = 'sms'")
    assert fallback["state"] == "delivered" and fallback["connector"] == "nhn"
    assert fallback["extras"]["type"] == "lms" and fallback["extras"]["title"] == "주문 접수"
    (record,) = sim.records
    assert record.message_type == "LMS" and record.title == "주문 접수" and record.body == text


async def test_fallbacks_not_sent_leave_an_event(db_url: str, db: asyncpg.Connection, tmp_path: Path) -> None:
    """A due fallback whose text EUC-KR cannot carry, or whose message expired, is skipped with an event saying why."""
    await kakao_templates(db, tmp_path)
    port = free_port()
    async with KakaoSimulator(
        webhook_url=f"http://127.0.0.1:{port}/reports/kakao/results", webhook_secret="k", result_delay=1.5
    ) as kakao:
        kakao.script("01022222222", result_code="not_kakao_user")
        kakao.script("01033333333", result_code="not_kakao_user")
        for number, text, expires in (
            ("+821022222222", "주문이 접수되었습니다 😀", None),
            ("+821033333333", "주문이 접수되었습니다", "1 second"),
        ):
            await db.execute(
                "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras, expires_at) VALUES "
                "('alimtalk', $1, $2, '홍길동님, 주문이 접수되었습니다.', $3, now() + $4::text::interval)",
                KAKAO,
                number,
                {"template_code": "ORDER", "fallback": {"sender": "15446859", "text": text}},
                expires or "1 hour",
            )
        config = {
            "http": {"port": port},
            "admin": {"port": 0},
            "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
            "connectors": [
                kakao_connector(kakao),
                {"type": "loopback", "name": "sms"},
            ],
        }
        async with daemon_running(config, db_url):
            await settle(db, 2, ("undeliverable",))
            with anyio.fail_after(5):
                while await db.fetchval("SELECT count(*) FROM gateway.events WHERE reason = 'fallback_skipped'") < 2:
                    await anyio.sleep(0.05)
    skips = {
        r["recipient"]: r["why"]
        for r in await db.fetch(
            "SELECT m.recipient, e.detail ->> 'why' AS why FROM gateway.events e JOIN gateway.messages m "
            "ON m.id = e.message_id WHERE e.reason = 'fallback_skipped'"
        )
    }
    assert skips["+821022222222"].startswith("not_encodable: EUC-KR (CP949) cannot carry U+1F600 GRINNING FACE")
    assert skips["+821033333333"].startswith("expired: ")
    assert await db.fetchval("SELECT count(*) FROM gateway.message_status WHERE channel = 'sms'") == 0
