"""The control plane of one daemon: operators' controls in, this instance's state out.

Run beside the engine (``ControlPlane.run`` in the daemon's task group):

* **controls** — ``gateway.connector_controls`` is read at start, before any
  connector runs (a paused connector stays paused across restarts), then on
  every ``NOTIFY gateway_control`` and every ``poll_seconds``: pauses, resumes
  and rebind requests reach every instance within a second;
* **status** — every ``status_seconds`` this instance publishes what it sees of
  each connector (``gateway.connector_status``), which ``gateway status`` and
  the ``/status`` page read;
* **queue depth** — one instance of the cluster, the one holding the sampler's
  advisory lock on its control connection, samples the outbox per connector,
  sender and state every ``depth_seconds``, stores it (``gateway.queue_depth``)
  and exports it; the others export none of it, so a sum over instances is
  right (dashboards use ``max by``, which stays right during a hand-over);
* **pruning** — the same instance deletes instance rows (one per process run)
  stopped or silent for ``instance_retention_seconds``;
* **bind budgets** — for each connector with an account allowance
  (``account_binds``), slots of ``gateway.bind_slots`` are leased so that the
  binds of every instance together never exceed it (see 0026_bind_slots.sql);
  an instance that cannot renew its lease closes its binds before it lapses.

It also feeds the scrape-time metrics: connector window use and sessions, the
writer's lag, and the sampled depth.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anyio
import asyncpg
import structlog
from anyio.abc import TaskStatus
from prometheus_client.core import Metric

from gateway import metrics
from gateway.backoff import Backoff
from gateway.control import store
from gateway.control.config import ControlConfig
from gateway.control.controlled import Controlled
from gateway.db.pool import is_connection_error
from gateway.errors import DatabaseError
from gateway.port import MessageState, OutboundMessage
from gateway.queue.config import RoutingConfig
from gateway.queue.routing import Router

__all__ = ["ControlPlane", "DepthRow"]

log = structlog.get_logger("gateway.control")

_LIVE_STATES = (MessageState.QUEUED.value, MessageState.DEFERRED.value, MessageState.SENDING.value)
_PRUNE_EVERY = 60.0
_CHANNEL = "gateway_control"

DepthRow = tuple[str, str, str, int, float]  # connector, sender label, state, rows, oldest due age (s)


class ControlPlane:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        database_url: str,
        instance: str,
        connectors: Mapping[str, Controlled],
        config: ControlConfig | None = None,
        routing: RoutingConfig | None = None,
        senders: Mapping[str, Iterable[str]] | None = None,
        writer_lag: Callable[[], Mapping[str, tuple[int, float]]] | None = None,
    ) -> None:
        self.pool = pool
        self.database_url = database_url
        self.instance = instance
        self.connectors = dict(connectors)
        self.config = config = config or ControlConfig()
        routing = routing or RoutingConfig()
        self.leader = False
        self.depth: list[DepthRow] = []
        self.controls: dict[str, store.Control] = {}
        self._router = Router(routing, self.connectors)
        self._prefix = max((len(r.recipient_prefix or "") for r in routing.rules), default=0)
        self._senders = {name: set(senders.get(name, ())) if senders else set() for name in self.connectors}
        self._writer_lag = writer_lag
        self._changed = anyio.Event()
        self._rates: dict[str, tuple[float, int]] = {}
        self._unregister: Callable[[], None] | None = None
        self._tg: anyio.abc.TaskGroup | None = None

    # ---------------------------------------------------------------- start and stop
    async def load(self) -> None:
        """Apply stored controls before any connector runs (retried by the caller's start-up loop)."""
        async with self.pool.acquire(timeout=10) as conn:
            self.controls = await store.controls(conn)
        for name, connector in self.connectors.items():
            control = self.controls.get(name)
            if control is not None and control.paused:
                connector.pause(control.reason)
            connector.rebind_seq = control.rebind_seq if control is not None else 0
        self._unregister = metrics.register_source(self.collect)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self._listen)
                tg.start_soon(self._apply_loop)
                tg.start_soon(self._publish_loop)
                tg.start_soon(self._leader_loop)
                for connector in self.connectors.values():
                    if connector.session_allowance() is not None:
                        tg.start_soon(self._budget_loop, connector)
                task_status.started()
        finally:
            self._tg = None

    async def close(self) -> None:
        """After the connectors stopped: forget this run's status rows and bind slots."""
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        with anyio.move_on_after(5):
            try:
                async with self.pool.acquire(timeout=5) as conn:
                    await conn.execute(store.Q["forget_status"], self.instance)
                    await store.bind_leave(conn, self.instance)
            except Exception as exc:  # noqa: BLE001 - best effort: the rows expire anyway
                log.warning("control.close.failed", error=repr(exc))

    # ---------------------------------------------------------------- controls
    async def _listen(self) -> None:
        """A connection of its own: LISTEN for control changes, and hold the sampler's lock if free."""
        backoff = Backoff(0.5, 10.0)
        failures = 0
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self.database_url, server_settings={"application_name": "gateway-control"}, timeout=10
                )
                await conn.add_listener(_CHANNEL, lambda *args: self._changed.set())
                failures = 0
                self._changed.set()  # notifications may have been missed while away
                while not conn.is_closed():
                    if not self.leader:
                        self.leader = bool(await conn.fetchval(store.Q["try_sampler_lock"], timeout=10))
                        if self.leader:
                            log.info("control.sampler.leader", instance=self.instance)
                    else:
                        await conn.fetchval("SELECT 1", timeout=10)
                    await anyio.sleep(min(self.config.depth_seconds, 2.0))
            except Exception as exc:  # noqa: BLE001 - reconnect
                if not is_connection_error(exc):
                    log.warning("control.listen.error", error=repr(exc))
            finally:
                if self.leader:
                    log.info("control.sampler.lost", instance=self.instance)
                self.leader = False
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            failures += 1
            await anyio.sleep(backoff.delay(failures))

    async def _apply_loop(self) -> None:
        while True:
            self._changed = anyio.Event()
            try:
                await self.apply()
            except Exception as exc:  # noqa: BLE001 - keep the last known controls
                log.warning("control.apply.failed", error=repr(exc))
            with anyio.move_on_after(self.config.poll_seconds):
                await self._changed.wait()

    async def apply(self) -> None:
        """Read the controls and act on what changed for this instance's connectors."""
        async with self.pool.acquire(timeout=10) as conn:
            self.controls = await store.controls(conn)
        for name, connector in self.connectors.items():
            control = self.controls.get(name, store.Control(name))
            if control.paused and (not connector.paused or connector.pause_reason != control.reason):
                connector.pause(control.reason)
            elif not control.paused and connector.paused:
                connector.resume()
            seen = connector.rebind_seq
            if seen is None or control.rebind_seq < seen:
                connector.rebind_seq = control.rebind_seq
            elif control.rebind_seq > seen:
                connector.rebind_seq = control.rebind_seq
                log.info("control.connector.rebind", connector=name, by=control.changed_by)
                if self._tg is not None:
                    self._tg.start_soon(connector.rebind)

    # ---------------------------------------------------------------- status
    def snapshots(self) -> list[tuple[str, dict[str, Any]]]:
        now = time.monotonic()
        out = []
        for name, connector in self.connectors.items():
            last = self._rates.get(name)
            rate = 0.0
            if last is not None and now > last[0]:
                rate = (connector.submitted - last[1]) / (now - last[0])
            self._rates[name] = (now, connector.submitted)
            out.append((name, connector.snapshot(rate)))
        return out

    async def _publish_loop(self) -> None:
        while True:
            try:
                statuses = self.snapshots()
                async with self.pool.acquire(timeout=10) as conn:
                    await store.publish_status(conn, self.instance, statuses)
            except Exception as exc:  # noqa: BLE001 - next period
                log.warning("control.publish.failed", error=repr(exc))
            await anyio.sleep(self.config.status_seconds)

    # ---------------------------------------------------------------- the cluster's sampler
    async def _leader_loop(self) -> None:
        last_prune = -_PRUNE_EVERY
        while True:
            if self.leader:
                try:
                    await self.sample_depth()
                    if time.monotonic() - last_prune >= _PRUNE_EVERY:
                        last_prune = time.monotonic()
                        await self.prune()
                except Exception as exc:  # noqa: BLE001 - next period
                    metrics.DB_ERRORS.labels("queue_depth").inc()
                    log.warning("control.sample.failed", error=repr(exc))
            else:
                self.depth = []
            await anyio.sleep(self.config.depth_seconds)

    def _sender_label(self, connector: str, sender: str) -> str:
        return sender if sender in self._senders.get(connector, ()) else "other"

    async def sample_depth(self) -> list[DepthRow]:
        """The outbox per connector (as routed now), sender (named in the config, else "other") and state."""
        async with self.pool.acquire(timeout=10) as conn:
            rows = await conn.fetch(store.Q["depth_groups"], self._prefix, timeout=60)
        counts: dict[tuple[str, str, str], int] = defaultdict(int)
        ages: dict[tuple[str, str, str], float] = defaultdict(float)
        for name in self.connectors:
            for sender in (*sorted(self._senders[name]), "other"):
                for state in _LIVE_STATES:
                    counts[(name, sender, state)] = 0
                    ages[(name, sender, state)] = 0.0
        for r in rows:
            probe = OutboundMessage(0, r["channel"], r["sender"], r["prefix"], "-")
            routed = self._router.route(probe)
            name = routed.name if routed is not None else "none"
            key = (name, self._sender_label(name, r["sender"]), r["state"])
            counts[key] += r["n"]
            ages[key] = max(ages[key], r["oldest_age_s"])
        self.depth = [(c, s, st, n, ages[(c, s, st)]) for (c, s, st), n in sorted(counts.items())]
        async with self.pool.acquire(timeout=10) as conn, conn.transaction():
            await conn.execute(store.Q["clear_depth"])
            await conn.execute(
                store.Q["replace_depth"],
                [d[0] for d in self.depth],
                [d[1] for d in self.depth],
                [d[2] for d in self.depth],
                [d[3] for d in self.depth],
                [d[4] for d in self.depth],
                self.instance,
            )
        return self.depth

    async def prune(self) -> int:
        async with self.pool.acquire(timeout=10) as conn:
            n = int(await conn.fetchval(store.Q["prune_instances"], self.config.instance_retention_seconds))
        if n:
            log.info("control.instances.pruned", count=n)
        return n

    # ---------------------------------------------------------------- bind budgets
    async def _budget_loop(self, connector: Controlled) -> None:
        allowance = connector.session_allowance()
        assert allowance is not None
        lease = self.config.bind_lease_seconds
        period = lease / 3
        release = 0
        budget = 0
        renewed_at: float | None = None
        while True:
            asked_at = time.monotonic()
            try:
                async with self.pool.acquire(timeout=period) as conn:
                    held, share = await store.bind_budget(
                        conn,
                        connector.name,
                        self.instance,
                        want=connector.sessions_wanted(),
                        allowance=allowance,
                        release=release,
                        lease=lease,
                    )
            except (DatabaseError, OSError, TimeoutError, asyncpg.PostgresError) as exc:
                log.warning("control.binds.renew_failed", connector=connector.name, error=repr(exc))
                if budget and (renewed_at is None or time.monotonic() - renewed_at > lease * 2 / 3):
                    log.error("control.binds.fenced", connector=connector.name, lease=lease)
                    budget = 0
                    await connector.set_session_budget(0)  # our slots lapse soon: close before they do
                await anyio.sleep(1.0)
                continue
            renewed_at = asked_at
            release = 0
            target = min(held, share)
            if target != budget:
                log.info("control.binds.budget", connector=connector.name, binds=target, held=held, share=share)
                budget = target
            await connector.set_session_budget(target)
            if held > share:
                release = held - share  # those binds are down now: give their slots back at once
                continue
            await anyio.sleep(period if held >= share else min(period, 1.0))

    # ---------------------------------------------------------------- metrics (scrape time)
    def collect(self) -> Iterable[Metric]:
        health = {name: c.health() for name, c in self.connectors.items()}
        yield metrics.gauge(
            "gateway_connector_in_flight_messages",
            "Messages (SMPP: segments) handed to the connector and not answered yet.",
            ["connector"],
            (([n], h.in_flight) for n, h in health.items()),
        )
        yield metrics.gauge(
            "gateway_connector_capacity_messages",
            "How many may be in flight at once now (SMPP: window x bound transmitting binds).",
            ["connector"],
            (([n], h.capacity or 0) for n, h in health.items()),
        )
        yield metrics.gauge(
            "gateway_connector_sessions",
            "Sessions (SMPP binds): up, allowed (this instance's share of the account), configured.",
            ["connector", "kind"],
            (
                ([n, kind], value or 0)
                for n, h in health.items()
                for kind, value in (
                    ("up", h.sessions_up),
                    ("allowed", h.sessions_allowed),
                    ("configured", h.sessions_configured),
                )
            ),
        )
        lag = self._writer_lag() if self._writer_lag is not None else {}
        yield metrics.gauge(
            "gateway_writer_waiting_rows",
            "Rows (outcomes, receipts) waiting to be committed by this instance's writer.",
            ["buffer"],
            (([b], rows) for b, (rows, _) in lag.items()),
        )
        yield metrics.gauge(
            "gateway_writer_oldest_age_seconds",
            "Age of the oldest row waiting in this instance's writer (0 when none).",
            ["buffer"],
            (([b], age) for b, (_, age) in lag.items()),
        )
        yield metrics.gauge(
            "gateway_queue_sampler_leader",
            "1 on the one instance that samples and exports the queue depth for the cluster.",
            [],
            [([], 1.0 if self.leader else 0.0)],
        )
        depth = self.depth if self.leader else []
        yield metrics.gauge(
            "gateway_queue_depth_messages",
            "Outbox rows per connector (as routed now), sender and state; exported by the sampling instance only.",
            ["connector", "sender", "state"],
            (([c, s, st], n) for c, s, st, n, _ in depth),
        )
        oldest: dict[tuple[str, str], float] = defaultdict(float)
        for c, s, _, _, age in depth:
            oldest[(c, s)] = max(oldest[(c, s)], age)
        yield metrics.gauge(
            "gateway_queue_oldest_age_seconds",
            "Age of the oldest due message waiting to go out (queued, being sent, or deferred past its time), "
            "per connector and sender; exported by the sampling instance only.",
            ["connector", "sender"],
            (([c, s], age) for (c, s), age in sorted(oldest.items())),
        )
