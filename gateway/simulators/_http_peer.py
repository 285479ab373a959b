"""What the HTTP provider simulators share (``kakao.py``, ``nhn_sms.py``): serving, faults, posting webhooks.

:class:`HttpProviderSimulator` is the part of an NHN Cloud provider simulator
that does not depend on the product:

* the life cycle: an aiohttp application on loopback (``start`` / ``close`` /
  ``async with``; port 0 picks a free port, ``base_url`` says which), the
  routes added by the subclass's ``_add_routes``;
* the infrastructure faults NHN does not document and a real network produces:
  5xx bursts (``fail_next``), the ``outage`` switch, 429s with ``Retry-After``
  (``throttle_next``), answers to handled requests that come late
  (``slow_next``), latency with jitter; ``_admit()`` waits the latency, answers
  the first three (counted in ``requests`` as ``send_<status>``, ``send_429``)
  and then the subclass's credential check (``_auth``);
* the result webhook: a background task wakes every ``webhook_interval``
  seconds and, when a ``webhook_url`` is set, lets the subclass post what is
  due (``_post_due_hooks``) through ``_post_webhook``, which sends NHN's
  headers (``X-Toast-Webhook-Signature`` = the console's signature string) and
  counts ``webhooks_delivered`` / ``webhook_failures``.

:class:`Script` is what a test fixes for one recipient number. For the
``gateway simulate ...`` commands: :func:`peer_parser` holds the options both
simulators take, :func:`peer_settings` turns them into constructor arguments
(``--mix`` read by :func:`parse_mix`), :func:`serve_forever` runs a simulator
until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import aiohttp
from aiohttp import web

__all__ = ["HttpProviderSimulator", "Script", "parse_mix", "peer_parser", "peer_settings", "serve_forever"]


@dataclass(frozen=True, slots=True)
class Script:
    """What happens to one recipient number: a code for the send answer and/or for the result."""

    send_code: str | None = None
    result_code: str | None = None


class HttpProviderSimulator:
    """An HTTP provider on loopback with fault knobs and a webhook poster (subclassed per product)."""

    def __init__(
        self,
        *,
        app_key: str,
        secret_key: str,
        host: str,
        port: int,
        latency: float,
        latency_jitter: float = 0.0,
        result_delay: float,
        webhook_url: str | None,
        webhook_secret: str,
        webhook_batch: int,
        webhook_interval: float,
        seed: int | None,
    ) -> None:
        self.app_key = app_key
        self.secret_key = secret_key
        self.host = host
        self.port = port
        self.latency = latency
        self.latency_jitter = latency_jitter
        self.result_delay = result_delay
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhook_batch = webhook_batch
        self.webhook_interval = webhook_interval
        self.rng = random.Random(seed)
        self.outage = False
        self._fail_next: list[int] = []
        self._throttle_next: list[float] = []
        self._slow_next: list[float] = []
        # counters for tests
        self.requests: Counter[str] = Counter()
        self.webhooks_delivered = 0
        self.webhook_failures = 0
        self._runner: web.AppRunner | None = None
        self._hook_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""

    # ---------------------------------------------------------------- knobs
    def fail_next(self, n: int, status: int = 503) -> None:
        """The next ``n`` send requests answer ``status`` without being handled (a 5xx burst)."""
        self._fail_next.extend([status] * n)

    def throttle_next(self, n: int, retry_after: float = 1.0) -> None:
        """The next ``n`` send requests answer 429 with ``Retry-After``."""
        self._throttle_next.extend([retry_after] * n)

    def slow_next(self, n: int, delay: float) -> None:
        """The next ``n`` send requests are handled, then answered ``delay`` seconds late."""
        self._slow_next.extend([delay] * n)

    # ---------------------------------------------------------------- for the subclass's handlers
    async def _delay(self) -> None:
        """The configured latency (plus up to ``latency_jitter`` seconds)."""
        delay = self.latency + (self.rng.uniform(0, self.latency_jitter) if self.latency_jitter else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)

    def _fault(self) -> web.Response | None:
        """The answer of an outage, a 5xx burst or a 429 when one is due, else None (handle the request)."""
        if self.outage or self._fail_next:
            status = self._fail_next.pop(0) if self._fail_next else 503
            self.requests[f"send_{status}"] += 1
            return web.Response(status=status, text="simulated outage")
        if self._throttle_next:
            retry_after = self._throttle_next.pop(0)
            self.requests["send_429"] += 1
            return web.Response(status=429, text="slow down", headers={"Retry-After": f"{retry_after:g}"})
        return None

    async def _admit(self, request: web.Request) -> web.Response | None:
        """A send request's gate: the latency, then a due fault, then the credentials (``_auth``).
        None lets the handler go on."""
        await self._delay()
        fault = self._fault()
        if fault is not None:
            return fault
        return self._auth(request)

    async def _slow_answer(self) -> None:
        """Wait before answering a handled request when ``slow_next`` asked for it."""
        if self._slow_next:
            await asyncio.sleep(self._slow_next.pop(0))

    # ---------------------------------------------------------------- what a product adds
    def _auth(self, request: web.Request) -> web.Response | None:  # pragma: no cover - interface
        """The provider's refusal of wrong credentials, or None."""
        raise NotImplementedError

    def _add_routes(self, app: web.Application) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    async def _post_due_hooks(self) -> None:  # pragma: no cover - interface
        """Post the results that are final (called while a ``webhook_url`` is set)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.base_url = f"http://{self.host}:{self.port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._hook_task = asyncio.ensure_future(self._deliver_hooks())
        return self.base_url

    async def close(self) -> None:
        if self._hook_task is not None:
            self._hook_task.cancel()
            try:
                await self._hook_task
            except asyncio.CancelledError:
                pass
            self._hook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---------------------------------------------------------------- webhook
    def webhook_headers(self) -> dict[str, str]:
        """NHN's headers: the content type and the signature typed in the console."""
        return {"Content-Type": "application/json;charset=UTF-8", "X-Toast-Webhook-Signature": self.webhook_secret}

    async def _post_webhook(self, body: bytes) -> bool:
        """POST ``body`` to ``webhook_url``: True on a 2xx answer (counted either way)."""
        assert self._session is not None and self.webhook_url
        try:
            async with self._session.post(self.webhook_url, data=body, headers=self.webhook_headers()) as resp:
                ok = 200 <= resp.status < 300
        except (TimeoutError, aiohttp.ClientError, OSError):
            ok = False
        if ok:
            self.webhooks_delivered += 1
        else:
            self.webhook_failures += 1
        return ok

    async def _deliver_hooks(self) -> None:
        while True:
            await asyncio.sleep(self.webhook_interval)
            if self.webhook_url:
                await self._post_due_hooks()


