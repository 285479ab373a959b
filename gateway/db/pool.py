"""Connecting to PostgreSQL: the configured URL, or an embedded server for the demo.

The embedded server comes from the ``pgserver`` package (a PostgreSQL build
shipped in a wheel); it is used only when no URL is given, by ``gateway demo``
and by the tests when no other server is reachable.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import structlog

from gateway.errors import DatabaseError

log = structlog.get_logger("gateway.db")

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # A connection of one's own, or one borrowed from a pool: every query method takes either.
    DbConnection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    DbConnection = asyncpg.Connection


def is_connection_error(exc: BaseException) -> bool:
    """True for failures of the connection rather than of the statement: retry those.

    asyncpg reports a backend terminated mid-operation in several ways
    (ConnectionDoesNotExistError, InterfaceError, and sometimes an
    InternalClientError about its protocol state), all of which mean "the
    connection is gone", never "the data was wrong"."""
    if isinstance(
        exc,
        (
            OSError,
            TimeoutError,
            ConnectionError,
            asyncpg.exceptions.ConnectionDoesNotExistError,
            asyncpg.exceptions.InterfaceError,
            asyncpg.exceptions.InternalClientError,
            asyncpg.exceptions.PostgresConnectionError,
            asyncpg.exceptions.AdminShutdownError,
            asyncpg.exceptions.CannotConnectNowError,
            asyncpg.exceptions.TooManyConnectionsError,
        ),
    ):
        return True
    return getattr(exc, "sqlstate", "") in ("57P01", "57P02", "57P03", "08000", "08003", "08006", "53300")


#: SQLSTATEs of connection attempts that waiting will not cure.
_PERMANENT = {
    "3D000": "the database does not exist",
    "28P01": "the password was refused",
    "28000": "the server refused this role or host (pg_hba.conf, or no such role)",
    "42501": "this role may not connect",
}


def permanent_reason(exc: BaseException) -> str | None:
    """A one-line reason when ``exc`` (or its cause) is a connection error retrying cannot cure, else None."""
    seen: BaseException | None = exc
    while seen is not None:
        state = getattr(seen, "sqlstate", None)
        if state in _PERMANENT:
            detail = " ".join(str(seen).split())
            return f"cannot connect to PostgreSQL: {_PERMANENT[state]}: {detail}"
        seen = seen.__cause__
    return None


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) an embedded PostgreSQL under ``data_dir``; return its URL."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR not set
            import pgserver
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DatabaseError(
            "no database URL was given and the embedded server is not installed: "
            "pip install 'gateway[embedded]' or pass --database-url"
        ) from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR not set
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    url = server.get_uri()
    log.info("db.embedded.started", data_dir=str(data_dir))
    return url


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    """JSON in and out as Python objects; binary jsonb so that COPY works too."""
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def connect(url: str, *, application_name: str = "gateway-tool", **kwargs: Any) -> asyncpg.Connection:
    """One connection (CLI commands, tools); the daemon uses :func:`create_pool`."""
    kwargs.setdefault("server_settings", {"application_name": application_name})
    try:
        conn = await asyncpg.connect(url, **kwargs)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL: {exc}") from exc
    await _init_connection(conn)
    return conn  # type: ignore[no-any-return]


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 8, **kwargs: Any) -> asyncpg.Pool:
    kwargs.setdefault("server_settings", {"application_name": "gateway"})
    kwargs.setdefault("command_timeout", 60)
    try:
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init_connection, **kwargs)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL: {exc}") from exc
    assert pool is not None
    return pool
