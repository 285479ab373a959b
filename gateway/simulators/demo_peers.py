"""The peers `gateway demo` talks to: the SMSC simulator (real SMPP over loopback),
the Kakao provider simulator and the NHN Cloud SMS simulator (real HTTP, results
by webhook)."""

from __future__ import annotations

import base64
import contextlib
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gateway.db.pool import connect
from gateway.simulators.kakao import KakaoSimulator
from gateway.simulators.nhn_sms import NhnSmsSimulator
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator

KAKAO_SENDER = "demo-sender-key"
NHN_SENDER = "15446859"  # routed to the NHN Cloud SMS connector (Korean SMS, LMS, MMS)
NHN_WEBHOOK_SECRET = "demo-nhn-signature"
# NHN's own upload example (TOAST-DOCS/SMS ko/api-guide.md § 첨부 파일 업로드 예제), 29×26 px,
# with its EXIF/XMP segments removed: the picture of the demo's MMS.
DEMO_PICTURE = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEAYABgAAD/2wBDAAcFBQYFBAcGBQYIBwcIChELCgkJChUPEAwRGBUaGRgVGBcbHichGx0lHRcYIi4iJSgpKywrGiAvMy8q"
    "MicqKyr/2wBDAQcICAoJChQLCxQqHBgcKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKir/wAARCAAaAB0D"
    "ASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKB"
    "kaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZ"
    "mqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQF"
    "BgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5"
    "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX"
    "2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDw+iunvPCMVnpk2pnUGksfs1vLayeRgzyS5BjI3fLtKSgnJ+505qv4w02x0rx9qmnW"
    "qNb2NveNGqpmRkQHtuPzED1PPrVbO3r+H/Dk9LmBRXb65oVpqPxHt9MF1aafa3FpbyLNBZiAEG2V1/dGQjzG4GN+Cx6jNc3rOm22l6vNZh79fKwC"
    "t7Yi3mVscho97bfzOR6U1q7Bsr/1qW9W1yKfw3pGi2M1xLBY+ZM7XEYT97IRlVAZsquODkZLMcDNSa34si17Umv7vw5pKXUlx588kT3Q8/1VgZiA"
    "D32hT6EVztFIDpNT8Xpqur29/deHdIzDAIHhX7QY5kWMRoGzKWBVVGCpU56k1n67rs+vXUEk1vBaxWtultb29uG2RRrnCguzMeSTlmJ59MCsuigD/9k="
)
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
        picture = await conn.fetchval(
            "INSERT INTO gateway.attachments (file_name, data) VALUES ('coupon.jpg', $1) RETURNING id", DEMO_PICTURE
        )
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
    nhn = NhnSmsSimulator(
        send_nos=(NHN_SENDER, "15880000"),
        webhook_url=f"http://127.0.0.1:{http_port}/reports/nhn-sms/results",
        webhook_secret=NHN_WEBHOOK_SECRET,
        result_delay=0.3,
        result_mix={"delivered": 0.96, "power_off": 0.03, "no_subscriber": 0.01},
        seed=7,
    )
    async with smsc, kakao, nhn:
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
                {
                    "type": "nhn_sms",
                    "name": "nhn-sms",
                    "base_url": nhn.base_url,
                    "app_key": nhn.app_key,
                    "secret_key": nhn.secret_key,
                    "webhook_secret": NHN_WEBHOOK_SECRET,
                    "sweep_interval_seconds": 5.0,
                },
            ],
            # Korean SMS/LMS/MMS from the NHN sender number go through NHN Cloud; the rest over SMPP.
            "routing": {
                "rules": [{"connector": "nhn-sms", "channel": "sms", "sender": NHN_SENDER}],
                "default": {"sms": "smsc", "alimtalk": "kakao"},
            },
            "ratelimit": {"connectors": {"smsc": {"rate": 5000, "burst": 500}}},
            "demo_picture": picture,  # not configuration: the demo's traffic names it
        }
        notes = [
            f"SMSC simulator (SMPP 3.4) on 127.0.0.1:{smsc.port}, receipts after 0.3 s",
            f"Kakao provider simulator on {kakao.base_url}, results by NHN-style webhook (X-Toast-Webhook-Signature)",
            f"NHN Cloud SMS simulator on {nhn.base_url}: SMS, LMS, MMS from {NHN_SENDER}, results by webhook",
        ]
        yield config, notes, http_port
