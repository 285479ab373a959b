"""Helpers for the NHN Cloud SMS tests: messages, pictures (JPEGs made from NHN's own
example file), a recording sink, and a harness that runs the real connector against the
simulator over loopback HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from gateway.korean import Picture
from gateway.nhn_sms import InMemoryAttachmentStore, NhnSmsConnector, NhnSmsConnectorConfig
from gateway.port import InboundMessage, OutboundMessage, Outcome, Receipt, SendResult
from gateway.simulators.nhn_sms import NhnSmsSimulator
from tests.support.http_connector import running, serve_routes

__all__ = [
    "SENDER",
    "WEBHOOK_SECRET",
    "Sink",
    "connector_for",
    "example_jpeg",
    "fixture",
    "jpeg",
    "make_config",
    "message",
    "picture",
    "running",
    "serve_routes",
]

CONTRACT = Path(__file__).resolve().parent.parent / "contract" / "nhn_sms"
SENDER = "15446859"
WEBHOOK_SECRET = "console-signature-1"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((CONTRACT / name).read_text("utf-8"))


def example_jpeg() -> bytes:
    """The 29×26 JPEG of NHN's upload example (attachfile_upload.example.json)."""
    return base64.b64decode(fixture("attachfile_upload.example.json")["request"]["fileBody"])


def jpeg(*, width: int = 29, height: int = 26, size: int | None = None) -> bytes:
    """NHN's example JPEG with another frame size and/or padded to ``size`` bytes with
    comment segments inserted after SOI (still a well-formed JPEG)."""
    data = bytearray(example_jpeg())
    i = 2
    while True:  # find the frame header and rewrite its size
        marker, length = data[i + 1], (data[i + 2] << 8) | data[i + 3]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            data[i + 5 : i + 9] = bytes([height >> 8, height & 0xFF, width >> 8, width & 0xFF])
            break
        i += 2 + length
    if size is not None:
        pad = size - len(data)
        comments = bytearray()
        while pad > 0:
            n = min(pad, 65535 + 2) - 4
            if n < 0:
                raise ValueError("size too close to the original")
            comments += b"\xff\xfe" + (n + 2).to_bytes(2, "big") + b"\0" * n
            pad -= n + 4
        data[2:2] = comments
    return bytes(data)


def picture(pid: int, **kw: Any) -> Picture:
    return Picture(pid, f"picture-{pid}.jpg", jpeg(**kw))


def message(
    mid: int,
    body: str = "[쇼핑] 주문하신 상품이 발송되었습니다.",
    *,
    recipient: str = "+821012345678",
    sender: str = SENDER,
    kind: str = "informational",
    extras: dict[str, Any] | None = None,
    attempts: int = 1,
    may_be_duplicate: bool = False,
) -> OutboundMessage:
    return OutboundMessage(
        id=mid,
        channel="sms",
        sender=sender,
        recipient=recipient,
        body=body,
        kind=kind,
        extras=extras or {},
        attempts=attempts,
        created_at=datetime.now(UTC),
        may_be_duplicate=may_be_duplicate,
    )


@dataclass
class Sink:
    """Records everything the connector reports."""

    results: list[SendResult] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)

    def submit_result(self, result: SendResult) -> None:
        self.results.append(result)

    async def store_receipts(self, receipts: Sequence[Receipt]) -> None:
        self.receipts.extend(receipts)

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> None:
        raise AssertionError("the NHN SMS connector has no inbound messages")

    def of(self, mid: int) -> SendResult:
        found = [r for r in self.results if r.message_id == mid]
        assert len(found) == 1, f"message {mid}: {len(found)} results"
        return found[0]

    def by_outcome(self, outcome: Outcome) -> list[SendResult]:
        return [r for r in self.results if r.outcome is outcome]

    async def wait_results(self, n: int, timeout: float = 10.0) -> list[SendResult]:
        with anyio.fail_after(timeout):
            while len(self.results) < n:
                await anyio.sleep(0.005)
        return self.results

    async def wait_receipts(self, n: int, timeout: float = 10.0) -> list[Receipt]:
        with anyio.fail_after(timeout):
            while len(self.receipts) < n:
                await anyio.sleep(0.005)
        return self.receipts


def make_config(sim: NhnSmsSimulator | None = None, **overrides: Any) -> NhnSmsConnectorConfig:
    values: dict[str, Any] = {
        "name": "nhn-sms",
        "base_url": sim.base_url if sim else "http://127.0.0.1:9",
        "app_key": sim.app_key if sim else "app",
        "secret_key": sim.secret_key if sim else "secret",
        "batch_linger_seconds": 0.01,
        "request_timeout_seconds": 5.0,
        "reconcile_grace_seconds": 0.05,
        "results": "webhook+sweep",
        "webhook_secret": WEBHOOK_SECRET,
        "sweep_interval_seconds": 3600.0,
    }
    values.update(overrides)
    return NhnSmsConnectorConfig(**values)


def connector_for(sim: NhnSmsSimulator, pictures: Sequence[Picture] = (), **overrides: Any) -> NhnSmsConnector:
    return NhnSmsConnector(make_config(sim, **overrides), attachments=InMemoryAttachmentStore(pictures))
