"""Issue 15's seven problems, each as a user met it: every test here failed on main before the fix.

They use only interfaces main already had (SQL, the daemon, the CLI, ``evaluate``,
``PolicyDbGate``, ``PgStore``), so they run — and fail — on the old main too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
import asyncpg
import pytest

from gateway.config import parse_config
from gateway.daemon import Daemon
from gateway.policy import ALLOW, OptOutSet, PolicyConfig, evaluate
from gateway.policy.gate import PolicyDbGate
from gateway.port import OutboundMessage
from gateway.queue.store import PgStore

pytestmark = pytest.mark.anyio

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
KR_AD = "(광고) 겨울 세일 50%! 무료수신거부 080-123-4567"
KAKAO_SENDER = "SENDERKEY0000000000000000000000000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(db: asyncpg.Connection, sql: str, expected, timeout: float = 20.0, *args) -> None:
    with anyio.fail_after(timeout):
        while await db.fetchval(sql, *args) != expected:
            await anyio.sleep(0.05)


def ad(recipient: str, body: str = "promo", **kw) -> OutboundMessage:
    return OutboundMessage(1, "sms", "15880000", recipient, body, kind="advertising", **kw)


# --- 1. an Alimtalk that fails inside a campaign gets its SMS fallback ------------------------------


async def test_problem1_alimtalk_fallback_inside_a_campaign_is_sent(db_url: str, db: asyncpg.Connection,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    """Problem 1: a campaign's Alimtalk to a non-KakaoTalk user falls back to SMS, sent (not a duplicate)."""
    from gateway.kakao import sync_templates
    from gateway.simulators.kakao import KakaoSimulator
    from gateway.simulators.smsc import SimulatorConfig, SmscSimulator

    templates = tmp_path / "t.yaml"
    templates.write_text(f"- sender_key: {KAKAO_SENDER}\n  template_code: ORDER\n"
                         "  body: '#{name}님, 주문이 접수되었습니다.'\n  status: approved\n")  # fmt: skip
    await sync_templates(db, templates)
    port = free_port()
    async with KakaoSimulator(webhook_url=f"http://127.0.0.1:{port}/reports/kakao/results",
                              webhook_secret="hook-secret") as kakao, \
            SmscSimulator(SimulatorConfig(system_id="gw", password="pw", seed=1)) as smsc:  # fmt: skip
        kakao.script("01022222222", result_code="not_kakao_user")
        config = parse_config({
            "http": {"port": port},
            "admin": {"port": 0},
            "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
            "connectors": [
                {"type": "kakao", "name": "kakao", "base_url": kakao.base_url, "app_key": kakao.app_key,
                 "secret_key": kakao.secret_key, "webhook_secret": "hook-secret", "batch_linger_seconds": 0.01},
                {"type": "smpp", "name": "smsc", "port": smsc.port, "system_id": "gw", "password": "pw"},
            ],
        })  # fmt: skip
        fallback = {"type": "SMS", "sender": "15880000", "text": "주문이 접수되었습니다"}
        for number in ("+821011111111", "+821022222222"):
            await db.execute(
                "INSERT INTO gateway.outbox (channel, sender, recipient, body, campaign_id, extras) VALUES "
                "('alimtalk', $1, $2, '홍길동님, 주문이 접수되었습니다.', 'order-notices', $3)",
                KAKAO_SENDER,
                number,
                {"template_code": "ORDER", "fallback": fallback},
            )
        daemon = Daemon(config, database_url=db_url)
        async with anyio.create_task_group() as tg:
            await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
            with anyio.fail_after(30):
                while await db.fetchval("SELECT count(*) FROM gateway.message_status WHERE channel = 'sms' "
                                        "AND state NOT IN ('queued', 'deferred', 'sending')") < 1:  # fmt: skip
                    await anyio.sleep(0.1)
            daemon.stop()
    sms = await db.fetchrow(
        "SELECT state, reason, campaign_id, extras FROM gateway.message_status WHERE channel = 'sms'"
    )
    original = await db.fetchval("SELECT id FROM gateway.message_status WHERE recipient = '+821022222222' "
                                 "AND channel = 'alimtalk'")  # fmt: skip
    assert sms["campaign_id"] == "order-notices" and sms["extras"]["fallback_of"] == original
    assert sms["state"] in ("submitted", "delivered"), (sms["state"], sms["reason"])


# --- 2. scheduled campaigns do not expire at their send_at -------------------------------------------


