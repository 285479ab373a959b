"""AnyIO calls in asyncio callbacks work in the daemon and in any embedder of the SMPP connector, even when sniffio is installed (it is, with the test extra)."""

from __future__ import annotations

import asyncio
import contextvars

import anyio
import pytest

from gateway.eventloop import name_the_event_loop


def test_anyio_works_in_a_protocol_callback_after_the_daemon_names_the_loop() -> None:
    """A callback scheduled from the daemon's context can read anyio's clock and make an Event."""
    pytest.importorskip("sniffio")
    seen: list[object] = []

    def callback() -> None:
        try:
            seen.append((anyio.current_time(), anyio.Event()))
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            seen.append(exc)

    async def main(name: bool) -> None:
        if name:
            name_the_event_loop()
        asyncio.get_running_loop().call_soon(callback)
        await asyncio.sleep(0.01)

    contextvars.copy_context().run(asyncio.run, main(False))
    assert isinstance(seen[-1], Exception)  # what a bind's data_received hit before
    contextvars.copy_context().run(asyncio.run, main(True))
    assert isinstance(seen[-1], tuple)
