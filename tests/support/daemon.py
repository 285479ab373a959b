"""Helpers for tests that run `gateway run` (and other commands) as real processes."""

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, *, timeout: float = 5, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def post(url: str, body: dict[str, Any] | None = None, *, token: str | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def start(config: Path, *, env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen[str]:
    """`gateway run --config` in the background; its stderr (JSON logs) goes to ``log`` when given."""
    err = open(log, "w") if log is not None else subprocess.PIPE  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=err,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


def wait_http(port: int, path: str = "/healthz", *, timeout: float = 30, status: int = 200) -> str:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            code, body = get(f"http://127.0.0.1:{port}{path}", timeout=2)
            if code == status:
                return body
            last = (code, body[:300])
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{path} on {port} never answered {status} (last: {last})")


def stop(proc: subprocess.Popen[str], *, timeout: float = 40) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
    return proc.returncode


@contextmanager
def running(*configs: Path, env: dict[str, str] | None = None) -> Iterator[list[subprocess.Popen[str]]]:
    """Several daemons at once; every one is stopped (SIGTERM, then SIGKILL) on the way out."""
    procs = [start(c, env=env, log=c.with_suffix(".log")) for c in configs]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def daemon_config(
    tmp: Path,
    name: str,
    *,
    db_url: str,
    admin_port: int | None,
    body: str,
    http_port: int = 0,
    extra: str = "",
) -> Path:
    """A config file for one instance: database, listeners, quick engine timings, JSON logs, then ``body``.

    ``admin_port=None`` leaves ``[admin]`` out (set ``GATEWAY_ADMIN_PORT`` then)."""
    path = tmp / f"{name}.toml"
    admin = f"[admin]\nport = {admin_port}" if admin_port is not None else ""
    path.write_text(
        f"""
instance_name = "{name}"
[database]
url = "{db_url}"
[http]
port = {http_port}
{admin}
{extra}
[engine]
idle_poll_ms = 100
heartbeat_seconds = 0.5
drain_seconds = 5
[logging]
format = "json"
{body}
"""
    )
    return path


# ---------------------------------------------------------------------- in-process daemons
@contextmanager
def _noop() -> Iterator[None]:
    yield


def config_dict(name: str, connectors: list[dict[str, Any]], **sections: Any) -> dict[str, Any]:
    """A daemon configuration with listeners on free ports and quick timings (sections override)."""
    base: dict[str, Any] = {
        "instance_name": name,
        "http": {"port": 0},
        "admin": {"port": 0},
        "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5, "heartbeat_seconds": 0.5, "drain_seconds": 3},
        "control": {"poll_seconds": 1.0, "status_seconds": 0.3, "depth_seconds": 0.5},
        "connectors": connectors,
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base
