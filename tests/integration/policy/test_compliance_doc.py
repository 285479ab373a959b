"""docs/compliance.md and the policy sections of docs/upstream.md: every example runs as written."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import asyncpg
import pytest

from gateway.config import parse_config
from gateway.policy import (
    ALLOW,
    SHIPPED_CONSENT,
    SHIPPED_CONTENT_RULES,
    SHIPPED_QUIET_HOURS,
    SHIPPED_SUBDIVISION_QUIET_HOURS,
    Expire,
    OptOutSet,
    evaluate,
)
from gateway.queue.store import PgStore
from tests.support.docs import ROOT, commands, examples, fenced_blocks, run_gateway_here
from tests.support.policy import login_role

pytestmark = pytest.mark.anyio

COMPLIANCE = examples("compliance.md")
UPSTREAM = examples("upstream.md")


def policy_of(example: str):
    return parse_config(tomllib.loads(COMPLIANCE[example].text)).policy


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI as an operator runs it: a database in GATEWAY_DATABASE_URL, no configuration file around."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", db_url)
    return db_url


async def run_console(name: str) -> list[str]:
    """Run every command of a console example; compare each shown output exactly; return the outputs."""
    outputs = []
    for command in commands(COMPLIANCE[name]):
        done = await anyio.to_thread.run_sync(run_gateway_here, command.argv)
        assert done.returncode == 0, (command.argv, done.stderr)
        if command.output:
            assert done.stdout == command.output, (command.argv, done.stdout)
        outputs.append(done.stdout)
    return outputs


def test_every_block_of_the_compliance_page_is_a_named_example_run_here() -> None:
    """No example on the page escapes this file: every fenced block is named, every name has a test below."""
    assert fenced_blocks("compliance.md") == len(COMPLIANCE)
    tested = {"consent-config", "quiet-hours-config", "content-config", "fatigue-config", "campaign-cli",
              "audit-sql", "explain-seoul", "explain-france", "explain-connecticut", "explain-consent",
              "explain-held"}  # fmt: skip
    assert set(COMPLIANCE) == tested


def test_every_shipped_rule_is_listed_with_its_source() -> None:
    """Each shipped rule appears in the page's tables with the URL its source cites."""
    text = (ROOT / "docs" / "compliance.md").read_text("utf-8")
    rules = {f"| {r} |": rule.source for r, rule in SHIPPED_QUIET_HOURS.items()}
    rules |= {f"| {region}-{code} |": rule.source for region, states in SHIPPED_SUBDIVISION_QUIET_HOURS.items()
              for code, rule in states.items()}  # fmt: skip
    rules |= {f"| {r} | {c.mode} |": c.source for r, c in SHIPPED_CONSENT.items()}
    for label, source in rules.items():
        assert label in text, label
        url = re.search(r"https?://\S+", source or "")
        assert url and url.group(0) in text, (label, url)
    for rule in SHIPPED_CONTENT_RULES.values():
        assert re.search(r"https?://\S+", rule.source).group(0) in text


# --- configuration examples -------------------------------------------------------------------------


def test_consent_example() -> None:
    """The consent example makes Korea and Germany explicit, with Germany's source kept."""
    policy = policy_of("consent-config")
    assert policy.consent.mode_for("KR") == policy.consent.mode_for("DE") == "explicit"
    assert policy.consent.rule_for("DE").source.startswith("UWG")


def test_quiet_hours_example() -> None:
    """The quiet-hours example stops Korea at 20:00 and adds Washington's 8-20 to Seattle numbers."""
    policy = policy_of("quiet-hours-config")
    seattle = datetime(2026, 7, 14, 20, 30, tzinfo=UTC) + timedelta(hours=7)  # 20:30 PDT
    ad = dict(id=1, channel="sms", sender="1", body="promo", kind="advertising")
    from gateway.port import OutboundMessage

    decision = evaluate(OutboundMessage(recipient="+12065550123", **ad), consent=True, now=seattle, config=policy,
                        opt_outs=OptOutSet())  # fmt: skip
    assert decision.reason == "quiet_hours"
    assert policy.quiet_hours.rule_for("KR").describe() == "daily 08:00-20:00"


def test_content_example() -> None:
    """The content example requires sender names and treats '(광고)' informational bodies as advertising."""
    policy = policy_of("content-config")
    assert policy.content.rule_for("KR").sender_name == "required"
    assert policy.content.sender_names["15880000"] == ("OO쇼핑", "OO Shop")
    assert policy.content.informational_ad_prefix == "advertising"


def test_fatigue_example() -> None:
    """The fatigue example allows two ads a week."""
    fatigue = policy_of("fatigue-config").fatigue
    assert (fatigue.max_messages, fatigue.period_seconds, fatigue.pending_wait_seconds) == (2, 604800, 60)


