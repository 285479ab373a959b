"""The ``gateway`` command line: the program's only entry point.

It reads files and the environment, builds the typed configuration and hands
it down; nothing below it looks at ``os.environ``.

    gateway migrate        [--config F | --database-url URL]
    gateway run            --config F
    gateway check-config   --config F
    gateway status         [--config F | --database-url URL] [--json]
    gateway enqueue        (--to N --body T [--sender S ...] | --file F.csv|F.jsonl)
    gateway demo           [--messages N] [--database-url URL]
    gateway simulate smsc  [--port P ...]
    gateway simulate kakao [--port P ...]
    gateway templates sync FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from gateway import __version__
from gateway.config import Config, load_config, parse_config
from gateway.errors import ConfigError, DatabaseError, GatewayError, InputError
from gateway.logs import configure_logging

DEFAULT_CONFIG = "config/gateway.toml"


def _run(coro_fn: Callable[[], Coroutine[Any, Any, int]]) -> int:
    try:
        import uvloop

        return uvloop.run(coro_fn())
    except ImportError:  # pragma: no cover - uvloop is optional (Windows)
        return asyncio.run(coro_fn())


def _load(args: argparse.Namespace, *, required: bool) -> Config:
    path = getattr(args, "config", None)
    if path is None:
        if required or Path(DEFAULT_CONFIG).exists():
            path = DEFAULT_CONFIG
        else:
            return parse_config({}, source="<defaults>")
    return load_config(path)


def _database_url(args: argparse.Namespace, config: Config) -> str:
    url = getattr(args, "database_url", None) or config.database.url or os.environ.get("GATEWAY_DATABASE_URL")
    if not url:
        raise ConfigError(
            "no database: set database.url in the configuration, GATEWAY_DATABASE_URL, or pass --database-url"
        )
    return url


# ---------------------------------------------------------------------- commands
def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args, required=True)
    names = ", ".join(f"{c.name} ({c.type})" for c in config.connectors) or "none"
    print(f"{args.config or DEFAULT_CONFIG}: OK — connectors: {names}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    config = _load(args, required=False)
    url = _database_url(args, config)

    async def main() -> int:
        from gateway.db.migrate import migrate
        from gateway.db.pool import connect

        conn = await connect(url)
        try:
            applied = await migrate(conn)
        finally:
            await conn.close()
        if applied:
            for m in applied:
                print(f"applied {m.version:04d}_{m.name}")
        else:
            print("schema is up to date")
        return 0

    return _run(main)


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args, required=True)
    configure_logging(config.logging.level, config.logging.format)
    url = _database_url(args, config)

    async def main() -> int:
        from gateway.daemon import Daemon

        await Daemon(config, database_url=url).run()
        return 0

    return _run(main)


def cmd_status(args: argparse.Namespace) -> int:
    config = _load(args, required=False)
    url = _database_url(args, config)

    async def main() -> int:
        from gateway.db.pool import connect
        from gateway.operator.status import collect_status, render_status

        conn = await connect(url)
        try:
            status = await collect_status(
                conn, window_s=args.window, instance_timeout_s=config.engine.instance_timeout_seconds
            )
        finally:
            await conn.close()
        if args.json:
            print(json.dumps(status, default=str, indent=2))
        else:
            print(render_status(status))
        return 0

    return _run(main)


def cmd_enqueue(args: argparse.Namespace) -> int:
    config = _load(args, required=False)
    url = _database_url(args, config)
    from gateway.operator.enqueue import enqueue_rows, read_rows

    if args.file:
        rows = list(read_rows(Path(args.file)))
    else:
        if not args.to or args.body is None:
            raise InputError("give --to and --body, or --file")
        row: dict[str, Any] = {
            "channel": args.channel,
            "sender": args.sender,
            "recipient": args.to,
            "body": args.body,
            "kind": args.kind,
            "priority": args.priority,
            "idempotency_key": args.idempotency_key,
            "campaign_id": args.campaign,
            "extras": args.extras,
        }
        rows = [("arguments", {k: v for k, v in row.items() if v is not None})]

    async def main() -> int:
        from gateway.db.pool import connect

        conn = await connect(url)
        try:
            ids = await enqueue_rows(conn, rows)
        finally:
            await conn.close()
        new = [i for i in ids if i is not None]
        dupes = len(ids) - len(new)
        print(f"enqueued {len(new)} message(s)" + (f", {dupes} duplicate key(s) skipped" if dupes else ""))
        if len(ids) == 1 and new:
            print(f"id {new[0]}")
        return 0

    return _run(main)


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    configure_logging("warning", "console" if sys.stderr.isatty() else "json")
    return _run(lambda: run_demo(args))


def cmd_simulate(args: argparse.Namespace) -> int:
    configure_logging("info", "auto")
    if args.what == "smsc":
        from gateway.simulators.smsc import main as smsc_main

        return smsc_main(args.rest) or 0
    from gateway.simulators.kakao import main as kakao_main

    return kakao_main(args.rest) or 0


def cmd_templates(args: argparse.Namespace) -> int:
    config = _load(args, required=False)
    url = _database_url(args, config)

    async def main() -> int:
        from gateway.db.pool import connect
        from gateway.kakao import sync_templates

        conn = await connect(url)
        try:
            result = await sync_templates(conn, Path(args.file))
        finally:
            await conn.close()
        print(f"templates synced from {args.file}: {result}")
        return 0

    return _run(main)


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="Outbound SMS (SMPP) and Alimtalk gateway daemon")
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser, db: bool = True) -> None:
        p.add_argument("--config", "-c", help=f"TOML configuration (default {DEFAULT_CONFIG})")
        if db:
            p.add_argument("--database-url", help="PostgreSQL URL (overrides the configuration)")

    p = sub.add_parser("run", help="run the daemon")
    with_config(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check-config", help="validate the configuration without starting")
    with_config(p, db=False)
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    with_config(p)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("status", help="queue depth, throughput and instances")
    with_config(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--window", type=int, default=300, help="seconds of history to summarise")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("enqueue", help="enqueue one message or a CSV/JSONL file")
    with_config(p)
    p.add_argument("--file", help=".csv (header line) or .jsonl file")
    p.add_argument("--to", help="recipient phone number")
    p.add_argument("--body")
    p.add_argument("--sender", default="1000")
    p.add_argument("--channel", default="sms", choices=["sms", "alimtalk"])
    p.add_argument("--kind", default="informational", choices=["informational", "advertising"])
    p.add_argument("--priority", type=int, default=0)
    p.add_argument("--idempotency-key")
    p.add_argument("--campaign")
    p.add_argument("--extras", type=json.loads, help="JSON object")
    p.set_defaults(func=cmd_enqueue)

    p = sub.add_parser("demo", help="run the gateway on an embedded database with simulators and sample traffic")
    p.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--data-dir", default=".gateway-demo", help="where the embedded database lives")
    p.add_argument("--loopback", action="store_true", help="use the loopback connector instead of the simulators")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("simulate", help="run a peer simulator (SMSC or Kakao provider)")
    p.add_argument("what", choices=["smsc", "kakao"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help="simulator options (see `gateway simulate smsc -- --help`)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("templates", help="Alimtalk template registry")
    tsub = p.add_subparsers(dest="templates_command", required=True)
    t = tsub.add_parser("sync", help="load templates from a YAML or JSON file")
    t.add_argument("file")
    with_config(t)
    t.set_defaults(func=cmd_templates)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "rest", None) and args.rest[:1] == ["--"]:
        args.rest = args.rest[1:]
    try:
        return args.func(args)
    except (ConfigError, InputError) as exc:
        print(f"gateway: error: {exc}", file=sys.stderr)
        return 2
    except DatabaseError as exc:
        print(f"gateway: database error: {exc}", file=sys.stderr)
        return 3
    except GatewayError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