async def test_problem2_a_campaign_scheduled_far_ahead_does_not_expire_at_its_send_at(db, pool) -> None:
    """Problem 2: enqueued 5 h before its send_at with a 4 h campaign max age, the message is sendable at send_at."""
    now = datetime.now(UTC)
    await db.execute(
        "INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, campaign_id, consent, created_at, "
        "send_at) VALUES ('sms', '15880000', '+821012345678', $1, 'advertising', 'morning', true, $2, $3)",
        KR_AD,
        now - timedelta(hours=5),
        now - timedelta(seconds=5),
    )
    await db.execute("UPDATE gateway.outbox SET state = 'queued'")  # send_at reached: the promote job's work
    claim = await PgStore(pool, owner="t#1").claim(10, ["sms"])
    config = PolicyConfig.model_validate({"expiry": {"campaign_max_age_seconds": {"morning": 4 * 3600}},
                                          "quiet_hours": {"enabled": False}})  # fmt: skip
    [(_, decision)] = await PolicyDbGate(config, pool).decide(claim.messages, now)
    assert decision == ALLOW


# --- 3. the fatigue cap counts sends, not the gateway's own refusals ---------------------------------


async def test_problem3_ads_refused_as_too_long_do_not_use_up_the_fatigue_cap(db_url: str, db) -> None:
    """Problem 3: three ads failed too_long by the SMPP connector; a fourth, valid one is sent (not fatigue)."""
    from gateway.simulators.smsc import SimulatorConfig, SmscSimulator

    async with SmscSimulator(SimulatorConfig(system_id="gw", password="pw", seed=1)) as sim:
        config = parse_config({
            "http": {"enabled": False},
            "admin": {"enabled": False},
            "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
            "policy": {"quiet_hours": {"enabled": False}, "fatigue": {"max_messages": 3}},
            "connectors": [{"type": "smpp", "name": "smsc", "port": sim.port, "system_id": "gw", "password": "pw",
                            "max_segments": 1, "registered_delivery": 0}],
        })  # fmt: skip
        insert = ("INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, campaign_id, consent) "
                  "VALUES ('sms', '15880000', '+821012345678', $1, 'advertising', $2, true)")  # fmt: skip
        daemon = Daemon(config, database_url=db_url)
        async with anyio.create_task_group() as tg:
            await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
            for campaign in ("a", "b", "c"):
                await db.execute(insert, KR_AD + " 오늘만 특가 " * 20, campaign)  # two segments: too long
            await wait_for(db, "SELECT count(*) FROM gateway.message_status WHERE reason = 'too_long'", 3)
            await db.execute(insert, KR_AD, "d")
            await wait_for(db, "SELECT count(*) FROM gateway.message_status WHERE campaign_id = 'd' "
                               "AND state NOT IN ('queued', 'deferred', 'sending')", 1)  # fmt: skip
            daemon.stop()
    row = await db.fetchrow("SELECT state, reason FROM gateway.message_status WHERE campaign_id = 'd'")
    assert (row["state"], row["reason"]) == ("submitted", None)


# --- 4. policy runs again right before sending --------------------------------------------------------


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def test_problem4_an_ad_waiting_behind_the_rate_limit_does_not_go_out_after_quiet_hours_began(
    db, pool, db_url
) -> None:
    """Problem 4: claimed at 20:59:59 Seoul, rate 1/s: ads still waiting at 21:00 are deferred, not sent at night."""
    from gateway.connectors.config import LoopbackConnectorConfig
    from gateway.connectors.loopback import LoopbackConnector
    from gateway.queue.config import EngineConfig
    from gateway.ratelimit import RateLimitConfig
    from tests.support.queue import pg_engine

    for n in range(3):
        await db.execute(
            "INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, consent) "
            "VALUES ('sms', '15880000', $1, $2, 'advertising', true)",
            f"+82101111000{n}",
            KR_AD,
        )
    clock = Clock(datetime(2026, 7, 14, 20, 59, 59, tzinfo=SEOUL))

    def on_result(message, result) -> None:
        clock.at = datetime(2026, 7, 14, 21, 0, 1, tzinfo=SEOUL)

    engine = pg_engine(
        pool, db_url, {"lb": LoopbackConnector(LoopbackConnectorConfig(name="lb", receipts=False))},
        config=EngineConfig(flush_interval_ms=5, idle_poll_ms=20, drain_seconds=1),
        gate=PolicyDbGate(PolicyConfig(), pool),
        ratelimit=RateLimitConfig.model_validate({"connectors": {"lb": {"rate": 1, "burst": 1}}}),
        wall_clock=clock, on_result=on_result,
    )  # fmt: skip
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        with anyio.fail_after(10):  # each message submitted, or deferred again
            while await db.fetchval("SELECT count(*) FROM gateway.message_status "
                                    "WHERE state NOT IN ('queued', 'sending')") < 3:  # fmt: skip
                await anyio.sleep(0.05)
        engine.stop()
    states = sorted(r["state"] for r in await db.fetch("SELECT state FROM gateway.message_status"))
    assert states == ["deferred", "deferred", "submitted"]


