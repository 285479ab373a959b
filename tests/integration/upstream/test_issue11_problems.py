"""Issue 11's problems, each as an upstream developer met them (problems 1 and 2, the feed and its
notifications: tests/integration/queue/test_event_feed.py). Each test fails on the main before issue 11."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import anyio
import asyncpg
import pytest

from gateway.config import parse_config
from gateway.connectors.config import LoopbackConnectorConfig
from gateway.connectors.loopback import LoopbackConnector
from gateway.daemon import Daemon
from gateway.kakao import InMemoryTemplateStore, KakaoConnector
from gateway.port import Outcome
from gateway.queue.config import EngineConfig
from gateway.simulators.kakao import KakaoSimulator
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from tests.support.kakao import TEMPLATES, make_config, message, running
from tests.support.kakao import FakeSink as KakaoSink
from tests.support.policy import login_role
from tests.support.queue import pg_engine

pytestmark = pytest.mark.anyio

FAST = EngineConfig(flush_interval_ms=3, idle_poll_ms=20, heartbeat_seconds=0.2, drain_seconds=2)
INSERT = "INSERT INTO gateway.outbox (channel, sender, recipient, body, idempotency_key) VALUES ($1, $2, $3, $4, $5)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(predicate: Callable[[], Any], timeout: float = 30.0) -> None:
    with anyio.fail_after(timeout):
        while not await predicate():
            await anyio.sleep(0.05)


# --- 3. national numbers went to the carrier verbatim ---------------------------------------------


@pytest.mark.parametrize(
    ("connector", "expected"),
    [({}, ("821023456789", 1, 1)), ({"destination_format": "domestic", "home_region": "KR"}, ("01023456789", 0, 1))],
)
async def test_problem3_both_spellings_of_a_number_reach_the_carrier_in_one_canonical_form(
    db_url: str, db: asyncpg.Connection, connector: dict[str, Any], expected: tuple[str, int, int]
) -> None:
    """'010-2345-6789' and '+82 10-2345-6789' reach the SMSC as one address with the TON/NPI of its form,
    and the status keeps what upstream wrote beside the canonical +821023456789."""
    async with SmscSimulator(SimulatorConfig(system_id="gateway", password="secret")) as smsc:
        config = parse_config(
            {
                "instance_name": "numbers",
                "http": {"enabled": False},
                "admin": {"port": 0},
                "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
                "connectors": [{"type": "smpp", "name": "smsc", "port": smsc.port, "system_id": "gateway",
                                "password": "secret", **connector}],
            }
        )  # fmt: skip
        daemon = Daemon(config, database_url=db_url)
        async with anyio.create_task_group() as tg:
            await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
            for n, raw in enumerate(["010-2345-6789", "+82 10-2345-6789"]):
                await db.execute(INSERT, "sms", "15880000", raw, f"hello {n}", None)

            async def both_sent() -> bool:
                return len(smsc.stats.accepted_log) >= 2

            await until(both_sent)
            daemon.stop()
    sent = {(e.pdu.destination_addr, e.pdu.dest_addr_ton, e.pdu.dest_addr_npi) for e in smsc.stats.accepted_log}
    assert sent == {expected}
    status = await db.fetch("SELECT recipient, recipient_e164 FROM gateway.message_status ORDER BY id")
    assert [(r["recipient"], r["recipient_e164"]) for r in status] == [
        ("010-2345-6789", "+821023456789"),
        ("+82 10-2345-6789", "+821023456789"),
    ]


# --- 4. free-text reasons, and final states without one ---------------------------------------------


async def test_problem4_an_unreachable_provider_gives_a_fixed_reason_and_its_text_in_the_detail() -> None:
    """Alimtalk with the provider down: reason 'alimtalk_provider_unavailable', the error text in the detail."""
    async with KakaoSimulator(seed=7) as sim:
        sim.fail_next(3, status=503)
        sink = KakaoSink()
        connector = KakaoConnector(
            make_config(sim, retry_attempts=3, breaker_failure_threshold=10), InMemoryTemplateStore(TEMPLATES)
        )
        async with running(connector, sink):
            await connector.send(message(1))
            [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.RETRY
    assert result.reason == "alimtalk_provider_unavailable"
    assert result.detail is not None and "503" in result.detail["detail"]


async def test_problem4_an_unknown_template_gives_a_fixed_reason_naming_the_template_in_the_detail() -> None:
    """An unregistered template: reason 'alimtalk_template_unknown'; the template's name only in the detail."""
    async with KakaoSimulator(seed=7) as sim:
        sink = KakaoSink()
        connector = KakaoConnector(make_config(sim), InMemoryTemplateStore(TEMPLATES))
        async with running(connector, sink):
            await connector.send(message(1, template="X"))
            [result] = await sink.wait_results(1)
    assert (result.outcome, result.reason) == (Outcome.FAILED, "alimtalk_template_unknown")
    assert result.detail is not None and "'X'" in result.detail["detail"]


