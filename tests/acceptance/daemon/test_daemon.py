"""`gateway run` as a real process: HTTP endpoints, SIGTERM drain, nothing left leased."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import anyio
import asyncpg
import pytest

from tests.support.queue import copy_messages

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def write_config(
    tmp_path: Path, db_url: str, port: int, *, delay_ms: float = 0, drain: float = 10, public_port: int = 0
) -> Path:
    """A loopback daemon whose admin listener (health, metrics) is on ``port``."""
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(
        f'''
instance_name = "proc"
[database]
url = "{db_url}"
[http]
port = {public_port}
[admin]
port = {port}
[engine]
drain_seconds = {drain}
idle_poll_ms = 100
[logging]
format = "json"
[[connectors]]
type = "loopback"
name = "loop"
delay_ms = {delay_ms}
window = 50
receipts = true
'''
    )
    return cfg


def start(cfg: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_http(port: int, path: str = "/healthz", timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(f"http://127.0.0.1:{port}{path}")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{path} never answered 200")


async def test_endpoints_and_sigterm_drain(db_url: str, db: asyncpg.Connection, tmp_path: Path) -> None:
    """The daemon serves health, readiness and metrics, and on SIGTERM drains, leaving nothing leased."""
    await copy_messages(db, [{"body": f"m{i}"} for i in range(3000)])
    port = free_port()
    proc = start(write_config(tmp_path, db_url, port, delay_ms=20))
    try:
        wait_http(port)
        # Live at once; ready only when a connector can send, which may take a moment more.
        wait_http(port, "/readyz")
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and json.loads(body)["database"] is True
        wait_until = time.monotonic() + 20
        while await db.fetchval("SELECT count(*) FROM gateway.messages") < 200 and time.monotonic() < wait_until:
            await anyio.sleep(0.1)
        status, metrics_text = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'gateway_messages_total{channel="sms",connector="loop",outcome="submitted"}' in metrics_text
        assert "gateway_claim_batch_size_bucket" in metrics_text
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, proc.stderr.read()[-3000:]
    assert took < 12
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox WHERE state = 'sending'") == 0
    total = await db.fetchval("SELECT count(*) FROM gateway.message_status")
    assert total == 3000
    stopped = await db.fetchval("SELECT stopped_at IS NOT NULL FROM gateway.instances WHERE name LIKE 'proc#%'")
    assert stopped
    logs = proc.stderr.read()
    assert '"event": "engine.drained"' in logs


async def test_refuses_to_start_on_an_old_schema(empty_db_url: str, tmp_path: Path) -> None:
    """Without `gateway migrate`, run exits with a message saying what to do."""
    proc = start(write_config(tmp_path, empty_db_url, free_port()))
    code = proc.wait(timeout=30)
    assert code == 2
    assert "run `gateway migrate` first" in proc.stderr.read()


async def test_unknown_report_path_is_not_found(db_url: str, tmp_path: Path) -> None:
    """A report URL for a connector that does not exist gets 404."""
    port, public = free_port(), free_port()
    proc = start(write_config(tmp_path, db_url, port, public_port=public))
    try:
        wait_http(port)
        assert get(f"http://127.0.0.1:{public}/reports/nope/results")[0] == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
