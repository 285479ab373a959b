"""The send journal: at most one Alimtalk per message, and results that survive restarts.

Every message handed to NHN gets a row in ``gateway.kakao_sends`` (migration
0020) **before** its request leaves, naming the *provider key* of that request
(its ``X-NC-API-IDEMPOTENCY-KEY`` and ``senderGroupingKey``) and the message's
``recipientGroupingKey`` (``gw-{message id}``). So, whoever holds the message
next (a retry after a timeout, the daemon restarted after ``kill -9``, another
instance after the lease expired) knows it may already be at NHN and resumes
instead of sending again (:mod:`gateway.kakao.batch_sender`):

* ``accepted`` (or later): it was taken as ``requestId:recipientSeq``: submitted
  again under that carrier id, nothing is sent;
* ``sending``: the outcome is unknown: NHN is asked (list query by the provider
  key in a padded window around the first send); found: resumed from its
  ``requestId:recipientSeq``; not found: sent again *under the same key*, so
  that NHN refuses it (-1005, within 10 minutes) if its list was only late;
* ``refused``: NHN answered and did not take it (or no request left): the next
  request is a fresh one, with a new key.

After acceptance the rows are the watch list of the result poller
(:mod:`gateway.kakao.results`): ``accepted`` until a result is stored,
``resending`` while NHN's own SMS resend is tracked, then ``final``. The
poller's cursor and lease are in ``gateway.kakao_poll``. The connector owns
this store as it owns its template store; the queue's tables are not touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import asyncpg

from gateway.db.queries import Queries
from gateway.errors import DatabaseError
from gateway.kakao.provider import carrier_id

__all__ = ["Final", "InMemoryJournal", "Journal", "JournalRow", "PostgresJournal", "Watched"]

q = Queries("gateway.kakao").__getitem__

_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


@dataclass(frozen=True, slots=True)
class JournalRow:
    message_id: int
    state: str  # sending | accepted | refused | resending | final
    provider_key: str
    grouping_key: str
    auth: bool
    first_sent_at: datetime
    request_id: str | None = None
    recipient_seq: int | None = None
    accepted_at: datetime | None = None
    result_code: str | None = None
    result_at: datetime | None = None

    @property
    def carrier_id(self) -> str | None:
        if self.request_id is None or self.recipient_seq is None:
            return None
        return carrier_id(self.request_id, self.recipient_seq)


@dataclass(frozen=True, slots=True)
class Watched:
    """A row the poller watches (accepted, or resending), by carrier id."""

    request_id: str
    recipient_seq: int
    message_id: int
    state: str
    auth: bool
    accepted_at: datetime | None
    result_code: str | None = None
    result_at: datetime | None = None
    resend_status: str | None = None

    @property
    def carrier_id(self) -> str:
        return carrier_id(self.request_id, self.recipient_seq)


@dataclass(frozen=True, slots=True)
class Final:
    """A result stored as a receipt (or a tracked resend that ended)."""

    request_id: str
    recipient_seq: int
    code: str | None
    at: datetime | None = None
    resend_status: str | None = None
    resend_code: str | None = None
    resend_request_id: str | None = None


class Journal(Protocol):
    async def begin(self, connector: str, key: str, entries: Sequence[tuple[int, str, bool]]) -> dict[int, JournalRow]:
        """Record ``(message id, grouping key, auth)`` under ``key`` before sending; return the rows
        of the messages that already had one (they must not go out under ``key``)."""

    async def accepted(self, connector: str, items: Sequence[tuple[int, str, int, str | None]]) -> None:
        """``(message id, request id, recipient seq, code or None)`` were taken by NHN."""

    async def refused(self, connector: str, items: Sequence[tuple[int, str | None]]) -> None:
        """``(message id, code or None)`` were not taken (or never sent)."""

    async def by_carrier(self, connector: str, pairs: Sequence[tuple[str, int]]) -> dict[str, Watched]:
        """The rows of these ``(request id, recipient seq)`` pairs, any state, by carrier id."""

    async def final(self, connector: str, results: Sequence[Final]) -> None: ...

    async def resending(self, connector: str, results: Sequence[Final]) -> None: ...

    async def due_resends(self, connector: str, every: float, limit: int) -> list[Watched]: ...

    async def looked(self, connector: str, items: Sequence[tuple[str, int, str | None]]) -> None: ...

    async def stale(self, connector: str, older_than: float, limit: int) -> list[Watched]: ...

    async def watching(self, connector: str) -> tuple[int, int, datetime | None]:
        """(accepted, resending, the oldest acceptance still without a result)."""

    async def prune(self, connector: str, keep_days: int) -> int: ...

    async def poll_claim(self, connector: str, owner: str, lease: float) -> tuple[bool, datetime | None, datetime]:
        """(this instance polls now, the cursor, the database's now)."""

    async def poll_advance(self, connector: str, owner: str, cursor: datetime) -> None: ...

    async def poll_release(self, connector: str, owner: str) -> None: ...


def _watched(r: Any) -> Watched:
    return Watched(
        r["request_id"],
        r["recipient_seq"],
        r["message_id"],
        r.get("state", "resending"),
        r["auth"],
        r.get("accepted_at"),
        r.get("result_code"),
        r.get("result_at"),
        r.get("resend_status"),
    )


class PostgresJournal:
    """The journal in ``gateway.kakao_sends`` / ``gateway.kakao_poll`` through a pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _run(self, what: str, method: str, name: str, *args: Any) -> Any:
        try:
            async with self._pool.acquire() as conn:
                return await getattr(conn, method)(q(name), *args)
        except _DB_ERRORS as exc:
            raise DatabaseError(f"Kakao send journal: cannot {what}: {exc}") from exc

    async def begin(self, connector: str, key: str, entries: Sequence[tuple[int, str, bool]]) -> dict[int, JournalRow]:
        ids = [e[0] for e in entries]
        try:
            async with self._pool.acquire() as conn:
                taken = {
                    r["message_id"]
                    for r in await conn.fetch(
                        q("journal_begin"), connector, key, ids, [e[1] for e in entries], [e[2] for e in entries]
                    )
                }
                others = [i for i in ids if i not in taken]
                rows = await conn.fetch(q("journal_rows"), connector, others) if others else []
        except _DB_ERRORS as exc:
            raise DatabaseError(f"Kakao send journal: cannot record a send: {exc}") from exc
        return {
            r["message_id"]: JournalRow(
                r["message_id"],
                r["state"],
                r["provider_key"],
                r["grouping_key"],
                r["auth"],
                r["first_sent_at"],
                r["request_id"],
                r["recipient_seq"],
                r["accepted_at"],
                r["result_code"],
                r["result_at"],
            )
            for r in rows
        }

    async def accepted(self, connector: str, items: Sequence[tuple[int, str, int, str | None]]) -> None:
        if items:
            await self._run(
                "record acceptances",
                "execute",
                "journal_accepted",
                connector,
                [i[0] for i in items],
                [i[1] for i in items],
                [i[2] for i in items],
                [i[3] for i in items],
            )

    async def refused(self, connector: str, items: Sequence[tuple[int, str | None]]) -> None:
        if items:
            await self._run(
                "record refusals", "execute", "journal_refused", connector, [i[0] for i in items], [i[1] for i in items]
            )

    async def by_carrier(self, connector: str, pairs: Sequence[tuple[str, int]]) -> dict[str, Watched]:
        if not pairs:
            return {}
        rows = await self._run(
            "read rows", "fetch", "journal_by_carrier", connector, [p[0] for p in pairs], [p[1] for p in pairs]
        )
        return {w.carrier_id: w for w in map(_watched, rows)}

    @staticmethod
    def _finals(results: Sequence[Final]) -> list[list[Any]]:
        return [
            [r.request_id for r in results],
            [r.recipient_seq for r in results],
            [r.code for r in results],
            [r.at for r in results],
            [r.resend_status for r in results],
            [r.resend_code for r in results],
            [r.resend_request_id for r in results],
        ]

    async def final(self, connector: str, results: Sequence[Final]) -> None:
        if results:
            await self._run("record results", "execute", "journal_final", connector, *self._finals(results))

    async def resending(self, connector: str, results: Sequence[Final]) -> None:
        if results:
            await self._run("record resends", "execute", "journal_resending", connector, *self._finals(results)[:5])

    async def due_resends(self, connector: str, every: float, limit: int) -> list[Watched]:
        rows = await self._run("read resends", "fetch", "journal_due_resends", connector, every, limit)
        return [_watched(r) for r in rows]

    async def looked(self, connector: str, items: Sequence[tuple[str, int, str | None]]) -> None:
        if items:
            await self._run(
                "record a look",
                "execute",
                "journal_looked",
                connector,
                [i[0] for i in items],
                [i[1] for i in items],
                [i[2] for i in items],
            )

    async def stale(self, connector: str, older_than: float, limit: int) -> list[Watched]:
        rows = await self._run("read stale rows", "fetch", "journal_stale", connector, older_than, limit)
        return [_watched(dict(r, state="accepted")) for r in rows]

    async def watching(self, connector: str) -> tuple[int, int, datetime | None]:
        row = await self._run("count watches", "fetchrow", "journal_watching", connector)
        return row["accepted"], row["resending"], row["oldest"]

    async def prune(self, connector: str, keep_days: int) -> int:
        status = await self._run("prune", "execute", "journal_prune", connector, keep_days)
        return int(status.split()[-1])

    async def poll_claim(self, connector: str, owner: str, lease: float) -> tuple[bool, datetime | None, datetime]:
        row = await self._run("claim the poller", "fetchrow", "poll_claim", connector, owner, lease)
        if row is None:
            return False, None, datetime.now(UTC)
        return True, row["cursor_at"], row["db_now"]

    async def poll_advance(self, connector: str, owner: str, cursor: datetime) -> None:
        await self._run("advance the poller", "execute", "poll_advance", connector, owner, cursor)

    async def poll_release(self, connector: str, owner: str) -> None:
        await self._run("release the poller", "execute", "poll_release", connector, owner)


class InMemoryJournal:
    """The same journal in memory (unit tests; one process only). ``now`` may be replaced."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], JournalRow] = {}
        self.extra: dict[tuple[str, int], dict[str, Any]] = {}  # resend fields and last look
        self.cursor: dict[str, datetime | None] = {}
        self.now = lambda: datetime.now(UTC)
        self._carriers: dict[tuple[str, str, int], int] = {}  # (connector, request id, seq) -> message id

    def _rows(self, connector: str) -> Iterable[JournalRow]:
        return (r for (c, _), r in self.rows.items() if c == connector)

    def _row(self, connector: str, request_id: str, seq: int) -> JournalRow | None:
        message_id = self._carriers.get((connector, request_id, seq))
        return None if message_id is None else self.rows.get((connector, message_id))

    def _watched(self, connector: str, r: JournalRow) -> Watched:
        extra = self.extra.get((connector, r.message_id), {})
        assert r.request_id is not None and r.recipient_seq is not None
        return Watched(
            r.request_id,
            r.recipient_seq,
            r.message_id,
            r.state,
            r.auth,
            r.accepted_at,
            r.result_code,
            r.result_at,
            extra.get("resend_status"),
        )

    async def begin(self, connector: str, key: str, entries: Sequence[tuple[int, str, bool]]) -> dict[int, JournalRow]:
        existing: dict[int, JournalRow] = {}
        for message_id, grouping, auth in entries:
            row = self.rows.get((connector, message_id))
            if row is None or row.state == "refused":
                self.rows[(connector, message_id)] = JournalRow(message_id, "sending", key, grouping, auth, self.now())
                self.extra[(connector, message_id)] = {"looked": self.now()}
            else:
                existing[message_id] = row
        return existing

    async def accepted(self, connector: str, items: Sequence[tuple[int, str, int, str | None]]) -> None:
        for message_id, request_id, seq, code in items:
            row = self.rows.get((connector, message_id))
            if row is not None and row.state in ("sending", "accepted"):
                self.rows[(connector, message_id)] = replace(
                    row,
                    state="accepted",
                    request_id=request_id,
                    recipient_seq=seq,
                    accepted_at=row.accepted_at or self.now(),
                    result_code=code,
                )
                self._carriers[(connector, request_id, seq)] = message_id

    async def refused(self, connector: str, items: Sequence[tuple[int, str | None]]) -> None:
        for message_id, code in items:
            row = self.rows.get((connector, message_id))
            if row is not None and row.state == "sending":
                self.rows[(connector, message_id)] = replace(row, state="refused", result_code=code)

    async def by_carrier(self, connector: str, pairs: Sequence[tuple[str, int]]) -> dict[str, Watched]:
        found = (self._row(connector, rid, seq) for rid, seq in pairs)
        return {w.carrier_id: w for w in (self._watched(connector, r) for r in found if r is not None)}

    async def final(self, connector: str, results: Sequence[Final]) -> None:
        for f in results:
            row = self._row(connector, f.request_id, f.recipient_seq)
            if row is not None and row.state != "final":
                self.rows[(connector, row.message_id)] = replace(
                    row, state="final", result_code=f.code or row.result_code, result_at=f.at or self.now()
                )
                extra = self.extra.setdefault((connector, row.message_id), {})
                for name in ("resend_status", "resend_code", "resend_request_id"):
                    if getattr(f, name) is not None:
                        extra[name] = getattr(f, name)

    async def resending(self, connector: str, results: Sequence[Final]) -> None:
        for f in results:
            row = self._row(connector, f.request_id, f.recipient_seq)
            if row is not None and row.state == "accepted":
                self.rows[(connector, row.message_id)] = replace(
                    row, state="resending", result_code=f.code, result_at=f.at or self.now()
                )
                extra = self.extra.setdefault((connector, row.message_id), {})
                extra["looked"] = self.now()
                if f.resend_status:
                    extra["resend_status"] = f.resend_status

    async def due_resends(self, connector: str, every: float, limit: int) -> list[Watched]:
        due = self.now() - timedelta(seconds=every)
        rows = [
            r
            for r in self._rows(connector)
            if r.state == "resending" and self.extra.get((connector, r.message_id), {}).get("looked", due) <= due
        ]
        return [self._watched(connector, r) for r in rows[:limit]]

    async def looked(self, connector: str, items: Sequence[tuple[str, int, str | None]]) -> None:
        for request_id, seq, status in items:
            row = self._row(connector, request_id, seq)
            if row is not None and row.state == "resending":
                extra = self.extra.setdefault((connector, row.message_id), {})
                extra["looked"] = self.now()
                if status:
                    extra["resend_status"] = status

    async def stale(self, connector: str, older_than: float, limit: int) -> list[Watched]:
        limit_at = self.now() - timedelta(seconds=older_than)
        rows = [
            r
            for r in self._rows(connector)
            if r.state == "accepted" and r.accepted_at is not None and r.accepted_at < limit_at
        ]
        return [self._watched(connector, r) for r in rows[:limit]]

    async def watching(self, connector: str) -> tuple[int, int, datetime | None]:
        rows = [r for r in self._rows(connector) if r.state in ("accepted", "resending")]
        oldest = min((r.accepted_at for r in rows if r.accepted_at and r.state == "accepted"), default=None)
        return (
            sum(1 for r in rows if r.state == "accepted"),
            sum(1 for r in rows if r.state == "resending"),
            oldest,
        )

    async def prune(self, connector: str, keep_days: int) -> int:
        return 0

    async def poll_claim(self, connector: str, owner: str, lease: float) -> tuple[bool, datetime | None, datetime]:
        return True, self.cursor.get(connector), self.now()

    async def poll_advance(self, connector: str, owner: str, cursor: datetime) -> None:
        self.cursor[connector] = cursor

    async def poll_release(self, connector: str, owner: str) -> None:
        return None
