"""``gateway demo``: the gateway's main job on an embedded default.

Starts PostgreSQL (embedded via ``pgserver`` unless ``--database-url`` is
given: then it must be told ``--i-own-this-database``, since it drops and
recreates the database ``gateway_demo`` on that server), migrates a fresh
``gateway_demo`` database, starts the peers (the SMSC
simulator over real SMPP and the Kakao provider simulator over HTTP when they
are available, else the loopback connector), enqueues sample traffic — plain
and long SMS, Korean text, advertising with and without the required prefix,
scheduled messages, duplicates by idempotency key, bad rows, Korean SMS, LMS
and MMS through the NHN Cloud SMS simulator, Alimtalk falling back to LMS —
runs the daemon with a live progress line, and prints a summary.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import asyncpg

from gateway.config import Config, parse_config
from gateway.daemon import Daemon
from gateway.db.migrate import migrate
from gateway.db.pool import connect, start_embedded
from gateway.errors import ConfigError

FINAL = ("delivered", "failed", "expired", "undeliverable", "unknown", "suppressed")


def _with_database(url: str, name: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


async def _fresh_database(server_url: str, name: str) -> str:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return _with_database(server_url, name)


NHN_SENDER = "15446859"  # the demo routes this sender's SMS to the NHN Cloud SMS connector


def sample_traffic(
    n: int, *, seed: int = 7, with_alimtalk: bool = False, nhn_picture: int | None = None
) -> list[dict[str, Any]]:
    """A realistic mix; roughly 1% of rows are bad on purpose. With ``nhn_picture`` (an id in
    gateway.attachments), a fifth of the rows are Korean SMS, LMS and MMS for the NHN route."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        r = rng.random()
        number = f"+8210{rng.randrange(10**8):08d}"
        row: dict[str, Any] = {"sender": "15880000", "recipient": number, "campaign_id": None}
        if r < 0.60:
            row["body"] = f"[Shop] Your verification code is {rng.randrange(10**6):06d}."
        elif r < 0.72:
            row["body"] = f"[쇼핑] 주문 {i}번이 배송을 시작했습니다. 감사합니다."
        elif r < 0.80:
            row["body"] = f"Your order #{i} has shipped. " * 8  # long: 3 segments
        elif r < 0.88:
            row.update(
                kind="advertising",
                campaign_id="winter-sale",
                consent=rng.random() > 0.05,
                body="(광고) 겨울 세일 최대 50%! 무료수신거부 080-123-4567",
            )
        elif r < 0.90:
            row.update(kind="advertising", campaign_id="winter-sale", body="Winter sale, 50% off!")  # missing (광고)
        elif r < 0.92:
            row["send_at"] = now + timedelta(seconds=rng.uniform(2, 6))
            row["body"] = "Reminder: your appointment is tomorrow at 10:00."
        elif r < 0.94:
            row["idempotency_key"] = f"order-{i % 50}"  # repeats: only the first of each key is kept
            row["body"] = "Payment received, thank you."
        elif r < 0.95:
            row["recipient"] = "not-a-number"
            row["body"] = "This row has a bad recipient."
        else:
            row["body"] = f"Balance alert: {rng.randrange(1000)} EUR"
        if nhn_picture is not None and r < 0.60 and i % 3 == 0:
            # Korean traffic for the NHN route: SMS up to 90 bytes, LMS beyond, MMS with a picture
            row.update(sender=NHN_SENDER, idempotency_key=None)
            if i % 5 == 0:
                row["body"] = f"[쇼핑] 주문 {i}번이 배송을 시작했습니다."  # fits 90 bytes: SMS
            elif i % 5 in (1, 2):
                row["body"] = (
                    f"[쇼핑] 주문 {i}번 안내\n주문하신 상품이 오늘 출고되었습니다. 택배사 사정에 따라 "
                    "배송이 하루 이틀 늦어질 수 있습니다. 배송 조회는 앱의 '주문 내역'에서 하실 수 있습니다."
                )  # over 90 bytes: LMS, titled by its first line
            elif i % 5 == 3:
                row["body"] = "[쇼핑] 겨울 맞이 쿠폰을 보내드립니다. 매장에서 이 화면을 보여 주세요."
                row["extras"] = {"type": "mms", "title": "쿠폰 도착", "attachments": [nhn_picture]}
            else:
                row["body"] = f"[쇼핑] 주문 {i}번 결제 완료 😀"  # an emoji: EUC-KR cannot carry it
        if with_alimtalk and r >= 0.95 and r < 0.99:
            row.update(
                channel="alimtalk",
                sender="demo-sender-key",
                body=f"[쇼핑] 주문 {i}번이 접수되었습니다.",
                extras={
                    "template_code": "ORDER_RECEIVED",
                    "fallback": {
                        "type": "LMS",
                        "title": "주문 접수",
                        "sender": NHN_SENDER if nhn_picture is not None else "15880000",
                        "text": f"[쇼핑] 주문 {i}번이 접수되었습니다. 카카오톡을 쓰지 않으시는 분께"
                        " 문자로 알려 드립니다. 주문 내역은 앱에서 확인하실 수 있습니다.",
                    },
                },
            )
        rows.append(row)
    return rows


