"""Where templates come from: a template file, NHN's template API, PostgreSQL, or memory (tests).

* ``gateway templates sync FILE``: :func:`sync_templates` reads a YAML or JSON
  file, checks every entry against Kakao's rules (:mod:`gateway.kakao.rules`)
  and upserts it into ``gateway.kakao_templates``;
* ``gateway templates sync --from-nhn``: :func:`sync_from_nhn` pulls every
  template of the configured sender profiles (``sender_keys``, else those
  already known) from NHN's template API, with its review status (TSC01..04,
  and ``block`` / ``dormant`` as ``suspended``);
* NHN's template-status webhook updates the status of a known template
  (:meth:`PostgresTemplateStore.update_statuses`).

A connector reads templates through a :class:`TemplateStore`:
:class:`PostgresTemplateStore` in the daemon, :class:`InMemoryTemplateStore` in tests.

The file is either a list of entries or a mapping with a ``templates`` list::

    templates:
      - sender_key: 3b2f...              # the Kakao sender profile key (40 characters)
        template_code: ORDER_SHIPPED     # at most 20: letters, digits, - and _
        status: approved                 # approved | requested | reviewing | rejected | suspended
                                         # (NHN's TSC01..TSC04 are accepted too)
        body: |-
          #{name}님, 주문 #{order}번이 발송되었습니다.
        buttons:                         # optional, as NHN takes them
          - {ordering: 1, type: WL, name: 배송 조회, linkMo: "https://example.com/t/#{order}"}
        # optional, as approved by Kakao:
        message_type: BA                 # BA | EX | AD | MI
        emphasis: NONE                   # NONE | TEXT | IMAGE | ITEM_LIST
        title: null                      # emphasis TEXT, and item-list titles
        subtitle: null
        header: null
        extra: null                      # EX / MI
        item: null                       # {list: [{title, description}], summary: {title, description}}
        highlight: null                  # {title, description, imageUrl}
        represent_link: null             # {linkMo, linkPc, schemeIos, schemeAndroid}
        image_name: null
        image_url: null
        quick_replies: []                # [{ordering, type, name, linkMo, ...}]
        auth: false                      # send through NHN's authentication endpoint (OTP)

Every problem is reported at once, each naming the file, the entry index
(0-based) and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
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
from gateway.kakao.provider import ProviderAdapter, TemplateUpdate
from gateway.kakao.rules import has_auth_word, template_problems
from gateway.kakao.templates import NHN_STATUS, TEMPLATE_STATUSES, Template

__all__ = [
    "InMemoryTemplateStore",
    "PostgresTemplateStore",
    "SyncReport",
    "TemplateStore",
    "load_template_file",
    "status_from_nhn",
    "sync_from_nhn",
    "sync_templates",
    "template_from_nhn",
]

log = structlog.get_logger("gateway.kakao")

q = Queries("gateway.kakao").__getitem__

_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
_SPEC_FIELDS = (
    "name", "message_type", "emphasis", "title", "subtitle", "header", "extra", "ad", "item", "highlight",
    "represent_link", "image_name", "image_url", "auth", "security",
)  # fmt: skip


class TemplateStore(Protocol):
    async def load(self) -> Sequence[Template]:
        """Every known template (any status)."""

    async def update_statuses(self, updates: Sequence[TemplateUpdate]) -> int:
        """Apply NHN's status updates to known templates; return how many changed."""


def status_from_nhn(status: str, *, block: Any = None, dormant: Any = None) -> str:
    """Our status for NHN's TSC01..TSC04 (and the block / dormant flags of an approved template)."""
    ours = NHN_STATUS.get(status, status)
    if ours == "approved" and (block is True or dormant is True):
        return "suspended"
    return ours if ours in TEMPLATE_STATUSES else "requested"


def _template(row: Any) -> Template:
    spec = row["spec"] if isinstance(row["spec"], dict) else json.loads(row["spec"] or "{}")
    buttons = row["buttons"] if isinstance(row["buttons"], list) else json.loads(row["buttons"] or "[]")
    known = {k: spec[k] for k in _SPEC_FIELDS if spec.get(k) is not None}
    return Template(
        sender_key=row["sender_key"],
        template_code=row["template_code"],
        body=row["body"],
        buttons=tuple(buttons),
        status=row["status"],
        quick_replies=tuple(spec.get("quick_replies") or ()),
        **known,
    )


