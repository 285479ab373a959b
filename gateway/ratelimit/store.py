"""The PostgreSQL side of the cluster-wide limiter: named queries over an asyncpg pool.

Every asyncpg, OS and timeout error is translated into
:class:`~gateway.errors.DatabaseError` here, where it enters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import asyncpg

from gateway.db.queries import Queries
from gateway.errors import DatabaseError

__all__ = ["PgRateStore", "RateStore", "q"]


q = Queries("gateway.ratelimit").__getitem__


class RateStore(Protocol):
    """What :class:`~gateway.ratelimit.cluster.ClusterTokens` needs from the database."""

    async def take(self, requests: Sequence[tuple[str, float, float, float]]) -> dict[str, float]:
        """Take tokens: ``(key, want, rate, burst)`` each; return the grant per key."""

    async def give_back(self, amounts: Mapping[str, float]) -> None:
        """Return unspent tokens."""

    async def heartbeat(self, instance: str, keys: Sequence[str], liveness: float) -> dict[str, int]:
        """Record that ``instance`` takes from ``keys``; return the live holders per key."""

    async def forget(self, instance: str) -> None:
        """``instance`` takes from nothing any more."""

    async def prune(self, older_than: float) -> None:
        """Forget holders unseen for ``older_than`` seconds."""


class PgRateStore:
    """:class:`RateStore` over an asyncpg pool; each call is one statement in autocommit."""

    def __init__(self, pool: asyncpg.Pool, *, timeout: float = 2.0) -> None:
        self._pool = pool
        self._timeout = timeout

    async def _fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        try:
            async with self._pool.acquire(timeout=self._timeout) as conn:
                return await conn.fetch(q(query), *args, timeout=self._timeout)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            raise DatabaseError(f"rate limiter query {query} failed: {exc!r}") from exc

    async def take(self, requests: Sequence[tuple[str, float, float, float]]) -> dict[str, float]:
        for key, want, rate, burst in requests:
            if not (math.isfinite(want) and rate > 0 and burst > 0 and math.isfinite(rate) and math.isfinite(burst)):
                raise ValueError(f"bad token request for {key!r}: want={want} rate={rate} burst={burst}")
        ordered = sorted(requests)
        rows = await self._fetch(
            "take_tokens",
            [r[0] for r in ordered],
            [r[1] for r in ordered],
            [r[2] for r in ordered],
            [r[3] for r in ordered],
        )
        return {row["limit_key"]: float(row["granted"]) for row in rows}

    async def give_back(self, amounts: Mapping[str, float]) -> None:
        keys = sorted(k for k, v in amounts.items() if v > 0)
        if keys:
            await self._fetch("give_back_tokens", keys, [amounts[k] for k in keys])

    async def heartbeat(self, instance: str, keys: Sequence[str], liveness: float) -> dict[str, int]:
        rows = await self._fetch("heartbeat_holders", instance, sorted(keys), liveness)
        return {row["limit_key"]: int(row["holders"]) for row in rows}

    async def forget(self, instance: str) -> None:
        await self._fetch("forget_holder", instance)

    async def prune(self, older_than: float) -> None:
        await self._fetch("prune_holders", older_than)
