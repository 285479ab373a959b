"""Wake-ups from PostgreSQL: ``LISTEN`` on a dedicated connection, reconnecting with back-off."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import asyncpg
import structlog

from gateway.backoff import Backoff
from gateway.db.pool import is_connection_error

__all__ = ["Listener"]

log = structlog.get_logger("gateway.listener")


class Listener:
    """Calls ``on_notify`` whenever ``channel`` is notified; runs until cancelled."""

    def __init__(self, database_url: str, channel: str, *, backoff: Backoff = Backoff(0.5, 10.0)) -> None:
        self.database_url = database_url
        self.channel = channel
        self.backoff = backoff

    async def run(self, on_notify: Callable[[], None]) -> None:
        failures = 0
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.database_url, server_settings={"application_name": "gateway"})
                closed = anyio.Event()
                conn.add_termination_listener(lambda _conn, closed=closed: closed.set())
                await conn.add_listener(self.channel, lambda *args: on_notify())
                failures = 0
                on_notify()  # anything may have arrived while no one was listening
                await closed.wait()
            except Exception as exc:  # noqa: BLE001
                if not is_connection_error(exc):
                    log.warning("engine.listen.error", error=repr(exc))
            finally:
                if conn is not None and not conn.is_closed():
                    with anyio.CancelScope(shield=True):
                        await conn.close()
            failures += 1
            await anyio.sleep(self.backoff.delay(failures))
