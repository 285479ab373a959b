"""Hostile input: SMSCs that break the framing, hostile HTTP requests, malformed upstream rows.

tests/integration/smpp/test_connector_faults.py already proves, at connector level, that
garbage (a huge command_length) on one of two *idle* binds costs that bind its
link and no other, and that a lone bind stalled mid-PDU turns its one submit
UNKNOWN and reconnects. Not repeated here. What is new: the broken bind holds a
full window of unanswered submits when it breaks, while the other bind is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import anyio
import asyncpg
import pytest
from structlog.testing import capture_logs

from gateway.config import parse_config
from gateway.daemon import Daemon
from gateway.kakao import sign_body, sync_templates
from gateway.port import Outcome
from gateway.simulators.kakao import KakaoSimulator
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from gateway.smpp.connector import SmppConnector
from gateway.smpp.protocol.codec import NEED_DATA
from gateway.smpp.protocol.events import SubmitSmReceived
from gateway.smpp.protocol.pdu import SubmitSm
from gateway.smpp.protocol.session import SmscSession
from tests.support.queue import copy_messages
from tests.support.smpp_connector import FakeSink, config, message, running, wait_for

pytestmark = pytest.mark.anyio

SENDER_KEY = "SENDERKEY0000000000000000000000000000001"
HOOK_SECRET = "hook-secret-hostile"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- 1. an SMSC that turns hostile on one of two binds -----------------------------------------

WINDOW = 4
# Bytes the hostile connection writes once it holds a full window of unanswered submits.
GARBAGE = b"\x00\x00\x00\x05" + b"\xde\xad\xbe\xef" * 8  # command_length 5: below the 16-octet header
HUGE_LENGTH = struct.pack(">IIII", 0x7FFFFFFF, 0x80000004, 0, 1)  # a submit_sm_resp header announcing 2 GiB
HALF_PDU = struct.pack(">IIII", 32, 0x80000004, 0, 1)[:8]  # half the header of a 32-octet PDU, then silence


@dataclass
class Link:
    """One TCP connection the hostile SMSC accepted."""

    number: int
    received: list[int] = field(default_factory=list)  # message ids of the submit_sm it got
    answered: list[int] = field(default_factory=list)  # ... and of those it accepted
    closed: bool = False


def message_id_of(pdu: SubmitSm) -> int:
    found = re.fullmatch(rb"m(\d+)", pdu.short_message)
    assert found, pdu.short_message
    return int(found.group(1))


class HostileSmsc:
    """Binds anyone with our SmscSession. Connection 1 takes ``hold`` submits without answering,
    waits until connection 2 has accepted ``while_stuck`` more, writes ``attack`` and from then on
    writes nothing at all. Every other connection answers everything."""

    def __init__(self, attack: bytes, *, hold: int, while_stuck: int) -> None:
        self.attack = attack
        self.hold = hold
        self.while_stuck = while_stuck
        self.links: list[Link] = []
        self.port = 0
        self.stuck_progress = 0  # submits connection 2 accepted while connection 1 sat on its window
        self.attack_mark: int | None = None  # len(connection 2's answered) when the attack went out
        self.reconnect_mark: int | None = None  # ... and when connection 3 arrived

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[HostileSmsc]:
        tasks: set[asyncio.Task[None]] = set()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            tasks.add(asyncio.current_task())  # type: ignore[arg-type]
            await self._serve(reader, writer)

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            for task in tasks:
                task.cancel()
            await asyncio.sleep(0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = Link(len(self.links) + 1)
        self.links.append(link)
        if link.number == 3:
            self.reconnect_mark = len(self.links[1].answered)
        hostile = link.number == 1
        attacked = False
        loop = asyncio.get_running_loop()
        session = SmscSession(authenticate=lambda pdu: 0, enquire_link_interval=None)
        try:
            while data := await reader.read(65536):
                session.receive_data(data, loop.time())
                out = []
                while (event := session.next_event()) is not NEED_DATA:
                    if isinstance(event, SubmitSmReceived):
                        link.received.append(message_id_of(event.pdu))
                        if not hostile:
                            out.append(session.ack_submit(event.pdu))
                            link.answered.append(link.received[-1])
                out.append(session.data_to_send())  # bind_resp, enquire_link_resp
                if not attacked:
                    writer.write(b"".join(out))
                if hostile and not attacked and len(link.received) >= self.hold:
                    attacked = True
                    await self._wait_for_the_other_bind()
                    self.attack_mark = len(self.links[1].answered)
                    writer.write(self.attack)
        except (ConnectionError, OSError):
            pass
        finally:
            link.closed = True
            writer.close()

    async def _wait_for_the_other_bind(self) -> None:
        other = self.links[1]
        start = len(other.answered)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):  # well inside the submits' response timeout
                while len(other.answered) - start < self.while_stuck:
                    await asyncio.sleep(0.001)
        self.stuck_progress = len(other.answered) - start


@pytest.mark.parametrize(
    ("attack", "down_reason", "unknown_reasons"),
    [
        (GARBAGE, "protocol_error", {"connection_lost"}),
        (HUGE_LENGTH, "protocol_error", {"connection_lost"}),
        (HALF_PDU, "keepalive_timeout", {"timeout", "connection_lost"}),
    ],
    ids=["garbage", "command_length_0x7fffffff", "half_pdu_then_stall"],
)
async def test_broken_bind_is_replaced_and_its_submits_come_back_unknown(
    attack: bytes, down_reason: str, unknown_reasons: set[str]
) -> None:
    """A peer breaking with a window in flight: its bind is rebuilt, its submits come back UNKNOWN, others go on."""
    smsc = HostileSmsc(attack, hold=WINDOW, while_stuck=10)
    sink = FakeSink()
    ids = itertools.count(1)
    sent: list[int] = []
    with capture_logs() as logs:
        async with smsc.serving():
            cfg = config(
                smsc.port, binds=2, window=WINDOW, response_timeout_seconds=1.5, enquire_link_seconds=0.3,
                reconnect_initial_seconds=0.05, reconnect_max_seconds=0.2,
            )  # fmt: skip
            async with running(SmppConnector(cfg), sink) as conn:

                async def send_one() -> None:
                    n = next(ids)
                    await conn.send(message(f"m{n}", id=n))
                    sent.append(n)

                with anyio.fail_after(15):
                    for _ in range(2 * WINDOW):  # a burst: the binds take turns, each gets a full window
                        await send_one()
                    while len(smsc.links) < 3 or len(smsc.links[2].answered) < 5:
                        await send_one()
                        await anyio.sleep(0.002)
                await wait_for(lambda: len(sink.results) >= len(sent), timeout=5)
                good_link_survived = not smsc.links[1].closed
    hostile, good, replacement = smsc.links
    assert len(smsc.links) == 3  # one reconnect, of the broken bind only
    assert hostile.closed and good_link_survived
    assert smsc.stuck_progress >= 10  # the good bind carried traffic while the other sat on a full window
    assert good.answered[smsc.attack_mark : smsc.reconnect_mark]  # ... and while it was down
    assert len(replacement.answered) >= 5

    results = {r.message_id: r for r in sink.results}
    assert len(sink.results) == len(results) == len(sent)  # every message answered, exactly once
    unknown = {mid for mid, r in results.items() if r.outcome is Outcome.UNKNOWN}
    assert sorted(hostile.received[:WINDOW]) in ([1, 3, 5, 7], [2, 4, 6, 8])  # a full window, from the burst
    assert unknown == set(hostile.received)
    assert {results[mid].reason for mid in unknown} <= unknown_reasons
    assert all(results[mid].detail == {"may_be_duplicate": True} for mid in unknown)
    assert all(r.outcome is Outcome.SUBMITTED for mid, r in results.items() if mid not in unknown)

    downs = [e for e in logs if e["event"] == "smpp.bind.down" and e["reason"] != "closed"]
    assert [d["reason"] for d in downs] == [down_reason]
    assert downs[0]["unanswered"] == sum(results[mid].reason == "connection_lost" for mid in unknown)


# --- 2. hostile HTTP requests against a running daemon -----------------------------------------

TABLES = ("outbox", "messages", "events", "carrier_ids", "receipts_pending", "inbound", "opt_outs", "idempotency")


async def snapshot(db: asyncpg.Connection) -> dict[str, object]:
    """Row counts of every table a request could write to, and the state of every message."""
    counts = {t: await db.fetchval(f"SELECT count(*) FROM gateway.{t}") for t in TABLES}
    rows = await db.fetch("SELECT id, state, code, updated_at FROM gateway.messages ORDER BY id")
    states = [tuple(r) for r in rows]
    return {**counts, "message_states": states}


def webhook_counts(metrics_text: str) -> dict[str, float]:
    pattern = r'^gateway_kakao_webhook_requests_total\{connector="kakao",status="(\w+)"\} (\S+)$'
    return {m.group(1): float(m.group(2)) for m in re.finditer(pattern, metrics_text, re.MULTILINE)}


async def raw_request(port: int, head: bytes) -> bytes:
    """Send ``head`` (request line and headers, no body) on a raw socket; return the status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        async with asyncio.timeout(5):
            return await reader.readline()
    finally:
        writer.close()


