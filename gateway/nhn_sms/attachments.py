"""MMS pictures: where their bytes come from, and their NHN fileIds, uploaded once and reused.

Upstream inserts pictures into ``gateway.attachments`` (migration 0035) and
names them in ``extras.attachments``. The connector reads them through an
:class:`AttachmentStore` (PostgreSQL in production, memory in tests), keeps
them in a small cache (rows never change), and uploads each one to NHN once
(``POST attachfile/binaryUpload``): the fileId is kept in memory and in
``gateway.nhn_sms_uploads``, so every instance reuses it for every recipient,
until ``upload_reuse_seconds`` (6 days; NHN keeps files 7) have passed, or
NHN answers ``-2004`` (expired or unknown): then it is uploaded again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import anyio
import asyncpg
import structlog

from gateway.db.queries import Queries
from gateway.korean import Picture
from gateway.nhn_sms import metrics
from gateway.nhn_sms.adapter import NhnSmsAdapter

__all__ = ["AttachmentStore", "InMemoryAttachmentStore", "PostgresAttachmentStore", "Uploader"]

log = structlog.get_logger("gateway.nhn_sms")

Q = Queries("gateway.nhn_sms")


class AttachmentStore(Protocol):
    async def load(self, ids: Sequence[int]) -> dict[int, Picture]: ...

    async def uploads(self, connector: str, ids: Sequence[int]) -> dict[int, tuple[int, float]]:
        """``{attachment id: (fileId, age in seconds)}`` of the uploads other instances recorded."""
        ...

    async def record_upload(self, connector: str, attachment_id: int, file_id: int) -> None: ...

    async def forget_upload(self, connector: str, attachment_id: int, file_id: int) -> None: ...

    async def drop_old(self, retention_days: int) -> int: ...


class PostgresAttachmentStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def load(self, ids: Sequence[int]) -> dict[int, Picture]:
        async with self.pool.acquire(timeout=10) as conn:
            rows = await conn.fetch(Q["load_attachments"], list(ids))
        return {r["id"]: Picture(r["id"], r["file_name"], bytes(r["data"]), r["sha256"]) for r in rows}

    async def uploads(self, connector: str, ids: Sequence[int]) -> dict[int, tuple[int, float]]:
        async with self.pool.acquire(timeout=10) as conn:
            rows = await conn.fetch(Q["uploads"], connector, list(ids))
        return {r["attachment_id"]: (int(r["file_id"]), float(r["age_s"])) for r in rows}

    async def record_upload(self, connector: str, attachment_id: int, file_id: int) -> None:
        async with self.pool.acquire(timeout=10) as conn:
            await conn.execute(Q["record_upload"], connector, attachment_id, str(file_id))

    async def forget_upload(self, connector: str, attachment_id: int, file_id: int) -> None:
        async with self.pool.acquire(timeout=10) as conn:
            await conn.execute(Q["forget_upload"], connector, attachment_id, str(file_id))

    async def drop_old(self, retention_days: int) -> int:
        async with self.pool.acquire(timeout=10) as conn:
            return int(await conn.fetchval(Q["drop_old_attachments"], retention_days) or 0)


class InMemoryAttachmentStore:
    """Pictures and uploads in memory (unit tests, simulator-only runs)."""

    def __init__(self, pictures: Sequence[Picture] = (), *, clock: Callable[[], float] = time.monotonic) -> None:
        self.pictures = {p.id: p for p in pictures}
        self.recorded: dict[tuple[str, int], tuple[int, float]] = {}
        self._clock = clock

    async def load(self, ids: Sequence[int]) -> dict[int, Picture]:
        return {i: self.pictures[i] for i in ids if i in self.pictures}

    async def uploads(self, connector: str, ids: Sequence[int]) -> dict[int, tuple[int, float]]:
        now = self._clock()
        return {i: (f, now - at) for (c, i), (f, at) in self.recorded.items() if c == connector and i in ids}

    async def record_upload(self, connector: str, attachment_id: int, file_id: int) -> None:
        self.recorded[(connector, attachment_id)] = (file_id, self._clock())

    async def forget_upload(self, connector: str, attachment_id: int, file_id: int) -> None:
        if self.recorded.get((connector, attachment_id), (None,))[0] == file_id:
            del self.recorded[(connector, attachment_id)]

    async def drop_old(self, retention_days: int) -> int:
        return 0


class Uploader:
    """Pictures by id (cached), and their NHN fileIds (uploaded once per picture, shared through the store)."""

    def __init__(
        self,
        *,
        connector: str,
        store: AttachmentStore,
        adapter: NhnSmsAdapter,
        reuse_seconds: float,
        create_user: str,
        clock: Callable[[], float] = time.monotonic,
        cache_size: int = 256,
    ) -> None:
        self.connector = connector
        self.store = store
        self.adapter = adapter
        self.reuse_seconds = reuse_seconds
        self.create_user = create_user
        self._clock = clock
        self._pictures: OrderedDict[int, Picture] = OrderedDict()
        self._cache_size = cache_size
        self._file_ids: dict[int, tuple[int, float]] = {}  # attachment id -> (fileId, uploaded at, our clock)
        self._locks: dict[int, anyio.Lock] = {}
        self.uploads = 0

    async def pictures(self, ids: Sequence[int]) -> dict[int, Picture]:
        """The pictures with these ids that exist (a missing one is simply absent)."""
        missing = [i for i in ids if i not in self._pictures]
        if missing:
            for pid, picture in (await self.store.load(missing)).items():
                self._pictures[pid] = picture
                if len(self._pictures) > self._cache_size:
                    self._pictures.popitem(last=False)
        return {i: self._pictures[i] for i in ids if i in self._pictures}

    async def file_ids(self, pictures: Sequence[Picture]) -> tuple[int, ...]:
        """NHN fileIds for these pictures, uploading those without a fresh one."""
        return tuple([await self._file_id(p) for p in pictures])

    async def _file_id(self, picture: Picture) -> int:
        lock = self._locks.setdefault(picture.id, anyio.Lock())
        async with lock:  # concurrent batches naming the same picture upload it once
            now = self._clock()
            known = self._file_ids.get(picture.id)
            if known is not None and now - known[1] < self.reuse_seconds:
                return known[0]
            shared = (await self.store.uploads(self.connector, [picture.id])).get(picture.id)
            if shared is not None and shared[1] < self.reuse_seconds:
                self._file_ids[picture.id] = (shared[0], now - shared[1])
                return shared[0]
            started = time.perf_counter()
            file_id = await self.adapter.upload(picture.file_name, picture.data, self.create_user)
            metrics.REQUEST_SECONDS.labels(self.connector, "upload").observe(time.perf_counter() - started)
            metrics.REQUESTS.labels(self.connector, "upload", "ok").inc()
            self.uploads += 1
            self._file_ids[picture.id] = (file_id, now)
            await self.store.record_upload(self.connector, picture.id, file_id)
            log.info("nhn_sms.picture.uploaded", connector=self.connector, attachment=picture.id, bytes=picture.size)
            return file_id

    async def expired(self, pictures: Sequence[Picture], file_ids: Sequence[int]) -> None:
        """NHN answered -2004 for these fileIds: forget them, the next call uploads again."""
        for picture, file_id in zip(pictures, file_ids, strict=True):
            if self._file_ids.get(picture.id, (None,))[0] == file_id:
                del self._file_ids[picture.id]
            await self.store.forget_upload(self.connector, picture.id, file_id)
        log.warning("nhn_sms.picture.expired", connector=self.connector, attachments=[p.id for p in pictures])
