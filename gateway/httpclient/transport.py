"""The HTTP transport: one aiohttp ClientSession per provider account.

This is the only module of an HTTP connector that imports aiohttp's client. It
turns an :class:`HttpRequest` into an :class:`HttpResponse` over a pooled,
keep-alive session (``TCPConnector(limit=...)``) with per-request timeouts, and
translates every aiohttp / OS exception into :mod:`gateway.httpclient.errors` where
it enters (httpcore's ``map_exceptions`` pattern):

=====================================  ===================================
aiohttp / OS                           gateway
=====================================  ===================================
ClientConnectorError, connect timeout  ProviderUnavailable(maybe_sent=False)
socket read timeout, total timeout     ProviderUnavailable(maybe_sent=True)
ServerDisconnectedError, ClientOSError ProviderUnavailable(maybe_sent=True)
ClientPayloadError, other ClientError  ProviderUnavailable(maybe_sent=True)
body larger than the limit             ProviderProtocolError
=====================================  ===================================

Status codes are *not* interpreted here; the provider's API module does that.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from gateway.httpclient.errors import ProviderProtocolError, ProviderUnavailable

__all__ = ["AiohttpTransport", "HttpRequest", "HttpResponse", "Transport"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str  # appended to the base URL
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # names lower-cased
    body: bytes


class Transport:
    """What an adapter needs from HTTP (tests may pass any object with ``request``)."""

    async def request(self, request: HttpRequest) -> HttpResponse:  # pragma: no cover - interface
        raise NotImplementedError


@contextmanager
def _map_exceptions(what: str) -> Iterator[None]:
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise ProviderUnavailable(f"{what}: connect timeout", maybe_sent=False) from exc
    except aiohttp.ClientConnectorError as exc:
        raise ProviderUnavailable(f"{what}: cannot connect: {exc.os_error}", maybe_sent=False) from exc
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise ProviderUnavailable(f"{what}: timed out waiting for the answer", maybe_sent=True) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise ProviderUnavailable(f"{what}: server disconnected", maybe_sent=True) from exc
    except aiohttp.ClientError as exc:
        raise ProviderUnavailable(f"{what}: {type(exc).__name__}: {exc}", maybe_sent=True) from exc
    except OSError as exc:
        raise ProviderUnavailable(f"{what}: {exc}", maybe_sent=True) from exc


class AiohttpTransport(Transport):
    """A pooled keep-alive session to one base URL. ``async with`` opens and closes it."""

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = 16,
        keepalive_seconds: float = 30.0,
        connect_timeout: float = 5.0,
        request_timeout: float = 30.0,
        max_response_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._max_connections = max_connections
        self._keepalive = keepalive_seconds
        self._timeout = aiohttp.ClientTimeout(total=request_timeout, connect=connect_timeout)
        self._max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_config(cls, config: object) -> AiohttpTransport:
        """From an HTTP connector's config: ``base_url``, ``max_connections``, ``keepalive_seconds``,
        ``connect_timeout_seconds``, ``request_timeout_seconds``."""
        c: Any = config
        return cls(
            c.base_url,
            max_connections=c.max_connections,
            keepalive_seconds=c.keepalive_seconds,
            connect_timeout=c.connect_timeout_seconds,
            request_timeout=c.request_timeout_seconds,
        )

    async def __aenter__(self) -> AiohttpTransport:
        connector = aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=self._keepalive)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, raise_for_status=False, auto_decompress=True
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, request: HttpRequest) -> HttpResponse:
        if self._session is None:
            raise RuntimeError("AiohttpTransport used outside 'async with'")
        url = self.base_url + request.path
        what = f"{request.method} {request.path}"
        with _map_exceptions(what):
            async with self._session.request(
                request.method, url, headers=dict(request.headers), params=dict(request.params), data=request.body
            ) as resp:
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > self._max_response_bytes:
                        raise ProviderProtocolError(f"{what}: answer larger than {self._max_response_bytes} bytes")
                    chunks.append(chunk)
                headers = {k.lower(): v for k, v in resp.headers.items()}
                return HttpResponse(resp.status, headers, b"".join(chunks))
