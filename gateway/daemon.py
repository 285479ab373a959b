"""``gateway run``: one process, one task group — engine, connectors, control plane, HTTP, signals.

Start-up, in order: the admin listener binds and serves liveness at once
(``/healthz`` 200, ``/readyz`` 503 while PostgreSQL is away), the public
listener's port is reserved (a port in use is a one-line error before anything
else), then the pool connects, retrying while PostgreSQL is not up yet but
stopping at once, with one line, on an error that waiting cannot cure (no
such database, a wrong password, a role that may not log in). Stored operator
controls are applied before any connector runs.

SIGTERM or SIGINT start a graceful drain (stop claiming, finish or give back
what is in flight, flush, release leases) bounded by ``engine.drain_seconds``;
a second signal, or the deadline plus a margin, cancels everything. Give the
process ``drain_seconds`` + 15 s before a SIGKILL (``docker stop -t``, Compose
``stop_grace_period``, Kubernetes ``terminationGracePeriodSeconds``).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import datetime
from typing import Any

import anyio
import asyncpg
import structlog

from gateway.backoff import Backoff
from gateway.config import Config
from gateway.connectors.config import LoopbackConnectorConfig
from gateway.connectors.loopback import LoopbackConnector
from gateway.control import Controlled, ControlPlane, request_rebind, set_paused
from gateway.control.status import collect_status
from gateway.db.migrate import pending_migrations
from gateway.db.pool import create_pool, is_connection_error, permanent_reason
from gateway.errors import ConfigError, DatabaseError
from gateway.eventloop import name_the_event_loop
from gateway.http.server import Listener, build_admin_app, build_public_app
from gateway.policy.clock import system_clock
from gateway.port import Connector
from gateway.queue.engine import Engine, new_owner
from gateway.queue.gate import PolicyGate
from gateway.queue.listener import Listener as NotifyListener
from gateway.queue.store import PgStore
from gateway.ratelimit import TokenSource

log = structlog.get_logger("gateway.daemon")

#: Seconds past ``engine.drain_seconds`` before the daemon cancels everything itself.
DRAIN_MARGIN_SECONDS = 10.0


async def connect_with_retry(url: str, config: Config, *, attempts: int = 0) -> asyncpg.Pool:
    """Create the pool, retrying with back-off while PostgreSQL is not up yet.

    An error that retrying cannot cure (:func:`~gateway.db.pool.permanent_reason`)
    is raised at once as a one-line :class:`DatabaseError`."""
    backoff = Backoff(0.5, config.database.reconnect_max_seconds)
    tried = 0
    while True:
        tried += 1
        try:
            return await create_pool(
                url,
                min_size=config.database.pool_min,
                max_size=config.database.pool_max,
                timeout=config.database.connect_timeout_seconds,
            )
        except DatabaseError as exc:
            permanent = permanent_reason(exc)
            if permanent is not None:
                raise DatabaseError(f"{permanent} (not retrying: check database.url or GATEWAY_DATABASE_URL)") from exc
            if attempts and tried >= attempts:
                raise
            delay = backoff.delay(tried)
            log.warning("db.connect.failed", error=str(exc), retry_in=delay)
            await anyio.sleep(delay)


class Daemon:
    def __init__(self, config: Config, *, database_url: str, clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.database_url = database_url
        self.clock = clock  # the engine's and the policy's wall clock; None = the system's (tests set it)
        self.connectors: dict[str, Controlled] = {}
        self.engine: Engine | None = None
        self.plane: ControlPlane | None = None
        self.http_port: int | None = None  # the public listener (webhooks)
        self.admin_port: int | None = None  # the operators' listener (metrics, health, status, admin API)
        self.pool: asyncpg.Pool | None = None
        self.phase = "starting"  # connecting -> running -> draining -> stopped

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED, install_signals: bool = True) -> None:
        name_the_event_loop()
        cfg = self.config
        admin = public = None
        try:
            # Both ports first: one taken is a one-line error before anything else happens.
            if cfg.admin.enabled:
                admin = Listener(host=cfg.admin.host, port=cfg.admin.port, setting="admin.port")
                self.admin_port = admin.bind()
            if cfg.http.enabled:
                public = Listener(host=cfg.http.host, port=cfg.http.port, setting="http.port")
                self.http_port = public.bind()
            if admin is not None:
                token = cfg.admin.token.get_secret_value() if cfg.admin.token else None
                await admin.start(
                    build_admin_app(readiness=self._readiness, status=self._status, actions=self, token=token)
                )
            self.phase = "connecting"
            pool = await connect_with_retry(self.database_url, cfg, attempts=0)
            self.pool = pool
            try:
                await self._run(pool, public, task_status, install_signals)
            finally:
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    await pool.close()
        finally:
            self.phase = "stopped"
            with anyio.CancelScope(shield=True):
                for listener in (public, admin):
                    if listener is not None:
                        await listener.stop()

    async def _run(self, pool: asyncpg.Pool, public: Listener | None, task_status: Any, install_signals: bool) -> None:
        cfg = self.config
        missing = await self._until_up(lambda: self._pending_migrations(pool))
        if missing:
            raise ConfigError(
                f"the database schema is not up to date ({len(missing)} migration(s) missing, "
                f"first: {missing[0].version:04d}_{missing[0].name}); run `gateway migrate` first"
            )
        self.connectors = {name: Controlled(c) for name, c in build_connectors(cfg, pool).items()}
        owner = new_owner(cfg.instance_name)
        engine = Engine(
            PgStore(
                pool,
                owner=owner,
                retention_days=cfg.database.retention_days,
                default_region=cfg.policy.default_region,
            ),
            self.connectors,
            config=cfg.engine,
            routing=cfg.routing,
            gate=build_gate(cfg, pool, self.database_url),
            ratelimit=cfg.ratelimit,
            tokens=build_tokens(cfg, pool, owner),
            listener=NotifyListener(self.database_url, "gateway_outbox"),
            wall_clock=self.clock or system_clock,
        )
        self.engine = engine
        plane = ControlPlane(
            pool=pool,
            database_url=self.database_url,
            instance=owner,
            connectors=self.connectors,
            config=cfg.control,
            routing=cfg.routing,
            senders=known_senders(cfg),
            writer_lag=engine.writer.lag,
        )
        self.plane = plane
        await self._until_up(plane.load)  # a paused connector stays paused across restarts
        init_series(cfg)
        if public is not None:
            await public.start(build_public_app(connectors=self.connectors, max_body_bytes=cfg.http.max_body_bytes))
        if cfg.ratelimit.has_limits and not cfg.ratelimit.cluster_enabled:
            log.warning(
                "ratelimit.cluster.disabled",
                hint="ratelimit.cluster.enabled = false: every instance applies the whole limit; "
                'run one instance only, or set it to "auto"',
            )
        self.phase = "running"
        try:
            async with anyio.create_task_group() as tg:
                if install_signals:
                    tg.start_soon(self._signals, engine, tg.cancel_scope.cancel)
                await tg.start(plane.run)
                await tg.start(engine.run)
                task_status.started()
                await engine.wait_stopped()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await plane.close()

    async def _until_up(self, step: Callable[[], Any]) -> Any:
        """Run ``step``, retrying while PostgreSQL restarts (connection errors only)."""
        backoff = Backoff(0.2, self.config.database.reconnect_max_seconds)
        failures = 0
        while True:
            try:
                return await step()
            except Exception as exc:
                if not is_connection_error(exc) and not is_connection_error(exc.__cause__ or exc):
                    raise
                failures += 1
                delay = backoff.delay(failures)
                log.warning("daemon.startup.retry", error=str(exc), retry_in=delay)
                await anyio.sleep(delay)

    async def _pending_migrations(self, pool: asyncpg.Pool) -> list[Any]:
        async with pool.acquire(timeout=10) as conn:
            return await pending_migrations(conn)

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()

    async def _signals(self, engine: Engine, cancel: Callable[[], None]) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                if engine.stopping:
                    log.warning("daemon.signal.again", signal=signal.Signals(signum).name)
                    cancel()
                    return
                log.info("daemon.signal", signal=signal.Signals(signum).name)
                self.phase = "draining"
                engine.stop()
                # Hard deadline: drain time plus a margin for the final flush.
                await anyio.sleep(self.config.engine.drain_seconds + DRAIN_MARGIN_SECONDS)
                log.error("daemon.drain.deadline_passed")
                cancel()
                return

    # ------------------------------------------------------------------ what operators see
    async def _readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready: PostgreSQL answers, and some connector can send or is paused on purpose."""
        detail: dict[str, Any] = {"phase": self.phase}
        db_ok = False
        if self.pool is not None:
            try:
                with anyio.fail_after(1.0):
                    async with self.pool.acquire() as conn:
                        db_ok = bool(await conn.fetchval("SELECT true"))
            except Exception as exc:  # noqa: BLE001
                detail["database_error"] = type(exc).__name__
        detail["database"] = db_ok
        connectors: dict[str, dict[str, Any]] = {}
        for name, c in self.connectors.items():
            health = c.health()
            entry: dict[str, Any] = {"state": c.state}
            if c.paused:
                entry["reason"] = c.pause_reason
            elif health.last_error and c.state != "ready":
                entry["last_error"] = health.last_error
            if health.sessions_up is not None:
                entry["binds_up"] = health.sessions_up
            connectors[name] = entry
        detail["connectors"] = connectors
        serving = not connectors or any(e["state"] in ("ready", "paused") for e in connectors.values())
        return db_ok and self.phase == "running" and serving, detail

    async def _status(self) -> dict[str, Any]:
        if self.pool is None:
            raise DatabaseError("not connected to PostgreSQL yet")
        async with self.pool.acquire(timeout=5) as conn:
            return await collect_status(conn, instance_timeout_s=self.config.engine.instance_timeout_seconds)

    # ------------------------------------------------------------------ the admin API's actions
    def knows(self, connector: str) -> bool:
        return connector in self.connectors

    async def _control(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        if self.pool is None:
            raise DatabaseError("not connected to PostgreSQL yet")
        async with self.pool.acquire(timeout=5) as conn:
            control = await fn(conn, *args, **kwargs)
        if self.plane is not None:
            await self.plane.apply()  # here at once; the others by NOTIFY
        return dict(control.as_json())

    async def pause(self, connector: str, *, reason: str | None, who: str) -> dict[str, Any]:
        return await self._control(set_paused, connector, True, reason=reason, who=who)

    async def resume(self, connector: str, *, who: str) -> dict[str, Any]:
        return await self._control(set_paused, connector, False, reason=None, who=who)

    async def rebind(self, connector: str, *, who: str) -> dict[str, Any]:
        return await self._control(request_rebind, connector, who=who)


def build_gate(config: Config, pool: asyncpg.Pool, database_url: str) -> PolicyGate:
    """The policy layer (gateway.policy) with its PostgreSQL-backed guards; a hold or cancel
    (NOTIFY gateway_policy) reloads its campaign controls at once."""
    from gateway.policy.gate import PolicyDbGate

    return PolicyDbGate(config.policy, pool, listen=NotifyListener(database_url, "gateway_policy").run)


def build_tokens(config: Config, pool: asyncpg.Pool, owner: str) -> TokenSource:
    """Cluster-wide token grants through PostgreSQL when any limit is set (``cluster.enabled = "auto"``)."""
    from gateway.ratelimit import ClusterTokens, LocalTokens, PgRateStore

    if not config.ratelimit.cluster_enabled:
        return LocalTokens()
    return ClusterTokens(PgRateStore(pool), instance=owner, config=config.ratelimit.cluster)


def build_connectors(config: Config, pool: asyncpg.Pool | None) -> dict[str, Connector]:
    """One connector object per configured connector (SMPP, Kakao and NHN SMS are imported only when used)."""
    return {c.name: build_connector(c, pool) for c in config.connectors}


def build_connector(config: Any, pool: asyncpg.Pool | None) -> Connector:
    if isinstance(config, LoopbackConnectorConfig):
        return LoopbackConnector(config)
    if config.type == "smpp":
        from gateway.smpp.connector import SmppConnector

        return SmppConnector(config)
    if config.type == "kakao":
        from gateway.kakao import (
            InMemoryJournal,
            InMemoryTemplateStore,
            KakaoConnector,
            PostgresJournal,
            PostgresTemplateStore,
        )

        if pool is None:
            return KakaoConnector(config, InMemoryTemplateStore(()), journal=InMemoryJournal())
        return KakaoConnector(config, PostgresTemplateStore(pool), journal=PostgresJournal(pool))
    if config.type == "nhn_sms":
        from gateway.nhn_sms import InMemoryAttachmentStore, NhnSmsConnector, PostgresAttachmentStore

        attachments = PostgresAttachmentStore(pool) if pool is not None else InMemoryAttachmentStore()
        return NhnSmsConnector(config, attachments=attachments)
    raise ConfigError(f"connector {config.name!r}: unknown type {config.type!r}")


def known_senders(config: Config) -> dict[str, set[str]]:
    """Per connector, the senders named in the configuration: the only ones that become metric labels."""
    out: dict[str, set[str]] = {c.name: set(getattr(c, "senders", None) or ()) for c in config.connectors}
    for name, limits in config.ratelimit.connectors.items():
        out.setdefault(name, set()).update(limits.senders)
    for rule in config.routing.rules:
        if rule.sender is not None:
            out.setdefault(rule.connector, set()).add(rule.sender)
    return out


def init_series(config: Config) -> None:
    """Create the labelled series of the engine, the policy and the rate limiter at zero."""
    from gateway import metrics
    from gateway.policy.decision import Action, Reason
    from gateway.port import MessageState, Outcome, QueueReason, ReceiptState
    from gateway.ratelimit import metrics as rl_metrics

    for c in config.connectors:
        for state in MessageState:
            if not state.is_live:
                metrics.MESSAGES.labels(c.channel, c.name, state.value)
        for receipt_state in ReceiptState:
            metrics.RECEIPTS.labels(c.name, receipt_state.value)
        metrics.RECEIPTS_UNMATCHED.labels(c.name)
        for drop in metrics.RECEIPT_DROP_REASONS:
            metrics.RECEIPTS_DROPPED.labels(c.name, drop)
        metrics.INBOUND.labels(c.name)
        metrics.CONNECTOR_READY.labels(c.name)
        metrics.ENQUEUE_TO_SUBMIT.labels(c.name)
        if c.channel == "sms":
            for message_type in ("sms", "lms", "mms", "-"):
                for outcome in Outcome:
                    metrics.SMS_TYPES.labels(c.name, message_type, outcome.value)
        metrics.SUBMIT_TO_RECEIPT.labels(c.name)
        rl_metrics.ADMITTED_COST.labels(c.name)
        rl_metrics.THROTTLE_EVENTS.labels(c.name)
        rl_metrics.WAIT_SECONDS.labels(c.name)
    for action in Action:
        if action is Action.ALLOW:
            continue
        for reason in (*Reason, QueueReason.NO_ROUTE, QueueReason.POLICY_ERROR):
            metrics.POLICY_DECISIONS.labels(action.value, reason.value)
    for operation in (
        "claim",
        "promote",
        "heartbeat",
        "recover",
        "receipt_timeouts",
        "pending",
        "partitions",
        "queue_depth",
        "policy",
    ):
        metrics.DB_ERRORS.labels(operation)
