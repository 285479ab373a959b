"""The daemon's embedded HTTP servers (aiohttp): two listeners, one for operators, one public.

The **admin** listener (``[admin]``, default 127.0.0.1, port ``http.port`` + 1 = 8081) is for operators
and their tools; it starts before the database is reached:

* ``GET /healthz`` — 200 while the process and its event loop are alive
  (liveness; also while the daemon waits for PostgreSQL);
* ``GET /readyz`` — 200 when PostgreSQL answers and at least one connector can
  send or is paused by an operator, else 503; the JSON body names each
  connector's state (``ready``, ``paused``, ``down``);
  ``GET /readyz/<connector>`` — 200 only when that connector can send;
* ``GET /metrics`` — Prometheus text format (default registry);
* ``GET /status`` — a read-only HTML page (no script) with what
  ``gateway status`` shows; ``GET /status.json`` the same as JSON;
* ``POST /admin/connectors/<name>/pause|resume|rebind`` — operators' controls,
  for every instance (stored in PostgreSQL); ``Authorization: Bearer <admin.token>``
  is required, and without a configured token the API answers 403.

The **public** listener (``[http]``, default 127.0.0.1:8080) serves only the
connectors' delivery-report webhooks under ``/reports/<connector>/``, so that
what faces a provider never exposes metrics or controls. Bodies larger than
``max_body_bytes`` are refused with 413 before being read.

A port already in use is a :class:`~gateway.errors.ConfigError` naming the
setting, raised by :meth:`Listener.start` before anything else runs.
"""

from __future__ import annotations

import errno
import hmac
import json
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from gateway.errors import ConfigError, DatabaseError, GatewayError
from gateway.http.status_page import render_status_page
from gateway.port import Connector

__all__ = ["AdminActions", "Listener", "build_admin_app", "build_public_app"]

log = structlog.get_logger("gateway.http")

ReadinessCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
StatusSource = Callable[[], Awaitable[dict[str, Any]]]
_MAX_REASON = 500


class AdminActions(Protocol):
    """The operators' controls behind the admin API (the daemon stores them in PostgreSQL)."""

    def knows(self, connector: str) -> bool: ...

    async def pause(self, connector: str, *, reason: str | None, who: str) -> dict[str, Any]: ...

    async def resume(self, connector: str, *, who: str) -> dict[str, Any]: ...

    async def rebind(self, connector: str, *, who: str) -> dict[str, Any]: ...


def _json_default(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=_json_default))


def build_admin_app(
    *,
    readiness: ReadinessCheck,
    status: StatusSource | None = None,
    actions: AdminActions | None = None,
    token: str | None = None,
) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)

    async def metrics(request: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        ok, detail = await readiness()
        name = request.match_info.get("connector")
        if name is None:
            return _json({"ready": ok, **detail}, status=200 if ok else 503)
        connectors = detail.get("connectors", {})
        if name not in connectors:
            return _json({"error": f"no connector named {name!r}", "connectors": sorted(connectors)}, status=404)
        state = connectors[name]
        ready = detail.get("database") is True and state["state"] == "ready"
        return _json({"connector": name, "ready": ready, **state}, status=200 if ready else 503)

    async def collect() -> dict[str, Any]:
        if status is None:
            raise web.HTTPServiceUnavailable(text="the status is not available yet (waiting for the database)")
        try:
            return await status()
        except (DatabaseError, OSError, TimeoutError) as exc:
            raise web.HTTPServiceUnavailable(text=f"the database does not answer: {exc}") from exc

    async def status_page(request: web.Request) -> web.Response:
        return web.Response(text=render_status_page(await collect()), content_type="text/html", charset="utf-8")

    async def status_json(request: web.Request) -> web.Response:
        return _json(await collect())

    def authorised(request: web.Request) -> web.Response | None:
        if token is None or actions is None:
            return _json({"error": "the admin API is off: set admin.token (or GATEWAY_ADMIN_TOKEN)"}, status=403)
        given = request.headers.get("Authorization", "")
        if not given.startswith("Bearer ") or not hmac.compare_digest(given[7:].encode(), token.encode()):
            log.warning("http.admin.unauthorized", path=request.path, peer=request.remote)
            return _json({"error": "unauthorized"}, status=401)
        return None

    async def control(request: web.Request) -> web.Response:
        refused = authorised(request)
        if refused is not None:
            return refused
        assert actions is not None
        name, verb = request.match_info["connector"], request.match_info["verb"]
        if not actions.knows(name):
            return _json({"error": f"no connector named {name!r}"}, status=404)
        reason = None
        if request.can_read_body:
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                return _json({"error": 'the body must be JSON, e.g. {"reason": "carrier maintenance"}'}, 400)
            if not isinstance(body, dict):
                return _json({"error": "the body must be a JSON object"}, status=400)
            reason = body.get("reason")
            if reason is not None and (not isinstance(reason, str) or len(reason) > _MAX_REASON):
                return _json({"error": f"reason must be a string of at most {_MAX_REASON} characters"}, 400)
        who = f"admin-api {request.remote or '?'}"
        try:
            if verb == "pause":
                result = await actions.pause(name, reason=reason, who=who)
            elif verb == "resume":
                result = await actions.resume(name, who=who)
            else:
                result = await actions.rebind(name, who=who)
        except GatewayError as exc:
            return _json({"error": str(exc)}, status=503)
        log.info("http.admin.control", connector=name, action=verb, by=who)
        return _json(result)

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/readyz/{connector}", readyz)
    app.router.add_get("/status", status_page)
    app.router.add_get("/status.json", status_json)
    app.router.add_post("/admin/connectors/{connector}/{verb:pause|resume|rebind}", control)
    return app


def build_public_app(*, connectors: Mapping[str, Connector], max_body_bytes: int = 1_048_576) -> web.Application:
    """The delivery-report webhooks of every connector, under ``/reports/<connector>/``."""
    app = web.Application(client_max_size=max_body_bytes)
    for name, connector in connectors.items():
        routes = list(connector.http_routes())
        if routes:
            sub = web.Application(client_max_size=max_body_bytes)
            sub.add_routes(routes)
            app.add_subapp(f"/reports/{name}/", sub)
    return app


class Listener:
    """One listening socket: :meth:`bind` reserves the port (or raises a one-line
    :class:`ConfigError` naming the setting), :meth:`start` serves an app on it, :meth:`stop` closes."""

    def __init__(self, *, host: str, port: int, setting: str) -> None:
        self.host = host
        self.port = port
        self.setting = setting  # e.g. "admin.port": named in errors
        self._sock: socket.socket | None = None
        self._runner: web.AppRunner | None = None

    def bind(self) -> int:
        try:
            self._sock = socket.create_server((self.host, self.port), reuse_port=False)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"{self.setting} {self.port}: {self.host}:{self.port} is already in use "
                    "(another gateway instance or another program; choose another port)"
                ) from None
            raise ConfigError(
                f"{self.setting} {self.port}: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self.port = self._sock.getsockname()[1]
        return self.port

    async def start(self, app: web.Application) -> int:
        if self._sock is None:
            self.bind()
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runner = runner
        await web.SockSite(runner, self._sock).start()  # type: ignore[arg-type]
        log.info("http.listening", host=self.host, port=self.port, listener=self.setting.split(".")[0])
        return self.port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
