"""docs/kakao.md: every example is executed as written, and its code table is the connector's own."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from gateway.config import parse_config
from gateway.kakao import InMemoryTemplateStore, KakaoConnector, load_template_file
from gateway.kakao.prepare import Prepared, prepare
from gateway.kakao.templates import TemplateRegistry
from gateway.port import OutboundMessage, ReceiptState
from tests.support.kakao import CODE_TABLE_BEGIN, CODE_TABLE_END, FakeSink, code_table_markdown, running, serve_routes

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[3] / "docs" / "kakao.md"
TEXT = DOC.read_text("utf-8")
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", TEXT, re.MULTILINE | re.DOTALL)
ENV = {"KAKAO_SECRET_KEY": "secret", "KAKAO_WEBHOOK_SECRET": "the-signature-typed-in-the-console"}


def blocks(kind: str) -> list[str]:
    return [body for info, body in BLOCKS if info == kind]


def config() -> Any:
    [toml] = blocks("toml")
    [connector] = parse_config(tomllib.loads(toml), source="docs/kakao.md", env=ENV).connectors
    return connector


def templates(tmp_path: Path) -> list[Any]:
    [yaml] = blocks("yaml")
    path = tmp_path / "templates.yaml"
    path.write_text(yaml, "utf-8")
    return load_template_file(path)


def test_every_block_is_one_this_test_runs() -> None:
    """The page has only blocks of kinds executed here or by the acceptance test (console)."""
    assert {info for info, _ in BLOCKS} == {"toml", "yaml", "json", "http", "sql", "console"}


def test_the_configuration_example_is_valid() -> None:
    """The TOML block is a complete Kakao connector on NHN's current domain, token webhook auth."""
    c = config()
    assert c.base_url == "https://kakaotalk-bizmessage.api.nhncloudservice.com" and c.webhook_auth == "token"
    assert c.secret_key.get_secret_value() == "secret" and c.sender_keys == (
        "0123456789abcdef0123456789abcdef01234567",
    )


def test_the_template_file_example_loads(tmp_path: Path) -> None:
    """The YAML block is a valid template file; the OTP template goes through the authentication endpoint."""
    loaded = {t.template_code: t for t in templates(tmp_path)}
    assert set(loaded) == {"ORDER_SHIPPED", "OTP"} and loaded["OTP"].auth and not loaded["ORDER_SHIPPED"].auth


def test_the_message_example_renders_as_described(tmp_path: Path) -> None:
    """The extras of section 4 with the body it names: the button link is filled in as the page says."""
    import json

    [extras] = [json.loads(b) for b in blocks("json")]
    registry = TemplateRegistry.build(templates(tmp_path))
    body = re.search(r"for the body `([^`]+)`", TEXT)
    assert body is not None
    message = OutboundMessage(1, "alimtalk", "0123456789abcdef0123456789abcdef01234567", "+821012345678",
                              body.group(1), extras=extras)  # fmt: skip
    prepared = prepare(message, config=config(), registry=registry)
    assert isinstance(prepared, Prepared), prepared
    link = re.search(r"goes out\s+with `([^`]+)`", TEXT)
    assert link is not None and prepared.request.buttons[0]["linkMo"] == link.group(1)


async def test_the_webhook_example_is_stored_as_the_page_says() -> None:
    """The HTTP block, posted as written to the connector configured by the TOML block: 200, an undeliverable
    receipt asking for the SMS fallback."""
    [http] = blocks("http")
    head, _, body = http.partition("\n\n")
    request_line, *header_lines = head.splitlines()
    method, path, _ = request_line.split()
    headers = dict(line.split(": ", 1) for line in header_lines)
    sink = FakeSink()
    connector = KakaoConnector(config(), InMemoryTemplateStore([]))
    async with running(connector, sink), serve_routes(connector) as base:
        root = base.removesuffix(f"/reports/{connector.name}")
        async with aiohttp.ClientSession() as session:
            async with session.request(method, root + path, data=body.encode(), headers=headers) as resp:
                assert resp.status == 200
    [receipt] = sink.receipts
    assert receipt.code == "3019" and receipt.state is ReceiptState.UNDELIVERABLE and receipt.fallback
    assert receipt.carrier_id == "20231201090000O9CEcsKV2M2:1"


async def test_the_journal_query_runs(db: asyncpg.Connection) -> None:
    """The SQL block runs as written against the migrated schema and sees an unresolved send."""
    [sql] = blocks("sql")
    await db.execute(
        "INSERT INTO gateway.kakao_sends (connector, message_id, provider_key, grouping_key) "
        "VALUES ('kakao', 7, 'k', 'gw-7')"
    )
    rows = await db.fetch(sql)
    assert [(r["message_id"], r["state"]) for r in rows] == [(7, "sending")]


def test_the_code_table_is_the_connectors_own() -> None:
    """Section 7 is exactly what gateway.kakao.codes does with every code (regenerate with code_table_markdown)."""
    start, end = TEXT.index(CODE_TABLE_BEGIN), TEXT.index(CODE_TABLE_END) + len(CODE_TABLE_END)
    assert TEXT[start:end] == code_table_markdown()
