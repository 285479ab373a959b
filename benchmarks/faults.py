"""Fault harness: the real daemon (a subprocess) against real PostgreSQL and the SMSC
simulator, with receipts on, under crashes and misbehaving peers; then the ledger.

Scenarios (``--scenario``):

* ``kill9``      — ``kill -9`` of the daemon at random moments during the run, restarted each time;
* ``disconnect`` — the carrier drops the TCP connection every N submits, stalls responses,
                   answers generic_nack and unbinds from its side;
* ``throttle``   — every 3rd submit answered 0x58, later queue-full (0x14), plus a rate cap;
* ``pgkill``     — the daemon's PostgreSQL connections terminated (pg_terminate_backend) mid-run;
* ``sigterm``    — SIGTERM under load, drain, restart.

The ledger at the end: every enqueued message in exactly one final state;
messages lost (0 expected); receipts lost (the simulator's unacknowledged ones,
and messages whose receipt was sent but that are not final); duplicates counted
exactly from the simulator's accepted texts (each body carries its own marker);
rows stuck in flight after leases expired; messages flagged may_be_duplicate
against the real duplicates (the flag should be precise: within 2x). Prints a
summary and ends with one JSON line. The tests in tests/acceptance/faults/ drive :func:`run_scenario` with small counts.

    python -m benchmarks.faults --scenario all --messages 20000 --rate 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from gateway.db.migrate import migrate
from gateway.db.pool import connect
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
FINAL = ("delivered", "undeliverable", "failed", "expired", "unknown", "suppressed")
MARK = re.compile(r"FT(\d{7})")


@dataclass
class Ledger:
    scenario: str
    strict: bool
    messages: int
    seconds: float
    by_state: dict[str, int]
    lost: int  # enqueued but in no state at all, or not final when the run ended
    stuck_in_flight: int  # 'sending' rows left after leases expired
    failed_throttling: int  # failed with a throttling code/reason (must be 0)
    simulator_accepted: int
    accepted_distinct: int
    duplicates: int  # accepted more than once by the simulator
    # Messages we flagged may_be_duplicate (sent again after a crash, a timeout, a lost bind)
    # and how many of them the carrier really got twice; flagged / duplicates should stay <= 2.
    flagged: int
    flagged_ratio: float | None  # flagged / duplicates (None: no duplicate)
    our_submitted: int  # messages we recorded as accepted by the carrier
    receipts_sent: int
    receipts_unacked: int
    receipts_lost: int  # receipts acked by us whose message is not final
    # Receipts never matched: the first copy of a duplicate (its submit answer was
    # lost in the crash), or such a receipt resent after it was stored. Informational.
    receipts_pending_left: int
    restarts: int
    window_x_binds: int
    duplicates_bound: int  # duplicates allowed: window x binds per disruption
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.stuck_in_flight == 0
            and self.failed_throttling == 0
            and self.receipts_unacked == 0
            and self.receipts_lost == 0
            and self.duplicates <= self.duplicates_bound
        )


def _with_database(url: str, name: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(
    db_url: str,
    smsc_port: int,
    http_port: int,
    *,
    binds: int,
    window: int,
    lease: float,
    strict: bool,
    admin_port: int = 0,
) -> str:
    return f"""
