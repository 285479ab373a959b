"""The network under an SMPP bind: the only module of the SMPP stack that touches asyncio and sockets.

``open_connection`` connects (TCP, or TLS with an ``ssl.SSLContext`` from
``make_ssl_context``) and returns a ``Connection``. Bytes come in through a
callback, not a read loop: asyncio calls ``on_data(chunk)`` as each chunk
arrives, and ``on_data(b"")`` once when the peer is gone (EOF, reset, or our
own close), which is what a session's ``receive_data`` takes. The bind feeds
the chunk to its sans-I/O session and handles every event synchronously, so a
chunk of 50 submit_sm_resp costs one callback, not 50 task switches.

Bytes go out through ``Connection.write``, which only appends to a buffer;
the buffer is handed to the socket once per event-loop iteration
(``call_soon``), so everything produced while handling one chunk, or by a
burst of ``send`` calls, leaves in a single ``transport.write``. When the
kernel buffer is full asyncio pauses us (``paused`` becomes true and the bind
stops taking submits); ``on_resume`` says when it drained.

Foreign errors (``OSError``, ``ssl.SSLError``, timeouts) are translated into
``TransportError`` where they enter, with ``raise ... from exc``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable

import anyio

from gateway.eventloop import name_the_event_loop
from gateway.smpp.protocol.errors import SmppError

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only

__all__ = ["Connection", "TransportError", "make_ssl_context", "open_connection"]


class TransportError(SmppError):
    """The connection could not be made (refused, unreachable, TLS handshake failed, timed out)."""


def make_ssl_context(*, verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
    """A client TLS context: the system's CAs (or ``ca_file``) and hostname checks, unless ``verify`` is off."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise TransportError(f"cannot load the CA file {ca_file!r}: {exc}") from exc
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _Protocol(asyncio.Protocol):
    """asyncio's side of a ``Connection``: forwards chunks, EOF and flow control.

    Whatever arrives before the ``Connection`` is attached is held and replayed.
    """

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self._early: list[bytes] = []
        self._early_lost: tuple[Exception | None] | None = None

    def attach(self, conn: Connection) -> None:
        self.conn = conn
        for chunk in self._early:
            conn._feed(chunk)
        self._early.clear()
        if self._early_lost is not None:
            conn._lost(self._early_lost[0])

    def data_received(self, data: bytes) -> None:
        if self.conn is not None:
            self.conn._feed(data)
        else:
            self._early.append(data)

    def eof_received(self) -> bool:
        self.data_received(b"")
        return False  # let asyncio close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.conn._lost(exc)
        else:
            self._early_lost = (exc,)

    def pause_writing(self) -> None:
        if self.conn is not None:
            self.conn.paused = True

    def resume_writing(self) -> None:
        if self.conn is not None:
            self.conn.paused = False
            if self.conn.on_resume is not None:
                self.conn.on_resume()


class Connection:
    """One open connection: ``write`` buffers, ``on_data`` receives, ``closed`` is set when it is gone.

    If ``on_data`` raises, the exception is kept in ``error``, the connection is
    aborted, and ``closed`` is set: the owner decides what that means.
    """

    def __init__(
        self,
        transport: asyncio.Transport,
        on_data: Callable[[bytes], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._transport = transport
        self._on_data = on_data
        self._loop = loop
        self._out: list[bytes] = []
        self._flush_pending = False
        self._eof_fed = False
        self.paused = False
        self.on_resume: Callable[[], None] | None = None
        self.closed = anyio.Event()
        self.error: BaseException | None = None  # what on_data raised, if anything
        self.lost_reason: str | None = None  # the OS error that ended the connection, if any
        self.bytes_written = 0
        # Linux delays the ACK of what we receive (up to 40 ms) hoping to piggyback it on a reply; a
        # peer with Nagle's algorithm on (node-smpp's SMSC, many others) then holds its next
        # responses until that ACK comes: every submit_sm_resp of a burst waits ~40 ms. Asking for
        # an immediate ACK after each read (TCP_QUICKACK, which the kernel clears again) removes it.
        self._quickack = transport.get_extra_info("socket") if _QUICKACK is not None else None

    @property
    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def write(self, data: bytes) -> None:
        """Queue ``data``; it leaves with everything else written in this event-loop iteration."""
        if not data or self._transport.is_closing():
            return
        self._out.append(data)
        if not self._flush_pending:
            self._flush_pending = True
            self._loop.call_soon(self._flush)

    def flush(self) -> None:
        """Hand the buffered bytes to the socket now."""
        self._flush()

    def _flush(self) -> None:
        self._flush_pending = False
        if not self._out:
            return
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        if not self._transport.is_closing():
            self.bytes_written += len(data)
            self._transport.write(data)

    def close(self) -> None:
        """Close after writing what is buffered (a graceful FIN)."""
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop the connection at once, buffered bytes included."""
        self._out.clear()
        self._transport.abort()

    async def wait_closed(self) -> None:
        await self.closed.wait()

    def _feed(self, data: bytes) -> None:
        if self._eof_fed:
            return
        if not data:
            self._eof_fed = True
        elif self._quickack is not None:
            self._ack_now()
        try:
            self._on_data(data)
        except Exception as exc:  # noqa: BLE001 - reported through `error`, the owner decides
            self.error = exc
            self.abort()

    def _ack_now(self) -> None:
        try:
            self._quickack.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)  # type: ignore[union-attr]
        except (OSError, ValueError):  # not TCP (a test's socket pair), or already closed
            self._quickack = None

    def _lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.lost_reason = f"{type(exc).__name__}: {exc}"
        self._feed(b"")
        self.closed.set()


async def open_connection(
    host: str,
    port: int,
    *,
    on_data: Callable[[bytes], None],
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - the connect deadline, applied with anyio.fail_after inside
) -> Connection:
    """Connect to ``host:port`` (TLS when ``ssl_context`` is given) within ``timeout`` seconds.

    Raises ``TransportError`` when that fails. ``on_data`` starts receiving
    chunks as soon as this returns.
    """
    loop = asyncio.get_running_loop()
    name_the_event_loop()  # the protocol's callbacks copy this context: AnyIO works there
    protocol = _Protocol()
    kwargs: dict[str, object] = {}
    if ssl_context is not None:
        kwargs["ssl"] = ssl_context
        kwargs["server_hostname"] = server_hostname or host
    try:
        with anyio.fail_after(timeout):
            transport, _ = await loop.create_connection(lambda: protocol, host, port, **kwargs)  # type: ignore[call-overload]
    except TimeoutError as exc:
        raise TransportError(f"connecting to {host}:{port} timed out after {timeout:g} s") from exc
    except ssl.SSLError as exc:
        raise TransportError(f"TLS handshake with {host}:{port} failed: {exc.reason or exc}") from exc
    except OSError as exc:
        raise TransportError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from exc
    conn = Connection(transport, on_data, loop)
    protocol.attach(conn)
    return conn