async def test_problem4_a_message_settled_by_its_receipt_has_a_reason(
    db_url: str, db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    """Undeliverable and delivered receipts leave reason 'receipt' in message_status (not NULL)."""
    await db.executemany(INSERT, [("sms", "1588", "+821012345678", f"m{i}", None) for i in range(20)])
    connector = LoopbackConnector(
        LoopbackConnectorConfig(name="lb", receipt_delay_ms=5, undeliverable_rate=0.5, seed=11)
    )
    engine = pg_engine(pool, db_url, {"lb": connector}, config=FAST)
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)

        async def all_final() -> bool:
            return await db.fetchval("SELECT count(*) FROM gateway.messages WHERE final_at IS NOT NULL") == 20

        await until(all_final)
        engine.stop()
    rows = await db.fetch("SELECT state, reason FROM gateway.message_status")
    assert {r["state"] for r in rows} == {"delivered", "undeliverable"}
    assert {r["reason"] for r in rows} == {"receipt"}


# --- 5. idempotency -----------------------------------------------------------------------------------


async def test_problem5_a_key_reused_with_another_payload_is_an_error_naming_the_key(db: asyncpg.Connection) -> None:
    """The same key with a different body fails with outbox_idempotency_key_reused, naming key and message;
    the same payload again is silently the same message."""
    await db.execute(INSERT, "sms", "1588", "+821012345678", "code 123456", "otp:user-7")
    await db.execute(INSERT, "sms", "1588", "+821012345678", "code 123456", "otp:user-7")  # the same: no error
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await db.execute(INSERT, "sms", "1588", "+821012345678", "code 654321", "otp:user-7")
    assert caught.value.constraint_name == "outbox_idempotency_key_reused"
    first = await db.fetchval("SELECT id FROM gateway.outbox")
    assert "'otp:user-7'" in str(caught.value) and f"message {first}" in str(caught.value)
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox") == 1


async def test_problem5_a_concurrent_duplicate_is_answered_without_a_long_block(db_url: str) -> None:
    """While a first transaction holds a key, a second enqueue with it is answered within a second (a named,
    retryable error while the first is open; the first's id once it committed), not after the first's 2.5 s."""
    first, second = await asyncpg.connect(db_url), await asyncpg.connect(db_url)
    enqueue = "SELECT gateway.enqueue('sms', '1588', '+821012345678', 'hi', p_idempotency_key => 'k-1')"
    try:
        tx = first.transaction()
        await tx.start()
        first_id = await first.fetchval(enqueue)
        with anyio.fail_after(1.5), pytest.raises(asyncpg.LockNotAvailableError) as caught:
            await second.fetchval(enqueue)  # (the main before issue 11 blocked here until the first committed)
        assert "'k-1'" in str(caught.value)
        commit_soon = asyncio.get_running_loop().call_later(0.1, lambda: asyncio.ensure_future(tx.commit()))
        started = time.monotonic()
        assert await second.fetchval(enqueue) == first_id  # waited for the commit, then the existing id
        assert time.monotonic() - started < 1.5
        commit_soon.cancel()
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize(
    ("key", "constraint"),
    [
        ("k" * 201, "outbox_idempotency_key_too_long"),
        ("", "outbox_idempotency_key_empty"),
        ("  ", "outbox_idempotency_key_empty"),
    ],
)
async def test_problem5_each_key_check_names_what_is_wrong(db: asyncpg.Connection, key: str, constraint: str) -> None:
    """A 201-character key is reported as too long, an empty one as empty."""
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await db.execute(INSERT, "sms", "1588", "+821012345678", "x", key)
    assert caught.value.constraint_name == constraint


# --- 6. least privilege -------------------------------------------------------------------------------


async def test_problem6_gateway_upstream_may_enqueue_with_keys_and_plain_integers(
    db: asyncpg.Connection, db_url: str
) -> None:
    """A member of gateway_upstream inserts keyed rows and calls gateway.enqueue(p_priority => 5) without any
    other grant, and may not read the outbox."""
    async with login_role(db, db_url, "gw_up") as (role, url):
        await db.execute(f"GRANT gateway_upstream TO {role}")
        app = await asyncpg.connect(url)
        await app.execute(INSERT, "sms", "1588", "+821012345678", "x", "shop:1")
        got = await app.fetchval(
            "SELECT gateway.enqueue(p_channel => 'sms', p_sender => '1588', p_recipient => '+821012345678', "
            "p_body => 'y', p_idempotency_key => 'shop:2', p_priority => 5)"
        )
        assert got == await app.fetchval("SELECT id FROM gateway.message_status WHERE idempotency_key = 'shop:2'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.fetch("SELECT * FROM gateway.outbox")
        await app.close()
    assert await db.fetchval("SELECT priority FROM gateway.outbox WHERE idempotency_key = 'shop:2'") == 5


async def test_problem6_the_daemon_runs_as_gateway_daemon(db: asyncpg.Connection, db_url: str) -> None:
    """The daemon logged in as a member of gateway_daemon only: partitions, policy, claims, receipts all work."""
    await db.executemany(INSERT, [("sms", "1588", f"010-2345-{i:04d}", f"m{i}", f"k{i}") for i in range(30)])
    async with login_role(db, db_url, "gw_daemon") as (role, url):
        await db.execute(f"GRANT gateway_daemon TO {role}")
        config = parse_config(
            {
                "instance_name": "least-privilege",
                "http": {"enabled": False},
                "admin": {"port": 0},
                "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
                "connectors": [{"type": "loopback", "name": "lb", "receipt_delay_ms": 5}],
            }
        )
        daemon = Daemon(config, database_url=url)
        async with anyio.create_task_group() as tg:
            await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))

            async def delivered() -> bool:
                return await db.fetchval("SELECT count(*) FROM gateway.messages WHERE state = 'delivered'") == 30

            await until(delivered)
            daemon.stop()
