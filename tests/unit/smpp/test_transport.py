"""The SMPP transport's own manners on the socket (no network: a recording transport)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.smpp import transport
from gateway.smpp.transport import Connection


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


class _RecordingSocket:
    def __init__(self) -> None:
        self.options: list[tuple[int, int, int]] = []

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.options.append((level, option, value))


class _Transport(asyncio.Transport):
    def __init__(self, sock: object) -> None:
        super().__init__()
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else default

    def is_closing(self) -> bool:
        return False


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="TCP_QUICKACK is Linux's")
def test_each_read_asks_for_an_immediate_ack(loop: asyncio.AbstractEventLoop) -> None:
    """A peer with Nagle's algorithm on waits for our ACK before its next response; Linux delays that
    ACK up to 40 ms unless asked: every chunk read asks for it now (TCP_QUICKACK, which the kernel
    clears again, hence once per read)."""
    sock = _RecordingSocket()
    chunks: list[bytes] = []
    conn = Connection(_Transport(sock), chunks.append, loop)
    conn._feed(b"one")
    conn._feed(b"two")
    quickack = (socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    assert sock.options == [quickack, quickack] and chunks == [b"one", b"two"]


def test_a_socket_that_refuses_the_option_is_left_alone(loop: asyncio.AbstractEventLoop) -> None:
    """Not TCP, or already closed: the option is dropped for good and the data still flows."""

    class _Refusing:
        calls = 0

        def setsockopt(self, *args: int) -> None:
            type(self).calls += 1
            raise OSError("not a TCP socket")

    chunks: list[bytes] = []
    conn = Connection(_Transport(_Refusing()), chunks.append, loop)
    conn._feed(b"a")
    conn._feed(b"b")
    assert chunks == [b"a", b"b"]
    assert _Refusing.calls == (1 if transport._QUICKACK is not None else 0)
