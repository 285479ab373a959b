"""Template files synced into gateway.kakao_templates (real PostgreSQL) and read back."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from gateway.kakao import PostgresTemplateStore, TemplateFileError, load_template_file, sync_templates

pytestmark = pytest.mark.anyio

GOOD = """\
templates:
  - sender_key: SK1
    template_code: ORDER_SHIPPED
    status: approved
    body: |-
      #{name}님, 주문 #{order}번이 발송되었습니다.
      배송 조회: #{url}
    buttons:
      - {ordering: 1, type: WL, name: 배송 조회, linkMo: "https://example.com/#{order}"}
  - sender_key: SK1
    template_code: WELCOME
    status: TSC02
    body: "#{name}님, 가입을 환영합니다."
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


async def test_sync_inserts_then_is_a_noop_then_updates(db: asyncpg.Connection, tmp_path: Path) -> None:
    """First sync inserts, the same file again changes nothing, an edited body is one update."""
    path = write(tmp_path, "t.yaml", GOOD)
    first = await sync_templates(db, path)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    again = await sync_templates(db, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    edited = await sync_templates(db, write(tmp_path, "t.yaml", GOOD.replace("환영합니다", "환영해요")))
    assert (edited.inserted, edited.updated, edited.unchanged) == (0, 1, 1)
    row = await db.fetchrow("SELECT body, status FROM gateway.kakao_templates WHERE template_code = 'WELCOME'")
    assert row["body"] == "#{name}님, 가입을 환영해요." and row["status"] == "reviewing"


async def test_synced_templates_load_through_the_store(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """PostgresTemplateStore returns what was synced, buttons and NHN status codes translated."""
    async with pool.acquire() as conn:
        await sync_templates(conn, write(tmp_path, "t.yaml", GOOD))
    templates = {t.template_code: t for t in await PostgresTemplateStore(pool).load()}
    order = templates["ORDER_SHIPPED"]
    assert order.sender_key == "SK1" and order.status == "approved"
    assert order.body.endswith("배송 조회: #{url}") and "\n" in order.body
    assert order.buttons == (
        {"ordering": 1, "type": "WL", "name": "배송 조회", "linkMo": "https://example.com/#{order}"},
    )
    assert templates["WELCOME"].status == "reviewing"


async def test_prune_removes_templates_missing_from_the_file(db: asyncpg.Connection, tmp_path: Path) -> None:
    """With prune=True, rows not in the file are deleted; without it they stay."""
    await sync_templates(db, write(tmp_path, "t.yaml", GOOD))
    only_one = json.dumps(
        [{"sender_key": "SK1", "template_code": "WELCOME", "body": "#{name}님, 가입을 환영합니다.", "status": "TSC02"}],
        ensure_ascii=False,
    )
    path = write(tmp_path, "one.json", only_one)
    kept = await sync_templates(db, path)
    assert kept.deleted == 0 and await db.fetchval("SELECT count(*) FROM gateway.kakao_templates") == 2
    pruned = await sync_templates(db, path, prune=True)
    assert pruned.deleted == 1
    assert await db.fetchval("SELECT array_agg(template_code) FROM gateway.kakao_templates") == ["WELCOME"]


async def test_bad_file_names_file_entry_and_field_and_writes_nothing(db: asyncpg.Connection, tmp_path: Path) -> None:
    """Every problem is reported with the file, the entry index and the field; nothing is stored."""
    bad = """\
- sender_key: SK1
  template_code: OK
  body: "fine #{x}"
- sender_key: SK1
  body: "no code"
- sender_key: SK1
  template_code: T3
  body: "x"
  status: maybe
- sender_key: SK1
  template_code: OK
  body: "again"
- sender_key: SK1
  template_code: T5
  body: "x"
  colour: blue
"""
    path = write(tmp_path, "bad.yaml", bad)
    with pytest.raises(TemplateFileError) as info:
        await sync_templates(db, path)
    text = str(info.value)
    assert text.startswith(str(path))
    assert "entry 1: field 'template_code': Field required" in text
    assert "entry 2: field 'status': Value error, must be one of" in text
    assert "entry 3: field 'template_code': 'OK' repeats entry 0" in text
    assert "entry 4: field 'colour'" in text
    assert len(info.value.problems) == 4
    assert await db.fetchval("SELECT count(*) FROM gateway.kakao_templates") == 0


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("x.yaml", "templates: [", "not valid YAML"),
        ("x.json", "{", "not valid JSON"),
        ("x.yaml", "just: a mapping", "expected a list of templates"),
        ("x.yaml", "- 42", "entry 0: expected a mapping, got int"),
        ("x.yaml", "- {sender_key: S, template_code: T, body: ''}", "entry 0: field 'body'"),
        ("x.yaml", "- {sender_key: ' S', template_code: T, body: b}", "entry 0: field 'sender_key'"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, text: str, problem: str) -> None:
    """Syntax errors and wrong shapes are TemplateFileErrors naming the file and the problem."""
    path = write(tmp_path, name, text)
    with pytest.raises(TemplateFileError) as info:
        load_template_file(path)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is a TemplateFileError, not an OSError."""
    with pytest.raises(TemplateFileError, match="cannot read the file"):
        load_template_file(tmp_path / "nope.yaml")


async def test_the_database_refuses_an_unknown_status(db: asyncpg.Connection) -> None:
    """The migration's CHECK constraint names the rule when a row bypasses the loader."""
    with pytest.raises(asyncpg.CheckViolationError, match="kakao_templates_status_unknown"):
        await db.execute(
            "INSERT INTO gateway.kakao_templates (sender_key, template_code, body, status) "
            "VALUES ('S', 'T', 'b', 'maybe')"
        )
