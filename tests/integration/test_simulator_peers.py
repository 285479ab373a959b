"""The two HTTP provider simulators (Alimtalk, NHN SMS) answer faults and post webhooks alike, over loopback."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from gateway.simulators._http_peer import HttpProviderSimulator
from gateway.simulators.kakao import KakaoSimulator
from gateway.simulators.nhn_sms import NhnSmsSimulator

pytestmark = pytest.mark.anyio

SEND_PATHS = {
    KakaoSimulator: "/alimtalk/v2.3/appkeys/{app_key}/raw-messages",
    NhnSmsSimulator: "/sms/v3.0/appKeys/{app_key}/sender/sms",
}


@pytest.mark.parametrize("kind", [KakaoSimulator, NhnSmsSimulator])
async def test_fault_knobs_answer_and_count_the_same_way(kind: type[HttpProviderSimulator]) -> None:
    """fail_next, the outage switch and throttle_next answer 5xx / 503 / 429 with Retry-After, each counted."""
    async with kind() as sim, aiohttp.ClientSession() as http:  # type: ignore[call-arg]
        url = sim.base_url + SEND_PATHS[kind].format(app_key=sim.app_key)
        sim.fail_next(1, status=502)
        sim.throttle_next(1, retry_after=2.5)
        statuses = []
        for _ in range(2):
            async with http.post(url, json={}) as resp:
                statuses.append((resp.status, resp.headers.get("Retry-After")))
        sim.outage = True
        async with http.post(url, json={}) as resp:
            statuses.append((resp.status, resp.headers.get("Retry-After")))
    assert statuses == [(502, None), (429, "2.5"), (503, None)]
    assert sim.requests["send_502"] == 1 and sim.requests["send_429"] == 1 and sim.requests["send_503"] == 1


@pytest.mark.parametrize("kind", [KakaoSimulator, NhnSmsSimulator])
async def test_webhooks_carry_nhn_headers_and_are_counted(kind: type[HttpProviderSimulator]) -> None:
    """A webhook POST sends NHN's content type and console signature; 2xx counts delivered, else failed."""
    seen: list[tuple[str, str]] = []
    answer = [200]

    async def hook(request: web.Request) -> web.Response:
        seen.append((request.headers["Content-Type"], request.headers["X-Toast-Webhook-Signature"]))
        return web.Response(status=answer[0])

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        sim = kind(webhook_url=f"http://127.0.0.1:{port}/hook", webhook_secret="console-sig")  # type: ignore[call-arg]
        async with sim:
            assert await sim._post_webhook(b"{}")
            answer[0] = 500
            assert not await sim._post_webhook(b"{}")
    finally:
        await runner.cleanup()
    assert seen == [("application/json;charset=UTF-8", "console-sig")] * 2
    assert (sim.webhooks_delivered, sim.webhook_failures) == (1, 1)