def parse_mix(text: str) -> dict[str, float]:
    """``delivered=9, not_kakao_user=1,3018`` -> weights by name or code (a bare name weighs 1)."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        if part.strip():
            name, _, weight = part.partition("=")
            mix[name.strip()] = float(weight or 1)
    return mix


def peer_parser(
    *, prog: str, description: str, port: int, app_key: str, secret_key: str, mix: str, mix_help: str = ""
) -> argparse.ArgumentParser:
    """The options of ``gateway simulate kakao|nhn-sms`` that both take (a simulator adds its own)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--app-key", default=app_key)
    parser.add_argument("--secret-key", default=secret_key)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--result-delay", type=float, default=1.0, help="seconds until a result is final")
    parser.add_argument(
        "--mix", default=mix, help=mix_help or "result weights by alias or code, e.g. delivered=9,3018=1"
    )
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default="", help="the signature NHN sends in X-Toast-Webhook-Signature")
    parser.add_argument("--seed", type=int, default=None)
    return parser


def peer_settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """The constructor arguments :func:`peer_parser`'s options give (a webhook URL needs its secret)."""
    if args.webhook_url and not args.webhook_secret:
        parser.error("--webhook-url needs --webhook-secret")
    return {
        "app_key": args.app_key,
        "secret_key": args.secret_key,
        "host": args.host,
        "port": args.port,
        "latency": args.latency,
        "result_delay": args.result_delay,
        "result_mix": parse_mix(args.mix),
        "webhook_url": args.webhook_url,
        "webhook_secret": args.webhook_secret,
        "seed": args.seed,
    }


def serve_forever(make: Callable[[], HttpProviderSimulator], banner: str) -> int:
    """Run the simulator ``make()`` builds until interrupted, after printing ``banner``
    (``{base_url}`` and ``{app_key}`` filled in)."""

    async def serve() -> None:
        sim = make()
        async with sim:
            print(banner.format(base_url=sim.base_url, app_key=sim.app_key), flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        return 0
    return 0
