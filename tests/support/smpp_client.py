"""A small raw SMPP client for tests: our ``EsmeSession`` over ``asyncio.open_connection``.

It is deliberately not the connector: no retries, no queue, no pacing. Tests
use it to talk to the simulator or a third-party SMSC PDU by PDU::

    async with raw_client(port, "gateway", "secret") as c:
        await c.bind()                                   # BindRefused if refused (check=False to get the resp)
        resp = await c.submit(SubmitSm(source_addr="1234", destination_addr="8210...", short_message=b"hi",
                                       registered_delivery=1))
        receipt = await c.next_deliver(5.0)              # a DeliverSm, already acked (auto_ack=True)
        closed = await c.wait_closed(5.0)                # the Closed event once the peer hangs up

With ``auto_ack=False`` the test answers each deliver_sm itself with
``c.ack(pdu, status)`` (or never). Every session event is kept in ``c.events``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from gateway.smpp.protocol.codec import NEED_DATA
from gateway.smpp.protocol.events import (
    BindComplete,
    BindFailed,
    Closed,
    DeliverSmReceived,
    Event,
    GenericNackReceived,
    PeerUnbound,
    SubmitResponse,
    UnbindComplete,
)
from gateway.smpp.protocol.pdu import BindReceiver, BindTransceiver, BindTransmitter, DeliverSm, Pdu, SubmitSm, Unbind
from gateway.smpp.protocol.receipts import ParsedReceipt, parse_receipt
from gateway.smpp.protocol.session import EsmeSession
from gateway.smpp.protocol.text import decode, encoding_for_data_coding
from gateway.smpp.protocol.tlv import Tag

__all__ = ["BindRefused", "RawClient", "raw_client", "receipt_of"]

_BINDS = {"transceiver": BindTransceiver, "transmitter": BindTransmitter, "receiver": BindReceiver}


class BindRefused(Exception):
    """The peer answered our bind with a non-zero command_status."""

    def __init__(self, response: Pdu) -> None:
        super().__init__(f"bind refused: command_status 0x{response.command_status:08X}")
        self.response = response


class RawClient:
    """One ESME connection driven by hand; see the module docstring."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        system_id: str,
        password: str,
        auto_ack: bool = True,
        ack_status: int = 0,
        window: int = 1000,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.system_id = system_id
        self.password = password
        self.auto_ack = auto_ack
        self.ack_status = ack_status
        self.session = EsmeSession(window=window, response_timeout=3600.0, enquire_link_interval=None)
        self.events: list[Event] = []
        self.delivers: asyncio.Queue[DeliverSm] = asyncio.Queue()
        self.unbound = asyncio.Event()  # the peer sent unbind
        self.closed: Closed | None = None
        self._closed_event = asyncio.Event()
        self._bind: asyncio.Future[Pdu] | None = None
        self._unbind: asyncio.Future[Pdu] | None = None
        self._pending: set[asyncio.Future[Pdu]] = set()
        self._loop = asyncio.get_running_loop()
        self._reader_task = asyncio.create_task(self._read_loop())

    # -- requests ---------------------------------------------------------------

    async def bind(self, mode: str = "transceiver", *, check: bool = True, timeout: float = 5.0) -> Pdu:
        """Bind as ``mode`` (transceiver, transmitter, receiver); return the bind_*_resp (or generic_nack)."""
        pdu = _BINDS[mode](system_id=self.system_id, password=self.password, system_type="")
        self._bind = self._loop.create_future()
        self._write(self.session.send(pdu, self._loop.time()))
        response = await asyncio.wait_for(self._bind, timeout)
        if check and response.command_status:
            raise BindRefused(response)
        return response

    def send_submit(self, pdu: SubmitSm) -> asyncio.Future[Pdu]:
        """Send ``pdu`` now; the future gets its submit_sm_resp (or generic_nack)."""
        future: asyncio.Future[Pdu] = self._loop.create_future()
        self._write(self.session.send(pdu, self._loop.time(), context=future))
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    async def submit(self, pdu: SubmitSm, timeout: float = 5.0) -> Pdu:
        """Send ``pdu`` and wait for its submit_sm_resp (or generic_nack)."""
        return await asyncio.wait_for(self.send_submit(pdu), timeout)

    async def submit_many(self, pdus: Iterable[SubmitSm], timeout: float = 10.0) -> list[Pdu]:
        """Send all of ``pdus`` back to back (pipelined), then wait for every answer, in order."""
        futures = [self.send_submit(pdu) for pdu in pdus]
        return list(await asyncio.wait_for(asyncio.gather(*futures), timeout))

    async def next_deliver(self, timeout: float = 5.0) -> DeliverSm:
        """The next deliver_sm received (acked already when ``auto_ack``)."""
        return await asyncio.wait_for(self.delivers.get(), timeout)

    def send(self, pdu: Pdu) -> None:
        """Send any other request (enquire_link...) through the session; its answer only shows in ``events``."""
        self._write(self.session.send(pdu, self._loop.time()))

    def ack(self, pdu: DeliverSm, status: int = 0) -> None:
        """Answer a deliver_sm received with ``auto_ack=False``."""
        self._write(self.session.ack_deliver(pdu, status))

    async def unbind(self, timeout: float = 5.0) -> Pdu:
        """Send unbind and wait for unbind_resp."""
        self._unbind = self._loop.create_future()
        self._write(self.session.send(Unbind(), self._loop.time()))
        return await asyncio.wait_for(self._unbind, timeout)

    async def wait_closed(self, timeout: float = 5.0) -> Closed:
        """Wait until the peer closes the connection; the ``Closed`` event."""
        await asyncio.wait_for(self._closed_event.wait(), timeout)
        assert self.closed is not None
        return self.closed

    async def aclose(self) -> None:
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader_task
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    # -- the reader ---------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def _read_loop(self) -> None:
        while True:
            try:
                data = await self.reader.read(65536)
            except (ConnectionError, OSError):
                data = b""
            self.session.receive_data(data, self._loop.time())
            while (event := self.session.next_event()) is not NEED_DATA:
                self._handle(event)
            self._write(self.session.data_to_send())
            if not data or self.closed is not None:
                if self.closed is None:  # the session was in ERROR: report the close all the same
                    self._handle(Closed(expected=False))
                return

    def _handle(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, (BindComplete, BindFailed)):
            if self._bind is not None and not self._bind.done():
                self._bind.set_result(event.response)
        elif isinstance(event, SubmitResponse):
            _resolve(event.context, event.response)
        elif isinstance(event, GenericNackReceived):
            if event.request is not None and type(event.request) in _BINDS.values():
                if self._bind is not None and not self._bind.done():
                    self._bind.set_result(event.nack)
            else:
                _resolve(event.context, event.nack)
        elif isinstance(event, DeliverSmReceived):
            if self.auto_ack:
                self._write(self.session.ack_deliver(event.pdu, self.ack_status))
            self.delivers.put_nowait(event.pdu)
        elif isinstance(event, PeerUnbound):
            self.unbound.set()
        elif isinstance(event, UnbindComplete):
            if self._unbind is not None and not self._unbind.done():
                self._unbind.set_result(event.response)
        elif isinstance(event, Closed):
            self.closed = event
            self._closed_event.set()
            error = ConnectionResetError("the SMSC closed the connection")
            for future in (self._bind, self._unbind, *self._pending):
                if future is not None and not future.done():
                    future.set_exception(error)


