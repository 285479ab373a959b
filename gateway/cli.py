"""The ``gateway`` command line: the program's only entry point.

It reads files and the environment, builds the typed configuration and hands
it down; nothing below it looks at ``os.environ``.

    gateway migrate        [--config F | --database-url URL] [--lock-timeout S]
    gateway run            [--config F] [--database-url URL]
    gateway check-config   [--config F]
    gateway status         [--config F | --database-url URL] [--json]
    gateway connector      pause|resume|rebind NAME [--reason TEXT]
    gateway health         [--config F] [--ready]
    gateway enqueue        (--to N --body T [--sender S ...] | --file F.csv|F.jsonl)
    gateway demo           [--messages N] [--database-url URL --i-own-this-database]
    gateway simulate smsc  [--port P ...]
    gateway simulate kakao [--port P ...]
    gateway simulate nhn-sms [--port P ...]
    gateway templates sync FILE [--prune]
    gateway templates sync --from-nhn [--connector NAME] [--sender-key K ...] [--prune]
    gateway campaign       hold|release|cancel ID [--actor A] [--note T]
    gateway held           list [--campaign C] [--ids] | release (--id N ... | --campaign C | --all)
    gateway policy explain --to N --kind K [--at 2026-07-14T12:00+02:00] [--body T ...]

Where settings come from, strongest first: a flag (``--database-url``), an
environment variable (``GATEWAY_DATABASE_URL``, ``GATEWAY_ADMIN_TOKEN``, ... —
:data:`gateway.config.ENV_OVERRIDES`), the file (``--config``, else
``$GATEWAY_CONFIG``, else ``config/gateway.toml`` when it exists), the
defaults. Errors are one line each on stderr: exit 2 for configuration and
input, 3 for the database, 1 for anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from gateway import __version__
from gateway.config import Config, load_config, parse_config
from gateway.errors import ConfigError, DatabaseError, GatewayError, InputError
from gateway.logs import configure_logging

DEFAULT_CONFIG = "config/gateway.toml"
CONFIG_ENV = "GATEWAY_CONFIG"


def _run(coro_fn: Callable[[], Coroutine[Any, Any, int]]) -> int:
    try:
        import uvloop

        return uvloop.run(coro_fn())
    except ImportError:  # pragma: no cover - uvloop is optional (Windows)
        return asyncio.run(coro_fn())


def _config_path(args: argparse.Namespace) -> str | None:
    """--config, else $GATEWAY_CONFIG, else config/gateway.toml when it exists."""
    path = getattr(args, "config", None) or os.environ.get(CONFIG_ENV) or None
    if path is None and Path(DEFAULT_CONFIG).exists():
        path = DEFAULT_CONFIG
    return path


def _load(args: argparse.Namespace, *, required: bool) -> Config:
    overrides: dict[tuple[str, ...], Any] = {("database", "url"): getattr(args, "database_url", None)}
    path = _config_path(args)
    if path is None:
        if required:
            raise ConfigError(
                f"no configuration: pass --config FILE or set {CONFIG_ENV} (no {DEFAULT_CONFIG} here either)"
            )
        return parse_config({}, source="<defaults>", overrides=overrides)
    return load_config(path, overrides=overrides)


def _database_url(args: argparse.Namespace, config: Config) -> str:
    """--database-url, else GATEWAY_DATABASE_URL, else database.url (merged by :func:`_load`)."""
    url = config.database.url
    if not url:
        raise ConfigError(
            "no database: pass --database-url, set GATEWAY_DATABASE_URL, or set database.url in the configuration"
        )
    return url


# ---------------------------------------------------------------------- commands
def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args, required=True)
    names = ", ".join(f"{c.name} ({c.type})" for c in config.connectors) or "none"
    print(f"{_config_path(args)}: OK — connectors: {names}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    config = _load(args, required=False)
    url = _database_url(args, config)

    async def main() -> int:
        from gateway.db.migrate import migrate
        from gateway.db.pool import connect

        conn = await connect(url)
        try:
            applied = await migrate(conn, lock_timeout=args.lock_timeout, attempts=args.attempts)
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


def cmd_connector(args: argparse.Namespace) -> int:
    """pause / resume / rebind a connector on every instance (stored in PostgreSQL, kept across restarts)."""
    config = _load(args, required=False)
    url = _database_url(args, config)
    who = f"cli {os.environ.get('USER') or os.environ.get('LOGNAME') or '?'}@{socket.gethostname()}"

    async def main() -> int:
        from gateway.control import request_rebind, set_paused
        from gateway.control.status import collect_status
        from gateway.db.pool import connect

        conn = await connect(url)
        try:
            known = {c.name for c in config.connectors}
            known |= {c["connector"] for c in (await collect_status(conn))["connectors"]}
            if known and args.name not in known:
                raise InputError(f"no connector named {args.name!r}; known: {', '.join(sorted(known))}")
            if args.action == "pause":
                control = await set_paused(conn, args.name, True, reason=args.reason, who=who)
            elif args.action == "resume":
                control = await set_paused(conn, args.name, False, reason=None, who=who)
            else:
                control = await request_rebind(conn, args.name, who=who)
        finally:
            await conn.close()
        if args.action == "pause":
            print(
                f"{args.name}: paused on every instance ({control.reason or 'no reason given'}); "
                f"undo with `gateway connector resume {args.name}`"
            )
        elif args.action == "resume":
            print(f"{args.name}: resumed on every instance")
        else:
            print(f"{args.name}: every instance rebinds it (request {control.rebind_seq})")
        return 0

    return _run(main)


def cmd_health(args: argparse.Namespace) -> int:
    """Ask the running daemon's admin listener (from the same configuration) whether it is alive / ready."""
    import urllib.error
    import urllib.request

    config = _load(args, required=False)
    host = config.admin.host
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    path = "readyz" if args.ready else "healthz"
    url = f"http://{host if ':' not in host else f'[{host}]'}:{config.admin.port}/{path}"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as resp:
            ok = resp.status == 200
    except urllib.error.HTTPError as exc:
        ok = False
        print(f"gateway health: {url}: HTTP {exc.code}", file=sys.stderr)
    except OSError as exc:
        print(f"gateway health: {url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    return 0 if ok else 1


def _default_sender(config: Config, channel: str) -> str:
    """The sender `gateway enqueue` uses without --sender: the first one configured for the channel's route."""
    name = config.routing.default.get(channel)  # type: ignore[call-overload]
    if name is None:
        serving = [c.name for c in config.connectors if c.channel == channel]
        name = serving[0] if len(serving) == 1 else None
    if name is None:
        raise InputError(f"give --sender: no connector of the configuration serves {channel} by default")
    connector = config.connector(name)
    senders = list(getattr(connector, "senders", None) or ())
    senders += list(config.ratelimit.for_connector(name).senders)
    if not senders:
        raise InputError(f"give --sender: connector {name!r} names no sender in the configuration")
    return senders[0]


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
            "sender": args.sender or _default_sender(config, args.channel),
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
    if args.what == "nhn-sms":
        from gateway.simulators.nhn_sms import main as nhn_sms_main

        return nhn_sms_main(args.rest) or 0
    from gateway.simulators.kakao import main as kakao_main

    return kakao_main(args.rest) or 0


def cmd_templates(args: argparse.Namespace) -> int:
    config = _load(args, required=bool(args.from_nhn))
    url = _database_url(args, config)
    if bool(args.file) == bool(args.from_nhn):
        raise InputError("give either a template FILE or --from-nhn")

    async def main() -> int:
        from gateway.db.pool import connect
        from gateway.kakao import NhnAlimtalkAdapter, sync_from_nhn, sync_templates

        conn = await connect(url)
        try:
            if args.file:
                result = await sync_templates(conn, Path(args.file), prune=args.prune)
                print(f"templates synced from {args.file}: {result}")
                return 0
            kakao = [c for c in config.connectors if c.type == "kakao"]
            chosen = [c for c in kakao if args.connector in (None, c.name)]
            if len(chosen) != 1:
                names = ", ".join(c.name for c in kakao) or "none"
                raise ConfigError(f"name one Kakao connector with --connector (configured: {names})")
            connector = chosen[0]
            async with NhnAlimtalkAdapter.from_config(connector) as adapter:
                senders = args.sender_key or list(connector.sender_keys)
                result = await sync_from_nhn(conn, adapter, senders, prune=args.prune)
            print(f"templates synced from NHN ({connector.name}): {result}")
            return 0
        finally:
            await conn.close()

    return _run(main)


def cmd_campaign(args: argparse.Namespace) -> int:
    config = _load(args, required=False)
    url = _database_url(args, config)

    async def main() -> int:
        from gateway.db.pool import connect
        from gateway.operator.campaigns import campaign_action, default_actor, render_campaign

        conn = await connect(url)
        try:
            result = await campaign_action(
                conn, args.action, args.campaign, actor=args.actor or default_actor(), note=args.note
            )
        finally:
            await conn.close()
        print(json.dumps(result, default=str, indent=2) if args.json else render_campaign(result))
        return 0

    return _run(main)


def cmd_held(args: argparse.Namespace) -> int:
    config = _load(args, required=False)
    url = _database_url(args, config)

    async def main() -> int:
        from gateway.db.pool import connect
        from gateway.operator.campaigns import default_actor, held, held_release, render_held

        conn = await connect(url)
        try:
            if args.held_command == "list":
                result = await held(conn, campaign=args.campaign, ids=args.ids, limit=args.limit)
                print(json.dumps(result, default=str, indent=2) if args.json else render_held(result))
            else:
                n = await held_release(
                    conn, ids=args.id, campaign=args.campaign, everything=args.all,
                    actor=args.actor or default_actor(), note=args.note,
                )  # fmt: skip
                print(f"released {n} held message(s): each waits for its next allowed window")
        finally:
            await conn.close()
        return 0

    return _run(main)


def cmd_policy_explain(args: argparse.Namespace) -> int:
    from gateway.policy import parse_instant, system_clock

    config = _load(args, required=False)
    try:
        at = parse_instant(args.at) if args.at else system_clock()
        send_at = parse_instant(args.send_at) if args.send_at else None
        expires_at = parse_instant(args.expires_at) if args.expires_at else None
    except ValueError as exc:
        raise InputError(str(exc)) from None
    extras: dict[str, Any] = dict(args.extras or {})
    if not isinstance(args.extras or {}, dict):
        raise InputError("--extras must be a JSON object")
    if args.timezone:
        extras["timezone"] = args.timezone
    if args.night_consent:
        extras["night_consent"] = True
    consent = {"true": True, "false": False, "null": None}[args.consent]
    url = None
    if not args.no_database:
        url = getattr(args, "database_url", None) or config.database.url or os.environ.get("GATEWAY_DATABASE_URL")

    async def main() -> int:
        from gateway.operator.explain import explain_message, message_from_args

        message = message_from_args(
            to=args.to, kind=args.kind, at=at, channel=args.channel, sender=args.sender, body=args.body,
            campaign=args.campaign, send_at=send_at, expires_at=expires_at, extras=extras,
        )  # fmt: skip
        conn = None
        if url:
            from gateway.db.pool import connect

            conn = await connect(url)
        try:
            result = await explain_message(
                message, consent=consent, at=at, config=config.policy, check_content=args.body is not None, conn=conn
            )
        finally:
            if conn is not None:
                await conn.close()
        if args.consent == "true" and not args.consent_given:
            result_notes = "consent assumed true (--consent null|false to see what else happens)"
        else:
            result_notes = ""
        if args.json:
            data = result.as_json()
            if result_notes:
                data["notes"].append(result_notes)
            print(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            print(result.render(sources=args.sources))
            if result_notes:
                print(f"note: {result_notes}")
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

    p = sub.add_parser("health", help="exit 0 when the daemon of this configuration is alive (--ready: ready)")
    with_config(p, db=False)
    p.add_argument("--ready", action="store_true", help="ask /readyz instead of /healthz")
    p.add_argument("--timeout", type=float, default=3.0)
    p.set_defaults(func=cmd_health)

    p = sub.add_parser("connector", help="pause, resume or rebind a connector on every instance")
    p.add_argument("action", choices=["pause", "resume", "rebind"])
    p.add_argument("name", help="the connector's name")
    p.add_argument("--reason", help="why (shown by `gateway status` and /status)")
    with_config(p)
    p.set_defaults(func=cmd_connector)

    p = sub.add_parser("check-config", help="validate the configuration without starting")
    with_config(p, db=False)
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    with_config(p)
    p.add_argument(
        "--lock-timeout",
        type=float,
        default=2.0,
        help="give up a lock after this many seconds, so that upstream INSERTs never wait long (default 2)",
    )
    p.add_argument("--attempts", type=int, default=5, help="tries when a lock is not granted in time (default 5)")
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
    p.add_argument("--sender", help="default: the first sender configured for the channel's connector")
    p.add_argument("--channel", default="sms", choices=["sms", "alimtalk"])
    p.add_argument("--kind", default="informational", choices=["informational", "advertising"])
    p.add_argument("--priority", type=int, default=0)
    p.add_argument("--idempotency-key")
    p.add_argument("--campaign")
    p.add_argument("--extras", type=json.loads, help="JSON object")
    p.set_defaults(func=cmd_enqueue)

    p = sub.add_parser("demo", help="run the gateway on an embedded database with simulators and sample traffic")
    p.add_argument("--database-url", help="use this PostgreSQL server instead of an embedded one")
    p.add_argument(
        "--i-own-this-database",
        action="store_true",
        help="with --database-url: yes, drop and recreate the database gateway_demo on that server",
    )
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--data-dir", default=".gateway-demo", help="where the embedded database lives")
    p.add_argument("--loopback", action="store_true", help="use the loopback connector instead of the simulators")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("simulate", help="run a peer simulator (SMSC, Kakao provider or NHN Cloud SMS)")
    p.add_argument("what", choices=["smsc", "kakao", "nhn-sms"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help="simulator options (see `gateway simulate smsc -- --help`)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("campaign", help="hold, release or cancel a campaign's messages")
    p.add_argument("action", choices=["hold", "release", "cancel"])
    p.add_argument("campaign", help="the campaign_id of its messages")
    p.add_argument("--actor", help="who does it, for the audit trail (default cli:<login>@<host>)")
    p.add_argument("--note", help="why, for the audit trail")
    p.add_argument("--json", action="store_true")
    with_config(p)
    p.set_defaults(func=cmd_campaign)

    p = sub.add_parser("held", help="messages held for an operator")
    hsub = p.add_subparsers(dest="held_command", required=True)
    h = hsub.add_parser("list", help="held messages by campaign and reason")
    h.add_argument("--campaign")
    h.add_argument("--ids", action="store_true", help="also list the messages one by one")
    h.add_argument("--limit", type=int, default=100)
    h.add_argument("--json", action="store_true")
    with_config(h)
    h.set_defaults(func=cmd_held)
    h = hsub.add_parser("release", help="release messages held for quiet hours: they wait for their next window")
    h.add_argument("--id", type=int, action="append", help="a held message id (repeatable)")
    h.add_argument("--campaign")
    h.add_argument("--all", action="store_true")
    h.add_argument("--actor", help="who does it, for the audit trail (default cli:<login>@<host>)")
    h.add_argument("--note")
    with_config(h)
    h.set_defaults(func=cmd_held)

    p = sub.add_parser("policy", help="the send policy")
    psub = p.add_subparsers(dest="policy_command", required=True)
    e = psub.add_parser("explain", help="what the policy decides for a message at a moment, and when it may go")
    e.add_argument("--to", required=True, help="recipient phone number (E.164 preferred)")
    e.add_argument("--kind", default="advertising", choices=["informational", "advertising"])
    e.add_argument("--at", help="the moment to ask about, ISO 8601 with offset (default: now)")
    e.add_argument("--channel", default="sms", choices=["sms", "alimtalk"])
    e.add_argument("--sender", default="-")
    e.add_argument("--body", help="the rendered text (content rules are checked only when given)")
    e.add_argument("--campaign")
    e.add_argument(
        "--consent",
        choices=["true", "false", "null"],
        default=None,
        help="the consent column (default: true, with a note)",
    )
    e.add_argument("--night-consent", action="store_true", help="extras.night_consent = true (KR)")
    e.add_argument("--timezone", help="extras.timezone (IANA)")
    e.add_argument("--send-at", help="send_at, ISO 8601 with offset")
    e.add_argument("--expires-at", help="expires_at, ISO 8601 with offset")
    e.add_argument("--extras", type=json.loads, help="more extras, as a JSON object")
    e.add_argument("--sources", action="store_true", help="print the legal source of every rule applied")
    e.add_argument("--json", action="store_true")
    e.add_argument("--no-database", action="store_true", help="do not read campaign holds or opt-outs")
    with_config(e)
    e.set_defaults(func=cmd_policy_explain)

    p = sub.add_parser("templates", help="Alimtalk template registry")
    tsub = p.add_subparsers(dest="templates_command", required=True)
    t = tsub.add_parser("sync", help="load templates from a YAML or JSON file, or from NHN's template API")
    t.add_argument("file", nargs="?", help="a YAML or JSON template file")
    t.add_argument("--from-nhn", action="store_true", help="pull templates and their status from NHN")
    t.add_argument("--connector", help="the Kakao connector whose NHN account to read (with --from-nhn)")
    t.add_argument(
        "--sender-key", action="append", help="a sender profile to read (default: sender_keys, else those known)"
    )
    t.add_argument("--prune", action="store_true", help="delete the templates of these sender keys not found")
    with_config(t)
    t.set_defaults(func=cmd_templates)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "rest", None) and args.rest[:1] == ["--"]:
        args.rest = args.rest[1:]
    if getattr(args, "policy_command", None) == "explain":
        args.consent_given = args.consent is not None
        args.consent = args.consent or "true"
    try:
        try:
            return args.func(args)
        except BaseExceptionGroup as group:  # raised inside a task group: report the gateway's own error
            errors = [e for e in _leaves(group) if isinstance(e, GatewayError)]
            if errors:
                raise errors[0] from None
            raise
    except (ConfigError, InputError) as exc:
        print(f"gateway: error: {_lines(exc)}", file=sys.stderr)
        return 2
    except DatabaseError as exc:
        print(f"gateway: database error: {_one_line(exc)}", file=sys.stderr)
        return 3
    except GatewayError as exc:
        print(f"gateway: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _lines(exc: BaseException) -> str:
    """Configuration errors may list several problems, one per line; each line is one problem."""
    return "\n".join(" ".join(line.split()) for line in str(exc).splitlines() if line.strip())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
