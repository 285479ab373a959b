"""Where templates come from: a template file, PostgreSQL, or memory (tests).

``sync_templates(conn, path)`` reads a YAML or JSON file and upserts it into
``gateway.kakao_templates``; the CLI wires it to ``gateway templates sync FILE``.
A connector reads templates through a :class:`TemplateStore` (an object with an
async ``load()``): :class:`PostgresTemplateStore` in the daemon,
:class:`InMemoryTemplateStore` in tests.

The file is either a list of entries or a mapping with a ``templates`` list::

    templates:
      - sender_key: 3b2f...            # the Kakao sender profile key
        template_code: ORDER_SHIPPED
        status: approved               # approved | requested | reviewing | rejected | suspended
                                       # (NHN's TSC01..TSC04 are accepted too)
        body: |-
          #{name}님, 주문 #{order}번이 발송되었습니다.
        buttons:                       # optional, as NHN takes them
          - {ordering: 1, type: WL, name: 배송 조회, linkMo: "https://example.com/#{order}"}

Every problem is reported at once, each naming the file, the entry index
(0-based) and the field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import structlog
import yaml
from pydantic import Field, ValidationError, field_validator

from gateway.configbase import ConfigModel
from gateway.db.queries import Queries
from gateway.errors import DatabaseError
from gateway.kakao.errors import TemplateFileError
from gateway.kakao.templates import TEMPLATE_STATUSES, Template, compile_template

__all__ = [
    "InMemoryTemplateStore",
    "PostgresTemplateStore",
    "SyncReport",
    "TemplateStore",
    "load_template_file",
    "sync_templates",
]

log = structlog.get_logger("gateway.kakao")

_NHN_STATUS = {"TSC01": "requested", "TSC02": "reviewing", "TSC03": "approved", "TSC04": "rejected"}


q = Queries("gateway.kakao").__getitem__


class TemplateStore(Protocol):
    async def load(self) -> Sequence[Template]:
        """Every known template (any status)."""


class InMemoryTemplateStore:
    """A store over a list that tests may replace at any time."""

    def __init__(self, templates: Sequence[Template] = ()) -> None:
        self.templates: list[Template] = list(templates)
        self.loads = 0

    async def load(self) -> Sequence[Template]:
        self.loads += 1
        return list(self.templates)


class PostgresTemplateStore:
    """Reads ``gateway.kakao_templates`` through a pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def load(self) -> Sequence[Template]:
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(q("load_templates"))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseError(f"cannot load Kakao templates: {exc}") from exc
        return [
            Template(
                sender_key=r["sender_key"],
                template_code=r["template_code"],
                body=r["body"],
                buttons=tuple(json.loads(r["buttons_json"])),
                status=r["status"],
            )
            for r in rows
        ]


class _Entry(ConfigModel):
    sender_key: str = Field(min_length=1, max_length=100)
    template_code: str = Field(min_length=1, max_length=30)
    body: str = Field(min_length=1, max_length=1000)
    buttons: list[dict[str, Any]] = Field(default_factory=list, max_length=5)
    status: str = "approved"

    @field_validator("sender_key", "template_code")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if value != value.strip() or not value:
            raise ValueError("must not be blank or have surrounding spaces")
        return value

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        value = _NHN_STATUS.get(value, value)
        if value not in TEMPLATE_STATUSES:
            raise ValueError(f"must be one of {', '.join(TEMPLATE_STATUSES)} (or TSC01..TSC04)")
        return value

    @field_validator("body")
    @classmethod
    def _compiles(cls, value: str) -> str:
        if "#{}" in value:
            raise ValueError("has an empty variable #{}")
        return value


def load_template_file(path: str | Path) -> list[Template]:
    """Parse and validate a template file; raise TemplateFileError naming every problem."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateFileError(shown, [f"cannot read the file: {exc}"]) from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise TemplateFileError(
            shown, [f"not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}"]
        ) from exc
    if isinstance(data, dict) and set(data) == {"templates"}:
        data = data["templates"]
    if not isinstance(data, list):
        raise TemplateFileError(shown, ["expected a list of templates (or a mapping with one key, 'templates')"])
    problems: list[str] = []
    templates: list[Template] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(data):
        if not isinstance(raw, dict):
            problems.append(f"entry {index}: expected a mapping, got {type(raw).__name__}")
            continue
        try:
            entry = _Entry.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "(entry)"
                problems.append(f"entry {index}: field {where!r}: {err['msg']}")
            continue
        key = (entry.sender_key, entry.template_code)
        if key in seen:
            problems.append(f"entry {index}: field 'template_code': {entry.template_code!r} repeats entry {seen[key]}")
            continue
        seen[key] = index
        template = Template(entry.sender_key, entry.template_code, entry.body, tuple(entry.buttons), entry.status)
        compile_template(template)  # cannot fail for a validated body; compiled here to be sure
        templates.append(template)
    if problems:
        raise TemplateFileError(shown, problems)
    return templates


@dataclass(frozen=True, slots=True)
class SyncReport:
    inserted: int
    updated: int
    unchanged: int
    deleted: int


async def sync_templates(conn: asyncpg.Connection, path: str | Path, *, prune: bool = False) -> SyncReport:
    """Upsert every template of ``path`` in one transaction; with ``prune``, delete the others.

    Validation happens before anything is written: a bad file changes nothing.
    """
    templates = load_template_file(path)
    inserted = updated = deleted = 0
    try:
        async with conn.transaction():
            for t in templates:
                row = await conn.fetchrow(
                    q("upsert_template"), t.sender_key, t.template_code, t.body, json.dumps(list(t.buttons)), t.status
                )
                if row is None:
                    continue
                if row["inserted"]:
                    inserted += 1
                else:
                    updated += 1
            if prune:
                gone = await conn.fetch(
                    q("delete_templates_not_in"),
                    [t.sender_key for t in templates],
                    [t.template_code for t in templates],
                )
                deleted = len(gone)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseError(f"cannot store the templates of {path}: {exc}") from exc
    report = SyncReport(inserted, updated, len(templates) - inserted - updated, deleted)
    log.info(
        "kakao.templates.synced",
        path=str(path),
        inserted=report.inserted,
        updated=report.updated,
        unchanged=report.unchanged,
        deleted=report.deleted,
    )
    return report
