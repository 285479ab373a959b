"""Running any connector in a test: in a task group, and its webhook routes mounted as the daemon mounts them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from aiohttp import web

from gateway.port import Connector


@asynccontextmanager
async def running(connector: Connector, sink: Any) -> AsyncIterator[Any]:
    """Run the connector for the duration of the block."""
    async with anyio.create_task_group() as tg:
        await tg.start(connector.run, sink)
        try:
            yield connector
        finally:
            tg.cancel_scope.cancel()


@asynccontextmanager
async def serve_routes(connector: Connector) -> AsyncIterator[str]:
    """Mount the connector's routes under /reports/{name}/ on a loopback port; yield that URL."""
    app = web.Application()
    sub = web.Application()
    sub.add_routes(connector.http_routes())
    app.add_subapp(f"/reports/{connector.name}", sub)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/reports/{connector.name}"
    finally:
        await runner.cleanup()