# --- 5. consent per country, and Korea's night-time consent -------------------------------------------


def test_problem5_us_advertising_needs_explicit_consent() -> None:
    """Problem 5: a US ad with consent NULL is not sent (TCPA: prior express written consent)."""
    decision = evaluate(ad("+12125551234"), consent=None, now=datetime(2026, 7, 14, 12, tzinfo=NEW_YORK),
                        config=PolicyConfig(), opt_outs=OptOutSet())  # fmt: skip
    assert decision != ALLOW and decision.reason == "consent_missing"


def test_problem5_korean_night_consent_can_be_recorded() -> None:
    """Problem 5: a Korean ad at 22:00 with extras.night_consent = true goes out (separate night consent)."""
    msg = ad("+821012345678", KR_AD, extras={"night_consent": True})
    decision = evaluate(msg, consent=True, now=datetime(2026, 7, 14, 22, tzinfo=SEOUL), config=PolicyConfig(),
                        opt_outs=OptOutSet())  # fmt: skip
    assert decision == ALLOW


# --- 6. operator control of parked advertising ---------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ})  # fmt: skip


async def test_problem6_a_campaign_can_be_held_and_released_from_the_cli(db_url: str, db) -> None:
    """Problem 6: `gateway campaign hold` parks a campaign's messages, `release` frees them; both with an actor."""
    await db.execute("INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, campaign_id) "
                     "VALUES ('sms', '15880000', '+821012345678', $1, 'advertising', 'spring')", KR_AD)  # fmt: skip
    held = await anyio.to_thread.run_sync(
        lambda: run_cli("campaign", "hold", "spring", "--actor", "alice", "--database-url", db_url)
    )
    assert held.returncode == 0, held.stderr
    assert await db.fetchval("SELECT last_reason FROM gateway.outbox") == "held_campaign"
    released = await anyio.to_thread.run_sync(
        lambda: run_cli("campaign", "release", "spring", "--actor", "bob", "--database-url", db_url)
    )
    assert released.returncode == 0, released.stderr
    assert [r["actor"] for r in await db.fetch("SELECT actor FROM gateway.policy_actions ORDER BY id")] == [
        "alice",
        "bob",
    ]


def test_problem6_skip_instead_of_defer_ends_the_message_suppressed() -> None:
    """Problem 6: on_quiet_hours = "skip" ends a night-time ad as suppressed/quiet_hours instead of parking it."""
    config = parse_config({"policy": {"quiet_hours": {"on_quiet_hours": "skip"}}}).policy
    decision = evaluate(ad("+821012345678", KR_AD), consent=True, now=datetime(2026, 7, 14, 22, tzinfo=SEOUL),
                        config=config, opt_outs=OptOutSet())  # fmt: skip
    assert (decision.action.value, decision.reason) == ("suppress", "quiet_hours")


# --- 7. US state quiet hours, Korean sender names, "(광고)" on informational messages -----------------------


def test_problem7_connecticut_ads_wait_until_nine() -> None:
    """Problem 7: an ad to a Connecticut number at 08:30 local time waits (state rule 9-20; federal 8-21)."""
    decision = evaluate(ad("+12035550123"), consent=True, now=datetime(2026, 7, 14, 8, 30, tzinfo=NEW_YORK),
                        config=PolicyConfig(), opt_outs=OptOutSet())  # fmt: skip
    assert decision != ALLOW and decision.reason == "quiet_hours"


def test_problem7_korean_ads_must_name_their_sender() -> None:
    """Problem 7: with the sender's brand names configured, a Korean ad that names none of them is refused."""
    config = parse_config({"policy": {"content": {"sender_names": {"15880000": ["OO쇼핑"]}}}}).policy
    decision = evaluate(ad("+821012345678", KR_AD), consent=True, now=datetime(2026, 7, 14, 12, tzinfo=SEOUL),
                        config=config, opt_outs=OptOutSet())  # fmt: skip
    assert decision != ALLOW and decision.reason == "kr_ad_sender_name_missing"


async def test_problem7_informational_body_starting_with_the_ad_prefix_leaves_a_warning_event(db, pool) -> None:
    """Problem 7: an informational SMS starting with "(광고)" gets a warning event when the gate lets it through."""
    await db.execute("INSERT INTO gateway.outbox (channel, sender, recipient, body) "
                     "VALUES ('sms', '15880000', '+821012345678', '(광고) 오늘만 특가')")  # fmt: skip
    claim = await PgStore(pool, owner="t#1").claim(10, ["sms"])
    await PolicyDbGate(PolicyConfig(), pool).decide(claim.messages, datetime(2026, 7, 14, 22, tzinfo=SEOUL))
    row = await db.fetchrow("SELECT state, reason FROM gateway.events WHERE state = 'warning'")
    assert row is not None and row["reason"] == "informational_ad_prefix"
