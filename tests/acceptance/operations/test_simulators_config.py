"""config/simulators.toml runs the daemon against both simulators, with the commands its header gives."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import anyio
import asyncpg
import pytest

from gateway.simulators.kakao import build_parser as kakao_parser
from gateway.simulators.smsc import build_parser as smsc_parser
from tests.support.daemon import free_port, stop, wait_http
from tests.support.deploy import ROOT

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CONFIG = ROOT / "config" / "simulators.toml"


def documented_commands() -> list[list[str]]:
    """The `gateway ...` commands of the file's header comment (continuation lines joined)."""
    header = "\n".join(line[1:] for line in CONFIG.read_text("utf-8").splitlines() if line.startswith("#"))
    header = header.replace("\\\n", " ")
    return [shlex.split(line.strip())[:] for line in header.splitlines() if line.strip().startswith("gateway ")]


def test_simulator_ports_are_the_documented_ones() -> None:
    """The simulators' default ports are those of config/simulators.toml and the README."""
    text = CONFIG.read_text("utf-8")
    readme = (ROOT / "README.md").read_text("utf-8")
    kakao = kakao_parser().parse_args([]).port
    smsc = smsc_parser().parse_args([]).port
    assert (smsc, kakao) == (2775, 8090)
    assert f'base_url = "http://127.0.0.1:{kakao}"' in text and f"port = {smsc}" in text
    assert f"simulate kakao -- --port {kakao}" in readme and f"simulate smsc -- --port {smsc}" in readme


def run_documented(config: Path, moves: dict[str, str], logs: Path, admin: int) -> list[subprocess.Popen[str]]:
    """Run the header's commands in order; long-running ones (simulators, the daemon) stay in the background."""
    background: list[subprocess.Popen[str]] = []
    try:
        for documented in documented_commands():
            argv = [re.sub(r"\b(2775|8090|8080|8081)\b", lambda m: moves[m.group(1)], a) for a in documented]
            argv = [str(config) if a == "config/simulators.toml" else a for a in argv]
            command = [sys.executable, "-m", "gateway", *argv[1:]]
            if argv[1] in ("simulate", "run"):
                log = open(logs / f"{argv[1]}-{len(background)}.log", "w")  # noqa: SIM115 - closed with the process
                background.append(subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, text=True))
                if argv[1] == "run":
                    wait_http(admin, "/readyz", timeout=30)
                else:
                    time.sleep(1.0)
                continue
            result = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, (argv, result.stderr)
    except BaseException:
        for proc in reversed(background):
            stop(proc, timeout=20)
        raise
    return background


async def test_the_daemon_delivers_through_both_simulators(tmp_path: Path, db_url: str, db: asyncpg.Connection) -> None:
    """The header's commands, run as written (ports and paths moved): one SMS and one Alimtalk delivered."""
    smsc, kakao, public, admin = free_port(), free_port(), free_port(), free_port()
    moves = {"2775": str(smsc), "8090": str(kakao), "8080": str(public), "8081": str(admin)}
    text = CONFIG.read_text("utf-8")
    for old, new in moves.items():
        text = re.sub(rf"\b{old}\b", new, text)
    config = tmp_path / "simulators.toml"
    config.write_text(text.replace("postgresql://postgres@127.0.0.1:5432/gateway", db_url))
    background = await anyio.to_thread.run_sync(run_documented, config, moves, tmp_path, admin)
    try:
        rows: dict[str, str] = {}
        with anyio.move_on_after(30):
            while rows != {"sms": "delivered", "alimtalk": "delivered"}:
                await anyio.sleep(0.2)
                rows = {
                    r["channel"]: r["state"]
                    for r in await db.fetch("SELECT channel, state FROM gateway.message_status")
                }
        assert rows == {"sms": "delivered", "alimtalk": "delivered"}
        assert await db.fetchval("SELECT sender FROM gateway.messages WHERE channel = 'sms'") == "15880000"
    finally:
        for proc in reversed(background):
            await anyio.to_thread.run_sync(lambda p=proc: stop(p, timeout=20))