class InMemoryTemplateStore:
    """A store over a list that tests may replace at any time."""

    def __init__(self, templates: Sequence[Template] = ()) -> None:
        self.templates: list[Template] = list(templates)
        self.loads = 0

    async def load(self) -> Sequence[Template]:
        self.loads += 1
        return list(self.templates)

    async def update_statuses(self, updates: Sequence[TemplateUpdate]) -> int:
        changed = 0
        for u in updates:
            for i, t in enumerate(self.templates):
                status = status_from_nhn(u.status)
                if (t.sender_key, t.template_code) == (u.sender_key, u.template_code) and t.status != status:
                    self.templates[i] = replace(t, status=status)
                    changed += 1
        return changed


class PostgresTemplateStore:
    """Reads and updates ``gateway.kakao_templates`` through a pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def load(self) -> Sequence[Template]:
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(q("load_templates"))
        except _DB_ERRORS as exc:
            raise DatabaseError(f"cannot load Kakao templates: {exc}") from exc
        return [_template(r) for r in rows]

    async def update_statuses(self, updates: Sequence[TemplateUpdate]) -> int:
        if not updates:
            return 0
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(
                    q("update_template_statuses"),
                    [u.sender_key for u in updates],
                    [u.template_code for u in updates],
                    [status_from_nhn(u.status) for u in updates],
                    [json.dumps(list(u.comments), ensure_ascii=False) for u in updates],
                )
        except _DB_ERRORS as exc:
            raise DatabaseError(f"cannot update Kakao template statuses: {exc}") from exc
        for r in rows:
            log.info(
                "kakao.template.status",
                sender_key=r["sender_key"],
                template_code=r["template_code"],
                status=r["status"],
            )
        return len(rows)


class _Entry(ConfigModel):
    sender_key: str = Field(min_length=1, max_length=40)
    template_code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")
    body: str = Field(min_length=1, max_length=1300)
    buttons: list[dict[str, Any]] = Field(default_factory=list)
    status: str = "approved"
    name: str = Field("", max_length=150)
    message_type: str = "BA"
    emphasis: str = "NONE"
    title: str | None = None
    subtitle: str | None = None
    header: str | None = None
    extra: str | None = None
    ad: str | None = None
    item: dict[str, Any] | None = None
    highlight: dict[str, Any] | None = None
    represent_link: dict[str, Any] | None = None
    image_name: str | None = None
    image_url: str | None = None
    quick_replies: list[dict[str, Any]] = Field(default_factory=list)
    auth: bool = False
    security: bool = False

    @field_validator("sender_key", "template_code")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if value != value.strip() or not value:
            raise ValueError("must not be blank or have surrounding spaces")
        return value

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        value = NHN_STATUS.get(value, value)
        if value not in TEMPLATE_STATUSES:
            raise ValueError(f"must be one of {', '.join(TEMPLATE_STATUSES)} (or TSC01..TSC04)")
        return value

    def template(self) -> Template:
        values = self.model_dump()
        values["buttons"] = tuple(values["buttons"])
        values["quick_replies"] = tuple(values["quick_replies"])
        return Template(**values)


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
        template = entry.template()
        broken = template_problems(template)
        if broken:
            problems.extend(f"entry {index} ({entry.template_code}): {p}" for p in broken)
            continue
        templates.append(template)
    if problems:
        raise TemplateFileError(shown, problems)
    return templates


def template_from_nhn(
    item: Mapping[str, Any], sender_key: str, *, details: Mapping[str, Any] | None = None
) -> Template:
    """Our template from one entry of NHN's template list; ``details`` is the single-template
    answer, the only one with the ``block`` and ``dormant`` flags."""
    body = str(item.get("templateContent") or "")
    security = item.get("securityFlag") is True

    def buttons(key: str) -> tuple[dict[str, Any], ...]:
        raw = item.get(key)
        if not isinstance(raw, list):
            return ()
        return tuple({k: v for k, v in b.items() if v is not None} for b in raw if isinstance(b, dict))

    def obj(key: str) -> dict[str, Any] | None:
        raw = item.get(key)
        return dict(raw) if isinstance(raw, dict) and any(v not in (None, "", []) for v in raw.values()) else None

    def text(key: str) -> str | None:
        raw = item.get(key)
        return raw if isinstance(raw, str) and raw else None

    return Template(
        sender_key=str(item.get("senderKey") or sender_key),
        template_code=str(item.get("templateCode") or ""),
        body=body,
        buttons=buttons("buttons"),
        status=status_from_nhn(
            str(item.get("status") or ""),
            block=details.get("block") if details else None,
            dormant=details.get("dormant") if details else None,
        ),
        name=str(item.get("templateName") or ""),
        message_type=str(item.get("templateMessageType") or "BA"),
        emphasis=str(item.get("templateEmphasizeType") or "NONE"),
        title=text("templateTitle"),
        subtitle=text("templateSubtitle"),
        header=text("templateHeader"),
        extra=text("templateExtra"),
        ad=text("templateAd"),
        item=obj("templateItem"),
        highlight=obj("templateItemHighlight"),
        represent_link=obj("templateRepresentLink"),
        image_name=text("templateImageName"),
        image_url=text("templateImageUrl"),
        quick_replies=buttons("quickReplies"),
        # OTP: NHN's security templates that carry an authentication word (-8006 otherwise)
        auth=security and has_auth_word(body),
        security=security,
    )


@dataclass(frozen=True, slots=True)
class SyncReport:
    inserted: int
    updated: int
    unchanged: int
    deleted: int


async def _upsert(
    conn: asyncpg.Connection, templates: Iterable[Template], *, source: str, prune_senders: Sequence[str] | None
) -> SyncReport:
    templates = list(templates)
    inserted = updated = deleted = 0
    async with conn.transaction():
        for t in templates:
            row = await conn.fetchrow(
                q("upsert_template"),
                t.sender_key,
                t.template_code,
                t.body,
                json.dumps(list(t.buttons), ensure_ascii=False),
                t.status,
                json.dumps(t.as_json(), ensure_ascii=False),
                source,
            )
            if row is None:
                continue
            if row["inserted"]:
                inserted += 1
            else:
                updated += 1
        if prune_senders is not None:
            gone = await conn.fetch(
                q("delete_templates_not_in"),
                [t.sender_key for t in templates],
                [t.template_code for t in templates],
                list(prune_senders),
            )
            deleted = len(gone)
    return SyncReport(inserted, updated, len(templates) - inserted - updated, deleted)


async def sync_templates(conn: asyncpg.Connection, path: str | Path, *, prune: bool = False) -> SyncReport:
    """Upsert every template of ``path`` in one transaction; with ``prune``, delete the others.

    Validation happens before anything is written: a bad file changes nothing.
    """
    templates = load_template_file(path)
    try:
        senders = sorted({t.sender_key for t in templates}) if prune else None
        report = await _upsert(conn, templates, source="file", prune_senders=senders)
    except _DB_ERRORS as exc:
        raise DatabaseError(f"cannot store the templates of {path}: {exc}") from exc
    log.info("kakao.templates.synced", source=str(path), **_fields(report))
    return report


async def sync_from_nhn(
    conn: asyncpg.Connection, adapter: ProviderAdapter, sender_keys: Sequence[str] = (), *, prune: bool = False
) -> SyncReport:
    """Pull every template of ``sender_keys`` (default: the sender keys already stored) from NHN."""
    try:
        senders = list(sender_keys) or [r["sender_key"] for r in await conn.fetch(q("template_senders"))]
    except _DB_ERRORS as exc:
        raise DatabaseError(f"cannot read the known sender keys: {exc}") from exc
    templates: list[Template] = []
    for sender in senders:
        for item in await adapter.list_templates(sender):
            code = item.get("templateCode")
            # an approved template may be blocked or dormant: only the single-template answer says so
            details = await adapter.get_template(sender, code) if item.get("status") == "TSC03" and code else None
            template = template_from_nhn(item, sender, details=details)
            broken = template_problems(template)
            if broken:  # Kakao approved it: keep it, but say where our reading of the rules differs
                log.warning(
                    "kakao.template.rules", sender_key=sender, template_code=template.template_code, problems=broken
                )
            templates.append(template)
    try:
        report = await _upsert(conn, templates, source="nhn", prune_senders=senders if prune else None)
    except _DB_ERRORS as exc:
        raise DatabaseError(f"cannot store the templates from NHN: {exc}") from exc
    log.info("kakao.templates.synced", source="nhn", senders=len(senders), **_fields(report))
    return report


def _fields(report: SyncReport) -> dict[str, int]:
    return {
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "deleted": report.deleted,
    }
