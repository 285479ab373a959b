"""Queue depth and age come from one instance of the cluster, so that a sum over instances is right."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.daemon import daemon_config, free_port, get, running, wait_http
from tests.support.queue import copy_messages

pytestmark = pytest.mark.anyio


def depth_samples(text: str) -> dict[tuple[str, str, str], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "gateway_queue_depth_messages":
                out[(s.labels["connector"], s.labels["sender"], s.labels["state"])] = s.value
    return out


def leader(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "gateway_queue_sampler_leader":
                return s.value
    raise AssertionError("gateway_queue_sampler_leader is missing")


async def test_two_instances_export_the_depth_once(tmp_path: Path, db_url: str, db: asyncpg.Connection) -> None:
    """Of two instances exactly one exports gateway_queue_depth_messages; summed over both it is the outbox."""
    await db.execute("INSERT INTO gateway.connector_controls (connector, paused) VALUES ('loop', true)")
    await copy_messages(db, [{"sender": "15880000", "body": f"m{i}"} for i in range(7)])
    body = '[control]\ndepth_seconds = 0.5\n[[connectors]]\ntype = "loopback"\nname = "loop"\n'
    ports = [free_port(), free_port()]
    configs = [
        daemon_config(tmp_path, f"depth-{i}", db_url=db_url, admin_port=p, body=body) for i, p in enumerate(ports)
    ]
    with running(*configs):
        for p in ports:
            wait_http(p, "/readyz")
        deadline = time.monotonic() + 15
        while True:
            texts = [get(f"http://127.0.0.1:{p}/metrics")[1] for p in ports]
            sums = [sum(depth_samples(t).values()) for t in texts]
            if sorted(sums) == [0, 7] or time.monotonic() > deadline:
                break
            await anyio.sleep(0.2)
    assert sorted(leader(t) for t in texts) == [0.0, 1.0]
    exporting = [t for t in texts if depth_samples(t)]
    assert len(exporting) == 1, "exactly one instance exports the queue depth"
    assert depth_samples(exporting[0])[("loop", "other", "queued")] == 7
