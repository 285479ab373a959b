"""`gateway run` killed with SIGKILL after NHN accepted a batch and before the outcome was committed.

The daemon is a real process; NHN is the provider simulator in this process,
answering the first send late (the request is taken at once, the answer would
come after the kill). A second daemon recovers the lease, finds the journal row
of each message ("sending", provider key), asks NHN's list query and resumes
from NHN's ids: exactly one accepted copy of each message, and every message
delivered.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from gateway.db.pool import connect
from gateway.kakao import sync_templates
from gateway.simulators.kakao import KakaoSimulator
from tests.support.kakao import SENDER

pytestmark = pytest.mark.anyio

MESSAGES = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp_path: Path, db_url: str, sim: KakaoSimulator) -> Path:
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(
        f'''
instance_name = "kill9"
[database]
url = "{db_url}"
[http]
port = {free_port()}
[admin]
port = 0
[engine]
idle_poll_ms = 50
lease_seconds = 2
[logging]
format = "json"
[[connectors]]
type = "kakao"
name = "kakao"
base_url = "{sim.base_url}"
app_key = "{sim.app_key}"
secret_key = "{sim.secret_key}"
results = "poll"
poll_interval_seconds = 0.2
batch_linger_seconds = 0.2
request_timeout_seconds = 30
''',
        encoding="utf-8",
    )
    return cfg


def start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(cfg)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def wait_for(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.05)


async def test_kill9_between_accept_and_commit_sends_exactly_one_copy(db_url: str, tmp_path: Path) -> None:
    """SIGKILL after NHN took the batch, before our commit: the restarted daemon resumes, NHN holds one copy each."""
    conn = await connect(db_url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        templates = tmp_path / "t.yaml"
        templates.write_text(
            f"- {{sender_key: {SENDER}, template_code: NOTICE, body: '#{{name}}님, 안내드립니다.'}}\n", "utf-8"
        )
        await sync_templates(conn, templates)
        async with KakaoSimulator(seed=9) as sim:
            sim.slow_next(1, 8.0)  # taken at once, answered after the kill
            cfg = write_config(tmp_path, db_url, sim)
            for i in range(MESSAGES):
                await conn.execute(
                    "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras) "
                    "VALUES ('alimtalk', $1, $2, $3, $4)",
                    SENDER,
                    f"+8210000000{i:02d}",
                    f"고객{i}님, 안내드립니다.",
                    {"template_code": "NOTICE"},
                )
            log = tmp_path / "daemon.log"
            procs.append(start(cfg, log))

            async def accepted() -> bool:
                return sim.accepted >= MESSAGES

            await wait_for("NHN to accept the batch", accepted)
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait(timeout=10)
            states = await conn.fetch("SELECT state FROM gateway.outbox")
            assert {r["state"] for r in states} == {"sending"}  # nothing was committed
            assert await conn.fetchval("SELECT count(*) FROM gateway.kakao_sends WHERE state = 'sending'") == MESSAGES

            procs.append(start(cfg, log))

            async def delivered() -> bool:
                n = await conn.fetchval("SELECT count(*) FROM gateway.message_status WHERE state = 'delivered'")
                return n == MESSAGES

            await wait_for("every message delivered after the restart", delivered, timeout=60)
            assert sim.accepted == MESSAGES and sim.requests["send"] == 1  # one copy each, no second request
            assert sim.requests["list"] >= 1  # NHN was asked before anything was sent again
            held = {(r["requestId"], r["recipientSeq"]) for r in sim.records()}
            rows = await conn.fetch("SELECT request_id, recipient_seq FROM gateway.kakao_sends")
            assert {(r["request_id"], r["recipient_seq"]) for r in rows} == held

            async def journal_final() -> bool:
                return await conn.fetchval("SELECT bool_and(state = 'final') FROM gateway.kakao_sends")

            await wait_for("the journal rows marked final", journal_final, timeout=10)
            events = await conn.fetchval("SELECT count(*) FROM gateway.events WHERE reason = 'lease_expired'")
            assert events == MESSAGES
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        await conn.close()