async def write_template(db: asyncpg.Connection, tmp_path: Path) -> None:
    templates = tmp_path / "templates.yaml"
    templates.write_text(
        f"- sender_key: {SENDER_KEY}\n  template_code: ORDER\n"
        "  body: '#{name}님, 주문이 접수되었습니다.'\n  status: approved\n"
    )
    await sync_templates(db, templates)


async def test_http_refuses_hostile_requests_and_writes_nothing(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """Unsigned, badly signed, oversized (declared or chunked) and malformed webhooks get 4xx and write nothing."""
    await write_template(db, tmp_path)
    async with KakaoSimulator() as provider:  # no webhook: the result below is the only one
        config = parse_config(
            {
                "instance_name": "hostile-http",
                "http": {"port": 0, "max_body_bytes": 4096},  # below the webhook's own 1 MiB limit
                "admin": {"port": 0},
                "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
                "connectors": [
                    # a signing relay (HMAC) so that tampered bodies can be told apart; no gap-filler: the
                    # result posted below must be the only one
                    {"type": "kakao", "name": "kakao", "base_url": provider.base_url, "app_key": provider.app_key,
                     "secret_key": provider.secret_key, "webhook_secret": HOOK_SECRET, "batch_linger_seconds": 0.01,
                     "webhook_auth": "hmac", "gap_fill_interval_seconds": 0},
                    {"type": "loopback", "name": "sms"},
                ],
            }
        )  # fmt: skip
        daemon = Daemon(config, database_url=db_url)
        async with anyio.create_task_group() as tg:
            await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
            base = f"http://127.0.0.1:{daemon.http_port}"
            admin = f"http://127.0.0.1:{daemon.admin_port}"
            hook_url = f"{base}/reports/kakao/results"
            # One submitted Alimtalk message: a result for it, if accepted, would change its row.
            await db.execute(
                "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras) VALUES "
                "('alimtalk', $1, '+821011111111', '홍길동님, 주문이 접수되었습니다.', $2)",
                SENDER_KEY, {"template_code": "ORDER"},
            )  # fmt: skip
            with anyio.fail_after(10):
                while (cid := await db.fetchval("SELECT carrier_id FROM gateway.carrier_ids")) is None:
                    await anyio.sleep(0.05)
            request_id, seq = cid.rsplit(":", 1)
            hook = {
                "requestId": request_id,
                "recipientSeq": int(seq),
                "messageStatus": "COMPLETED",
                "resultCode": "1000",
            }
            body = json.dumps({"event": "MESSAGE_RESULT_UPDATE", "hooks": [hook]}).encode()
            tampered = body.replace(b'"1000"', b'"3019"')
            padded = json.dumps({"event": "MESSAGE_RESULT_UPDATE", "hooks": [hook], "pad": "x" * 5000}).encode()
            not_json, not_hooks = b'{"hooks": [', b'{"hooks": "none"}'

            def signed(data: bytes, secret: str = HOOK_SECRET) -> dict[str, str]:
                return {"X-Webhook-Signature": sign_body(secret, data), "Content-Type": "application/json"}

            async def chunks(data: bytes) -> AsyncIterator[bytes]:
                for i in range(0, len(data), 1000):
                    yield data[i : i + 1000]

            async with aiohttp.ClientSession() as http:

                async def post(data: object, headers: dict[str, str], url: str = hook_url) -> int:
                    async with http.post(url, data=data, headers=headers) as resp:
                        return resp.status

                async def get(path: str, root: str = base) -> tuple[int, str]:
                    async with http.get(root + path) as resp:
                        return resp.status, await resp.text()

                before_metrics = webhook_counts((await get("/metrics", admin))[1])
                before = await snapshot(db)
                assert before["carrier_ids"] == 1 and before["receipts_pending"] == 0
                hostile = [
                    ("unsigned", lambda: post(body, {"Content-Type": "application/json"}), 401),
                    ("zero signature", lambda: post(body, {"X-Webhook-Signature": "sha256=" + "0" * 64}), 401),
                    ("other secret", lambda: post(body, signed(body, "not-the-secret")), 401),
                    ("signature of another body", lambda: post(tampered, signed(body)), 401),
                    ("non-ascii signature", lambda: post(body, {"X-Webhook-Signature": "sha256=\xfc" * 8}), 401),
                    ("over http.max_body_bytes", lambda: post(padded, signed(padded)), 413),
                    ("chunked, over the limit", lambda: post(chunks(padded), signed(padded)), 413),
                    ("malformed json", lambda: post(not_json, signed(not_json)), 400),
                    ("json but not hooks", lambda: post(not_hooks, signed(not_hooks)), 400),
                    ("signature header of 16 KiB", lambda: post(body, {"X-Webhook-Signature": "a" * 16384}), 400),
                    ("to the loopback connector", lambda: post(body, signed(body), f"{base}/reports/sms/results"), 404),
                ]
                for name, request, status in hostile:
                    assert (name, await request()) == (name, status)
                # 1 GB announced and never sent: refused from the headers alone, nothing read.
                head = (
                    f"POST /reports/kakao/results HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"X-Webhook-Signature: {sign_body(HOOK_SECRET, body)}\r\nContent-Length: 1000000000\r\n\r\n"
                ).encode()
                assert (await raw_request(daemon.http_port, head)).startswith(b"HTTP/1.1 413")

                assert await snapshot(db) == before  # nothing written, nothing changed
                assert (await get("/nope"))[0] == 404
                assert (await get("/reports/nope/results"))[0] == 404
                assert await post(body, signed(body)) == 200  # the control: the same result, signed, is taken
                assert (await get("/reports/kakao/results"))[0] == 405
                status, metrics_text = await get("/metrics", admin)
            daemon.stop()
    assert status == 200
    after_metrics = webhook_counts(metrics_text)
    delta = {k: after_metrics[k] - before_metrics.get(k, 0.0) for k in after_metrics}
    assert {k: v for k, v in delta.items() if v} == {"unauthorized": 5, "too_large": 3, "bad_request": 2, "ok": 1}
    row = await db.fetchrow("SELECT state, code FROM gateway.messages")
    assert tuple(row) == ("delivered", "1000")


# --- 3. malformed upstream rows, each failing alone --------------------------------------------

MAX_SEGMENTS = 3


def rows() -> list[dict[str, object]]:
    """One upstream batch: good messages around one of each kind of bad row."""
    sms = {"channel": "sms", "sender": "15880000", "recipient": "+821012345678"}
    alimtalk = {"channel": "alimtalk", "sender": SENDER_KEY, "recipient": "+821011111111"}
    return [
        {**sms, "body": "Your parcel has shipped", "extras": {"case": "good_sms"}},
        {**sms, "recipient": "not-a-number", "body": "bad number", "extras": {"case": "bad_number"}},
        {**sms, "body": "안녕하세요, 주문이 접수되었습니다", "extras": {"case": "unencodable"}},
        {**sms, "body": "A" * (153 * MAX_SEGMENTS + 1), "extras": {"case": "too_long"}},
        {**sms, "sender": "15889999", "body": "from nobody we know", "extras": {"case": "unknown_sender"}},
        {**alimtalk, "body": "가" * 1301, "extras": {"case": "alimtalk_too_long", "template_code": "ORDER"}},
        {
            **alimtalk,
            "body": "홍길동님, 주문이 접수되었습니다.",
            "extras": {"case": "good_alimtalk", "template_code": "ORDER"},
        },
        {**sms, "recipient": "+821087654321", "body": "Second good one", "extras": {"case": "good_sms_2"}},
    ]


async def test_malformed_rows_each_fail_alone_with_their_reason(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """In one batch each bad row (number, alphabet, length, sender, Alimtalk length) fails with its own reason."""
    await write_template(db, tmp_path)
    port = free_port()
    hook_url = f"http://127.0.0.1:{port}/reports/kakao/results"
    async with (
        SmscSimulator(SimulatorConfig(system_id="gateway", password="secret")) as smsc,
        KakaoSimulator(webhook_url=hook_url, webhook_secret=HOOK_SECRET) as provider,
    ):
        config = parse_config(
            {
                "instance_name": "malformed-rows",
                "http": {"port": port},
                "admin": {"port": 0},
                "engine": {"idle_poll_ms": 50, "flush_interval_ms": 5},
                "connectors": [
                    {"type": "smpp", "name": "smsc", "port": smsc.port, "system_id": "gateway", "password": "secret",
                     "data_coding": "gsm7", "senders": ["15880000"], "max_segments": MAX_SEGMENTS},
                    {"type": "kakao", "name": "kakao", "base_url": provider.base_url, "app_key": provider.app_key,
                     "secret_key": provider.secret_key, "webhook_secret": HOOK_SECRET, "batch_linger_seconds": 0.01},
                ],
            }
        )  # fmt: skip
        daemon = Daemon(config, database_url=db_url)
        async with anyio.create_task_group() as tg:
            await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
            await wait_for(lambda: all(c.is_ready() for c in daemon.connectors.values()), timeout=10)
            await copy_messages(db, rows())  # one COPY: one claim takes them all
            with anyio.fail_after(20):
                while await db.fetchval(
                    "SELECT count(*) FROM gateway.message_status WHERE state IN ('delivered', 'failed')"
                ) < len(rows()):
                    await anyio.sleep(0.05)
            assert daemon.engine is not None
            claim_batches = daemon.engine.claim_batches
            daemon.stop()
    found = {
        r["extras"]["case"]: r
        for r in await db.fetch("SELECT id, state, reason, attempts, extras FROM gateway.message_status")
    }
    assert len(found) == len(rows())
    assert {case: r["state"] for case, r in found.items() if r["state"] != "failed"} == {
        "good_sms": "delivered", "good_sms_2": "delivered", "good_alimtalk": "delivered",
    }  # fmt: skip
    reasons = {case: r["reason"] for case, r in found.items() if r["state"] == "failed"}
    assert reasons.pop("alimtalk_too_long") == "alimtalk_body_too_long"
    assert reasons == {
        "bad_number": "invalid_recipient",
        "unencodable": "unencodable",
        "too_long": "too_long",
        "unknown_sender": "unknown_sender",
    }
    assert all(r["attempts"] == 1 for r in found.values())  # failed at once, never retried
    assert claim_batches == 1  # they really were one batch
    failed = await db.fetch("SELECT message_id, reason, detail FROM gateway.events WHERE state = 'failed'")
    assert sorted(e["message_id"] for e in failed) == sorted(found[c]["id"] for c in (*reasons, "alimtalk_too_long"))
    details = {e["reason"]: e["detail"] for e in failed}
    assert details["unencodable"]["policy"] == "gsm7" and details["too_long"] == {"max_segments": MAX_SEGMENTS}
    # Nothing bad reached a peer; the good ones each went once.
    assert sorted(smsc.stats.messages()) == ["Second good one", "Your parcel has shipped"]
    assert provider.recipients_received == 1
