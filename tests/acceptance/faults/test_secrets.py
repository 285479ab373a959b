"""Secrets never leave the process: not in logs (even at debug), metrics, error messages or status output.

The daemon runs as a real process (``gateway run``) so that everything it
writes is captured, whoever writes it; the simulators run in the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import anyio
import asyncpg
import pytest

from gateway.config import load_config
from gateway.kakao import sign_body, sync_templates
from gateway.simulators.kakao import KakaoSimulator
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator

pytestmark = pytest.mark.anyio

SMPP_PASSWORD = "Zq9!xT3w"  # SMPP 3.4: at most 8 characters
KAKAO_SECRET_KEY = "nhnSK-7f3Qp9Lw2Xr"
WEBHOOK_SECRET = "hookWS-4Tn8Vc1Ym6"
SECRETS = (SMPP_PASSWORD, KAKAO_SECRET_KEY, WEBHOOK_SECRET)
ENV = {"GW_TEST_KAKAO_SECRET": KAKAO_SECRET_KEY, "GW_TEST_WEBHOOK_SECRET": WEBHOOK_SECRET}
SENDER_KEY = "SENDERKEY0000000000000000000000000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leaks(text: str) -> list[str]:
    """Every secret found in ``text``, as written or as hex (a PDU dump would show it so)."""
    found = []
    for secret in SECRETS:
        raw = secret.encode()
        if any(form in text for form in (secret, raw.hex(), raw.hex().upper())):
            found.append(secret)
    return found


def config_text(*, db_url: str, http_port: int, admin_port: int, smpp_port: int, provider: KakaoSimulator) -> str:
    """The SMPP password is written in the file; the Kakao secrets come from the environment."""
    return f'''
instance_name = "secrets"
[database]
url = "{db_url}"
[http]
port = {http_port}
max_body_bytes = 4096
[admin]
port = {admin_port}
[engine]
idle_poll_ms = 50
flush_interval_ms = 5
[engine.retry]
base_seconds = 0.1
max_seconds = 0.3
[logging]
level = "debug"
format = "json"

[[connectors]]
type = "smpp"
name = "smsc"
port = {smpp_port}
system_id = "gateway"
password = "{SMPP_PASSWORD}"
reconnect_initial_seconds = 0.1
reconnect_max_seconds = 0.2

[[connectors]]
type = "kakao"
name = "kakao"
base_url = "{provider.base_url}"
app_key = "{provider.app_key}"
secret_key = "${{GW_TEST_KAKAO_SECRET}}"
webhook_secret = "${{GW_TEST_WEBHOOK_SECRET}}"
batch_linger_seconds = 0.01
account_error_retry_after_seconds = 0.2
'''


# Configurations that fail to load, each with the problem next to a secret.
BAD_CONFIGS = {
    "bad value next to the password": (
        f'password = "{SMPP_PASSWORD}"',
        f'password = "{SMPP_PASSWORD}"\nwindow = 5000',
        "connectors[0].window",
    ),
    "password too long": (
        f'password = "{SMPP_PASSWORD}"',
        f'password = "{SMPP_PASSWORD}XYZ"',
        "connectors[0].password",
    ),
    "password string not closed": (f'password = "{SMPP_PASSWORD}"', f'password = "{SMPP_PASSWORD}', "not valid TOML"),
    "secret under a misspelt key": (
        "batch_linger_seconds = 0.01",
        'batch_linger_seconds = 0.01\nwebhook_secert = "${GW_TEST_WEBHOOK_SECRET}"',
        "connectors[1].webhook_secert: unknown key",
    ),
    "secret key of the wrong type": (
        'secret_key = "${GW_TEST_KAKAO_SECRET}"',
        'secret_key = ["${GW_TEST_KAKAO_SECRET}"]',
        "connectors[1].secret_key",
    ),
}


async def gateway(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return await anyio.run_process([sys.executable, "-m", "gateway", *args], env=env, check=False)


async def wait_until(query: str, db: asyncpg.Connection, *, at_least: int = 1, timeout: float = 20) -> None:
    with anyio.fail_after(timeout):
        while (await db.fetchval(query)) < at_least:
            await anyio.sleep(0.05)


async def test_no_secret_in_logs_metrics_errors_or_status(db_url: str, db: asyncpg.Connection, tmp_path: Path) -> None:
    """Through refused binds, provider auth errors, bad webhooks and config errors, no secret is printed anywhere."""
    templates = tmp_path / "templates.yaml"
    templates.write_text(
        f"- sender_key: {SENDER_KEY}\n  template_code: ORDER\n"
        "  body: '#{name}님, 주문이 접수되었습니다.'\n  status: approved\n"
    )
    await sync_templates(db, templates)
    env = {**os.environ, **ENV, "PYTHONUNBUFFERED": "1"}
    port, admin_port = free_port(), free_port()
    hook_url = f"http://127.0.0.1:{port}/reports/kakao/results"
    outputs: dict[str, str] = {}
    async with (
        SmscSimulator(SimulatorConfig(system_id="gateway", password="NotIt123")) as smsc,
        KakaoSimulator(secret_key="not-the-key", webhook_url=hook_url, webhook_secret=WEBHOOK_SECRET) as provider,
    ):
        cfg = tmp_path / "gateway.toml"
        cfg.write_text(
            config_text(db_url=db_url, http_port=port, admin_port=admin_port, smpp_port=smsc.port, provider=provider)
        )
        for n in range(3):
            await db.execute(
                "INSERT INTO gateway.outbox (channel, sender, recipient, body) VALUES ('sms', '15880000', $1, $2)",
                f"+8210123400{n:02d}", f"sms {n}",
            )  # fmt: skip
        await db.execute(
            "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras) VALUES "
            "('alimtalk', $1, '+821011111111', '홍길동님, 주문이 접수되었습니다.', $2)",
            SENDER_KEY, {"template_code": "ORDER"},
        )  # fmt: skip
        out, err = tmp_path / "daemon.out", tmp_path / "daemon.err"
        with out.open("wb") as out_f, err.open("wb") as err_f:  # files, not pipes: debug logs never block it
            proc = await anyio.open_process(
                [sys.executable, "-m", "gateway", "run", "--config", str(cfg)], stdout=out_f, stderr=err_f, env=env
            )
        try:
            # Wrong password at the SMSC, wrong secret key at the provider: both refused, retried.
            with anyio.fail_after(20):
                while smsc.stats.bind_failures < 2:
                    await anyio.sleep(0.05)
            await wait_until("SELECT count(*) FROM gateway.events WHERE code = '-1001'", db)
            smsc.update(password=SMPP_PASSWORD)
            provider.secret_key = KAKAO_SECRET_KEY
            await wait_until("SELECT count(*) FROM gateway.message_status WHERE state = 'delivered'", db, at_least=4)
            async with aiohttp.ClientSession() as http:
                body = provider.webhook_body([])
                bad_hooks = [
                    ({}, body),
                    ({"X-Toast-Webhook-Signature": "a-guess"}, body),
                    ({"X-Webhook-Signature": sign_body(WEBHOOK_SECRET, body)}, body),  # HMAC: not NHN's scheme
                    ({"X-Toast-Webhook-Signature": WEBHOOK_SECRET}, b"x" * 5000),
                ]
                statuses = []
                for headers, data in bad_hooks:
                    async with http.post(hook_url, data=data, headers=headers) as resp:
                        statuses.append(resp.status)
                async with http.get(f"http://127.0.0.1:{admin_port}/metrics") as resp:
                    assert resp.status == 200
                    outputs["metrics"] = await resp.text()
            status = await gateway("status", "--json", "--config", str(cfg), env=env)
            outputs["status"] = (status.stdout + status.stderr).decode()
        finally:
            proc.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):
                code = await proc.wait()
    outputs["daemon"] = out.read_text() + err.read_text()
    checks = {"check-config ok": cfg}
    for n, (name, (old, new, _)) in enumerate(BAD_CONFIGS.items()):
        assert old in cfg.read_text()
        checks[name] = tmp_path / f"bad-{n}.toml"
        checks[name].write_text(cfg.read_text().replace(old, new))
    results: dict[str, subprocess.CompletedProcess[bytes]] = {}

    async def check(name: str, path: Path) -> None:
        results[name] = await gateway("check-config", "--config", str(path), env=env)
        outputs[name] = (results[name].stdout + results[name].stderr).decode()

    async with anyio.create_task_group() as tg:
        for name, path in checks.items():
            tg.start_soon(check, name, path)
    assert results.pop("check-config ok").returncode == 0
    assert {name: (r.returncode, BAD_CONFIGS[name][2] in outputs[name]) for name, r in results.items()} == {
        name: (2, True) for name in BAD_CONFIGS
    }

    # The grep means something: the secrets were in the configuration, reached the
    # daemon, were used by it, and the paths that could print them were taken.
    assert SMPP_PASSWORD in cfg.read_text() and "${GW_TEST_KAKAO_SECRET}" in cfg.read_text()
    loaded = load_config(cfg, env=ENV)
    assert loaded.connector("smsc").password.get_secret_value() == SMPP_PASSWORD
    assert loaded.connector("kakao").secret_key.get_secret_value() == KAKAO_SECRET_KEY
    assert loaded.connector("kakao").webhook_secret.get_secret_value() == WEBHOOK_SECRET
    assert smsc.stats.binds >= 1 and provider.webhooks_delivered >= 1  # password and both Kakao secrets worked
    assert code == 0 and status.returncode == 0
    assert [i["name"].startswith("secrets") for i in json.loads(status.stdout)["instances"]] == [True]
    assert statuses == [401, 401, 401, 413]
    events = [json.loads(line) for line in err.read_text().splitlines() if line.startswith("{")]
    seen = {e["event"] for e in events}
    assert {"smpp.bind.refused", "smpp.bind.up", "kakao.account.rejected", "kakao.webhook.rejected"} <= seen
    assert any(e["level"] == "debug" for e in events)
    assert "gateway_kakao_webhook_requests_total" in outputs["metrics"]

    assert {name: leaks(text) for name, text in outputs.items() if leaks(text)} == {}
