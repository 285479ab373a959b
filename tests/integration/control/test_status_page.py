"""The read-only /status page in a real browser (headless Chromium): the same facts as `gateway status`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import anyio
import asyncpg
import pytest

from gateway.control import set_paused
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from tests.support.control import daemons, wait_for
from tests.support.daemon import config_dict
from tests.support.deploy import ROOT
from tests.support.queue import copy_messages

pytestmark = pytest.mark.anyio

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("GATEWAY_TEST_ARTIFACTS", ROOT / ".test-artifacts"))


def browser():  # type: ignore[no-untyped-def]
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (shutil.which(CHROMIUM) and shutil.which(DRIVER)):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=DRIVER)
    return webdriver.Chrome(options=options, service=service)


async def test_status_page_shows_connectors_queue_and_instances(db_url: str, db: asyncpg.Connection) -> None:
    """Chromium renders /status: each connector's state, binds and last error, the paused one with its reason,
    the queue, the instance; the page carries no script; a screenshot is kept as a test artefact."""
    driver = browser()
    try:
        await set_paused(db, "marketing", True, reason="campaign on hold", who="test")
        async with SmscSimulator(SimulatorConfig()) as sim:
            connectors = [
                {"type": "smpp", "name": "carrier", "port": sim.port, "system_id": "gw", "binds": 2},
                {
                    "type": "smpp",
                    "name": "backup",
                    "port": 1,
                    "system_id": "gw",
                    "reconnect_initial_seconds": 0.2,
                    "reconnect_max_seconds": 0.5,
                },
                {"type": "loopback", "name": "marketing", "channel": "alimtalk"},
            ]
            config = config_dict("page", connectors, routing={"default": {"sms": "carrier"}})
            async with daemons(db_url, config) as (d,):
                await wait_for(lambda: sim.bound_now == 2, what="the binds")
                await copy_messages(
                    db, [{"channel": "alimtalk", "sender": "profile", "body": f"m{i}"} for i in range(3)]
                )

                async def published() -> bool:
                    rows = await db.fetchval("SELECT count(*) FROM gateway.connector_status")
                    sampled = await db.fetchval("SELECT coalesce(sum(messages), 0) FROM gateway.queue_depth")
                    return rows == 3 and sampled == 3

                await wait_for(published, timeout=10, what="a status and a depth sample")
                await anyio.sleep(0.5)
                url = f"http://127.0.0.1:{d.admin_port}/status"

                def look() -> tuple[str, list[dict[str, str]], int, bytes]:
                    driver.get(url)
                    tables = [
                        {
                            r.find_elements("tag name", "td")[0].text: r.text
                            for r in t.find_elements("css selector", "tbody tr")
                        }
                        for t in driver.find_elements("tag name", "table")
                    ]
                    scripts = len(driver.find_elements("tag name", "script"))
                    return driver.title, tables, scripts, driver.get_screenshot_as_png()

                title, tables, scripts, png = await anyio.to_thread.run_sync(look)
    finally:
        await anyio.to_thread.run_sync(driver.quit)
    await anyio.Path(ARTIFACTS).mkdir(parents=True, exist_ok=True)
    await anyio.Path(ARTIFACTS / "status-page.png").write_bytes(png)
    assert title == "gateway status" and scripts == 0
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    connectors, queue, instances = tables[0], tables[1], tables[-1]
    assert "ready" in connectors["carrier"] and "2 up / 2 allowed" in connectors["carrier"]
    assert "down" in connectors["backup"] and "connect failed" in connectors["backup"]
    assert "paused" in connectors["marketing"] and "campaign on hold" in connectors["marketing"]
    assert queue["marketing"].split() == ["marketing", "other", "queued", "3", queue["marketing"].split()[-1]]
    assert any(name.startswith("page#") for name in instances)