instance_name = "faults"
[database]
url = "{db_url}"
[http]
port = {http_port}
[admin]
port = {admin_port}
[engine]
lease_seconds = {lease}
heartbeat_seconds = 0.5
drain_seconds = 10
idle_poll_ms = 100
receipt_timeout_seconds = 0
bound_unrecorded = {"true" if strict else "false"}
[engine.retry]
max_attempts = 50
base_seconds = 0.2
max_seconds = 2.0
throttled_seconds = 0.2
[logging]
format = "json"
level = "info"
[[connectors]]
type = "smpp"
name = "smsc"
host = "127.0.0.1"
port = {smsc_port}
system_id = "faults"
password = "faultpw"
binds = {binds}
window = {window}
response_timeout_seconds = 2.0
enquire_link_seconds = 5.0
reconnect_initial_seconds = 0.1
reconnect_max_seconds = 1.0
[ratelimit.connectors.smsc.aimd]
cooldown_seconds = 0.5
"""


class Daemon:
    """The gateway as a child process."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(self.config_path)],
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.starts += 1

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def sigterm(self, timeout: float = 30) -> float:
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=timeout)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.sigterm(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()


async def _feed(url: str, n: int, rate: float, start_at: int = 0) -> None:
    """Enqueue n messages at about `rate`/s, each body carrying its marker."""
    conn = await connect(url)
    try:
        step = max(1, int(rate / 20))
        sent = 0
        t0 = time.monotonic()
        while sent < n:
            k = min(step, n - sent)
            rows = [
                (
                    "sms",
                    "15880000",
                    f"+8210{(start_at + sent + i) % 10**8:08d}",
                    f"FT{start_at + sent + i:07d} ok",
                    "informational",
                    0,
                    None,
                    None,
                    {},
                )
                for i in range(k)
            ]
            await conn.copy_records_to_table(
                "outbox",
                schema_name="gateway",
                records=rows,
                columns=(
                    "channel",
                    "sender",
                    "recipient",
                    "body",
                    "kind",
                    "priority",
                    "campaign_id",
                    "consent",
                    "extras",
                ),
            )
            sent += k
            ahead = sent / rate - (time.monotonic() - t0)
            if ahead > 0:
                await asyncio.sleep(ahead)
    finally:
        await conn.close()


async def _submitted(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM gateway.messages")


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {
        r["state"]: r["n"]
        for r in await conn.fetch("SELECT state, count(*) AS n FROM gateway.message_status GROUP BY state")
    }


async def run_scenario(
    scenario: str,
    *,
    messages: int = 2000,
    rate: float = 2000,
    database_url: str = DEFAULT_URL,
    kills: int = 5,
    binds: int = 2,
    window: int = 64,
    seed: int = 1,
    timeout: float = 180,
    keep_logs: Path | None = None,
    keep_db: bool = False,
    strict: bool = True,
) -> Ledger:
    rng = random.Random(seed)
    admin = await asyncpg.connect(database_url)
    name = f"gateway_faults_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(database_url, name)
    notes: list[str] = []
    sim_cfg: dict[str, Any] = {"system_id": "faults", "password": "faultpw", "receipt_delay": 0.2, "seed": seed}
    if scenario == "disconnect":
        sim_cfg.update(
            drop_every=max(50, messages // 10),
            silent_every=97,
            generic_nack_every=89,
            unbind_after=max(200, messages // 4),
        )
    elif scenario == "throttle":
        sim_cfg.update(throttle_every=3, max_rate=max(200.0, rate / 2))
    sim = SmscSimulator(SimulatorConfig(**sim_cfg))
    tmp = Path(tempfile.mkdtemp(prefix="gateway-faults-"))
    daemon: Daemon | None = None
    started = time.monotonic()
    try:
        conn = await connect(url)
        await migrate(conn)
        port = await sim.start()
        lease = 3.0
        cfg = tmp / "gateway.toml"
        cfg.write_text(_config(url, port, _free_port(), binds=binds, window=window, lease=lease, strict=strict))
        daemon = Daemon(cfg, keep_logs or tmp / "daemon.log")
        daemon.start()
        feeder = asyncio.create_task(_feed(url, messages, rate))
        feed_seconds = messages / rate
        if scenario == "kill9":
            # Kill while it is really sending: after each (re)start, wait until it has
            # moved another batch, then kill at a random moment a little later.
            for _ in range(kills):
                base = await _submitted(conn)
                wait_until = time.monotonic() + 30
                while await _submitted(conn) < base + 200 and time.monotonic() < wait_until:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(rng.uniform(0.0, 0.4))
                in_flight = await conn.fetchval("SELECT count(*) FROM gateway.outbox WHERE state = 'sending'")
                daemon.kill9()
                notes.append(f"kill -9 with {in_flight} rows leased")
                await asyncio.sleep(0.3)
                daemon.start()
        elif scenario == "sigterm":
            await asyncio.sleep(feed_seconds * 0.5)
            took = daemon.sigterm()
            notes.append(f"SIGTERM drain took {took:.2f} s")
            daemon.start()
        elif scenario == "pgkill":
            for _ in range(3):
                await asyncio.sleep(feed_seconds / 4)
                n = await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = $1 AND application_name = 'gateway'",
                    name,
                )
                notes.append(f"terminated {n} backends")
        elif scenario == "throttle":
            await asyncio.sleep(feed_seconds / 2)
            sim.update(throttle_every=0, queue_full_every=4)
            notes.append("switched from every-3rd 0x58 to every-4th 0x14")
        await feeder
        # Everything must settle: all final, nothing in flight.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = await _counts(conn)
            final = sum(counts.get(s, 0) for s in FINAL)
            if final >= messages:
                break
            await asyncio.sleep(0.5)
        if scenario in ("disconnect", "throttle"):
            sim.update(
                drop_every=0, silent_every=0, generic_nack_every=0, unbind_after=0, throttle_every=0, queue_full_every=0
            )
        await asyncio.sleep(lease + 1)
        counts = await _counts(conn)
        stuck = await conn.fetchval("SELECT count(*) FROM gateway.outbox WHERE state = 'sending'")
        failed_throttling = await conn.fetchval(
            "SELECT count(*) FROM gateway.messages WHERE state = 'failed' "
            "AND (code IN ('0x00000058', '0x00000014') OR reason ILIKE '%throttl%' OR reason ILIKE '%msgqful%')"
        )
        our_submitted = await conn.fetchval("SELECT count(DISTINCT message_id) FROM gateway.carrier_ids")
        not_final_with_receipt = await conn.fetchval(
            "SELECT count(*) FROM gateway.messages m WHERE m.state = 'submitted' AND EXISTS "
            "(SELECT 1 FROM gateway.carrier_ids c WHERE c.message_id = m.id AND c.state IS NOT NULL)"
        )
        pending_left = await conn.fetchval("SELECT count(*) FROM gateway.receipts_pending")
        flagged = await conn.fetchval(
            "SELECT count(DISTINCT message_id) FROM gateway.events WHERE (detail->>'may_be_duplicate')::bool"
        )
        await conn.close()
        markers = Counter()
        for entry in sim.stats.accepted_log:
            text = entry.text or ""
            m = MARK.search(text)
            if m:
                markers[m.group(1)] += 1
        duplicates = sum(c - 1 for c in markers.values() if c > 1)
        disruptions = {"kill9": kills, "disconnect": 0, "throttle": 0, "pgkill": 3, "sigterm": 1}[scenario]
        if scenario == "disconnect":
            disruptions = sim.stats.dropped + sim.stats.silent + 2
        final = sum(counts.get(s, 0) for s in FINAL)
        return Ledger(
            scenario=scenario,
            strict=strict,
            messages=messages,
            seconds=round(time.monotonic() - started, 1),
            by_state=counts,
            lost=messages - final,
            stuck_in_flight=stuck,
            failed_throttling=failed_throttling,
            simulator_accepted=sim.stats.submits_accepted,
            accepted_distinct=len(markers),
            duplicates=duplicates,
            flagged=flagged,
            flagged_ratio=round(flagged / duplicates, 2) if duplicates else None,
            our_submitted=our_submitted,
            receipts_sent=sim.stats.receipts_sent,
            receipts_unacked=sim.stats.receipts_unacked,
            receipts_lost=not_final_with_receipt,
            receipts_pending_left=pending_left,
            restarts=daemon.starts - 1,
            window_x_binds=window * binds,
            duplicates_bound=window * binds * max(disruptions, 1),
            notes=notes,
        )
    finally:
        if daemon is not None:
            daemon.stop()
        await sim.stop()
        if keep_db:
            print(f"kept database {url}")
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _print(ledger: Ledger) -> None:
    print(
        f"scenario {ledger.scenario} ({'bound_unrecorded' if ledger.strict else 'default'}): "
        f"{ledger.messages} messages in {ledger.seconds} s — "
        f"{'OK' if ledger.ok else 'FAILED'}"
    )
    print(f"  final states        {dict(sorted(ledger.by_state.items()))}")
    print(
        f"  lost                {ledger.lost}   stuck in flight {ledger.stuck_in_flight}   "
        f"failed by throttling {ledger.failed_throttling}"
    )
    print(
        f"  duplicates          {ledger.duplicates} (bound {ledger.duplicates_bound} = window x binds x "
        f"disruptions)   simulator accepted {ledger.simulator_accepted}, distinct {ledger.accepted_distinct}"
    )
    print(
        f"  receipts            sent {ledger.receipts_sent}, unacked {ledger.receipts_unacked}, "
        f"lost {ledger.receipts_lost}, never matched {ledger.receipts_pending_left}"
    )
    ratio = "n/a (no duplicate)" if ledger.flagged_ratio is None else f"{ledger.flagged_ratio}x"
    print(f"  flagged             {ledger.flagged} may_be_duplicate for {ledger.duplicates} real duplicates ({ratio})")
    for note in ledger.notes:
        print(f"  note: {note}")


async def _main(args: argparse.Namespace) -> int:
    scenarios = ["kill9", "disconnect", "throttle", "pgkill", "sigterm"] if args.scenario == "all" else [args.scenario]
    results = []
    for scenario in scenarios:
        ledger = await run_scenario(
            scenario,
            messages=args.messages,
            rate=args.rate,
            database_url=args.database_url,
            kills=args.kills,
            seed=args.seed,
            keep_db=args.keep_db,
            timeout=args.timeout,
            strict=not args.no_strict,
        )
        _print(ledger)
        results.append(ledger)
    summary = {
        "ok": all(r.ok for r in results),
        "scenarios": {
            r.scenario: {k: v for k, v in asdict(r).items() if k not in ("scenario", "notes")} for r in results
        },
        "lost_total": sum(r.lost for r in results),
        "receipts_lost_total": sum(r.receipts_lost + r.receipts_unacked for r in results),
        "duplicates_total": sum(r.duplicates for r in results),
        "flagged_total": sum(r.flagged for r in results),
    }
    dups = summary["duplicates_total"]
    summary["flagged_ratio"] = round(summary["flagged_total"] / dups, 2) if dups else None
    print(json.dumps(summary))
    return 0 if summary["ok"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--scenario", default="all", choices=["all", "kill9", "disconnect", "throttle", "pgkill", "sigterm"]
    )
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for everything to settle")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database for inspection")
    parser.add_argument(
        "--no-strict",
        action="store_true",
        help="run the daemon with engine.bound_unrecorded = false (the default, throughput-first)",
    )
    parser.add_argument("--database-url", default=os.environ.get("GATEWAY_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    from gateway.logs import configure_logging

    configure_logging("warning", "json")
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
