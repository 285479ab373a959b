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


RICH = """\
- sender_key: SK1
  template_code: RECEIPT-1
  body: "#{name}님의 결제 내역입니다."
  message_type: MI
  extra: "문의: 1588-0000"
  emphasis: ITEM_LIST
  header: 결제 완료
  item:
    list: [{title: 상품, description: "#{product}"}, {title: 금액, description: "#{amount}원"}]
    summary: {title: 합계, description: "#{amount}원"}
  highlight: {title: "#{product}", description: 결제 완료}
  buttons:
    - {ordering: 1, type: AC, name: 채널 추가}
    - {ordering: 2, type: WL, name: 영수증, linkMo: "https://shop.example/r/#{no}"}
  quick_replies:
    - {ordering: 1, type: BK, name: 문의하기}
"""


async def test_the_whole_template_model_round_trips(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Message type, emphasis, header, item list, highlight, buttons and quick replies are stored and loaded."""
    async with pool.acquire() as conn:
        await sync_templates(conn, write(tmp_path, "rich.yaml", RICH))
    [t] = await PostgresTemplateStore(pool).load()
    assert (t.message_type, t.emphasis, t.header, t.extra) == ("MI", "ITEM_LIST", "결제 완료", "문의: 1588-0000")
    assert t.item["summary"] == {"title": "합계", "description": "#{amount}원"}
    assert t.highlight == {"title": "#{product}", "description": "결제 완료"}
    assert [b["type"] for b in t.buttons] == ["AC", "WL"] and t.quick_replies[0]["name"] == "문의하기"


def test_kakaos_rules_are_checked_when_the_file_is_read(tmp_path: Path) -> None:
    """A channel-add button not first, and a 1,301-character body, are refused with the entry named."""
    ac = "    - {ordering: 1, type: AC, name: 채널 추가}\n"
    wl = '    - {ordering: 2, type: WL, name: 영수증, linkMo: "https://shop.example/r/#{no}"}\n'
    assert ac + wl in RICH
    broken = RICH.replace(ac + wl, wl + ac)
    with pytest.raises(TemplateFileError) as info:
        load_template_file(write(tmp_path, "b.yaml", broken))
    assert "entry 0 (RECEIPT-1): button 2 (AC, channel add) must be the first button" in str(info.value)
    long = "- {sender_key: S, template_code: T, body: '" + "가" * 1301 + "'}"
    with pytest.raises(TemplateFileError, match="at most 1300"):
        load_template_file(write(tmp_path, "l.yaml", long))


async def test_templates_sync_from_nhn_with_status_and_flags(db: asyncpg.Connection) -> None:
    """NHN's template API: every template of the sender, blocked ones suspended, OTP security templates auth."""
    from gateway.kakao import NhnAlimtalkAdapter, sync_from_nhn
    from gateway.simulators.kakao import KakaoSimulator
    from tests.support.kakao import make_config

    async with KakaoSimulator() as sim:
        sim.add_template("SK1", "OTP", "인증번호는 #{code}입니다.", securityFlag=True)
        sim.add_template("SK1", "OLD", "#{name}님", block=True)
        sim.add_template("SK1", "NEW", "#{name}님 반갑습니다", status="TSC01",
                         templateItem={"list": [{"title": "a", "description": "b"}, {"title": "c", "description": "d"}],
                                       "summary": None})  # fmt: skip
        async with NhnAlimtalkAdapter.from_config(make_config(sim)) as adapter:
            report = await sync_from_nhn(db, adapter, ["SK1"])
            assert report.inserted == 3
            again = await sync_from_nhn(db, adapter, ["SK1"])
            assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    rows = {r["template_code"]: r for r in await db.fetch("SELECT * FROM gateway.kakao_templates")}
    assert rows["OTP"]["spec"]["auth"] is True and rows["OTP"]["status"] == "approved"
    assert rows["OLD"]["status"] == "suspended" and rows["NEW"]["status"] == "requested"
    assert rows["NEW"]["spec"]["item"]["list"][1] == {"title": "c", "description": "d"}
    assert {r["source"] for r in rows.values()} == {"nhn"}


async def test_template_status_updates_from_nhns_hook(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """The template-status webhook's update reaches the stored template, with Kakao's review comment."""
    from gateway.kakao import TemplateUpdate

    async with pool.acquire() as conn:
        await sync_templates(conn, write(tmp_path, "t.yaml", GOOD))
    store = PostgresTemplateStore(pool)
    changed = await store.update_statuses(
        [TemplateUpdate("SK1", "WELCOME", "TSC04", ("변수 설명 부족",)), TemplateUpdate("SK9", "NONE", "TSC03")]
    )
    assert changed == 1
    row = await pool.fetchrow("SELECT status, comments FROM gateway.kakao_templates WHERE template_code = 'WELCOME'")
    assert row["status"] == "rejected" and row["comments"] == ["변수 설명 부족"]
    assert await store.update_statuses([TemplateUpdate("SK1", "WELCOME", "TSC04", ("변수 설명 부족",))]) == 0
