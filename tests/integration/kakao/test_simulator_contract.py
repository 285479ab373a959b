"""The provider simulator emits exactly NHN's documented shapes: every key, in the document's order, typed.

Each answer and webhook body of ``gateway.simulators.kakao`` is compared, level by
level, with the fixture transcribed from NHN's documents (tests/contract/nhn_alimtalk/):
the same keys in the same order, values of the documented type (or null). The
simulator must never be more convenient than the real service.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from gateway.simulators.kakao import KakaoSimulator
from tests.support.kakao import SENDER, fixture

pytestmark = pytest.mark.anyio


def assert_shape(value: Any, shape: Any, path: str = "$") -> None:
    """``value`` has exactly the documented keys (same order) and types; null stands for an unset field."""
    if value is None:
        return
    if isinstance(shape, dict):
        assert isinstance(value, dict), f"{path}: expected an object"
        assert list(value) == list(shape), f"{path}: keys {list(value)} != documented {list(shape)}"
        for key, sub in shape.items():
            assert_shape(value[key], sub, f"{path}.{key}")
    elif isinstance(shape, list):
        assert isinstance(value, list), f"{path}: expected a list"
        for i, item in enumerate(value):
            assert_shape(item, shape[0], f"{path}[{i}]")
    else:
        kind = str(shape).split("(")[0]
        if kind == "Integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind in ("boolean", "Boolean"):
            ok = isinstance(value, bool)
        else:  # "String", or a documented example value such as "2023-06-01"
            ok = isinstance(value, str)
        assert ok, f"{path}: {value!r} is not {shape}"


@asynccontextmanager
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], dict[str, Any]]]]]:
    """A webhook endpoint that records what NHN (here: the simulator) posts."""
    got: list[tuple[dict[str, str], dict[str, Any]]] = []

    async def handle(request: web.Request) -> web.Response:
        got.append((dict(request.headers), json.loads(await request.read())))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/hook", got
    finally:
        await runner.cleanup()


async def call(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Any:
    async with session.request(method, url, **kwargs) as resp:
        assert resp.status == 200  # NHN documents no HTTP status: every answer is a JSON header
        return await resp.json()


async def test_every_answer_and_hook_has_the_documented_shape() -> None:
    """Send (accepted, partial, all refused), list, single, result updates, count, templates, both hooks."""
    async with receiver() as (url, got), KakaoSimulator(webhook_url=url, webhook_secret="console-sig") as sim:
        sim.script("01000000002", send_code="-3010")
        sim.add_template(SENDER, "T1", "#{name}님", buttons=[{"ordering": 1, "type": "WL", "name": "a",
                                                              "linkMo": "https://x"}])  # fmt: skip
        base = f"{sim.base_url}/alimtalk/v2.3/appkeys/{sim.app_key}"
        headers = {"X-Secret-Key": sim.secret_key, "Content-Type": "application/json;charset=UTF-8"}
        body = {"senderKey": "S", "templateCode": "FREE", "senderGroupingKey": "gw-k", "recipientList": [
            {"recipientNo": "01000000001", "content": "hi", "recipientGroupingKey": "gw-1"},
            {"recipientNo": "01000000002", "content": "hi", "recipientGroupingKey": "gw-2"}]}  # fmt: skip
        all_refused = {**body, "recipientList": body["recipientList"][1:]}
        window = {"startRequestDate": "2000-01-01 00:00", "endRequestDate": "2000-01-31 00:00"}
        async with aiohttp.ClientSession() as s:
            partial = await call(s, "POST", f"{base}/raw-messages", json=body, headers=headers)
            refused = await call(s, "POST", f"{base}/raw-messages", json=all_refused, headers=headers)
            request_id = partial["message"]["requestId"]
            listed = await call(s, "GET", f"{base}/messages", params={"requestId": request_id}, headers=headers)
            empty = await call(s, "GET", f"{base}/messages", params=window, headers=headers)
            one = await call(s, "GET", f"{base}/messages/{request_id}/1", headers=headers)
            with anyio.fail_after(5):
                while not any(b.get("event") == "MESSAGE_RESULT_UPDATE" for _, b in got):
                    await anyio.sleep(0.02)
            when = {"startUpdateDate": "2000-01-01 00:00", "endUpdateDate": "2100-01-01 00:00"}
            updates = await call(s, "GET", f"{base}/message-results", params=when, headers=headers)
            count = await call(s, "GET", f"{base}/message-results/count", params=when, headers=headers)
            templates = await call(s, "GET", f"{base}/senders/{SENDER}/templates", headers=headers)
            template = await call(s, "GET", f"{base}/senders/{SENDER}/templates/T1", headers=headers)
            bad_key = await call(s, "POST", f"{base}/raw-messages", json=body, headers={**headers, "X-Secret-Key": "x"})
        sim.post_template_status(SENDER, "T1", "TSC04", "반려")
        with anyio.fail_after(5):
            while not any(b.get("event") != "MESSAGE_RESULT_UPDATE" for _, b in got):
                await anyio.sleep(0.02)

    send_shape = fixture("send-raw-messages.shape.json")["response"]
    assert_shape(partial, send_shape)
    assert_shape(refused, send_shape)
    assert refused["header"] == fixture("derived/send-response.all-recipients-failed.json")["response"]["header"]
    assert refused["message"]["requestId"] is None
    assert [r["resultCode"] for r in partial["message"]["sendResults"]] == [0, -3010]
    assert bad_key == fixture("derived/send-response.invalid-secret-key-1001.json")["response"]
    assert_shape(listed, fixture("list-messages.shape.json")["response"])
    assert listed["messageSearchResultResponse"]["totalCount"] == 1
    assert empty["messageSearchResultResponse"] == {"messages": [], "totalCount": 0}
    assert_shape(one, fixture("get-message.shape.json")["response"])
    assert_shape(updates, fixture("message-results.shape.json")["response"])
    assert updates["messages"][0]["resultCode"] == "1000" and count["totalCount"] == 1
    assert_shape(count, fixture("message-results-count.shape.json")["response"])
    assert_shape(templates, fixture("template-list.shape.json")["response"])
    assert_shape(template, fixture("template-get.shape.json")["response"])

    envelope_keys = list(fixture("webhook-envelope.curl-example.json")["hook"])
    result_hooks = [(h, b) for h, b in got if b["event"] == "MESSAGE_RESULT_UPDATE"]
    template_hooks = [(h, b) for h, b in got if b["event"] != "MESSAGE_RESULT_UPDATE"]
    for headers_seen, posted in got:
        assert list(posted) == envelope_keys
        assert headers_seen["X-Toast-Webhook-Signature"] == "console-sig"  # NHN's static signature, no HMAC
        assert "X-Webhook-Signature" not in headers_seen
    result_shape = fixture("webhook-message-result-update.hooks.json")["hook"]
    assert_shape({"hooks": result_hooks[0][1]["hooks"]}, result_shape)
    [hook] = result_hooks[0][1]["hooks"]
    assert len(hook["receiveDate"]) == 10 and "messageStatus" not in hook  # the documented bare date
    assert_shape({"hooks": template_hooks[0][1]["hooks"]}, fixture("webhook-template-status.hooks.json")["hook"])
