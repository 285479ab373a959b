"""Shared fixtures and the test tiers.

Tiers, by folder, each with its marker (``pytest -m unit`` etc.):

* ``tests/unit`` — no PostgreSQL, no network sockets; runs in seconds. A test
  there that opens an INET socket or a database connection fails (guard below).
* ``tests/integration`` — a real PostgreSQL and loopback sockets, in one process.
* ``tests/acceptance`` — the daemon and the CLI as processes, the fault
  scenarios, the third-party SMSC (node-smpp).

Helpers shared by several test modules live in ``tests/support/<room>.py``.

A real PostgreSQL for every test that needs one.

Where the server comes from, in order: ``GATEWAY_TEST_DATABASE_URL``; else
127.0.0.1:5432 (user postgres) if it answers; else an embedded server started
with ``pgserver``. One template database per test session holds the migrated
schema, and every test gets a fresh copy made with ``CREATE DATABASE ...
TEMPLATE`` (procrastinate's pattern), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from gateway.db.migrate import migrate
from gateway.db.pool import connect, create_pool, start_embedded

TIERS = ("unit", "integration", "acceptance")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its tier, from the folder it lives in."""
    root = Path(__file__).parent
    for item in items:
        parts = Path(item.path).relative_to(root).parts
        if parts and parts[0] in TIERS:
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture(autouse=True)
def _unit_tier_stays_offline(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In tests/unit, opening an INET socket or a PostgreSQL connection is an error."""
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a unit test may not use the network or PostgreSQL: move it to tests/integration")

    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            refuse()
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(asyncpg, "connect", refuse)
    monkeypatch.setattr(asyncpg, "create_pool", refuse)


@pytest.fixture
def anyio_backend() -> str:
    """All async tests run on asyncio (asyncpg and our SMPP stack are asyncio-only)."""
    return "asyncio"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database (keeps query parameters)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("GATEWAY_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if _port_open("127.0.0.1", 5432):
        yield "postgresql://postgres@127.0.0.1:5432/postgres"
        return
    data_dir = Path(tempfile.gettempdir()) / "gateway-test-pgdata"
    yield start_embedded(data_dir)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    """A database holding the migrated schema, copied for each test."""
    name = f"gateway_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def setup() -> None:
        await _admin(pg_server_url, f'CREATE DATABASE "{name}"')
        conn = await connect(with_database(pg_server_url, name))
        try:
            await migrate(conn)
        finally:
            await conn.close()

    asyncio.run(setup())
    yield name
    asyncio.run(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _reason_problems(url: str) -> list[str]:
    """What the test left behind that breaks the reason contract (docs/upstream.md, "Reasons")."""
    from tests.support.reasons import final_without_reason, unregistered_reasons

    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('gateway.events') IS NOT NULL"):
            return []
        problems = [
            f"{where} holds unregistered reasons {sorted(set(found))}"
            for where, found in (await unregistered_reasons(conn)).items()
        ]
        missing = await final_without_reason(conn)
        if missing:
            problems.append(f"{missing} message(s) in a final state without a reason")
        return problems
    finally:
        await conn.close()


@pytest.fixture
def db_url(pg_server_url: str, template_db: str) -> Iterator[str]:
    """URL of a fresh, migrated database for this test only.

    Afterwards every reason the test stored must be a registered one (gateway.port.reasons,
    listed in docs/upstream.md) and every final message must have one: a test that makes
    the gateway write any other reason fails here."""
    name = f"gateway_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
    url = with_database(pg_server_url, name)
    yield url
    try:
        problems = asyncio.run(_reason_problems(url))
    finally:
        asyncio.run(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    assert not problems, "; ".join(problems)


@pytest.fixture
def empty_db_url(pg_server_url: str) -> Iterator[str]:
    """URL of a fresh database with no schema at all (for migration tests)."""
    name = f"gateway_e_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_server_url, f'CREATE DATABASE "{name}"'))
    yield with_database(pg_server_url, name)
    asyncio.run(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(db_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_url, min_size=1, max_size=6)
    try:
        yield p
    finally:
        await p.close()
