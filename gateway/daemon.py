"""``gateway run``: one process, one task group — engine, connectors, HTTP server, signals.

SIGTERM or SIGINT start a graceful drain (stop claiming, finish or give back
what is in flight, flush, release leases) bounded by ``engine.drain_seconds``;
a second signal, or the deadline plus a margin, cancels everything.
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
from gateway.db.migrate import pending_migrations
from gateway.db.pool import create_pool, is_connection_error
from gateway.errors import ConfigError, DatabaseError
from gateway.http.server import build_app, serve
from gateway.policy.clock import system_clock
from gateway.port import Connector
from gateway.queue.engine import Engine, new_owner
from gateway.queue.gate import PolicyGate
from gateway.queue.listener import Listener
from gateway.queue.store import PgStore
from gateway.ratelimit import TokenSource

log = structlog.get_logger("gateway.daemon")


async def connect_with_retry(url: str, config: Config, *, attempts: int = 0) -> asyncpg.Pool:
    """Create the pool, retrying with back-off while PostgreSQL is not up yet."""
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
        self.connectors: dict[str, Connector] = {}
        self.engine: Engine | None = None
        self.http_port: int | None = None
        self.pool: asyncpg.Pool | None = None

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED, install_signals: bool = True) -> None:
        pool = await connect_with_retry(self.database_url, self.config, attempts=0)
        self.pool = pool
        self.connectors = build_connectors(self.config, pool)
        try:
            missing = await self._pending_migrations(pool)
            if missing:
                raise ConfigError(
                    f"the database schema is not up to date ({len(missing)} migration(s) missing, "
                    f"first: {missing[0].version:04d}_{missing[0].name}); run `gateway migrate` first"
                )
            owner = new_owner(self.config.instance_name)
            engine = Engine(
                PgStore(
                    pool,
                    owner=owner,
                    retention_days=self.config.database.retention_days,
                    default_region=self.config.policy.default_region,
                ),
                self.connectors,
                config=self.config.engine,
                routing=self.config.routing,
                gate=build_gate(self.config, pool, self.database_url),
                ratelimit=self.config.ratelimit,
                tokens=build_tokens(self.config, pool, owner),
                listener=Listener(self.database_url, "gateway_outbox"),
                wall_clock=self.clock or system_clock,
            )
            self.engine = engine
            async with anyio.create_task_group() as tg:
                if install_signals:
                    tg.start_soon(self._signals, engine, tg.cancel_scope.cancel)
                if self.config.http.enabled:
                    app = build_app(
                        connectors=self.connectors,
                        readiness=self._readiness,
                        max_body_bytes=self.config.http.max_body_bytes,
                    )
                    self.http_port = await tg.start(
                        lambda task_status: serve(
                            app, host=self.config.http.host, port=self.config.http.port, task_status=task_status
                        )
                    )
                await tg.start(engine.run)
                task_status.started()
                await engine.wait_stopped()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await pool.close()

    async def _pending_migrations(self, pool: asyncpg.Pool) -> list[Any]:
        backoff = Backoff(0.2, self.config.database.reconnect_max_seconds)
        failures = 0
        while True:
            try:
                async with pool.acquire(timeout=10) as conn:
                    return await pending_migrations(conn)
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                failures += 1
                delay = backoff.delay(failures)
                log.warning("daemon.startup.retry", error=str(exc), retry_in=delay)
                await anyio.sleep(delay)

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
                engine.stop()
                # Hard deadline: drain time plus a margin for the final flush.
                await anyio.sleep(self.config.engine.drain_seconds + 10)
                log.error("daemon.drain.deadline_passed")
                cancel()
                return

    async def _readiness(self) -> tuple[bool, dict]:
        detail: dict[str, Any] = {}
        db_ok = False
        try:
            assert self.pool is not None
            with anyio.fail_after(1.0):
                async with self.pool.acquire() as conn:
                    db_ok = await conn.fetchval("SELECT true")
        except Exception as exc:  # noqa: BLE001
            detail["database_error"] = type(exc).__name__
        detail["database"] = bool(db_ok)
        connectors = {name: c.is_ready() for name, c in self.connectors.items()}
        detail["connectors"] = connectors
        return bool(db_ok) and all(connectors.values()), detail


def build_gate(config: Config, pool: asyncpg.Pool, database_url: str) -> PolicyGate:
    """The policy layer (gateway.policy) with its PostgreSQL-backed guards; a hold or cancel
    (NOTIFY gateway_policy) reloads its campaign controls at once."""
    from gateway.policy.gate import PolicyDbGate

    return PolicyDbGate(config.policy, pool, listen=Listener(database_url, "gateway_policy").run)


def build_tokens(config: Config, pool: asyncpg.Pool, owner: str) -> TokenSource:
    """Cluster-wide token grants through PostgreSQL when enabled, else local buckets."""
    from gateway.ratelimit import ClusterTokens, LocalTokens, PgRateStore

    if not config.ratelimit.cluster.enabled:
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
