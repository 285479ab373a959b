"""The control surface's statements: one method per named query of ``sql/queries.sql``.

Each takes a connection (a pool's or one of its own), so that the daemon, the
admin API and the ``gateway connector`` command run the same statements.
Foreign errors become :class:`~gateway.errors.DatabaseError` where they enter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from gateway.db.pool import DbConnection
from gateway.db.queries import Queries
from gateway.errors import DatabaseError

__all__ = ["Control", "Q", "bind_budget", "bind_leave", "controls", "request_rebind", "set_paused"]

Q = Queries("gateway.control")


@dataclass(frozen=True, slots=True)
class Control:
    """What operators asked of one connector."""

    connector: str
    paused: bool = False
    reason: str | None = None
    changed_by: str | None = None
    changed_at: datetime | None = None
    rebind_seq: int = 0

    @classmethod
    def from_row(cls, row: Any) -> Control:
        return cls(
            row["connector"], row["paused"], row["reason"], row["changed_by"], row["changed_at"], row["rebind_seq"]
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "paused": self.paused,
            "reason": self.reason,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "rebind_seq": self.rebind_seq,
        }


async def _run(conn: DbConnection, method: str, name: str, *args: Any) -> Any:
    try:
        return await getattr(conn, method)(Q[name], *args)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        raise DatabaseError(f"control query {name} failed: {exc}") from exc


async def controls(conn: DbConnection) -> dict[str, Control]:
    return {r["connector"]: Control.from_row(r) for r in await _run(conn, "fetch", "controls")}


async def set_paused(conn: DbConnection, connector: str, paused: bool, *, reason: str | None, who: str) -> Control:
    """Pause or resume ``connector`` on every instance (kept across restarts)."""
    return Control.from_row(await _run(conn, "fetchrow", "set_paused", connector, paused, reason, who))


async def request_rebind(conn: DbConnection, connector: str, *, who: str) -> Control:
    """Ask every instance to rebind ``connector`` once."""
    return Control.from_row(await _run(conn, "fetchrow", "request_rebind", connector, who))


async def bind_budget(
    conn: DbConnection, connector: str, instance: str, *, want: int, allowance: int, release: int, lease: float
) -> tuple[int, int]:
    """One exchange with the account's bind budget: (slots held now, fair share)."""
    row = await _run(conn, "fetchrow", "bind_budget", connector, instance, want, allowance, release, lease)
    return int(row["held"]), int(row["share"])


async def bind_leave(conn: DbConnection, instance: str) -> None:
    await _run(conn, "execute", "bind_leave", instance)


async def publish_status(conn: DbConnection, instance: str, statuses: Sequence[tuple[str, dict[str, Any]]]) -> None:
    await _run(conn, "execute", "publish_status", instance, [c for c, _ in statuses], [s for _, s in statuses])