# --- console examples: the CLI as a process --------------------------------------------------------


@pytest.mark.parametrize("name", ["explain-seoul", "explain-france", "explain-connecticut", "explain-consent"])
async def test_explain_examples_print_what_the_page_shows(name: str, cli_env: str) -> None:
    """`gateway policy explain` prints, line for line, what the page shows (Seoul, France, Connecticut, consent)."""
    await run_console(name)


async def test_explain_of_a_held_campaign(cli_env: str) -> None:
    """After `gateway campaign hold`, explain reports the hold and what follows the release."""
    await run_console("explain-held")


async def test_campaign_commands_and_the_audit_trail(cli_env: str, db: asyncpg.Connection) -> None:
    """The campaign commands run as shown; the audit query lists each action with its actor."""
    await db.execute("INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, campaign_id) "
                     "VALUES ('sms', '15880000', '+821012345678', '(광고) x 080-123-4567', 'advertising', "
                     "'spring-sale')")  # fmt: skip
    outputs = await run_console("campaign-cli")
    assert "held 1 queued/deferred message(s)" in outputs[0]
    assert re.search(r"^spring-sale\s+campaign\s+1\s", outputs[1], re.MULTILINE), outputs[1]
    rows = await db.fetch(COMPLIANCE["audit-sql"].text)
    assert [(r["action"], r["actor"], r["messages"]) for r in rows] == [
        ("campaign_hold", "alice@example.com", 1),
        ("campaign_release", "alice@example.com", 1),
        ("campaign_cancel", "bob@example.com", 1),
        ("held_release", "alice@example.com", 0),
    ]
    assert rows[0]["note"] == "wrong price in the text" and rows[0]["db_user"] == "postgres"


# --- docs/upstream.md --------------------------------------------------------------------------------


async def test_upstream_max_age_counts_from_send_at(db: asyncpg.Connection, pool) -> None:
    """The example message, enqueued 10 h ahead with a 4 h max age, is sendable at send_at + 3:59, not at + 4:00."""
    mid = await db.fetchval(UPSTREAM["max-age-from-send-at"].text)
    send_at = await db.fetchval("SELECT send_at FROM gateway.outbox WHERE id = $1", mid)
    await db.execute("UPDATE gateway.outbox SET state = 'queued'")  # what the promote job does at send_at
    [(message, consent)] = (await PgStore(pool, owner="t#1").claim(1, ["sms"])).messages
    policy = parse_config({"policy": {"quiet_hours": {"enabled": False}}}).policy

    def at(delta: timedelta):
        return evaluate(message, consent=consent, now=send_at + delta, config=policy, opt_outs=OptOutSet())

    assert at(timedelta(hours=3, minutes=59)) == ALLOW
    assert at(timedelta(hours=4)) == Expire("max_age")


async def test_upstream_campaign_functions(db: asyncpg.Connection) -> None:
    """The campaign-control statements of docs/upstream.md run in order and leave the audit trail they describe."""
    await db.execute("INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, campaign_id) "
                     "VALUES ('sms', '15880000', '+821012345678', '(광고) x 080-123-4567', 'advertising', "
                     "'winter-sale')")  # fmt: skip
    results = [await db.fetch(statement) for statement in _statements(UPSTREAM["campaign-functions"].text)]
    assert [r[0][0] for r in results[:4]] == [1, 1, 1, 0]
    assert results[4] == []  # nothing held any more: the cancel made it due
    assert [(r["action"], r["actor"]) for r in results[5]] == [
        ("campaign_hold", "crm:alice"), ("campaign_release", "crm:alice"), ("campaign_cancel", "crm:bob"),
        ("held_release", "crm:alice")]  # fmt: skip


async def test_upstream_grant_lets_a_service_hold_a_campaign(db: asyncpg.Connection, db_url: str) -> None:
    """With the documented GRANTs (for a fresh role), a service's own login can hold a campaign and read the trail."""
    from gateway.db.pool import connect

    async with login_role(db, db_url, "crm_service") as (role, url):
        await db.execute(UPSTREAM["campaign-grant"].text.replace("crm_service", role))
        conn = await connect(url)
        try:
            assert await conn.fetchval("SELECT gateway.campaign_hold('winter-sale', 'crm:alice')") == 0
            assert await conn.fetchval("SELECT actor FROM gateway.policy_actions") == "crm:alice"
            assert await conn.fetchval("SELECT db_user FROM gateway.policy_actions") == role
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the tables themselves stay closed
                await conn.execute("DELETE FROM gateway.campaign_controls")
        finally:
            await conn.close()


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";\n") if s.strip() and not s.strip().startswith("--")]
