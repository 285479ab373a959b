"""Builders shared by the policy tests: messages, clocks and configs."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.policy import ALLOW, OptOutSet, PolicyConfig
from gateway.port import OutboundMessage

SEOUL = ZoneInfo("Asia/Seoul")
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
ANCHORAGE = ZoneInfo("America/Anchorage")
ADAK = ZoneInfo("America/Adak")

KR_MOBILE = "+821012345678"
US_NEW_YORK = "+12125551234"
US_ALASKA = "+19075550100"  # phonenumbers: America/Adak and America/Anchorage
FR_MOBILE = "+33612345678"

KR_AD_BODY = "(광고) 봄 세일 20% 할인\n무료수신거부 080-123-4567"
NO_OPT_OUTS = OptOutSet()
DEFAULT_CONFIG = PolicyConfig()


def at(zone: ZoneInfo, *args: int) -> datetime:
    """An aware local time: at(SEOUL, 2024, 5, 1, 21, 0)."""
    return datetime(*args, tzinfo=zone)


def message(**overrides: Any) -> OutboundMessage:
    """A valid Korean advertising SMS unless overridden."""
    fields: dict[str, Any] = {
        "id": 1,
        "channel": "sms",
        "sender": "0212345678",
        "recipient": KR_MOBILE,
        "body": KR_AD_BODY,
        "kind": "advertising",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)


def config(**sections: Any) -> PolicyConfig:
    """A PolicyConfig from plain dicts, as the TOML loader would build it."""
    return PolicyConfig.model_validate(sections)


# --- PostgreSQL helpers (integration tests) ------------------------------------------------------

KR_AD = "(광고) 겨울 세일! 무료수신거부 080-123-4567"


def verdicts(out: list[tuple[OutboundMessage, Any]]) -> list[str | None]:
    """None for an allowed message, else the decision's reason, in order."""
    return [None if d == ALLOW else d.reason for _, d in out]


async def enqueue(conn: Any, *rows: dict[str, Any]) -> list[int]:
    """INSERT rows into gateway.outbox as an upstream service would; the ids, in order."""
    ids = []
    for row in rows:
        values = {"channel": "sms", "sender": "15880000", "recipient": KR_MOBILE, "body": KR_AD,
                  "kind": "advertising", "consent": True, **row}  # fmt: skip
        cols = list(values)
        placeholders = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
        ids.append(
            await conn.fetchval(
                f"INSERT INTO gateway.outbox ({', '.join(cols)}) VALUES ({placeholders}) RETURNING id",
                *values.values(),
            )
        )
    return ids


async def claim(pool: Any, limit: int = 100, *, owner: str = "test#1") -> list[tuple[OutboundMessage, bool | None]]:
    """Claim queued rows as an instance named ``owner`` would (state sending, leased), in id order."""
    from gateway.queue.store import PgStore

    got = await PgStore(pool, owner=owner).claim(limit, ["sms", "alimtalk"])
    return sorted(got.messages, key=lambda mc: mc[0].id)


@contextlib.asynccontextmanager
async def login_role(db: Any, db_url: str, prefix: str) -> AsyncIterator[tuple[str, str]]:
    """A fresh LOGIN role (roles are server-wide: a unique name) and the URL to connect as it; dropped after."""
    role = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await db.execute(f"CREATE ROLE {role} LOGIN")
    try:
        yield role, db_url.replace("postgres@", f"{role}@", 1)
    finally:
        await db.execute(f"DROP OWNED BY {role}")
        await db.execute(f"DROP ROLE {role}")
