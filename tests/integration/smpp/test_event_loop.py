"""The SMPP transport names the event loop for its callbacks, so embedders without the daemon work too."""

from __future__ import annotations

import asyncio
import contextvars

import anyio
import pytest


def test_an_smpp_connection_opened_outside_the_daemon_can_use_anyio_in_its_callbacks() -> None:
    """benchmarks.smpp embeds the connector without the daemon: its binds' data callbacks must still reach AnyIO."""
    pytest.importorskip("sniffio")
    from gateway.smpp.transport import open_connection

    seen: list[object] = []

    def on_data(data: bytes) -> None:
        try:
            seen.append((anyio.current_time(), anyio.Event()))
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            seen.append(exc)

    async def main() -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"hello")
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        conn = await open_connection("127.0.0.1", port, on_data=on_data)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        conn.close()
        server.close()

    contextvars.copy_context().run(asyncio.run, main())
    assert seen and isinstance(seen[0], tuple), seen
