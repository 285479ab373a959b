"""Running daemons in the test's own event loop (for the control surface and metrics tests)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import anyio

from gateway.config import parse_config
from gateway.daemon import Daemon


@contextlib.asynccontextmanager
async def daemons(db_url: str, *configs: dict[str, Any]) -> AsyncIterator[list[Daemon]]:
    """Start one in-process daemon per configuration; drain them all on the way out."""
    started = [Daemon(parse_config(c, source="<test>", env={}), database_url=db_url) for c in configs]
    async with anyio.create_task_group() as tg:
        for d in started:
            await tg.start(lambda task_status, d=d: d.run(task_status=task_status, install_signals=False))
        try:
            yield started
        finally:
            for d in started:
                d.stop()


async def wait_for(predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "the condition") -> None:
    with anyio.fail_after(timeout):
        while True:
            value = predicate()
            if hasattr(value, "__await__"):
                value = await value
            if value:
                return
            await anyio.sleep(0.05)


async def http(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as resp:
        text = await resp.text()
        if resp.content_type == "application/json":
            import json

            return resp.status, json.loads(text)
        return resp.status, text


def sample(metrics_text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of a Prometheus text exposition, or None when absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(metrics_text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None
