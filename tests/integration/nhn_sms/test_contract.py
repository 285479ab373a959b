"""The NHN SMS simulator answers in exactly the shapes of NHN's documented examples (tests/contract/nhn_sms/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from gateway.nhn_sms.api import kst_text
from gateway.simulators.nhn_sms import NhnSmsSimulator
from tests.support.nhn_sms import fixture

pytestmark = pytest.mark.anyio


def shape(value: Any) -> Any:
    """Keys (in order) and JSON types, recursively; lists by their first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def same_shape(got: Any, documented: Any, path: str = "") -> list[str]:
    """Differences between an answer and a documented example: keys, order, types (null matches anything)."""
    if documented is None or got is None:
        return []
    if isinstance(documented, dict):
        if not isinstance(got, dict):
            return [f"{path}: {type(got).__name__}, documented an object"]
        problems = []
        if list(got) != list(documented):
            problems.append(f"{path}: keys {list(got)} != documented {list(documented)}")
        for key in documented:
            if key in got:
                problems += same_shape(got[key], documented[key], f"{path}.{key}")
        return problems
    if isinstance(documented, list):
        if not isinstance(got, list):
            return [f"{path}: {type(got).__name__}, documented a list"]
        return same_shape(got[0], documented[0], f"{path}[0]") if got and documented else []
    if type(got) is not type(documented):
        return [f"{path}: {type(got).__name__}, documented {type(documented).__name__}"]
    return []


async def call(http: aiohttp.ClientSession, sim: NhnSmsSimulator, fx: dict[str, Any], **params: str) -> Any:
    path = fx["path"].replace("{appKey}", sim.app_key)
    headers = {"Content-Type": "application/json;charset=UTF-8", "X-Secret-Key": sim.secret_key}
    if fx["method"] == "POST":
        async with http.post(sim.base_url + path, data=json.dumps(fx["request"]), headers=headers) as r:
            return await r.json()
    async with http.get(sim.base_url + path, params=params, headers=headers) as r:
        return await r.json()


async def test_every_answer_has_the_documented_shape() -> None:
    """Send, upload, lists, single look-ups, message-results, sendNos and unsubscribe-nos, key by key."""
    now = datetime.now(UTC)
    window = {
        "startCreateDate": kst_text(now - timedelta(minutes=5)),
        "endCreateDate": kst_text(now + timedelta(minutes=5)),
    }
    async with NhnSmsSimulator(seed=1, optout_nos=("0808880327",)) as sim, aiohttp.ClientSession() as http:
        checked: dict[str, list[str]] = {}
        for name in (
            "sms_send.example_domestic.json",
            "mms_send.example_lms.json",
            "sms_send.example_international.json",
        ):
            fx = fixture(name)
            checked[name] = same_shape(await call(http, sim, fx), fx["response"])
        upload = fixture("attachfile_upload.example.json")
        uploaded = await call(http, sim, upload)
        checked["attachfile_upload.example.json"] = same_shape(uploaded, upload["response"])
        mms = fixture("mms_send.example_attachment.json")
        mms["request"]["attachFileIdList"] = [uploaded["body"]["data"]["fileId"]]
        checked["mms_send.example_attachment.json"] = same_shape(await call(http, sim, mms), mms["response"])
        for name in ("sms_list.json", "mms_list.json"):
            fx = fixture(name)
            got = await call(http, sim, fx, **window)
            assert got["body"]["data"], name
            checked[name] = same_shape(got, fx["response"])
        message_results = fixture("message_results.json")
        got = await call(
            http,
            sim,
            message_results,
            startUpdateDate=kst_text(now - timedelta(minutes=5)),
            endUpdateDate=kst_text(now + timedelta(minutes=5)),
        )
        assert got["body"]["data"]
        checked["message_results.json"] = same_shape(got, message_results["response"])
        first = sim.records[0]
        for name, record in (("sms_get.json", first), ("mms_get.json", sim.records[-1])):
            fx = fixture(name)
            fx["path"] = fx["path"].replace("{requestId}", record.request_id)
            got = await call(http, sim, fx, recipientSeq=str(record.seq))
            documented = fx["response"]
            if name == "mms_get.json":  # the 2023 capture has mtPr for recipientSeq: the field table's shape
                item = dict(fixture("mms_list.json")["response"]["body"]["data"][0])
                item["attachFileList"] = fx["response"]["body"]["data"]["attachFileList"]  # real ids, not "Integer"
                fields = list(item.items())
                at = [k for k, _ in fields].index("adYn") + 1
                item = dict([*fields[:at], ("originCode", "123456789"), *fields[at:]])
                documented = {**fx["response"], "body": {"data": item}}
            checked[name] = same_shape(got, documented)
        for name in ("sendnos_list.json", "unsubscribe_nos_list.json"):
            fx = fixture(name)
            checked[name] = same_shape(await call(http, sim, fx), fx["response"])
    problems = [f"{k}: {p}" for k, v in checked.items() for p in v]
    assert not problems, "\n".join(problems)


async def test_refusals_have_the_documented_header() -> None:
    """A refused request answers header{isSuccessful false, resultCode, resultMessage} as the field tables say."""
    fx = fixture("sms_send.example_domestic.json")
    fx["request"]["sendNo"] = "0299999999"
    async with NhnSmsSimulator() as sim, aiohttp.ClientSession() as http:
        got = await call(http, sim, fx)
    assert got["header"] == {
        "isSuccessful": False,
        "resultCode": -2312,
        "resultMessage": got["header"]["resultMessage"],
    }
    assert same_shape(got["header"], fx["response"]["header"]) == []


async def test_the_result_webhook_has_the_documented_shape() -> None:
    """The simulator's MESSAGE_RESULT_UPDATE hook is the documented example, typo included; the envelope too."""
    async with NhnSmsSimulator(seed=1) as sim, aiohttp.ClientSession() as http:
        await call(http, sim, fixture("sms_send.example_domestic.json"))
        body = json.loads(sim.webhook_body(sim.records))
    envelope = fixture("hook_envelope.json")["hook"]
    assert list(body) == list(envelope)
    documented = fixture("hook_message_result_update.json")["hook"]["hooks"][0]
    assert same_shape(body["hooks"][0], documented) == []
    assert shape(body["hooks"][0])["_link"] == {"self": {"href": "str"}}