async def _enqueue(url: str, rows: list[dict[str, Any]]) -> int:
    """Insert like an upstream service would (plain INSERTs in one transaction).

    Rows the database refuses (a CHECK constraint) are skipped one by one, each
    in its own savepoint, the way an upstream's own error handling would."""
    conn = await connect(url)
    sql = (
        "INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, campaign_id, consent, "
        "send_at, idempotency_key, extras) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    try:
        async with conn.transaction():
            await conn.executemany(
                sql,
                [
                    (
                        r.get("channel", "sms"),
                        r["sender"],
                        r["recipient"],
                        r["body"],
                        r.get("kind", "informational"),
                        r.get("campaign_id"),
                        r.get("consent"),
                        r.get("send_at"),
                        r.get("idempotency_key"),
                        r.get("extras", {}),
                    )
                    for r in rows
                ],
            )
        return await conn.fetchval("SELECT count(*) FROM gateway.outbox")
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def _peers(loopback: bool, url: str) -> AsyncIterator[tuple[dict[str, Any], list[str], int]]:
    """Start the simulators the demo talks to; yield connector config, notes, HTTP port."""
    if not loopback:
        try:
            from gateway.simulators.demo_peers import demo_peers
        except ImportError as exc:  # a build without the simulators
            loopback_note = f"simulators unavailable ({exc}); using the loopback connector"
        else:
            async with demo_peers(url) as peers:
                yield peers
            return
    else:
        loopback_note = "loopback connector (no simulators)"
    yield (
        {
            "connectors": [
                {
                    "type": "loopback",
                    "name": "loop",
                    "receipts": True,
                    "receipt_delay_ms": 200,
                    "undeliverable_rate": 0.02,
                }
            ],
            "routing": {"default": {"sms": "loop"}},
        },
        [loopback_note],
        0,
    )


async def run_demo(args: argparse.Namespace) -> int:
    out = sys.stdout
    if args.database_url and not args.i_own_this_database:
        raise ConfigError(
            "gateway demo drops and recreates the database gateway_demo on the server of --database-url, "
            "a server it did not start: add --i-own-this-database if that is what you want "
            "(without --database-url it starts a PostgreSQL of its own)"
        )
    if args.database_url:
        server_url = args.database_url
        where = "the given PostgreSQL"
    else:
        data_dir = Path(args.data_dir).absolute() / "pgdata"  # noqa: ASYNC240 - no file system access
        print(f"starting embedded PostgreSQL in {data_dir} ...", file=out, flush=True)
        server_url = await anyio.to_thread.run_sync(start_embedded, data_dir)
        where = "embedded PostgreSQL (pgserver)"
    url = await _fresh_database(server_url, "gateway_demo")
    conn = await connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()

    async with _peers(args.loopback, url) as (peers, notes, http_port):
        peer_config = dict(peers)
        picture = peer_config.pop("demo_picture", None)
        data = {
            "instance_name": "demo",
            "http": {"port": http_port},
            "admin": {"port": 0},
            "engine": {"drain_seconds": 5, "receipt_timeout_seconds": 30},
            **peer_config,
        }
        config: Config = parse_config(data, source="<demo>")
        with_alimtalk = any(c.channel == "alimtalk" for c in config.connectors)
        with_nhn = any(c.type == "nhn_sms" for c in config.connectors)
        rows = sample_traffic(args.messages, with_alimtalk=with_alimtalk, nhn_picture=picture if with_nhn else None)
        inserted = await _enqueue(url, rows)
        print(f"database: {where}, schema migrated", file=out)
        for note in notes:
            print(f"note: {note}", file=out)
        print(
            f"enqueued {inserted} messages ({len(rows) - inserted} refused as duplicates by idempotency key); "
            f"connectors: {', '.join(c.name + '/' + c.type for c in config.connectors)}",
            file=out,
            flush=True,
        )
        daemon = Daemon(config, database_url=url)
        watch = await connect(url)
        started = time.monotonic()
        last = ""
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(lambda task_status: daemon.run(task_status=task_status, install_signals=False))
                print(
                    f"daemon up: status at http://127.0.0.1:{daemon.admin_port}/status, "
                    f"metrics at http://127.0.0.1:{daemon.admin_port}/metrics",
                    file=out,
                    flush=True,
                )
                while True:
                    await anyio.sleep(0.5)
                    counts = {
                        r["state"]: r["n"]
                        for r in await watch.fetch(
                            "SELECT state, count(*) AS n FROM gateway.message_status GROUP BY state"
                        )
                    }
                    # Messages policy parked (quiet hours) are settled for the demo's purpose.
                    parked = await watch.fetchval(
                        "SELECT count(*) FROM gateway.outbox WHERE state = 'deferred' "
                        "AND last_reason IN ('quiet_hours', 'held_quiet_hours')"
                    )
                    total = sum(counts.values())
                    final = sum(counts.get(s, 0) for s in FINAL) + parked
                    elapsed = time.monotonic() - started
                    shown = "  ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                    line = f"[{elapsed:5.1f}s] {final}/{total} settled  {shown}"
                    if out.isatty():
                        print("\r" + line.ljust(len(last)), end="", file=out, flush=True)
                    elif int(elapsed * 2) % 4 == 0:
                        print(line, file=out, flush=True)
                    last = line
                    if (final >= total and elapsed > 1) or elapsed > 120:
                        break
                if out.isatty():
                    print(file=out)
                daemon.stop()
            elapsed = time.monotonic() - started
            summary = await watch.fetch(  # a reason's first words, before the details after ': '
                "SELECT state, coalesce(split_part(reason, ': ', 1), '') AS reason, count(*) AS n "
                "FROM gateway.message_status GROUP BY 1, 2 ORDER BY 3 DESC"
            )
            latency = await watch.fetchrow(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM final_at - created_at)) AS p50, "
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM final_at - created_at)) AS p95 "
                "FROM gateway.messages WHERE state = 'delivered' AND send_at IS NULL"
            )
            events = await watch.fetchval("SELECT count(*) FROM gateway.events")
            by_type = await watch.fetch(
                "SELECT coalesce(connector, '-') AS connector, detail ->> 'message_type' AS type, state, count(*) AS n "
                "FROM gateway.events WHERE detail ? 'message_type' AND state IN ('submitted', 'failed') "
                "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            )
            fallbacks = await watch.fetch(
                "SELECT f.extras ->> 'type' AS type, f.state, count(*) AS n FROM gateway.message_status f "
                "WHERE f.extras ? 'fallback_of' GROUP BY 1, 2 ORDER BY 1, 2"
            )
        finally:
            await watch.close()
    print(file=out)
    print(f"summary after {elapsed:.1f} s — {inserted} messages enqueued (+ fallbacks), {events} events", file=out)
    for r in summary:
        print(f"  {r['state']:<14} {r['reason']:<30} {r['n']:>7}", file=out)
    if by_type:
        print("  by message type (sent / refused):", file=out)
        for r in by_type:
            print(f"    {r['connector']:<10} {r['type']:<4} {r['state']:<10} {r['n']:>7}", file=out)
    if fallbacks:
        print("  Alimtalk fallbacks:", file=out)
        for r in fallbacks:
            print(f"    {r['type'] or 'sms':<4} {r['state']:<14} {r['n']:>7}", file=out)
    if latency and latency["p50"] is not None:
        print(f"  enqueue -> delivered: p50 {latency['p50']:.2f} s, p95 {latency['p95']:.2f} s", file=out)
    print(f"inspect: gateway status --database-url '{url}'", file=out)
    return 0