def _resolve(future: Any, response: Pdu) -> None:
    if isinstance(future, asyncio.Future) and not future.done():
        future.set_result(response)


@contextlib.asynccontextmanager
async def raw_client(
    port: int,
    system_id: str = "test",
    password: str = "secret",
    *,
    host: str = "127.0.0.1",
    auto_ack: bool = True,
    ack_status: int = 0,
    window: int = 1000,
) -> AsyncIterator[RawClient]:
    """Connect a ``RawClient`` (not bound yet) to ``host:port``; closed on exit."""
    reader, writer = await asyncio.open_connection(host, port)
    client = RawClient(
        reader, writer, system_id=system_id, password=password, auto_ack=auto_ack, ack_status=ack_status, window=window
    )
    try:
        yield client
    finally:
        await client.aclose()


def receipt_of(pdu: DeliverSm) -> ParsedReceipt:
    """Parse a receipt deliver_sm with our own parser (text decoded by its data_coding, TLVs passed on)."""
    tlvs = pdu.tlvs
    nec = tlvs.get(Tag.NETWORK_ERROR_CODE) if tlvs else None
    return parse_receipt(
        decode(pdu.short_message, encoding_for_data_coding(pdu.data_coding)) if pdu.short_message else None,
        receipted_message_id=tlvs.get(Tag.RECEIPTED_MESSAGE_ID) if tlvs else None,  # type: ignore[arg-type]
        message_state=tlvs.get(Tag.MESSAGE_STATE) if tlvs else None,  # type: ignore[arg-type]
        network_error_code=bytes([nec.network_type]) + nec.error_code.to_bytes(2, "big") if nec else None,  # type: ignore[union-attr]
    )
