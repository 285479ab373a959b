"""The daemon's embedded HTTP server (aiohttp): metrics, health, delivery reports.

Routes:

* ``GET /metrics`` — Prometheus text format (default registry);
* ``GET /healthz`` — 200 while the process and its event loop are alive;
* ``GET /readyz`` — 200 when PostgreSQL answers and every required connector
  can send, else 503 with what is missing (JSON);
* ``/reports/{connector}/...`` — each connector's delivery-report webhooks
  (``Connector.http_routes()``), mounted as a sub-application.

Bodies larger than ``max_body_bytes`` are refused with 413 before being read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import anyio
import structlog
from aiohttp import web
from anyio.abc import TaskStatus
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from gateway.port import Connector

log = structlog.get_logger("gateway.http")

ReadinessCheck = Callable[[], Awaitable[tuple[bool, dict]]]


def build_app(
    *,
    connectors: Mapping[str, Connector],
    readiness: ReadinessCheck,
    max_body_bytes: int = 1_048_576,
) -> web.Application:
    app = web.Application(client_max_size=max_body_bytes)

    async def metrics(request: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        ok, detail = await readiness()
        return web.json_response({"ready": ok, **detail}, status=200 if ok else 503)

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    for name, connector in connectors.items():
        routes = list(connector.http_routes())
        if routes:
            sub = web.Application(client_max_size=max_body_bytes)
            sub.add_routes(routes)
            app.add_subapp(f"/reports/{name}/", sub)
    return app


async def serve(
    app: web.Application,
    *,
    host: str,
    port: int,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; reports the bound port (useful with port 0)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        bound = port
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            bound = server.sockets[0].getsockname()[1]
        log.info("http.listening", host=host, port=bound)
        task_status.started(bound)
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await runner.cleanup()
