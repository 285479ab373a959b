"""`gateway run` and the CLI as an operator meets them: health before the database, one-line errors,
webhooks apart from metrics, where the configuration comes from."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.support.daemon import daemon_config, free_port, get, run_cli, start, stop, wait_http

pytestmark = pytest.mark.anyio

LOOP = '[[connectors]]\ntype = "loopback"\nname = "loop"\n'


def stderr_lines(proc: subprocess.CompletedProcess[str] | subprocess.Popen[str], text: str | None = None) -> list[str]:
    return [line for line in (text if text is not None else proc.stderr).splitlines() if line.strip()]


def test_health_is_served_while_the_database_is_away(tmp_path: Path) -> None:
    """Waiting for PostgreSQL, the daemon answers /healthz 200 (alive) and /readyz 503 (not ready)."""
    admin = free_port()
    dead = free_port()  # nothing listens there
    cfg = daemon_config(
        tmp_path, "waiting", db_url=f"postgresql://postgres@127.0.0.1:{dead}/gateway", admin_port=admin, body=LOOP
    )
    proc = start(cfg)
    try:
        wait_http(admin, "/healthz", timeout=20)
        status, body = get(f"http://127.0.0.1:{admin}/readyz")
        assert status == 503 and json.loads(body)["phase"] == "connecting"
        assert run_cli("health", "--config", str(cfg)).returncode == 0
        assert run_cli("health", "--ready", "--config", str(cfg)).returncode == 1
    finally:
        assert stop(proc, timeout=10) is not None


@pytest.mark.parametrize(
    ("user", "database", "reason"),
    [
        ("postgres", "gateway_no_such_db_x", "the database does not exist"),
        ("no_such_role_x", "postgres", "no such role"),
    ],
)
def test_a_permanent_database_error_stops_at_once_with_one_line(
    tmp_path: Path, pg_server_url: str, user: str, database: str, reason: str
) -> None:
    """No such database, or a role the server refuses: exit 3 within seconds, one line on stderr."""
    parts = urlsplit(pg_server_url)
    url = urlunsplit((parts.scheme, f"{user}@{parts.hostname}:{parts.port}", f"/{database}", "", ""))
    cfg = daemon_config(tmp_path, "fail", db_url=url, admin_port=free_port(), body=LOOP)
    cfg.write_text(cfg.read_text().replace('[logging]\nformat = "json"', '[logging]\nlevel = "error"'))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "run", "--config", str(cfg)],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert time.monotonic() - started < 15
    assert result.returncode == 3
    (line,) = stderr_lines(result)
    assert line.startswith("gateway: database error: cannot connect to PostgreSQL: ") and reason in line, line


@pytest.mark.parametrize("setting", ["admin", "http"])
def test_a_port_in_use_is_one_line_naming_the_setting(tmp_path: Path, db_url: str, setting: str) -> None:
    """A listener's port already taken: exit 2 and one line naming the setting, no traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ports = (
            {"admin_port": port, "http_port": free_port()}
            if setting == "admin"
            else {"admin_port": free_port(), "http_port": port}
        )
        cfg = daemon_config(tmp_path, "busy", db_url=db_url, body=LOOP, **ports)
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "run", "--config", str(cfg)],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    (line,) = stderr_lines(result)
    assert line == (
        f"gateway: error: {setting}.port {port}: 127.0.0.1:{port} is already in use "
        "(another gateway instance or another program; choose another port)"
    )


def test_metrics_and_controls_are_not_on_the_public_listener(tmp_path: Path, db_url: str) -> None:
    """The public (webhook) port serves no /metrics, /status or admin API; the admin port does."""
    admin, public = free_port(), free_port()
    proc = start(daemon_config(tmp_path, "split", db_url=db_url, admin_port=admin, http_port=public, body=LOOP))
    try:
        wait_http(admin, "/readyz")
        for path in ("/metrics", "/healthz", "/readyz", "/status"):
            assert get(f"http://127.0.0.1:{public}{path}")[0] == 404, path
        assert get(f"http://127.0.0.1:{admin}/metrics")[0] == 200
        assert get(f"http://127.0.0.1:{admin}/status")[0] == 200
    finally:
        stop(proc)


def test_gateway_config_names_the_file(tmp_path: Path) -> None:
    """Without --config, GATEWAY_CONFIG names the file (here, from a directory with no config/gateway.toml)."""
    cfg = tmp_path / "from-env.toml"
    cfg.write_text(LOOP)
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "GATEWAY_CONFIG": str(cfg)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{cfg}: OK") and "loop (loopback)" in result.stdout


async def test_enqueue_without_sender_uses_the_connectors_sender(
    tmp_path: Path, db_url: str, db: asyncpg.Connection
) -> None:
    """`gateway enqueue` without --sender takes the first sender the SMS connector allows, not one it refuses."""
    cfg = tmp_path / "g.toml"
    cfg.write_text(
        f'[database]\nurl = "{db_url}"\n[[connectors]]\ntype = "smpp"\nname = "carrier"\n'
        'system_id = "gw"\nsenders = ["15880000", "15881111"]\n'
    )
    result = run_cli("enqueue", "--config", str(cfg), "--to", "+821012345678", "--body", "hi")
    assert result.returncode == 0, result.stderr
    assert await db.fetchval("SELECT sender FROM gateway.outbox") == "15880000"


def test_enqueue_without_any_known_sender_asks_for_one(tmp_path: Path, db_url: str) -> None:
    """With no sender in the configuration, enqueue asks for --sender instead of inventing one."""
    cfg = tmp_path / "g.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n{LOOP}')
    result = run_cli("enqueue", "--config", str(cfg), "--to", "+821012345678", "--body", "hi")
    assert result.returncode == 2 and "give --sender" in result.stderr


async def test_demo_refuses_a_database_server_it_did_not_start(pg_server_url: str) -> None:
    """`gateway demo --database-url` stops before touching the server unless told --i-own-this-database."""
    admin = await asyncpg.connect(pg_server_url)
    try:
        before = await admin.fetchval("SELECT oid FROM pg_database WHERE datname = 'gateway_demo'")
        result = run_cli("demo", "--database-url", pg_server_url, "--messages", "10", timeout=60)
        after = await admin.fetchval("SELECT oid FROM pg_database WHERE datname = 'gateway_demo'")
    finally:
        await admin.close()
    assert result.returncode == 2
    assert "--i-own-this-database" in result.stderr
    assert before == after  # neither dropped nor created
