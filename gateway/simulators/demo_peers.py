"""The peers `gateway demo` talks to: the SMSC simulator (real SMPP over loopback)
and the Kakao provider simulator (real HTTP, results by signed webhook)."""

from __future__ import annotations

import contextlib
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gateway.db.pool import connect
from gateway.simulators.kakao import KakaoSimulator
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator

KAKAO_SENDER = "demo-sender-key"
TEMPLATES = f"""
- sender_key: {KAKAO_SENDER}
  template_code: ORDER_RECEIVED
  body: "[쇼핑] 주문 #{{order}}번이 접수되었습니다."
  status: approved
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def demo_peers(database_url: str) -> AsyncIterator[tuple[dict[str, Any], list[str], int]]:
    """Yield (config overrides, notes, http port) with both simulators running."""
    from gateway.kakao import sync_templates

    http_port = free_port()
    conn = await connect(database_url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "templates.yaml"
            path.write_text(TEMPLATES, encoding="utf-8")
            await sync_templates(conn, path)
    finally:
        await conn.close()
    smsc = SmscSimulator(
        SimulatorConfig(
            system_id="demo",
            password="demo-pw",
            receipt_delay=0.3,
            outcomes={"DELIVRD": 0.97, "UNDELIV": 0.02, "EXPIRED": 0.01},
            seed=7,
        )
    )
    kakao = KakaoSimulator(
        webhook_url=f"http://127.0.0.1:{http_port}/reports/kakao/results",
        webhook_secret="demo-hook-secret",
        result_delay=0.3,
        result_mix={"delivered": 0.9, "not_kakao_user": 0.1},
        seed=7,
    )
    async with smsc, kakao:
        config = {
            "connectors": [
                {
                    "type": "smpp",
                    "name": "smsc",
                    "host": "127.0.0.1",
                    "port": smsc.port,
                    "system_id": "demo",
                    "password": "demo-pw",
                    "binds": 2,
                    "window": 64,
                },
                {
                    "type": "kakao",
                    "name": "kakao",
                    "base_url": kakao.base_url,
                    "app_key": kakao.app_key,
                    "secret_key": kakao.secret_key,
                    "webhook_secret": "demo-hook-secret",
                },
            ],
            "ratelimit": {"connectors": {"smsc": {"rate": 5000, "burst": 500}}},
        }
        notes = [
            f"SMSC simulator (SMPP 3.4) on 127.0.0.1:{smsc.port}, receipts after 0.3 s",
            f"Kakao provider simulator on {kakao.base_url}, results by NHN-style webhook (X-Toast-Webhook-Signature)",
        ]
        yield config, notes, http_port
